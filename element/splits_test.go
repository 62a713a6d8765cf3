package element

import (
	"regexp"
	"testing"

	"github.com/bstgo/bst/loader/node"
)

func TestGlobRegexp(t *testing.T) {
	for _, tc := range []struct {
		glob, path string
		match      bool
	}{
		{"/usr/bin", "/usr/bin", true},
		{"/usr/bin/*", "/usr/bin/ls", true},
		{"/usr/bin/*", "/usr/bin/x/ls", false},
		{"/usr/include/**", "/usr/include/a/b.h", true},
		{"/usr/lib/lib*.so*", "/usr/lib/libz.so.1", true},
		{"/usr/lib/lib*.so*", "/usr/lib/x/libz.so", false},
		{"/a?c", "/abc", true},
		{"/a?c", "/a/c", false},
		{"/[ab]x", "/bx", true},
		{"/[!ab]x", "/cx", true},
		{"/[!ab]x", "/ax", false},
		{"/a.b", "/aXb", false},
		{"/x[", "/x[", true},
		{"/é*", "/été", true},
	} {
		re := regexp.MustCompile("(?s)^(?:" + GlobRegexp(tc.glob) + ")$")
		if got := re.MatchString(tc.path); got != tc.match {
			t.Errorf("glob %q on %q = %v, want %v", tc.glob, tc.path, got, tc.match)
		}
	}
}

func TestSplitFilter(t *testing.T) {
	pub, err := node.Parse([]byte(`
bst:
  split-rules:
    runtime: [/usr/bin, /usr/bin/*]
    devel: [/usr/include, /usr/include/**]
    doc: [/usr/share/doc/**]
`), &node.File{Name: "p.yaml"})
	if err != nil {
		t.Fatal(err)
	}
	e := &Element{Name: "e.bst", Public: pub}
	sr, err := e.Splits()
	if err != nil {
		t.Fatal(err)
	}
	paths := []string{"usr/bin/ls", "usr/include/a.h", "usr/share/doc/x", "etc/orphan"}
	for _, tc := range []struct {
		include, exclude []string
		orphans          bool
		want             string
	}{
		{nil, nil, false, "usr/bin/ls usr/include/a.h usr/share/doc/x "},
		{[]string{"runtime"}, nil, false, "usr/bin/ls "},
		{[]string{"runtime"}, nil, true, "usr/bin/ls etc/orphan "},
		{nil, []string{"doc"}, true, "usr/bin/ls usr/include/a.h etc/orphan "},
		{[]string{"nosuch"}, nil, false, ""},
	} {
		f := sr.Filter(tc.include, tc.exclude, tc.orphans)
		got := ""
		for _, p := range paths {
			if f(p) {
				got += p + " "
			}
		}
		if got != tc.want {
			t.Errorf("Filter(%v, %v, %v) kept %q, want %q", tc.include, tc.exclude, tc.orphans, got, tc.want)
		}
	}
	if sr.Filter(nil, nil, true) != nil {
		t.Error("a filter that keeps everything should be nil")
	}
}
