package loader

import (
	_ "embed"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/bstgo/bst/loader/node"
)

//go:embed data/userconfig.yaml
var userConfigDefaults []byte

// UserConfig is the user's configuration (buildstream.conf) composed over
// the built-in defaults.
type UserConfig struct {
	// Path is the file that was read, or "" when only defaults apply.
	Path string
	// Node is the whole composed configuration.
	Node *node.Node

	CacheDir, SourceDir, LogDir string
	KeyLength                   int
	ElementFormat               string
	MaxJobs                     int
}

var userConfigKeys = []string{
	"cachedir", "sourcedir", "logdir", "workspacedir", "scheduler", "build", "fetch", "track",
	"artifacts", "source-caches", "logging", "projects", "cache", "remote-execution",
}

// DefaultUserConfigPath returns the user configuration file bst reads when
// none is given: $XDG_CONFIG_HOME/buildstream2.conf or, failing that,
// $XDG_CONFIG_HOME/buildstream.conf. It returns "" if neither exists.
func DefaultUserConfigPath() string {
	dir := os.Getenv("XDG_CONFIG_HOME")
	if dir == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return ""
		}
		dir = filepath.Join(home, ".config")
	}
	for _, name := range []string{"buildstream2.conf", "buildstream.conf"} {
		p := filepath.Join(dir, name)
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	return ""
}

// LoadUserConfig reads the user configuration at path (or only the
// defaults when path is "").
func LoadUserConfig(path string) (*UserConfig, error) {
	cfg, err := node.Parse(userConfigDefaults, &node.File{Name: "userconfig.yaml"})
	if err != nil {
		return nil, err
	}
	uc := &UserConfig{Path: path}
	if path != "" {
		abs, _ := filepath.Abs(path)
		user, err := parseFile(path, abs)
		if err != nil {
			return nil, err
		}
		for _, obsolete := range []string{"builddir", "artifactdir"} {
			if v := user.Get(obsolete); v != nil {
				return nil, node.Errorf(v.Prov(), node.InvalidData, "%s is obsolete: use cachedir", obsolete)
			}
		}
		if err := node.Composite(user, cfg); err != nil {
			return nil, err
		}
	}
	if err := cfg.ValidateKeys(userConfigKeys...); err != nil {
		return nil, err
	}
	if err := node.AssertComposited(cfg); err != nil {
		return nil, err
	}
	uc.Node = cfg
	for _, d := range []struct {
		key string
		dst *string
	}{{"cachedir", &uc.CacheDir}, {"sourcedir", &uc.SourceDir}, {"logdir", &uc.LogDir}} {
		s, err := cfg.RequireString(d.key)
		if err != nil {
			return nil, err
		}
		*d.dst = expandPath(s)
	}
	logging, err := cfg.GetMapping("logging", false)
	if err != nil {
		return nil, err
	}
	if err := logging.ValidateKeys("key-length", "verbose", "error-lines", "message-lines", "debug",
		"element-format", "message-format", "throttle-ui-updates"); err != nil {
		return nil, err
	}
	if uc.KeyLength, err = logging.GetInt("key-length", 8); err != nil {
		return nil, err
	}
	if uc.ElementFormat, err = logging.GetString("element-format", ""); err != nil {
		return nil, err
	}
	build, err := cfg.GetMapping("build", false)
	if err != nil {
		return nil, err
	}
	if uc.MaxJobs, err = build.GetInt("max-jobs", 0); err != nil {
		return nil, err
	}
	projects, err := cfg.GetMapping("projects", false)
	if err != nil {
		return nil, err
	}
	for i, name := range projects.Keys() {
		p := projects.Items()[i]
		if !p.IsMapping() {
			return nil, node.Errorf(p.Prov(), node.InvalidData, "value of 'projects.%s' is not of the expected type 'dict'", name)
		}
		if err := p.ValidateKeys("artifacts", "source-caches", "options", "strict", "default-mirror",
			"remote-execution", "mirrors"); err != nil {
			return nil, err
		}
		if _, err := p.GetBool("strict", true); err != nil {
			return nil, err
		}
		if _, err := p.GetMapping("options", true); err != nil {
			return nil, err
		}
	}
	return uc, nil
}

// Overrides returns the user's settings for one project (possibly empty).
func (uc *UserConfig) Overrides(project string) *node.Node {
	if p := uc.Node.Get("projects").Get(project); p != nil {
		return p
	}
	return node.NewMapping(node.Synthetic)
}

// Strict returns the user's strict setting for a project (default true).
func (uc *UserConfig) Strict(project string) bool {
	b, _ := uc.Overrides(project).GetBool("strict", true)
	return b
}

// expandPath expands ~ and environment variables as BuildStream does for
// directory settings, with XDG_CACHE_HOME defaulting to ~/.cache.
func expandPath(p string) string {
	home, _ := os.UserHomeDir()
	p = os.Expand(p, func(v string) string {
		if s := os.Getenv(v); s != "" {
			return s
		}
		if v == "XDG_CACHE_HOME" {
			return filepath.Join(home, ".cache")
		}
		return ""
	})
	if p == "~" || strings.HasPrefix(p, "~/") {
		p = filepath.Join(home, p[1:])
	}
	return filepath.Clean(p)
}

// parseFile reads and parses a YAML file, turning file system errors into
// load errors.
func parseFile(shown, path string) (*node.Node, error) {
	var p fileParser
	defer p.close()
	return p.parse(shown, path)
}

// fileParser reads and parses files, keeping its buffers from one file to
// the next: each of the loader's goroutines has one. The trees it returns
// share nothing with it. close releases what it keeps open.
type fileParser struct {
	reader fileReader
	parser node.Parser
}

// parse is parseFile through p's buffers.
func (p *fileParser) parse(shown, path string) (*node.Node, error) {
	data, err := p.reader.read(path)
	if err != nil {
		return nil, fileError(shown, err)
	}
	return p.parser.Parse(data, &node.File{Name: shown, Path: path})
}

// parseTemporary is parse for a tree only needed until the next call of
// parseTemporary (node.Parser.ParseTemporary): what the caller keeps of it
// must be copied out.
func (p *fileParser) parseTemporary(shown, path string) (*node.Node, error) {
	data, err := p.reader.read(path)
	if err != nil {
		return nil, fileError(shown, err)
	}
	return p.parser.ParseTemporary(data, &node.File{Name: shown, Path: path})
}

func (p *fileParser) close() { p.reader.close() }

func fileError(shown string, err error) error {
	var pe *fs.PathError
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return &node.Error{Reason: node.MissingFile, Msg: "could not find file at " + shown, Err: err}
	case errors.As(err, &pe) && strings.Contains(pe.Err.Error(), "is a directory"):
		return &node.Error{Reason: node.LoadingDirectory, Msg: shown + " is a directory", Err: err}
	}
	return &node.Error{Reason: node.MissingFile, Msg: "could not read " + shown + ": " + err.Error(), Err: err}
}
