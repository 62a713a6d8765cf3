package element

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/bstgo/bst/loader/node"
)

// CoreArtifactVersion is BuildStream's BST_CORE_ARTIFACT_VERSION: it enters
// every key, so that artifacts of an incompatible core are never reused.
const CoreArtifactVersion = 11

// Keys are an element's cache keys (reference §5).
//
//   - Weak: changes when the element or the names of its build-scope
//     dependencies change, not when their content does (except for strict
//     dependencies and kinds that rebuild strictly).
//   - Strict: changes when anything in the build scope changes.
//   - Strong: the key of the artifact actually used. In strict mode it is the
//     strict key; in non-strict mode it is known once an artifact is found
//     or built, and is "" before.
//
// All are "" when a source of the element, or of something it builds
// with, has no reference yet.
type Keys struct {
	Weak, Strict, Strong string
}

// ArtifactVersioner is implemented by kinds whose artifact format changed,
// BuildStream's BST_ARTIFACT_VERSION (0 when not implemented).
type ArtifactVersioner interface {
	ArtifactVersion() int
}

// SandboxConfig is the parsed `sandbox:` configuration of an element.
type SandboxConfig struct {
	BuildOS, BuildArch   string
	BuildUID, BuildGID   *int
	RemoteAPIsSocketPath string
	RemoteAPIsACUpdate   bool
}

// keyDict returns the sandbox configuration as it enters cache keys.
func (s SandboxConfig) keyDict() map[string]any {
	d := map[string]any{"build-os": s.BuildOS, "build-arch": s.BuildArch}
	if s.BuildUID != nil {
		d["build-uid"] = *s.BuildUID
	}
	if s.BuildGID != nil {
		d["build-gid"] = *s.BuildGID
	}
	if s.RemoteAPIsSocketPath != "" {
		r := map[string]any{"path": s.RemoteAPIsSocketPath}
		if s.RemoteAPIsACUpdate {
			r["action-cache-enable-update"] = true
		}
		d["remote-apis-socket"] = r
	}
	return d
}

// KeyContext is what key computation needs beyond the elements.
type KeyContext struct {
	// Strict is the build plan's mode.
	Strict bool
	// FatalWarnings are the project's, by project name.
	FatalWarnings map[string][]string
	// Debug, when set, receives each key's preimage (BST_DEBUG_CACHEKEY).
	Debug io.Writer
}

// ComputeKeys computes the keys of elements, which must be in an order
// where every element comes after its dependencies (such as the order of
// Dependencies with ScopeAll). Source keys must be loaded already.
func ComputeKeys(kc KeyContext, elements []*Element) {
	sc := NewScopeCache()
	for _, e := range elements {
		e.computeKeys(kc, sc.BuildScope(e))
	}
}

func (e *Element) computeKeys(kc KeyContext, buildScope []*Element) {
	e.Keys = Keys{}
	if !e.SourcesResolved() {
		return
	}
	base := e.baseKeyDict(kc)
	strictDirect := map[*Element]bool{}
	for _, d := range e.Deps {
		if d.Strict {
			strictDirect[d.Element] = true
		}
	}
	strictRebuild := e.Plugin.Flags().StrictRebuild
	weakDeps := make([]any, 0, len(buildScope))
	strictDeps := make([]any, 0, len(buildScope))
	for _, d := range buildScope {
		if d.Keys.Weak == "" || d.Keys.Strict == "" {
			return
		}
		if strictRebuild || strictDirect[d] {
			weakDeps = append(weakDeps, []any{d.Project, d.Name, d.Keys.Weak})
		} else {
			weakDeps = append(weakDeps, []any{d.Project, d.Name})
		}
		strictDeps = append(strictDeps, []any{d.Project, d.Name, d.Keys.Strict})
	}
	e.Keys.Weak = e.hashKey(kc, "weak", base, weakDeps, "")
	e.Keys.Strict = e.hashKey(kc, "strict", base, strictDeps, e.Keys.Weak)
	if kc.Strict {
		e.Keys.Strong = e.Keys.Strict
	}
}

func (e *Element) hashKey(kc KeyContext, which string, base map[string]any, deps []any, weak string) string {
	d := make(map[string]any, len(base)+2)
	for k, v := range base {
		d[k] = v
	}
	d["dependencies"] = deps
	if weak != "" {
		d["weak-cache-key"] = weak
	}
	pre := canonicalJSON(d)
	sum := sha256.Sum256(pre)
	key := hex.EncodeToString(sum[:])
	if kc.Debug != nil {
		fmt.Fprintf(kc.Debug, "[cachekey] %s %s %s\n%s\n", e.FullName, which, key, pre)
	}
	return key
}

// SourcesResolved reports whether every source has a reference.
func (e *Element) SourcesResolved() bool {
	for _, s := range e.Sources {
		if !s.Plugin.Resolved() {
			return false
		}
	}
	return true
}

// baseKeyDict is the part of the key preimage that does not depend on the
// dependencies.
func (e *Element) baseKeyDict(kc KeyContext) map[string]any {
	br, _ := e.Variables.Get("build-root")
	version := 0
	if av, ok := e.Plugin.(ArtifactVersioner); ok {
		version = av.ArtifactVersion()
	}
	var pluginKey any
	if e.KindConfig != nil {
		pluginKey = e.KindConfig.UniqueKey()
	}
	sources := make([]any, 0, len(e.Sources))
	for _, s := range e.Sources {
		sd := map[string]any{"key": s.Plugin.UniqueKey(), "name": s.Kind}
		if s.Directory != "" {
			sd["directory"] = s.Directory
		}
		sources = append(sources, sd)
	}
	fw := append([]string(nil), kc.FatalWarnings[e.Project]...)
	sort.Strings(fw)
	d := map[string]any{
		"core-artifact-version":  CoreArtifactVersion,
		"element-base-key":       map[string]any{"build-root": br},
		"element-plugin-key":     pluginKey,
		"element-plugin-name":    e.Kind,
		"element-plugin-version": version,
		"public":                 nodeValue(e.Public),
		"sources":                sources,
		"fatal-warnings":         fw,
	}
	if e.RunsCommands() {
		env := map[string]any{}
		for _, v := range e.Environment {
			if !containsString(e.EnvNoCache, v.Name) {
				env[v.Name] = v.Value
			}
		}
		d["sandbox"] = e.SandboxConfig.keyDict()
		d["environment"] = env
	}
	return d
}

// RunsCommands reports whether the element runs commands in a sandbox,
// which brings its sandbox configuration and environment into its key.
func (e *Element) RunsCommands() bool {
	if rc, ok := e.KindConfig.(interface{ RunsCommands() bool }); ok {
		return rc.RunsCommands()
	}
	return e.Plugin.Flags().RunsCommands
}

func containsString(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// nodeValue converts a node tree into plain values for hashing.
func nodeValue(n *node.Node) any {
	if n == nil {
		return map[string]any{}
	}
	switch n.Kind() {
	case node.ScalarKind:
		return n.Value()
	case node.SequenceKind:
		out := make([]any, n.Len())
		for i, it := range n.Items() {
			out[i] = nodeValue(it)
		}
		return out
	}
	out := make(map[string]any, n.Len())
	for i, k := range n.Keys() {
		out[k] = nodeValue(n.Items()[i])
	}
	return out
}

// DisplayKey returns the key shown for the element: its strong key, or 64
// question marks when not known yet, and whether it is the strict key.
func (e *Element) DisplayKey() (full string, strict bool) {
	if e.Keys.Strong == "" {
		return strings.Repeat("?", 64), false
	}
	return e.Keys.Strong, e.Keys.Strong == e.Keys.Strict
}
