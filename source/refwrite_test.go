package source

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bstgo/bst/loader/node"
)

func scalar(s string) *node.Node { return node.NewScalar(node.Synthetic, s) }

// kindProvs returns the provenance of each source's kind value, as the
// loader records it.
func kindProvs(t *testing.T, text string) []node.Provenance {
	t.Helper()
	n, err := node.Parse([]byte(text), &node.File{Name: "e.bst", Path: "e.bst"})
	if err != nil {
		t.Fatal(err)
	}
	var out []node.Provenance
	for _, s := range n.Get("sources").Items() {
		out = append(out, s.KeyProv("kind"))
	}
	return out
}

func setRef(t *testing.T, text string, i int, upd *RefUpdate) string {
	t.Helper()
	out, err := SetInlineRef([]byte(text), kindProvs(t, text)[i], upd)
	if err != nil {
		t.Fatal(err)
	}
	// The result must still parse.
	if _, err := node.Parse(out, &node.File{Name: "e.bst"}); err != nil {
		t.Fatalf("result does not parse: %v\n%s", err, out)
	}
	return string(out)
}

func refUpd(ref string) *RefUpdate { return &RefUpdate{Set: []RefField{{"ref", scalar(ref)}}} }

func TestSetInlineRef(t *testing.T) {
	const doc = `kind: import
# Comment about the sources.
sources:
- kind: tar
  url: upstream:a.tar.gz  # the release
  ref: 'old'   # tracked
- kind: git   # second
  url: upstream:b.git

  track: main
  # trailing comment
depends:
- base.bst
`
	got := setRef(t, doc, 0, refUpd("0123456789"))
	want := strings.Replace(doc, "ref: 'old'   # tracked", "ref: \"0123456789\"   # tracked", 1)
	if got != want {
		t.Errorf("replace:\n%s\nwant:\n%s", got, want)
	}
	got = setRef(t, doc, 1, refUpd("abc"))
	want = strings.Replace(doc, "  track: main\n", "  track: main\n  ref: abc\n", 1)
	if got != want {
		t.Errorf("insert:\n%s\nwant:\n%s", got, want)
	}
}

func TestSetInlineRefTags(t *testing.T) {
	const doc = `sources:
- url: x
  kind: git
  ref: aaa
  tags:
  - tag: old
    commit: "1"
    annotated: false
  track: main
`
	tags := node.NewSequence(node.Synthetic, node.NewMappingOf(node.Synthetic, []string{"tag", "commit", "annotated"},
		[]*node.Node{scalar("v1.0"), scalar("bbb"), scalar("true")}))
	got := setRef(t, doc, 0, &RefUpdate{Set: []RefField{{"ref", scalar("bbb")}, {"tags", tags}}})
	want := `sources:
- url: x
  kind: git
  ref: bbb
  tags:
  - tag: v1.0
    commit: bbb
    annotated: true
  track: main
`
	if got != want {
		t.Errorf("tags:\n%s\nwant:\n%s", got, want)
	}
	got = setRef(t, doc, 0, &RefUpdate{Set: []RefField{{"ref", scalar("ccc")}}, Delete: []string{"tags"}})
	want = "sources:\n- url: x\n  kind: git\n  ref: ccc\n  track: main\n"
	if got != want {
		t.Errorf("delete:\n%s\nwant:\n%s", got, want)
	}
}

func TestSetInlineRefRefusesFlow(t *testing.T) {
	const doc = "sources:\n- {kind: tar, url: x}\n"
	if _, err := SetInlineRef([]byte(doc), kindProvs(t, doc)[0], refUpd("a")); err == nil || !strings.Contains(err.Error(), "flow") {
		t.Fatalf("flow mapping: %v", err)
	}
}

func TestRefWriterFilesAndProjectRefs(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "e.bst")
	const doc = "sources:\n- kind: tar\n  url: a\n- kind: tar\n  url: b\n"
	os.WriteFile(p, []byte(doc), 0o640)
	n, _ := node.Parse([]byte(doc), &node.File{Name: "e.bst", Path: p})
	var w RefWriter
	for i, s := range n.Get("sources").Items() {
		if err := w.AddInline(s.KeyProv("kind"), refUpd([]string{"r1", "r2"}[i])); err != nil {
			t.Fatal(err)
		}
	}
	w.AddProjectRef(dir, "proj", "sub/e.bst", 1, refUpd("pr"))
	changed, err := w.Write()
	if err != nil || len(changed) != 2 {
		t.Fatalf("Write: %v %v", changed, err)
	}
	data, _ := os.ReadFile(p)
	if want := "sources:\n- kind: tar\n  url: a\n  ref: r1\n- kind: tar\n  url: b\n  ref: r2\n"; string(data) != want {
		t.Errorf("file:\n%s", data)
	}
	if st, _ := os.Stat(p); st.Mode().Perm() != 0o640 {
		t.Errorf("mode %v not kept", st.Mode())
	}
	ref, err := LoadProjectRef(dir, "proj", "sub/e.bst", 1)
	if err != nil || ref.Get("ref").Value() != "pr" {
		t.Fatalf("project.refs: %v %v", ref, err)
	}
	if ref, _ := LoadProjectRef(dir, "proj", "sub/e.bst", 0); ref == nil || ref.Len() != 0 {
		t.Errorf("source 0 should have an empty entry: %v", ref)
	}
}
