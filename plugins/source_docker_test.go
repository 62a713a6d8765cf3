package plugins

import (
	"reflect"
	"testing"
)

func TestParseBearerChallenge(t *testing.T) {
	cases := []struct {
		in   string
		want map[string]string
		ok   bool
	}{
		{`Bearer realm="https://auth.example/token",service="registry.example",scope="repository:library/alpine:pull"`,
			map[string]string{"realm": "https://auth.example/token", "service": "registry.example", "scope": "repository:library/alpine:pull"}, true},
		{`Bearer realm="https://a/t", scope="repository:x:pull,push"`,
			map[string]string{"realm": "https://a/t", "scope": "repository:x:pull,push"}, true},
		{`Bearer realm=https://a/t,service=s`, map[string]string{"realm": "https://a/t", "service": "s"}, true},
		{`Basic realm="x"`, nil, false},
		{`Bearer realm="unterminated`, nil, false},
		{`Bearer novalue`, nil, false},
	}
	for _, c := range cases {
		got, ok := parseBearerChallenge(c.in)
		if ok != c.ok || ok && !reflect.DeepEqual(got, c.want) {
			t.Errorf("parseBearerChallenge(%q) = %v, %v; want %v, %v", c.in, got, ok, c.want, c.ok)
		}
	}
}
