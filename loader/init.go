package loader

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/bstgo/bst/loader/node"
)

// InitSpec describes a new project for InitProject.
type InitSpec struct {
	Dir         string // where project.conf goes
	Name        string
	MinVersion  string // default "2.8"
	ElementPath string // default "elements"
	Force       bool   // overwrite an existing project.conf
}

// ValidateInit checks a project name, version and element path as
// `bst init` would, without writing anything.
func ValidateInit(s InitSpec) error {
	if err := assertSymbol(node.NewScalar(node.Synthetic, s.Name), "project name", true); err != nil {
		return err
	}
	major, minor, ok := parseVersion(s.MinVersion)
	if !ok {
		return &node.Error{Reason: node.InvalidData, Msg: fmt.Sprintf("malformed min-version '%s'", s.MinVersion),
			Detail: "min-version is written MAJOR.MINOR, both numbers (for example 2.0)."}
	}
	if major != FormatMajor || minor > FormatMinor {
		return &node.Error{Reason: node.UnsupportedProject,
			Msg: fmt.Sprintf("min-version %s is not supported: bst implements BuildStream %d.%d", s.MinVersion, FormatMajor, FormatMinor)}
	}
	ep := filepath.Clean(s.ElementPath)
	if s.ElementPath == "" || filepath.IsAbs(ep) || ep == ".." || strings.HasPrefix(ep, "../") {
		return &node.Error{Reason: node.ProjPathInvalid,
			Msg: fmt.Sprintf("invalid element path '%s': it must be a directory inside the project", s.ElementPath)}
	}
	return nil
}

// InitProject writes a new project.conf and creates the element directory.
func InitProject(s InitSpec) (string, error) {
	if s.MinVersion == "" {
		s.MinVersion = fmt.Sprintf("%d.%d", FormatMajor, FormatMinor)
	}
	if s.ElementPath == "" {
		s.ElementPath = "elements"
	}
	dir, err := filepath.Abs(s.Dir)
	if err != nil {
		return "", err
	}
	conf := filepath.Join(dir, projectConfFile)
	if _, err := os.Stat(conf); err == nil && !s.Force {
		return "", &node.Error{Reason: node.InvalidData, Msg: "a project.conf already exists at: " + conf,
			Detail: "Use --force to overwrite it."}
	}
	if err := ValidateInit(s); err != nil {
		return "", err
	}
	if err := os.MkdirAll(filepath.Join(dir, s.ElementPath), 0o755); err != nil {
		return "", fmt.Errorf("creating the element directory: %w", err)
	}
	text := "# The project's name, unique among the projects it is used with\n" +
		"name: " + s.Name + "\n\n" +
		"# The oldest BuildStream format version the project works with\n" +
		"min-version: " + s.MinVersion + "\n\n" +
		"# The directory holding the .bst element files\n" +
		"element-path: " + s.ElementPath + "\n"
	tmp := conf + ".tmp"
	if err := os.WriteFile(tmp, []byte(text), 0o644); err != nil {
		return "", fmt.Errorf("writing %s: %w", conf, err)
	}
	if err := os.Rename(tmp, conf); err != nil {
		os.Remove(tmp)
		return "", fmt.Errorf("writing %s: %w", conf, err)
	}
	return conf, nil
}
