package variables

import (
	"strings"
	"sync"
	"testing"

	"github.com/bstgo/bst/loader/node"
)

func yamlOf(t testing.TB, s string) *node.Node {
	t.Helper()
	n, err := node.Parse([]byte(s), &node.File{Name: "vars.yml"})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

const base = `
prefix: /usr
bindir: "%{prefix}/bin"
build-root: /buildstream/p/%{element-name}
libdir: "%{prefix}/%{lib}"
lib: lib
`

func TestOverlayResolvesLazily(t *testing.T) {
	tbl, err := Compile(yamlOf(t, base))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		overlay string
		want    map[string]string
	}{
		{"element-name: a.bst\n", map[string]string{"bindir": "/usr/bin", "build-root": "/buildstream/p/a.bst", "libdir": "/usr/lib"}},
		{"element-name: b.bst\nprefix: /opt\n", map[string]string{"bindir": "/opt/bin", "build-root": "/buildstream/p/b.bst", "libdir": "/opt/lib"}},
		{"element-name: c.bst\nlib: lib64\nextra: '%{libdir}/x'\n", map[string]string{"bindir": "/usr/bin", "libdir": "/usr/lib64", "extra": "/usr/lib64/x"}},
	} {
		o, err := tbl.Overlay(yamlOf(t, c.overlay))
		if err != nil {
			t.Fatal(err)
		}
		r, err := o.Resolve()
		if err != nil {
			t.Fatalf("%q: %v", c.overlay, err)
		}
		for k, want := range c.want {
			if got, _ := r.Get(k); got != want {
				t.Errorf("%q: %s = %q, want %q", c.overlay, k, got, want)
			}
		}
	}
}

func TestErrors(t *testing.T) {
	tbl, err := Compile(yamlOf(t, base))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		overlay string
		reason  node.Reason
		msg     string
		line    int32
	}{
		{"element-name: a\nx: '%{nothere}'\n", node.UnresolvedVariable, "undefined variable 'nothere'", 2},
		{"x: '%{y}'\n", node.UnresolvedVariable, "undefined variable 'element-name'", 4},
		{"element-name: a\na: '%{a}'\n", node.CircularReferenceVariable, "variable 'a'", 2},
		{"element-name: a\na: '%{b}'\nb: '%{c}'\nc: '%{a}'\n", node.CircularReferenceVariable, "variable 'a'", 2},
		{"element-name: a\nprefix: '%{bindir}'\n", node.CircularReferenceVariable, "", 0},
		{"element-name: a\nx: [1]\n", node.InvalidData, "not of the expected type", 2},
	} {
		o, err := tbl.Overlay(yamlOf(t, c.overlay))
		if err == nil {
			_, err = o.Resolve()
		}
		if node.ReasonOf(err) != c.reason || !strings.Contains(err.Error(), c.msg) {
			t.Errorf("%q: error %v, want %s %q", c.overlay, err, c.reason, c.msg)
			continue
		}
		if c.line != 0 && err.(*node.Error).Prov.Line != c.line {
			t.Errorf("%q: error at line %d, want %d", c.overlay, err.(*node.Error).Prov.Line, c.line)
		}
	}
	// The cycle names each step.
	o, _ := tbl.Overlay(yamlOf(t, "element-name: a\na: '%{b}'\nb: '%{a}'\n"))
	_, err = o.Resolve()
	if d := err.(*node.Error).Detail; !strings.Contains(d, "variable 'a' refers to variable 'b'") || !strings.Contains(d, "variable 'b' refers to variable 'a'") {
		t.Errorf("cycle detail: %q", d)
	}
}

func TestCheckProtected(t *testing.T) {
	for _, name := range Protected {
		err := CheckProtected(yamlOf(t, name+": x\n"))
		if node.ReasonOf(err) != node.ProtectedVariableRedefined {
			t.Errorf("%s: %v", name, err)
		}
	}
	if err := CheckProtected(yamlOf(t, "prefix: x\n")); err != nil {
		t.Error(err)
	}
}

func TestExpandNodeSharesUnchangedTrees(t *testing.T) {
	tbl, _ := Compile(yamlOf(t, base))
	o, _ := tbl.Overlay(yamlOf(t, "element-name: e.bst\n"))
	r, err := o.Resolve()
	if err != nil {
		t.Fatal(err)
	}
	plain := yamlOf(t, "a: [x, y]\nb: {c: d}\n")
	if got, _ := r.ExpandNode(plain); got != plain {
		t.Error("a tree without references was copied")
	}
	tree := yamlOf(t, "cmd: ['%{bindir}/tool %{build-root}', '%{', '%{9x}']\n")
	got, err := r.ExpandNode(tree)
	if err != nil {
		t.Fatal(err)
	}
	if s := got.Get("cmd").Items()[0].Value(); s != "/usr/bin/tool /buildstream/p/e.bst" {
		t.Errorf("expanded %q", s)
	}
	if s := got.Get("cmd").Items()[1].Value(); s != "%{" {
		t.Errorf("not a reference, yet %q", s)
	}
	if tree.Get("cmd").Items()[0].Value() != "%{bindir}/tool %{build-root}" {
		t.Error("ExpandNode modified its input")
	}
}

func TestConcurrentOverlays(t *testing.T) {
	tbl, _ := Compile(yamlOf(t, base))
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := 0; j < 50; j++ {
				o, err := tbl.Overlay(yamlOf(t, "element-name: x.bst\n"))
				if err != nil {
					t.Error(err)
					return
				}
				if r, err := o.Resolve(); err != nil {
					t.Error(err)
				} else if v, _ := r.Get("build-root"); v != "/buildstream/p/x.bst" {
					t.Error(v)
				}
			}
		}()
	}
	wg.Wait()
}

func BenchmarkOverlayResolve(b *testing.B) {
	var sb strings.Builder
	sb.WriteString(base)
	for i := 0; i < 35; i++ {
		sb.WriteString("v" + string(rune('a'+i%26)) + string(rune('a'+i/26)) + ": '%{prefix}/x'\n")
	}
	tbl, _ := Compile(yamlOf(b, sb.String()))
	own := yamlOf(b, "element-name: e.bst\ncomponent: c\ndoc: '%{prefix}/doc/%{component}'\n")
	b.ReportAllocs()
	for b.Loop() {
		o, _ := tbl.Overlay(own)
		if _, err := o.Resolve(); err != nil {
			b.Fatal(err)
		}
	}
}

// ExpandOwned expands in place what ExpandNode copies, with the same
// results and errors.
func TestExpandOwnedMatchesExpandNode(t *testing.T) {
	tbl, _ := Compile(yamlOf(t, base))
	o, _ := tbl.Overlay(yamlOf(t, "element-name: e.bst\n"))
	r, err := o.Resolve()
	if err != nil {
		t.Fatal(err)
	}
	for _, src := range []string{
		"cmd: ['%{bindir}/tool %{build-root}', '%{', '%{9x}', '%%{lib}%{lib}%', plain]\nm: {k: '%{prefix}'}\n",
		"a: '%{undefined} %{prefix}'\n",
		"a: [x, {b: '%{nope}'}]\n",
	} {
		want, wantErr := r.ExpandNode(yamlOf(t, src))
		got := yamlOf(t, src)
		gotErr := r.ExpandOwned(got)
		if (wantErr == nil) != (gotErr == nil) || wantErr != nil && wantErr.Error() != gotErr.Error() {
			t.Errorf("%q: ExpandOwned error %v, ExpandNode error %v", src, gotErr, wantErr)
			continue
		}
		if wantErr == nil && node.Dump(got) != node.Dump(want) {
			t.Errorf("%q: ExpandOwned gave\n%s\nExpandNode gave\n%s", src, node.Dump(got), node.Dump(want))
		}
	}
}
