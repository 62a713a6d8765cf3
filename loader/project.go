package loader

import (
	"context"
	_ "embed"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/bstgo/bst/loader/node"
	"github.com/bstgo/bst/loader/options"
	"github.com/bstgo/bst/loader/variables"
	"github.com/bstgo/bst/plugins"
)

//go:embed data/projectconfig.yaml
var projectConfigDefaults []byte

// The BuildStream format version this bst implements: projects asking for
// a newer minor version are refused.
const (
	FormatMajor = 2
	FormatMinor = 8
)

// projectConfFile is the name of a project's configuration file.
const projectConfFile = "project.conf"

var projectKeys = []string{
	"min-version", "element-path", "variables", "environment", "environment-nocache", "split-rules",
	"elements", "plugins", "aliases", "name", "defaults", "artifacts", "options", "fail-on-overlap",
	"shell", "fatal-warnings", "ref-storage", "sandbox", "mirrors", "sources", "source-caches",
	"junctions", "source-provenance-attributes", "(@)", "(?)",
}

// Keys that a conditional in project.conf may not set.
var restrictedProjectKeys = []string{
	"min-version", "name", "element-path", "junctions", "defaults", "fatal-warnings", "ref-storage",
	"options", "plugins",
}

// Settings are what the command line and the environment say about how to
// load a project.
type Settings struct {
	// Directory is where to start looking for project.conf (default: the
	// working directory); bst searches upwards from it.
	Directory string
	// User is the user configuration.
	User *UserConfig
	// Options are the `-o KEY VALUE` pairs, in order.
	Options [][2]string
	// MaxJobs is the build parallelism exported as %{max-jobs}; 0 means
	// min(cpus, 8).
	MaxJobs int
	// Registry holds the element and source kinds.
	Registry *plugins.Registry
	// HostArch and HostOS override the host's, for option defaults.
	HostArch, HostOS string
	// Junctions stages the sources of junctions that are not a single
	// local source; without it such junctions cannot be opened.
	Junctions JunctionStager
}

// Project is a loaded project.conf with everything derived from it.
type Project struct {
	Name        string
	Dir         string // absolute
	ElementPath string // absolute
	RefStorage  string
	refFile     projectRefs

	// Config is the composed project configuration, after includes and
	// conditionals, without the `elements` and `sources` overrides.
	Config           *node.Node
	ElementOverrides *node.Node
	SourceOverrides  *node.Node

	Options *options.Pool
	// Variables are the project's base variables (project defaults,
	// project.conf, project-name, max-jobs, exported options).
	Variables      *variables.Table
	Environment    *node.Node
	EnvNoCache     []string
	Sandbox        *node.Node
	SplitRules     *node.Node
	FatalWarnings  []string
	DefaultTargets []string
	Aliases        map[string]string
	ProvenanceKeys []string
	// Plugins are the kinds declared in `plugins:`, all mapped to
	// built-in kinds.
	Plugins []PluginDecl

	User     *UserConfig
	Registry *plugins.Registry

	settings  Settings
	includes  includeCache
	kindsMu   sync.Mutex
	kinds     map[string]*kindDefaults
	namesOnce sync.Once
	names     []string
	namesErr  error
	// checkedPaths are the paths found valid (checkedPath): pathCheck ->
	// clean path.
	checkedPaths sync.Map
	// realDirs are the paths in the project found to be directories and
	// not links (Project.projectPath).
	realDirs sync.Map
	// jx is what the project knows of junctions (junction.go).
	jx *junctionState
	// While project.conf is first composed, includes from junctions are
	// skipped, and noted.
	localIncludesOnly, skippedJunctionIncludes bool
}

// PluginDecl is one kind declared by a `plugins:` entry.
type PluginDecl struct {
	Origin string // local, pip or junction
	Type   string // "elements", "sources" or "source-mirrors"
	Kind   string
	Prov   node.Provenance
}

// FindProject searches dir and its parents for project.conf and returns
// the directory holding it.
func FindProject(dir string) (string, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	for d := abs; ; d = filepath.Dir(d) {
		if st, err := os.Stat(filepath.Join(d, projectConfFile)); err == nil && !st.IsDir() {
			return d, nil
		}
		if filepath.Dir(d) == d {
			break
		}
	}
	return "", &node.Error{Reason: node.MissingProjectConf,
		Msg: fmt.Sprintf("no project found: no %s in %s or any of its parent directories", projectConfFile, abs)}
}

// LoadProject loads the project found from s.Directory.
func LoadProject(ctx context.Context, s Settings) (*Project, error) {
	start := s.Directory
	if start == "" {
		start = "."
	}
	dir, err := FindProject(start)
	if err != nil {
		return nil, err
	}
	if s.User == nil {
		if s.User, err = LoadUserConfig(""); err != nil {
			return nil, err
		}
	}
	if s.Registry == nil {
		s.Registry = plugins.Builtin()
	}
	p := &Project{Dir: dir, User: s.User, Registry: s.Registry, settings: s, kinds: map[string]*kindDefaults{}}
	p.initJunctions(s.Junctions)
	if err := p.load(ctx); err != nil {
		return nil, err
	}
	return p, nil
}

func (p *Project) load(ctx context.Context) error {
	defaults, err := node.Parse(projectConfigDefaults, &node.File{Name: "projectconfig.yaml"})
	if err != nil {
		return err
	}
	conf, err := parseFile(projectConfFile, filepath.Join(p.Dir, projectConfFile))
	if err != nil {
		if node.ReasonOf(err) == node.MissingFile {
			err.(*node.Error).Reason = node.MissingProjectConf
		}
		return err
	}

	// First look at project.conf as written, for what must not depend on
	// includes or options.
	pre := defaults.Clone()
	if err := node.Composite(conf, pre); err != nil {
		return err
	}
	if err := validateVersion(conf); err != nil {
		return err
	}
	if err := pre.ValidateKeys(projectKeys...); err != nil {
		return err
	}
	nameNode, err := conf.GetScalar("name", false)
	if err != nil {
		return err
	}
	p.Name = nameNode.Value()
	if err := assertSymbol(nameNode, "project name", true); err != nil {
		return err
	}
	epNode, err := pre.GetScalar("element-path", false)
	if err != nil {
		return err
	}
	ep, err := projectPath(p.Dir, epNode, true, true)
	if err != nil {
		return err
	}
	p.ElementPath = filepath.Join(p.Dir, ep)

	dflt, err := pre.GetMapping("defaults", false)
	if err != nil {
		return err
	}
	if err := dflt.ValidateKeys("targets"); err != nil {
		return err
	}
	if p.DefaultTargets, err = dflt.GetStringList("targets"); err != nil {
		return err
	}
	if p.FatalWarnings, err = pre.GetStringList("fatal-warnings"); err != nil {
		return err
	}
	junctions, err := pre.GetMapping("junctions", true)
	if err != nil {
		return err
	}
	p.inheritDisallow()
	if junctions != nil {
		if err := junctions.ValidateKeys("duplicates", "internal", "disallow-subproject-uris"); err != nil {
			return err
		}
		if err := p.loadJunctionsConfig(junctions); err != nil {
			return err
		}
	}
	rs, err := pre.GetScalar("ref-storage", false)
	if err != nil {
		return err
	}
	if p.RefStorage = rs.Value(); p.RefStorage != "inline" && p.RefStorage != "project.refs" {
		return node.Errorf(rs.Prov(), node.InvalidData, "invalid value '%s' specified for ref-storage", p.RefStorage)
	}

	// Then compose the whole configuration: includes, options,
	// conditionals. Includes from junctions need the project loaded
	// (to open the junction), so a project.conf that has some is composed
	// twice: without them, then with them.
	p.localIncludesOnly = true
	if err := p.loadPass(ctx, conf, defaults); err != nil || !p.skippedJunctionIncludes {
		return err
	}
	p.localIncludesOnly = false
	p.Plugins = nil
	if err := p.loadPass(ctx, conf, defaults); err != nil {
		return err
	}
	// Kinds composed while opening junctions saw the first pass.
	p.kinds = map[string]*kindDefaults{}
	return nil
}

// loadPass composes project.conf over the defaults, with its includes,
// options and conditionals, and loads what it says.
func (p *Project) loadPass(ctx context.Context, conf, defaults *node.Node) error {
	full := conf.Clone()
	if err := p.processIncludes(ctx, full, false); err != nil {
		return err
	}
	config := defaults.Clone()
	if err := node.Composite(full, config); err != nil {
		return err
	}
	if err := p.loadOptions(config); err != nil {
		return err
	}
	if err := p.Options.Process(config, restrictedProjectKeys); err != nil {
		return err
	}
	p.ElementOverrides = mappingOrEmpty(config, "elements")
	p.SourceOverrides = mappingOrEmpty(config, "sources")
	for _, m := range []*node.Node{p.ElementOverrides, p.SourceOverrides} {
		if !m.IsMapping() {
			return node.Errorf(m.Prov(), node.InvalidData, "value is not of the expected type 'dict'")
		}
	}
	config.Delete("elements")
	config.Delete("sources")
	if err := node.AssertComposited(config); err != nil {
		return err
	}
	if err := config.ValidateKeys(projectKeys...); err != nil {
		return err
	}
	for _, k := range []string{"name", "element-path", "min-version", "plugins"} {
		if v := config.Get(k); v != nil && v.Prov().Valid() &&
			v.Prov().File.Name != projectConfFile && v.Prov().File.Name != "projectconfig.yaml" {
			return &node.Error{Prov: v.Prov(), Reason: node.InvalidData, Msg: "unexpected key: " + k,
				Detail: fmt.Sprintf("The '%s' configuration must be specified in project.conf", k)}
		}
	}
	p.Config = config
	return p.loadConfig(config)
}

func mappingOrEmpty(n *node.Node, key string) *node.Node {
	if v := n.Get(key); v != nil {
		return v
	}
	return node.NewMapping(node.Synthetic)
}

func (p *Project) loadOptions(config *node.Node) error {
	p.Options = options.NewPool(p.settings.HostArch, p.settings.HostOS)
	decls, err := config.GetMapping("options", true)
	if err != nil {
		return err
	}
	if decls != nil {
		if err := p.Options.Declare(decls, p.ElementNames); err != nil {
			return err
		}
	}
	if err := p.applyJunctionOptions(); err != nil {
		return err
	}
	if uo := p.User.Overrides(p.Name).Get("options"); uo != nil {
		if err := p.Options.SetUserValues(uo); err != nil {
			return err
		}
	}
	if err := p.Options.SetCLIValues(p.settings.Options); err != nil {
		return err
	}
	return p.Options.Resolve()
}

func (p *Project) loadConfig(config *node.Node) error {
	vars, err := config.GetMapping("variables", false)
	if err != nil {
		return err
	}
	vars = vars.Clone()
	if err := variables.CheckProtected(vars); err != nil {
		return err
	}
	vars.Set("project-name", node.NewScalar(node.Synthetic, p.Name))
	maxJobs := p.settings.MaxJobs
	if maxJobs <= 0 {
		maxJobs = min(runtime.NumCPU(), 8)
	}
	vars.Set("max-jobs", node.NewScalar(node.Synthetic, strconv.Itoa(maxJobs)))
	for _, kv := range p.Options.Variables() {
		vars.Set(kv[0], node.NewScalar(node.Synthetic, kv[1]))
	}
	if p.Variables, err = variables.Compile(vars); err != nil {
		return err
	}

	// Aliases are expanded with the project's variables and the roots.
	aliases, err := config.GetMapping("aliases", true)
	if err != nil {
		return err
	}
	p.Aliases = map[string]string{}
	if aliases != nil && aliases.Len() > 0 {
		rootURI := "file://" + (&url.URL{Path: p.Dir}).EscapedPath()
		top := p.Toplevel().Dir
		topURI := "file://" + (&url.URL{Path: top}).EscapedPath()
		extra := node.NewMapping(node.Synthetic)
		for k, v := range map[string]string{"project-root": p.Dir, "toplevel-root": top,
			"project-root-uri": rootURI, "toplevel-root-uri": topURI} {
			extra.Set(k, node.NewScalar(node.Synthetic, v))
		}
		av, err := p.Variables.Overlay(extra)
		if err != nil {
			return err
		}
		res := av.ResolvePartial()
		for i, k := range aliases.Keys() {
			v := aliases.Items()[i]
			if !v.IsScalar() {
				return node.Errorf(v.Prov(), node.InvalidData, "value of 'aliases.%s' is not of the expected type 'str'", k)
			}
			s, err := res.Expand(v.Value(), v.Prov())
			if err != nil {
				return err
			}
			p.Aliases[k] = s
		}
	}

	if p.Environment, err = config.GetMapping("environment", false); err != nil {
		return err
	}
	if p.EnvNoCache, err = config.GetStringList("environment-nocache"); err != nil {
		return err
	}
	if p.Sandbox, err = config.GetMapping("sandbox", false); err != nil {
		return err
	}
	if err := p.Sandbox.ValidateKeys("build-uid", "build-gid", "build-os", "build-arch", "remote-apis-socket"); err != nil {
		return err
	}
	if p.SplitRules, err = config.GetMapping("split-rules", false); err != nil {
		return err
	}
	if p.localIncludesOnly && p.skippedJunctionIncludes {
		// The first of two passes only opens junctions, whose public
		// data nothing uses; split rules may use variables that the
		// includes from those junctions define.
		p.SplitRules = node.NewMapping(node.Synthetic)
	}
	if fo := config.Get("fail-on-overlap"); fo != nil {
		b, err := fo.AsBool("fail-on-overlap")
		if err != nil {
			return err
		}
		if b && !contains(p.FatalWarnings, "overlaps") {
			p.FatalWarnings = append(p.FatalWarnings, "overlaps")
		}
	}
	shell, err := config.GetMapping("shell", false)
	if err != nil {
		return err
	}
	if err := shell.ValidateKeys("command", "environment", "host-files"); err != nil {
		return err
	}
	if _, err := shell.GetStringList("command"); err != nil {
		return err
	}
	pa, err := config.GetMapping("source-provenance-attributes", false)
	if err != nil {
		return err
	}
	p.ProvenanceKeys = append([]string(nil), pa.Keys()...)
	for _, key := range []string{"artifacts", "source-caches", "mirrors"} {
		if _, err := config.GetSequence(key, true); err != nil {
			return err
		}
	}
	return p.loadPlugins(config)
}

// loadPlugins checks the `plugins:` declarations. Python plugins are never
// loaded: every declared kind must be one bst implements in Go.
func (p *Project) loadPlugins(config *node.Node) error {
	decls, err := config.GetSequence("plugins", true)
	if err != nil || decls == nil {
		return err
	}
	for _, d := range decls.Items() {
		if !d.IsMapping() {
			return node.Errorf(d.Prov(), node.InvalidData, "plugin origins must be dictionaries")
		}
		origin, err := d.RequireString("origin")
		if err != nil {
			return err
		}
		extra := map[string]string{"local": "path", "pip": "package-name", "junction": "junction"}[origin]
		if extra == "" {
			return node.Errorf(d.KeyProv("origin"), node.InvalidData,
				"unknown plugin origin '%s': expected 'local', 'pip' or 'junction'", origin)
		}
		if err := d.ValidateKeys("origin", extra, "elements", "sources", "source-mirrors", "allow-deprecated"); err != nil {
			return err
		}
		if _, err := d.RequireString(extra); err != nil {
			return err
		}
		for _, typ := range []string{"elements", "sources", "source-mirrors"} {
			list, err := d.GetSequence(typ, true)
			if err != nil {
				return err
			}
			if list == nil {
				continue
			}
			for _, it := range list.Items() {
				kind := it.Value()
				if it.IsMapping() {
					if err := it.ValidateKeys("kind", "allow-deprecated"); err != nil {
						return err
					}
					if kind, err = it.RequireString("kind"); err != nil {
						return err
					}
				} else if !it.IsScalar() {
					return node.Errorf(it.Prov(), node.InvalidData, "plugin entries must be kind names or dictionaries")
				}
				var ok bool
				switch typ {
				case "elements":
					_, ok = p.Registry.Element(kind)
				case "sources":
					_, ok = p.Registry.Source(kind)
				}
				if !ok {
					return node.Errorf(it.Prov(), node.PluginNotFound,
						"%s plugin '%s' (origin %s) is not implemented by bst: bst does not load Python plugins, and has no built-in kind of that name",
						strings.TrimSuffix(typ, "s"), kind, origin)
				}
				for _, prev := range p.Plugins {
					if prev.Type == typ && prev.Kind == kind {
						return node.Errorf(it.Prov(), node.InvalidData,
							"plugin '%s' is declared twice (also at %s)", kind, prev.Prov)
					}
				}
				p.Plugins = append(p.Plugins, PluginDecl{Origin: origin, Type: typ, Kind: kind, Prov: it.Prov()})
			}
		}
	}
	return nil
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// validateVersion checks min-version before anything else, so an old
// BuildStream 1 project gets a helpful message.
func validateVersion(conf *node.Node) error {
	mv := conf.Get("min-version")
	if mv == nil {
		return &node.Error{Prov: conf.Prov(), Reason: node.InvalidData,
			Msg:    "dictionary did not contain expected key 'min-version'",
			Detail: "If this is a BuildStream 1 project, use BuildStream 1 to build it."}
	}
	if !mv.IsScalar() {
		return node.Errorf(mv.Prov(), node.InvalidData, "value of 'min-version' is not of the expected type 'str'")
	}
	major, minor, ok := parseVersion(mv.Value())
	if !ok {
		return &node.Error{Prov: mv.Prov(), Reason: node.InvalidData,
			Msg:    fmt.Sprintf("malformed version string '%s'", mv.Value()),
			Detail: "min-version is written MAJOR.MINOR, both numbers (for example 2.0)."}
	}
	if major != FormatMajor || minor > FormatMinor {
		return &node.Error{Prov: mv.Prov(), Reason: node.UnsupportedProject, Msg: "version mismatch",
			Detail: fmt.Sprintf("The project requires BuildStream %d.%d; bst implements BuildStream %d.%d.",
				major, minor, FormatMajor, FormatMinor)}
	}
	return nil
}

func parseVersion(s string) (int, int, bool) {
	a, b, ok := strings.Cut(s, ".")
	if !ok {
		return 0, 0, false
	}
	major, err1 := strconv.Atoi(a)
	minor, err2 := strconv.Atoi(b)
	if err1 != nil || err2 != nil || major < 0 || minor < 0 {
		return 0, 0, false
	}
	return major, minor, true
}

// assertSymbol checks a symbol name: letters, digits, underscores (and
// dashes when allowed), not starting with a digit.
func assertSymbol(n *node.Node, purpose string, allowDashes bool) error {
	s := n.Value()
	ok := s != "" && !(s[0] >= '0' && s[0] <= '9')
	for _, c := range s {
		if !(c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || allowDashes && c == '-') {
			ok = false
		}
	}
	if !ok {
		detail := "Symbols must start with a letter or an underscore and contain only letters, digits, underscores"
		if allowDashes {
			detail += " and dashes"
		}
		return &node.Error{Prov: n.Prov(), Reason: node.InvalidSymbolName,
			Msg: fmt.Sprintf("invalid %s '%s'", purpose, s), Detail: detail + "."}
	}
	return nil
}

// projectPath validates a project-relative path written at n.
func projectPath(projectDir string, n *node.Node, mustExist, mustBeDir bool) (string, error) {
	rel := n.Value()
	if filepath.IsAbs(rel) {
		return "", node.Errorf(n.Prov(), node.ProjPathInvalid, "absolute path '%s' specified: paths must be relative to the project", rel)
	}
	clean := filepath.Clean(rel)
	if clean == ".." || strings.HasPrefix(clean, "../") {
		return "", node.Errorf(n.Prov(), node.ProjPathInvalid, "path '%s' leads outside the project directory", rel)
	}
	full := filepath.Join(projectDir, clean)
	// Resolve symlinks so a link cannot lead out of the project either.
	if real, err := filepath.EvalSymlinks(full); err == nil {
		if rp, err := filepath.EvalSymlinks(projectDir); err == nil {
			if r, err := filepath.Rel(rp, real); err != nil || r == ".." || strings.HasPrefix(r, "../") {
				return "", node.Errorf(n.Prov(), node.ProjPathInvalid, "path '%s' leads outside the project directory", rel)
			}
		}
	}
	st, err := os.Stat(full)
	if err != nil {
		if mustExist {
			return "", node.Errorf(n.Prov(), node.MissingFile, "path '%s' does not exist", rel)
		}
		return clean, nil
	}
	if mustBeDir && !st.IsDir() {
		return "", node.Errorf(n.Prov(), node.ProjPathInvalidKind, "path '%s' is not a directory", rel)
	}
	if !mustBeDir && !st.Mode().IsRegular() && !st.IsDir() {
		return "", node.Errorf(n.Prov(), node.ProjPathInvalidKind, "path '%s' is neither a regular file nor a directory", rel)
	}
	return clean, nil
}

// ElementNames lists every .bst file under the element path, relative to
// it, sorted. It is computed once.
func (p *Project) ElementNames() ([]string, error) {
	p.namesOnce.Do(func() {
		err := filepath.WalkDir(p.ElementPath, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() && d.Name() == ".bst" && path != p.ElementPath {
				return filepath.SkipDir
			}
			if !d.IsDir() && strings.HasSuffix(d.Name(), ".bst") {
				rel, _ := filepath.Rel(p.ElementPath, path)
				p.names = append(p.names, filepath.ToSlash(rel))
			}
			return nil
		})
		sort.Strings(p.names)
		if err != nil {
			p.namesErr = fmt.Errorf("listing elements: %w", err)
		}
	})
	return p.names, p.namesErr
}
