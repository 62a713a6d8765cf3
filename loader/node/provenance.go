package node

import "strconv"

// File describes a loaded YAML file. Nodes point at their File so that a
// provenance costs one pointer and two small integers.
type File struct {
	// Name is the name shown to users: relative to the project directory
	// and, for files of a subproject, prefixed with the junction
	// ("base.bst:elements/gcc.bst").
	Name string
	// Path is the file's path on disk, if it has one.
	Path string
}

// Provenance says where a node was written. The zero value is a synthetic
// node, one that no file holds.
type Provenance struct {
	File *File
	Line int32 // 1-based
	Col  int32 // 0-based
}

// Synthetic is the provenance of nodes made up by the program.
var Synthetic = Provenance{}

// Valid reports whether p points into a file.
func (p Provenance) Valid() bool { return p.File != nil }

// String renders p as BuildStream does: `file [line L column C]`.
func (p Provenance) String() string {
	if p.File == nil {
		return "[synthetic node]"
	}
	b := make([]byte, 0, len(p.File.Name)+24)
	b = append(b, p.File.Name...)
	b = append(b, " [line "...)
	b = strconv.AppendInt(b, int64(p.Line), 10)
	b = append(b, " column "...)
	b = strconv.AppendInt(b, int64(p.Col), 10)
	b = append(b, ']')
	return string(b)
}
