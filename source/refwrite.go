package source

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/bstgo/bst/loader/node"
)

// Tracking writes refs back where the project keeps them. Inline refs are
// written into the .bst file by editing its text at the ref's position —
// the value of an existing key is replaced, a missing key is added at the
// end of the source's mapping, a key to delete loses its lines — so every
// comment and all the layout of the file stay as they were. Refs of a
// project with `ref-storage: project.refs` go into project.refs, which bst
// (like BuildStream) rewrites whole.

// SetInlineRef applies upd to the source entry of the YAML document data
// whose `kind` value is at kindProv, and returns the new text.
func SetInlineRef(data []byte, kindProv node.Provenance, upd *RefUpdate) ([]byte, error) {
	out := data
	for _, f := range upd.Set {
		var err error
		if out, err = editKey(out, kindProv, f.Key, f.Value); err != nil {
			return nil, err
		}
	}
	for _, k := range upd.Delete {
		if hasField(upd, k) {
			continue
		}
		var err error
		if out, err = editKey(out, kindProv, k, nil); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func hasField(u *RefUpdate, key string) bool {
	for _, f := range u.Set {
		if f.Key == key {
			return true
		}
	}
	return false
}

// findSource parses data and returns the mapping whose "kind" value is at
// p (line 1-based, column 0-based).
func findSource(data []byte, p node.Provenance) (*yaml.Node, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, err
	}
	var found *yaml.Node
	var walk func(n *yaml.Node)
	walk = func(n *yaml.Node) {
		if found != nil || n == nil {
			return
		}
		if n.Kind == yaml.MappingNode {
			for i := 0; i+1 < len(n.Content); i += 2 {
				k, v := n.Content[i], n.Content[i+1]
				if k.Value == "kind" && v.Line == int(p.Line) && v.Column-1 == int(p.Col) {
					found = n
					return
				}
			}
		}
		for _, c := range n.Content {
			walk(c)
		}
	}
	walk(&doc)
	if found == nil {
		return nil, fmt.Errorf("cannot find the source declared at line %d column %d", p.Line, p.Col)
	}
	if found.Style&yaml.FlowStyle != 0 {
		return nil, fmt.Errorf("the source at line %d is written as a flow mapping ({...}): write it as a block mapping to let bst update its ref", p.Line)
	}
	return found, nil
}

// editKey sets key to value (a scalar, or a list of mappings) in the
// source mapping, or deletes it when value is nil.
func editKey(data []byte, kindProv node.Provenance, key string, value *node.Node) ([]byte, error) {
	m, err := findSource(data, kindProv)
	if err != nil {
		return nil, err
	}
	lines := strings.SplitAfter(string(data), "\n")
	keyCol := m.Content[0].Column - 1
	var keyNode, valNode *yaml.Node
	idx := -1
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			keyNode, valNode, idx = m.Content[i], m.Content[i+1], i
		}
	}
	// A scalar replacing a scalar on the key's line: replace the value's
	// text only, keeping a comment after it.
	if keyNode != nil && value != nil && value.IsScalar() && valNode.Kind == yaml.ScalarNode &&
		valNode.Line == keyNode.Line && valNode.Style&(yaml.LiteralStyle|yaml.FoldedStyle) == 0 {
		li := valNode.Line - 1
		start := valNode.Column - 1
		end, ok := scalarEnd(lines[li], start, valNode)
		if !ok {
			return nil, fmt.Errorf("cannot rewrite the %s at line %d: its value spans several lines", key, valNode.Line)
		}
		lines[li] = lines[li][:start] + renderScalar(value.Value()) + lines[li][end:]
		return []byte(strings.Join(lines, "")), nil
	}
	var block []string
	if value != nil {
		block = renderKey(key, value, keyCol)
	}
	if keyNode != nil {
		// Replace (or delete) the key's whole block of lines.
		first := keyNode.Line - 1
		last := blockEnd(lines, m, idx, keyCol)
		// The first key of a list item shares its line with the dash.
		if prefix := lines[first][:min(keyCol, len(lines[first]))]; strings.TrimSpace(prefix) != "" {
			if len(block) == 0 {
				return nil, fmt.Errorf("cannot delete the %s at line %d: it is the first key of its list item", key, keyNode.Line)
			}
			block[0] = prefix + strings.TrimLeft(block[0], " ")
		}
		out := append(append(append([]string(nil), lines[:first]...), block...), lines[last+1:]...)
		return []byte(strings.Join(out, "")), nil
	}
	if value == nil {
		return data, nil
	}
	// Add the key after the last key's block.
	last := blockEnd(lines, m, len(m.Content)-2, keyCol)
	if last < len(lines) && !strings.HasSuffix(lines[last], "\n") {
		lines[last] += "\n"
	}
	out := append(append(append([]string(nil), lines[:last+1]...), block...), lines[last+1:]...)
	return []byte(strings.Join(out, "")), nil
}

// blockEnd returns the index of the last line of the key at m.Content[i]
// and its value: the line before the next key, or for the last key, the
// last line indented deeper than the mapping's keys (blank lines and
// comments after it belong to what follows).
func blockEnd(lines []string, m *yaml.Node, i, keyCol int) int {
	start := m.Content[i].Line - 1
	if i+2 < len(m.Content) {
		next := m.Content[i+2].Line - 1
		end := next - 1
		for end > start && isBlankOrComment(lines[end]) {
			end--
		}
		return end
	}
	end := start
	for j := start + 1; j < len(lines); j++ {
		if isBlankOrComment(lines[j]) {
			continue
		}
		indent := len(lines[j]) - len(strings.TrimLeft(lines[j], " "))
		if indent <= keyCol {
			break
		}
		end = j
	}
	return end
}

func isBlankOrComment(l string) bool {
	t := strings.TrimSpace(l)
	return t == "" || strings.HasPrefix(t, "#")
}

// scalarEnd returns where the scalar starting at col of line ends.
func scalarEnd(line string, col int, v *yaml.Node) (int, bool) {
	if col >= len(line) {
		return 0, false
	}
	switch line[col] {
	case '\'':
		for i := col + 1; i < len(line); i++ {
			if line[i] == '\'' {
				if i+1 < len(line) && line[i+1] == '\'' {
					i++
					continue
				}
				return i + 1, true
			}
		}
		return 0, false
	case '"':
		for i := col + 1; i < len(line); i++ {
			switch line[i] {
			case '\\':
				i++
			case '"':
				return i + 1, true
			}
		}
		return 0, false
	}
	if strings.HasPrefix(line[col:], v.Value) {
		return col + len(v.Value), true
	}
	return 0, false
}

// renderScalar writes s as a YAML scalar, quoted when it must be.
func renderScalar(s string) string {
	if s == "true" || s == "false" {
		return s
	}
	out, err := yaml.Marshal(s)
	if err != nil {
		return fmt.Sprintf("%q", s)
	}
	return strings.TrimSuffix(string(out), "\n")
}

// renderKey writes key: value as block YAML indented by col.
func renderKey(key string, value *node.Node, col int) []string {
	ind := strings.Repeat(" ", col)
	if value.IsScalar() {
		return []string{ind + key + ": " + renderScalar(value.Value()) + "\n"}
	}
	if value.IsSequence() && value.Len() == 0 {
		return []string{ind + key + ": []\n"}
	}
	out := []string{ind + key + ":\n"}
	for _, it := range value.Items() {
		if it.IsMapping() {
			for j, k := range it.Keys() {
				lead := ind + "  "
				if j == 0 {
					lead = ind + "- "
				}
				out = append(out, lead+k+": "+renderScalar(it.Items()[j].Value())+"\n")
			}
			continue
		}
		out = append(out, ind+"- "+renderScalar(it.Value())+"\n")
	}
	return out
}

// RefWriter gathers the refs tracking found and writes them, each file
// once.
type RefWriter struct {
	inline  map[string][]inlineEdit // by file path
	files   []string
	refs    map[string]*projectRefs // by project.refs path
	refList []string
}

type inlineEdit struct {
	prov node.Provenance
	upd  *RefUpdate
}

type projectRefs struct {
	project string
	entries map[string]map[int]*RefUpdate // element -> source index -> update
	order   []string
}

// AddInline records an update of the source entry whose `kind` value is
// at kindProv, in the .bst file that provenance names.
func (w *RefWriter) AddInline(kindProv node.Provenance, upd *RefUpdate) error {
	if !kindProv.Valid() || kindProv.File.Path == "" {
		return errors.New("cannot write the ref: the source is not declared in a file")
	}
	if w.inline == nil {
		w.inline = map[string][]inlineEdit{}
	}
	p := kindProv.File.Path
	if _, ok := w.inline[p]; !ok {
		w.files = append(w.files, p)
	}
	w.inline[p] = append(w.inline[p], inlineEdit{kindProv, upd})
	return nil
}

// AddProjectRef records an update of source number index of element in
// the project.refs file of the project in projectDir.
func (w *RefWriter) AddProjectRef(projectDir, project, element string, index int, upd *RefUpdate) {
	if w.refs == nil {
		w.refs = map[string]*projectRefs{}
	}
	p := filepath.Join(projectDir, "project.refs")
	pr := w.refs[p]
	if pr == nil {
		pr = &projectRefs{project: project, entries: map[string]map[int]*RefUpdate{}}
		w.refs[p] = pr
		w.refList = append(w.refList, p)
	}
	if pr.entries[element] == nil {
		pr.entries[element] = map[int]*RefUpdate{}
		pr.order = append(pr.order, element)
	}
	pr.entries[element][index] = upd
}

// Write writes every file with its updates, each atomically, and returns
// the files it changed.
func (w *RefWriter) Write() ([]string, error) {
	var changed []string
	for _, p := range w.files {
		data, err := os.ReadFile(p)
		if err != nil {
			return changed, fmt.Errorf("writing refs: %w", err)
		}
		// Later sources first, so the positions of earlier ones hold.
		edits := w.inline[p]
		sortEditsDescending(edits)
		out := data
		for _, e := range edits {
			if out, err = SetInlineRef(out, e.prov, e.upd); err != nil {
				return changed, fmt.Errorf("%s: writing the ref: %w", e.prov, err)
			}
		}
		if string(out) == string(data) {
			continue
		}
		if err := writeFileKeepMode(p, out); err != nil {
			return changed, fmt.Errorf("writing refs: %w", err)
		}
		changed = append(changed, p)
	}
	for _, p := range w.refList {
		ok, err := w.refs[p].write(p)
		if err != nil {
			return changed, err
		}
		if ok {
			changed = append(changed, p)
		}
	}
	return changed, nil
}

func sortEditsDescending(es []inlineEdit) {
	for i := 1; i < len(es); i++ {
		for j := i; j > 0 && (es[j].prov.Line > es[j-1].prov.Line); j-- {
			es[j], es[j-1] = es[j-1], es[j]
		}
	}
}

func writeFileKeepMode(p string, data []byte) error {
	mode := os.FileMode(0o644)
	if st, err := os.Stat(p); err == nil {
		mode = st.Mode().Perm()
	}
	if err := WriteFileAtomic(p, data, true); err != nil {
		return err
	}
	return os.Chmod(p, mode)
}

// write merges the updates into project.refs:
//
//	projects:
//	  <project>:
//	    <element>:
//	    - ref: ...
//
// one list item per source of the element, in order.
func (pr *projectRefs) write(p string) (bool, error) {
	root := node.NewMapping(node.Synthetic)
	old, err := os.ReadFile(p)
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return false, fmt.Errorf("reading %s: %w", p, err)
	default:
		if root, err = node.Parse(old, &node.File{Name: "project.refs", Path: p}); err != nil {
			return false, err
		}
	}
	projects := root.Get("projects")
	if projects == nil || !projects.IsMapping() {
		projects = node.NewMapping(node.Synthetic)
		root.Set("projects", projects)
	}
	proj := projects.Get(pr.project)
	if proj == nil || !proj.IsMapping() {
		proj = node.NewMapping(node.Synthetic)
		projects.Set(pr.project, proj)
	}
	for _, el := range pr.order {
		list := proj.Get(el)
		if list == nil || !list.IsSequence() {
			list = node.NewSequence(node.Synthetic)
			proj.Set(el, list)
		}
		for idx, upd := range pr.entries[el] {
			for list.Len() <= idx {
				list.Append(node.NewMapping(node.Synthetic))
			}
			item := list.Items()[idx]
			if !item.IsMapping() {
				item = node.NewMapping(node.Synthetic)
				list.Items()[idx] = item
			}
			for _, f := range upd.Set {
				item.Set(f.Key, f.Value)
			}
			for _, k := range upd.Delete {
				if !hasField(upd, k) {
					item.Delete(k)
				}
			}
		}
	}
	out := node.Dump(root)
	if out == string(old) {
		return false, nil
	}
	if err := writeFileKeepMode(p, []byte(out)); err != nil {
		return false, fmt.Errorf("writing %s: %w", p, err)
	}
	return true, nil
}

// LoadProjectRef returns the ref fields recorded in the project.refs of
// projectDir for source number index of element, or nil. It is what a
// loader honouring `ref-storage: project.refs` reads.
func LoadProjectRef(projectDir, project, element string, index int) (*node.Node, error) {
	p := filepath.Join(projectDir, "project.refs")
	data, err := os.ReadFile(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	root, err := node.Parse(data, &node.File{Name: "project.refs", Path: p})
	if err != nil {
		return nil, err
	}
	list := root.Get("projects").Get(project).Get(element)
	if !list.IsSequence() || index >= list.Len() {
		return nil, nil
	}
	return list.Items()[index], nil
}
