package node

import (
	"strings"

	"gopkg.in/yaml.v3"
)

// ToYAML converts n into a yaml.v3 node for output. Scalars that YAML would
// read back as something other than the same string are quoted.
func (n *Node) ToYAML() *yaml.Node {
	switch n.kind {
	case ScalarKind:
		return scalarYAML(n.value)
	case SequenceKind:
		y := &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq"}
		for _, it := range n.items {
			y.Content = append(y.Content, it.ToYAML())
		}
		return y
	case MappingKind:
		y := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
		for i, k := range n.keys {
			y.Content = append(y.Content, scalarYAML(k), n.items[i].ToYAML())
		}
		return y
	}
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!null"}
}

// Dump renders n as a YAML document. An empty mapping renders as "{}\n".
func Dump(n *Node) string {
	var b strings.Builder
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(n.ToYAML()); err != nil {
		// Encoding a tree of strings cannot fail; keep the output
		// honest if it ever does.
		return "# " + err.Error() + "\n"
	}
	return b.String()
}

// scalarYAML returns a string node. The encoder writes the line breaks NEL,
// LS and PS raw in plain and single-quoted scalars, where they read back as
// line breaks and get folded; double quotes escape them.
func scalarYAML(v string) *yaml.Node {
	y := &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: v}
	if strings.ContainsAny(v, "\u0085\u2028\u2029") {
		y.Style = yaml.DoubleQuotedStyle
	}
	return y
}
