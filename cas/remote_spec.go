package cas

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/bstgo/bst/loader/node"
)

// RemoteType says what a cache server is used for, as a remote spec's
// `type` key does.
type RemoteType string

// The remote types of BuildStream's remote specs.
const (
	// RemoteIndex is a Remote Asset service only: it maps artifact and
	// source names to digests whose content some storage remote holds.
	RemoteIndex RemoteType = "index"
	// RemoteStorage is a CAS only.
	RemoteStorage RemoteType = "storage"
	// RemoteAll is both.
	RemoteAll RemoteType = "all"
)

// HasIndex reports whether the type includes the Remote Asset service.
func (t RemoteType) HasIndex() bool { return t == RemoteIndex || t == RemoteAll }

// HasStorage reports whether the type includes the CAS.
func (t RemoteType) HasStorage() bool { return t == RemoteStorage || t == RemoteAll }

// SpecPurpose is what a remote given on the command line is for. It only
// decides the default of `push` and whether the `push` key is allowed,
// as in BuildStream's RemoteSpec.new_from_string.
type SpecPurpose int

// The purposes of command line remotes.
const (
	PurposeAll  SpecPurpose = iota // pull and push: push defaults to true
	PurposePush                    // push only: push is true, the key is refused
	PurposePull                    // pull only: push is false, the key is refused
)

// RemoteSpec describes one cache server, as BuildStream's remote specs do
// in project.conf (`artifacts:`, `source-caches:`), in the user
// configuration (`servers:`) and on the command line.
//
// The credentials are file names; the files are read when the remote is
// first used, never logged, and never shown in errors.
type RemoteSpec struct {
	URL          string
	InstanceName string
	Type         RemoteType
	Push         bool

	ServerCert  string // PEM file of the CA or certificate the server must present
	ClientKey   string // PEM file of the client's private key
	ClientCert  string // PEM file of the client's certificate
	AccessToken string // file holding a bearer token
	// AccessTokenReload is how often the token file is read again (0:
	// read once).
	AccessTokenReload time.Duration

	// Connection settings; zero values mean the defaults of
	// DefaultRetryLimit and DefaultRetryDelay, no keepalive pings and no
	// per-request timeout.
	KeepaliveTime  time.Duration
	RetryLimit     int // -1 means the default
	RetryDelay     time.Duration
	RequestTimeout time.Duration

	// Origin says where the spec was written: a provenance, or "command
	// line". It is not part of the spec's identity.
	Origin string
}

// The connection defaults used when a spec's connection-config does not
// set them.
const (
	DefaultRetryLimit = 4
	DefaultRetryDelay = 200 * time.Millisecond
)

// key is the spec without its origin, for deduplication.
func (s RemoteSpec) key() RemoteSpec {
	s.Origin = ""
	return s
}

// String names the remote for messages: its URL, and its instance name
// when it has one. Credentials never appear.
func (s RemoteSpec) String() string {
	if s.InstanceName != "" {
		return s.URL + " (instance " + s.InstanceName + ")"
	}
	return s.URL
}

func (s RemoteSpec) retryLimit() int {
	if s.RetryLimit < 0 {
		return DefaultRetryLimit
	}
	return s.RetryLimit
}

func (s RemoteSpec) retryDelay() time.Duration {
	if s.RetryDelay <= 0 {
		return DefaultRetryDelay
	}
	return s.RetryDelay
}

// ParseRemoteSpec reads a remote spec mapping (BuildStream's
// RemoteSpec.new_from_node). Relative credential paths are resolved
// against basedir (the project directory for project.conf specs; for the
// user configuration, "" leaves them as written after expanding "~").
func ParseRemoteSpec(n *node.Node, basedir string) (RemoteSpec, error) {
	spec := RemoteSpec{Type: RemoteAll, RetryLimit: -1, Origin: n.Prov().String()}
	if !n.IsMapping() {
		return spec, node.Errorf(n.Prov(), node.InvalidData, "a remote spec must be a mapping with at least a 'url'")
	}
	if err := n.ValidateKeys("url", "instance-name", "type", "push", "auth", "connection-config"); err != nil {
		return spec, err
	}
	u, err := n.GetScalar("url", false)
	if err != nil {
		return spec, err
	}
	if u.Value() == "" {
		return spec, node.Errorf(u.Prov(), node.InvalidData, "empty artifact cache URL")
	}
	if _, _, err := parseRemoteURL(u.Value()); err != nil {
		return spec, node.Errorf(u.Prov(), node.InvalidData, "%v", err)
	}
	spec.URL = u.Value()
	if spec.InstanceName, err = n.GetString("instance-name", ""); err != nil {
		return spec, err
	}
	if t, err := n.GetScalar("type", true); err != nil {
		return spec, err
	} else if t != nil {
		switch rt := RemoteType(t.Value()); rt {
		case RemoteIndex, RemoteStorage, RemoteAll:
			spec.Type = rt
		default:
			return spec, node.Errorf(t.Prov(), node.InvalidData,
				"value of 'type' should be one of: index, storage, all (got %q)", t.Value())
		}
	}
	if spec.Push, err = n.GetBool("push", false); err != nil {
		return spec, err
	}
	if auth, err := n.GetMapping("auth", true); err != nil {
		return spec, err
	} else if auth != nil {
		if err := parseAuth(auth, basedir, &spec); err != nil {
			return spec, err
		}
	}
	if cc, err := n.GetMapping("connection-config", true); err != nil {
		return spec, err
	} else if cc != nil {
		if err := parseConnectionConfig(cc, &spec); err != nil {
			return spec, err
		}
	}
	return spec, nil
}

func parseAuth(auth *node.Node, basedir string, spec *RemoteSpec) error {
	if err := auth.ValidateKeys("server-cert", "client-key", "client-cert", "access-token", "access-token-reload-interval"); err != nil {
		return err
	}
	for _, f := range []struct {
		key string
		dst *string
	}{
		{"server-cert", &spec.ServerCert},
		{"client-key", &spec.ClientKey},
		{"client-cert", &spec.ClientCert},
		{"access-token", &spec.AccessToken},
	} {
		v, err := auth.GetString(f.key, "")
		if err != nil {
			return err
		}
		if v != "" {
			*f.dst = resolveSpecPath(v, basedir)
		}
	}
	minutes, err := auth.GetInt("access-token-reload-interval", 0)
	if err != nil {
		return err
	}
	if minutes < 0 {
		return node.Errorf(auth.KeyProv("access-token-reload-interval"), node.InvalidData,
			"'access-token-reload-interval' must not be negative")
	}
	spec.AccessTokenReload = time.Duration(minutes) * time.Minute
	if spec.ClientKey != "" && spec.ClientCert == "" {
		return node.Errorf(auth.KeyProv("client-key"), node.InvalidData, "'client-key' was specified without 'client-cert'")
	}
	if spec.ClientCert != "" && spec.ClientKey == "" {
		return node.Errorf(auth.KeyProv("client-cert"), node.InvalidData, "'client-cert' was specified without 'client-key'")
	}
	return nil
}

func parseConnectionConfig(cc *node.Node, spec *RemoteSpec) error {
	if err := cc.ValidateKeys("keepalive-time", "retry-limit", "retry-delay", "request-timeout"); err != nil {
		return err
	}
	for _, f := range []struct {
		key  string
		unit time.Duration
		dst  *time.Duration
	}{
		{"keepalive-time", time.Second, &spec.KeepaliveTime},
		{"retry-delay", time.Millisecond, &spec.RetryDelay},
		{"request-timeout", time.Second, &spec.RequestTimeout},
	} {
		v, err := cc.GetInt(f.key, 0)
		if err != nil {
			return err
		}
		if v < 0 {
			return node.Errorf(cc.KeyProv(f.key), node.InvalidData, "'%s' must not be negative", f.key)
		}
		*f.dst = time.Duration(v) * f.unit
	}
	if cc.Has("retry-limit") {
		v, err := cc.GetInt("retry-limit", 0)
		if err != nil {
			return err
		}
		if v < 0 {
			return node.Errorf(cc.KeyProv("retry-limit"), node.InvalidData, "'retry-limit' must not be negative")
		}
		spec.RetryLimit = v
	}
	return nil
}

// resolveSpecPath expands "~" and makes path relative to basedir, as
// BuildStream's RemoteSpec._resolve_path does.
func resolveSpecPath(path, basedir string) string {
	if path == "~" || strings.HasPrefix(path, "~/") {
		if home, err := os.UserHomeDir(); err == nil {
			path = filepath.Join(home, path[1:])
		}
	}
	if basedir != "" && !filepath.IsAbs(path) {
		path = filepath.Join(basedir, path)
	}
	return path
}

// ParseRemoteSpecString reads a remote given on the command line
// (--artifact-remote, --source-remote): either a bare URL or
// comma-separated key=value pairs with the keys url, instance-name, type,
// push, server-cert, client-key, client-cert and access-token. Paths are
// relative to cwd.
func ParseRemoteSpecString(s string, purpose SpecPurpose, cwd string) (RemoteSpec, error) {
	spec := RemoteSpec{Type: RemoteAll, Push: purpose != PurposePull, RetryLimit: -1, Origin: "command line"}
	parts := strings.Split(s, ",")
	if len(parts) == 1 {
		spec.URL = s
	} else {
		for _, p := range parts {
			kv := strings.Split(p, "=")
			if len(kv) != 2 {
				return spec, fmt.Errorf("invalid format '%s' found in remote specification: %s", redactSpecString(p), redactSpecString(s))
			}
			key, val := kv[0], kv[1]
			switch key {
			case "url":
				spec.URL = val
			case "instance-name":
				spec.InstanceName = val
			case "type":
				switch rt := RemoteType(val); rt {
				case RemoteIndex, RemoteStorage, RemoteAll:
					spec.Type = rt
				default:
					return spec, fmt.Errorf("value for remote 'type' must be one of: index, storage, all")
				}
			case "push":
				if purpose != PurposeAll {
					return spec, fmt.Errorf("the 'push' key is invalid and assumed to be %s", pyBool(spec.Push))
				}
				switch val {
				case "True", "true":
					spec.Push = true
				case "False", "false":
					spec.Push = false
				default:
					return spec, fmt.Errorf("value for 'push' must be 'True' or 'False'")
				}
			case "server-cert":
				spec.ServerCert = resolveSpecPath(val, cwd)
			case "client-key":
				spec.ClientKey = resolveSpecPath(val, cwd)
			case "client-cert":
				spec.ClientCert = resolveSpecPath(val, cwd)
			case "access-token":
				spec.AccessToken = resolveSpecPath(val, cwd)
			default:
				return spec, fmt.Errorf("unexpected key '%s' encountered", key)
			}
		}
	}
	if spec.URL == "" {
		return spec, fmt.Errorf("no URL specified in remote")
	}
	if _, _, err := parseRemoteURL(spec.URL); err != nil {
		return spec, err
	}
	return spec, nil
}

// redactSpecString keeps only the keys of a remote string, in case a
// value is something private.
func redactSpecString(s string) string {
	parts := strings.Split(s, ",")
	for i, p := range parts {
		if k, _, ok := strings.Cut(p, "="); ok && k != "url" {
			parts[i] = k + "=…"
		}
	}
	return strings.Join(parts, ",")
}

func pyBool(b bool) string {
	if b {
		return "True"
	}
	return "False"
}

// CacheKind names one of the two kinds of remote caches, by its key in
// project.conf and the user configuration.
type CacheKind string

// The two kinds of remote caches.
const (
	ArtifactCaches CacheKind = "artifacts"
	SourceCaches   CacheKind = "source-caches"
)

// CacheConfig is a user configuration's `artifacts:` or `source-caches:`
// section: `override-project-caches` and `servers`.
type CacheConfig struct {
	OverrideProjectCaches bool
	Servers               []RemoteSpec
}

// ParseCacheConfig reads an `artifacts:` or `source-caches:` section of
// the user configuration (nil: empty).
func ParseCacheConfig(n *node.Node) (CacheConfig, error) {
	var c CacheConfig
	if n == nil {
		return c, nil
	}
	if !n.IsMapping() {
		return c, node.Errorf(n.Prov(), node.InvalidData,
			"remote caches in the user configuration are a mapping with 'override-project-caches' and 'servers'")
	}
	if err := n.ValidateKeys("override-project-caches", "servers"); err != nil {
		return c, err
	}
	var err error
	if c.OverrideProjectCaches, err = n.GetBool("override-project-caches", false); err != nil {
		return c, err
	}
	servers, err := n.GetSequence("servers", true)
	if err != nil {
		return c, err
	}
	if servers == nil {
		return c, nil
	}
	for _, s := range servers.Items() {
		spec, err := ParseRemoteSpec(s, "")
		if err != nil {
			return c, err
		}
		c.Servers = append(c.Servers, spec)
	}
	return c, nil
}

// ParseProjectRemotes reads a project's recommended remotes (the
// `artifacts:` or `source-caches:` list of its configuration), with paths
// relative to the project directory dir.
func ParseProjectRemotes(config *node.Node, kind CacheKind, dir string) ([]RemoteSpec, error) {
	seq, err := config.GetSequence(string(kind), true)
	if err != nil || seq == nil {
		return nil, err
	}
	var out []RemoteSpec
	for _, s := range seq.Items() {
		spec, err := ParseRemoteSpec(s, dir)
		if err != nil {
			return nil, err
		}
		out = append(out, spec)
	}
	return out, nil
}

// RemoteSelection is what the command line says about remotes: the
// --artifact-remote or --source-remote specs, and whether the project's
// recommendations are ignored (--ignore-project-*-remotes).
type RemoteSelection struct {
	CLI           []RemoteSpec
	IgnoreProject bool
}

// ResolveRemotes decides which remotes a project uses for one kind of
// cache, in BuildStream's order (Context._resolve_specs_for_project):
//
//   - with --ignore-project-…-remotes and command line remotes, only those;
//   - otherwise the command line remotes, or else the user's
//     projects.<name>.<kind>.servers, or else the user's global
//     <kind>.servers;
//   - then, unless --ignore-project-…-remotes or an
//     override-project-caches of the user configuration says not to, the
//     project's own recommendations (project.conf), duplicates dropped.
//
// user is the whole user configuration; project is the project's name,
// config its composed configuration and dir its directory.
func ResolveRemotes(kind CacheKind, user *node.Node, project string, config *node.Node, dir string, sel RemoteSelection) ([]RemoteSpec, error) {
	if sel.IgnoreProject && len(sel.CLI) > 0 {
		return append([]RemoteSpec(nil), sel.CLI...), nil
	}
	global, err := ParseCacheConfig(user.Get(string(kind)))
	if err != nil {
		return nil, err
	}
	override, err := ParseCacheConfig(user.Get("projects").Get(project).Get(string(kind)))
	if err != nil {
		return nil, err
	}
	var remotes []RemoteSpec
	switch {
	case len(sel.CLI) > 0:
		remotes = sel.CLI
	case len(override.Servers) > 0:
		remotes = override.Servers
	default:
		remotes = global.Servers
	}
	remotes = append([]RemoteSpec(nil), remotes...)
	if sel.IgnoreProject || override.OverrideProjectCaches || global.OverrideProjectCaches {
		return remotes, nil
	}
	recommended, err := ParseProjectRemotes(config, kind, dir)
	if err != nil {
		return nil, err
	}
	return dedupeSpecs(append(remotes, recommended...)), nil
}

// dedupeSpecs drops later copies of the same spec.
func dedupeSpecs(specs []RemoteSpec) []RemoteSpec {
	seen := map[RemoteSpec]bool{}
	out := specs[:0]
	for _, s := range specs {
		if k := s.key(); !seen[k] {
			seen[k] = true
			out = append(out, s)
		}
	}
	return out
}
