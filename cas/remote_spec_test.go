package cas

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/bstgo/bst/loader/node"
)

func parseYAML(t *testing.T, name, text string) *node.Node {
	t.Helper()
	n, err := node.Parse([]byte(text), &node.File{Name: name})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestParseRemoteSpec(t *testing.T) {
	n := parseYAML(t, "project.conf", `
artifacts:
- url: https://cache.example.com:11001
  instance-name: main
  type: index
  push: true
  auth:
    server-cert: certs/server.crt
    client-key: certs/client.key
    client-cert: certs/client.crt
    access-token: ~/token
    access-token-reload-interval: 5
  connection-config:
    keepalive-time: 60
    retry-limit: 2
    retry-delay: 500
    request-timeout: 300
- url: grpc://localhost:50051
`)
	specs, err := ParseProjectRemotes(n, ArtifactCaches, "/proj")
	if err != nil {
		t.Fatal(err)
	}
	if len(specs) != 2 {
		t.Fatalf("%d specs", len(specs))
	}
	got := specs[0]
	if got.URL != "https://cache.example.com:11001" || got.InstanceName != "main" || got.Type != RemoteIndex || !got.Push {
		t.Errorf("spec = %+v", got)
	}
	if got.ServerCert != "/proj/certs/server.crt" || got.ClientKey != "/proj/certs/client.key" || got.ClientCert != "/proj/certs/client.crt" {
		t.Errorf("paths not relative to the project: %+v", got)
	}
	if strings.HasPrefix(got.AccessToken, "~") || !strings.HasSuffix(got.AccessToken, "/token") {
		t.Errorf("access token %q: ~ not expanded", got.AccessToken)
	}
	if got.AccessTokenReload != 5*time.Minute || got.KeepaliveTime != time.Minute || got.RetryLimit != 2 ||
		got.RetryDelay != 500*time.Millisecond || got.RequestTimeout != 300*time.Second {
		t.Errorf("durations: %+v", got)
	}
	if !strings.HasPrefix(got.Origin, "project.conf [line 3") {
		t.Errorf("origin %q", got.Origin)
	}
	if d := specs[1]; d.Type != RemoteAll || d.Push || d.retryLimit() != DefaultRetryLimit || d.retryDelay() != DefaultRetryDelay {
		t.Errorf("defaults: %+v", d)
	}
}

func TestParseRemoteSpecErrors(t *testing.T) {
	for _, tc := range []struct{ yaml, want string }{
		{"artifacts:\n- url: ''\n", "x.conf [line 2 column 7]: empty artifact cache URL"},
		{"artifacts:\n- url: ftp://x\n", "unsupported scheme"},
		{"artifacts:\n- url: https://x:1/path\n", "no path"},
		{"artifacts:\n- url: http://x\n  type: both\n", "x.conf [line 3 column 8]: value of 'type' should be one of: index, storage, all"},
		{"artifacts:\n- url: http://x\n  pull: true\n", "unexpected key: pull"},
		{"artifacts:\n- url: http://x\n  push: yes\n", "not of the expected type 'boolean'"},
		{"artifacts:\n- url: http://x\n  auth:\n    client-key: k\n", "'client-key' was specified without 'client-cert'"},
		{"artifacts:\n- url: http://x\n  auth:\n    client-cert: c\n", "'client-cert' was specified without 'client-key'"},
		{"artifacts:\n- url: http://x\n  connection-config:\n    retry-limit: -1\n", "must not be negative"},
		{"artifacts:\n- http://x\n", "must be a mapping"},
		{"artifacts: http://x\n", "not of the expected type 'list'"},
	} {
		_, err := ParseProjectRemotes(parseYAML(t, "x.conf", tc.yaml), ArtifactCaches, "/p")
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: error %v, want %q", tc.yaml, err, tc.want)
		}
	}
}

func TestParseRemoteSpecString(t *testing.T) {
	s, err := ParseRemoteSpecString("https://cache:11001", PurposeAll, "/cwd")
	if err != nil || s.URL != "https://cache:11001" || !s.Push || s.Type != RemoteAll || s.Origin != "command line" {
		t.Fatalf("bare URL: %+v, %v", s, err)
	}
	s, err = ParseRemoteSpecString("https://cache:11001", PurposePull, "/cwd")
	if err != nil || s.Push {
		t.Fatalf("pull purpose: %+v, %v", s, err)
	}
	s, err = ParseRemoteSpecString("url=https://c:1,instance-name=i,type=storage,push=false,server-cert=s.crt,client-key=c.key,client-cert=c.crt,access-token=tok", PurposeAll, "/cwd")
	if err != nil {
		t.Fatal(err)
	}
	want := RemoteSpec{URL: "https://c:1", InstanceName: "i", Type: RemoteStorage, Push: false, ServerCert: "/cwd/s.crt",
		ClientKey: "/cwd/c.key", ClientCert: "/cwd/c.crt", AccessToken: "/cwd/tok", RetryLimit: -1, Origin: "command line"}
	if !reflect.DeepEqual(s, want) {
		t.Fatalf("got %+v\nwant %+v", s, want)
	}
	for _, tc := range []struct {
		s       string
		purpose SpecPurpose
		want    string
	}{
		{"url=http://x,push", PurposeAll, "invalid format 'push' found in remote specification: url=http://x,push"},
		{"url=http://x,push=true", PurposePush, "the 'push' key is invalid and assumed to be True"},
		{"url=http://x,push=true", PurposePull, "the 'push' key is invalid and assumed to be False"},
		{"url=http://x,push=yes", PurposeAll, "value for 'push' must be 'True' or 'False'"},
		{"url=http://x,type=all2", PurposeAll, "value for remote 'type' must be one of: index, storage, all"},
		{"url=http://x,colour=red", PurposeAll, "unexpected key 'colour' encountered"},
		{"instance-name=x,type=all", PurposeAll, "no URL specified in remote"},
		{"", PurposeAll, "no URL specified in remote"},
		{"url=http://x,access-token=a=b", PurposeAll, "access-token=…"},
	} {
		_, err := ParseRemoteSpecString(tc.s, tc.purpose, "/cwd")
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: error %v, want %q", tc.s, err, tc.want)
		}
		if err != nil && strings.Contains(err.Error(), "a=b") {
			t.Errorf("%q: the error repeats a value: %v", tc.s, err)
		}
	}
}

func TestParseRemoteURL(t *testing.T) {
	for _, tc := range []struct {
		url, target string
		tls         bool
	}{
		{"http://cache:80", "cache:80", false},
		{"grpc://127.0.0.1:50051", "127.0.0.1:50051", false},
		{"https://cache.example.com:11001", "cache.example.com:11001", true},
		{"https://cache.example.com/", "cache.example.com", true},
		{"grpcs://[::1]:443", "[::1]:443", true},
		{"unix:/run/cas.sock", "unix:/run/cas.sock", false},
		{"unix:///run/cas.sock", "unix:/run/cas.sock", false},
	} {
		target, tls, err := parseRemoteURL(tc.url)
		if err != nil || target != tc.target || tls != tc.tls {
			t.Errorf("%s: %q %v %v; want %q %v", tc.url, target, tls, err, tc.target, tc.tls)
		}
	}
	for _, bad := range []string{"cache:11001", "https://", "https://user:pw@cache:1", "ftp://x", "unix:", "http://x?y=1"} {
		if _, _, err := parseRemoteURL(bad); err == nil {
			t.Errorf("%s: accepted", bad)
		} else if strings.Contains(err.Error(), "pw") {
			t.Errorf("%s: the error repeats the password: %v", bad, err)
		}
	}
}

func TestResolveRemotes(t *testing.T) {
	project := parseYAML(t, "project.conf", "artifacts:\n- url: http://project:1\n- url: http://shared:1\n")
	urls := func(specs []RemoteSpec) string {
		var out []string
		for _, s := range specs {
			out = append(out, s.URL)
		}
		return strings.Join(out, " ")
	}
	cli := []RemoteSpec{{URL: "http://cli:1", Type: RemoteAll, Push: true, RetryLimit: -1, Origin: "command line"}}
	for _, tc := range []struct {
		name, user string
		sel        RemoteSelection
		want       string
	}{
		{"project only", "{}", RemoteSelection{}, "http://project:1 http://shared:1"},
		{"global first", "artifacts:\n  servers:\n  - url: http://global:1\n", RemoteSelection{}, "http://global:1 http://project:1 http://shared:1"},
		{"per-project replaces global", "artifacts:\n  servers:\n  - url: http://global:1\nprojects:\n  demo:\n    artifacts:\n      servers:\n      - url: http://mine:1\n",
			RemoteSelection{}, "http://mine:1 http://project:1 http://shared:1"},
		{"other project's override ignored", "projects:\n  other:\n    artifacts:\n      servers:\n      - url: http://mine:1\n", RemoteSelection{}, "http://project:1 http://shared:1"},
		{"global override", "artifacts:\n  override-project-caches: true\n  servers:\n  - url: http://global:1\n", RemoteSelection{}, "http://global:1"},
		{"per-project override", "projects:\n  demo:\n    artifacts:\n      override-project-caches: true\n", RemoteSelection{}, ""},
		{"duplicates dropped", "artifacts:\n  servers:\n  - url: http://shared:1\n", RemoteSelection{}, "http://shared:1 http://project:1"},
		{"command line replaces the user's", "artifacts:\n  servers:\n  - url: http://global:1\n", RemoteSelection{CLI: cli}, "http://cli:1 http://project:1 http://shared:1"},
		{"command line and ignore", "artifacts:\n  servers:\n  - url: http://global:1\n", RemoteSelection{CLI: cli, IgnoreProject: true}, "http://cli:1"},
		{"ignore without command line", "artifacts:\n  servers:\n  - url: http://global:1\n", RemoteSelection{IgnoreProject: true}, "http://global:1"},
	} {
		user := parseYAML(t, "buildstream.conf", tc.user)
		specs, err := ResolveRemotes(ArtifactCaches, user, "demo", project, "/p", tc.sel)
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		if got := urls(specs); got != tc.want {
			t.Errorf("%s: %q, want %q", tc.name, got, tc.want)
		}
	}
	// Errors in the user configuration name their place.
	user := parseYAML(t, "buildstream.conf", "source-caches:\n  servers:\n  - url: http://x\n    type: nope\n")
	_, err := ResolveRemotes(SourceCaches, user, "demo", project, "/p", RemoteSelection{})
	if err == nil || !strings.Contains(err.Error(), "buildstream.conf [line 4 column 10]") {
		t.Fatalf("error %v", err)
	}
}
