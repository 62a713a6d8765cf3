package element

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math/rand"
	"sort"
	"strings"
	"testing"

	"github.com/bstgo/bst/element/internal/sha256lanes"
	"github.com/bstgo/bst/loader/node"
)

// This file keeps the cache key's definition in its plain form — the key
// dictionary built as maps and lists, encoded by canonicalJSON, over the
// build scope walked afresh — and checks that ComputeKeys, which writes
// the same preimage as bytes, gives the same preimages and keys.

// referenceKeys computes e's keys from the dictionary form; the keys of
// e's build scope must be known.
func referenceKeys(kc KeyContext, e *Element, debug *bytes.Buffer) Keys {
	if !e.SourcesResolved() {
		return Keys{}
	}
	base := referenceBase(kc, e)
	strictDirect := map[*Element]bool{}
	for _, d := range e.Deps {
		if d.Strict {
			strictDirect[d.Element] = true
		}
	}
	strictRebuild := e.Plugin.Flags().StrictRebuild
	weakDeps, strictDeps := []any{}, []any{}
	for _, d := range Dependencies([]*Element{e}, ScopeBuild) {
		if d.Keys.Weak == "" || d.Keys.Strict == "" {
			return Keys{}
		}
		if strictRebuild || strictDirect[d] {
			weakDeps = append(weakDeps, []any{d.Project, d.Name, d.Keys.Weak})
		} else {
			weakDeps = append(weakDeps, []any{d.Project, d.Name})
		}
		strictDeps = append(strictDeps, []any{d.Project, d.Name, d.Keys.Strict})
	}
	hash := func(which string, deps []any, weak string) string {
		d := map[string]any{"dependencies": deps}
		for k, v := range base {
			d[k] = v
		}
		if weak != "" {
			d["weak-cache-key"] = weak
		}
		pre := canonicalJSON(d)
		sum := sha256.Sum256(pre)
		key := hex.EncodeToString(sum[:])
		fmt.Fprintf(debug, "[cachekey] %s %s %s\n%s\n", e.FullName, which, key, pre)
		return key
	}
	var k Keys
	k.Weak = hash("weak", weakDeps, "")
	k.Strict = hash("strict", strictDeps, k.Weak)
	if kc.Strict {
		k.Strong = k.Strict
	}
	return k
}

// referenceBase is the part of the dictionary that does not depend on the
// dependencies.
func referenceBase(kc KeyContext, e *Element) map[string]any {
	br, _ := e.Variables.Get("build-root")
	version := 0
	if av, ok := e.Plugin.(ArtifactVersioner); ok {
		version = av.ArtifactVersion()
	}
	var pluginKey any
	if e.KindConfig != nil {
		pluginKey = e.KindConfig.UniqueKey()
	}
	sources := []any{}
	for _, s := range e.Sources {
		sd := map[string]any{"key": s.Plugin.UniqueKey(), "name": s.Kind}
		if s.Directory != "" {
			sd["directory"] = s.Directory
		}
		sources = append(sources, sd)
	}
	fw := append([]string{}, kc.FatalWarnings[e.Project]...)
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
		s := e.SandboxConfig
		sb := map[string]any{"build-os": s.BuildOS, "build-arch": s.BuildArch}
		if s.BuildUID != nil {
			sb["build-uid"] = *s.BuildUID
		}
		if s.BuildGID != nil {
			sb["build-gid"] = *s.BuildGID
		}
		if s.RemoteAPIsSocketPath != "" {
			r := map[string]any{"path": s.RemoteAPIsSocketPath}
			if s.RemoteAPIsACUpdate {
				r["action-cache-enable-update"] = true
			}
			sb["remote-apis-socket"] = r
		}
		d["sandbox"] = sb
		d["environment"] = env
	}
	return d
}

func containsString(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// nodeValue converts a node tree into plain values for canonicalJSON.
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

// Test doubles: a kind with settable flags, its configuration, a source
// and variables.

type testKind struct {
	name  string
	flags Flags
}

func (k testKind) Name() string     { return k.name }
func (k testKind) Defaults() string { return "" }
func (k testKind) Flags() Flags     { return k.flags }
func (k testKind) Configure(*node.Node, Vars) (Config, error) {
	return nil, nil
}

type versionedKind struct{ testKind }

func (versionedKind) ArtifactVersion() int { return 3 }

type testConfig struct{ key any }

func (c testConfig) UniqueKey() any { return c.key }

type testSource struct {
	resolved bool
	key      any
}

func (s testSource) Resolved() bool { return s.resolved }
func (s testSource) UniqueKey() any { return s.key }

type testVars map[string]string

func (v testVars) Get(name string) (string, bool) { s, ok := v[name]; return s, ok }
func (v testVars) Names() []string                { return nil }

// keyTestGraph returns n elements with random dependencies, kinds,
// sources, environments, sandboxes and public data, dependencies first.
func keyTestGraph(r *rand.Rand, n int) []*Element {
	els := randomGraph(r, n)
	words := []string{"", "x", "é😀<&>/", "a\"b\\c\n\t\x01", "%{prefix}"}
	pick := func() string { return words[r.Intn(len(words))] }
	shared := node.NewMapping(node.Synthetic)
	shared.Set("bst", node.NewStringList(node.Synthetic, []string{"/usr/bin", "/usr/lib/lib*.so*"}))
	for i, e := range els {
		e.Project = []string{"p", "q/r"}[r.Intn(2)]
		e.FullName = e.Name
		kind := testKind{name: []string{"manual", "stack", "compose"}[r.Intn(3)],
			flags: Flags{RunsCommands: r.Intn(2) == 0, StrictRebuild: r.Intn(4) == 0}}
		e.Kind = kind.name
		e.Plugin = kind
		if r.Intn(5) == 0 {
			e.Plugin = versionedKind{kind}
		}
		e.Variables = testVars{"build-root": "/buildstream/" + e.Project + "/" + e.Name + pick()}
		switch r.Intn(4) {
		case 0:
			e.KindConfig = testConfig{map[string]any{"z": []string{pick()}, "a": pick(), "m": map[string]any{}}}
		case 1:
			e.KindConfig = testConfig{1}
		case 2:
			e.KindConfig = testConfig{[]any{true, false, nil, pick()}}
		}
		for k := 0; k < r.Intn(3); k++ {
			s := &Source{Kind: []string{"local", "tar"}[r.Intn(2)], Plugin: testSource{resolved: r.Intn(10) > 0, key: []any{pick(), i}}}
			if r.Intn(2) == 0 {
				s.Directory = "sub" + pick()
			}
			e.Sources = append(e.Sources, s)
		}
		for k := 0; k < r.Intn(4); k++ {
			e.Environment = append(e.Environment, Variable{Name: fmt.Sprintf("V%d%s", r.Intn(5), pick()), Value: pick()})
		}
		dedupEnv(e)
		if len(e.Environment) > 0 && r.Intn(2) == 0 {
			e.EnvNoCache = []string{e.Environment[0].Name}
		}
		e.SandboxConfig = SandboxConfig{BuildOS: "linux", BuildArch: "x86-64"}
		if r.Intn(3) == 0 {
			uid, gid := r.Intn(2000), r.Intn(2000)
			e.SandboxConfig.BuildUID = &uid
			if r.Intn(2) == 0 {
				e.SandboxConfig.BuildGID = &gid
			}
		}
		if r.Intn(5) == 0 {
			e.SandboxConfig.RemoteAPIsSocketPath = "/run/reapi" + pick()
			e.SandboxConfig.RemoteAPIsACUpdate = r.Intn(2) == 0
		}
		switch r.Intn(3) {
		case 0:
			e.Public = shared
		case 1:
			p := node.NewMapping(node.Synthetic)
			p.Set("zeta", node.NewScalar(node.Synthetic, pick()))
			p.Set("alpha", node.NewStringList(node.Synthetic, []string{pick(), pick()}))
			e.Public = p
		}
		for _, d := range e.Deps {
			d.Strict = d.Type&DepBuild != 0 && r.Intn(6) == 0
		}
	}
	return els
}

// dedupEnv keeps the first of each environment variable, as the loader's
// mapping does.
func dedupEnv(e *Element) {
	seen := map[string]bool{}
	out := e.Environment[:0]
	for _, v := range e.Environment {
		if !seen[v.Name] {
			seen[v.Name] = true
			out = append(out, v)
		}
	}
	e.Environment = out
}

func TestComputeKeysMatchesDictionary(t *testing.T) {
	for _, generic := range []bool{false, true} {
		for _, stream := range []bool{false, true} {
			t.Run(fmt.Sprintf("generic=%v,stream=%v", generic, stream), func(t *testing.T) {
				defer sha256lanes.UseGeneric(generic)()
				if stream {
					// Every element with more than one node in its build
					// scope streams, 40 bytes at a time, and every
					// scratch array is mapped.
					defer func(e, c, m int) { streamEntries, streamChunk, mapMin = e, c, m }(streamEntries, streamChunk, mapMin)
					streamEntries, streamChunk, mapMin = 1, 40, 1
				}
				testComputeKeysMatchesDictionary(t)
			})
		}
	}
}

// testComputeKeysMatchesDictionary checks ComputeKeys against
// referenceKeys over random graphs.
func testComputeKeysMatchesDictionary(t *testing.T) {
	r := rand.New(rand.NewSource(11))
	for round := 0; round < 40; round++ {
		els := keyTestGraph(r, 80)
		kc := KeyContext{Strict: round%2 == 0, FatalWarnings: map[string][]string{"p": {"z", "overlaps"}}}
		var want bytes.Buffer
		wantKeys := make([]Keys, len(els))
		for i, e := range els {
			wantKeys[i] = referenceKeys(kc, e, &want)
			e.Keys = wantKeys[i]
		}
		// The order given must not matter to the result when computing
		// in parallel; the debug output follows it.
		for i := range els {
			els[i].Keys = Keys{Weak: "stale", Strict: "stale"}
		}
		ComputeKeys(kc, els)
		for i, e := range els {
			if e.Keys != wantKeys[i] {
				t.Fatalf("round %d: %s: keys %+v, want %+v", round, e.Name, e.Keys, wantKeys[i])
			}
		}
		var got bytes.Buffer
		kc.Debug = &got
		ComputeKeys(kc, els)
		if got.String() != want.String() {
			t.Fatalf("round %d: debug output differs:\n%s", round, firstDifference(got.String(), want.String()))
		}
	}
}

// Dependencies left out of the list keep their keys and count as inputs.
func TestComputeKeysExternalDependencies(t *testing.T) {
	r := rand.New(rand.NewSource(5))
	els := keyTestGraph(r, 60)
	kc := KeyContext{Strict: true}
	var sink bytes.Buffer
	for _, e := range els {
		e.Keys = referenceKeys(kc, e, &sink)
	}
	want := make([]Keys, len(els))
	for i, e := range els {
		want[i] = e.Keys
	}
	ComputeKeys(kc, els[30:])
	for i, e := range els {
		if e.Keys != want[i] {
			t.Fatalf("%s: keys %+v, want %+v", e.Name, e.Keys, want[i])
		}
	}
}

// Elements that share their first two build dependencies share the
// hashing of their run scopes; the keys must not show it.
func TestComputeKeysSharedStarts(t *testing.T) {
	for _, generic := range []bool{false, true} {
		t.Run(fmt.Sprintf("generic=%v", generic), func(t *testing.T) {
			defer sha256lanes.UseGeneric(generic)()
			r := rand.New(rand.NewSource(17))
			els := keyTestGraph(r, 400)
			// The later elements start with one of a few pairs of the
			// first 60, build-only or build and runtime, then keep what
			// they had.
			types := []DepType{DepBuild, DepAll}
			for _, e := range els[100:] {
				pair := r.Intn(6)
				a, b := els[pair*7], els[pair*7+40]
				deps := []*Dependency{{Element: a, Type: types[r.Intn(2)]}, {Element: b, Type: types[r.Intn(2)]}}
				for _, d := range e.Deps {
					if d.Element != a && d.Element != b {
						deps = append(deps, d)
					}
				}
				e.Deps = deps
			}
			for round, kc := range []KeyContext{{Strict: true}, {Strict: false}} {
				var sink bytes.Buffer
				want := make([]Keys, len(els))
				for i, e := range els {
					want[i] = referenceKeys(kc, e, &sink)
					e.Keys = want[i]
				}
				for _, e := range els {
					e.Keys = Keys{Weak: "stale", Strict: "stale"}
				}
				ComputeKeys(kc, els)
				for i, e := range els {
					if e.Keys != want[i] {
						t.Fatalf("round %d: %s: keys %+v, want %+v", round, e.Name, e.Keys, want[i])
					}
				}
			}
		})
	}
}

// Many independent elements take the parallel path.
func TestComputeKeysWide(t *testing.T) {
	r := rand.New(rand.NewSource(3))
	els := keyTestGraph(r, 2000)
	kc := KeyContext{Strict: true}
	var sink bytes.Buffer
	want := make([]Keys, len(els))
	for i, e := range els {
		want[i] = referenceKeys(kc, e, &sink)
		e.Keys = want[i]
	}
	ComputeKeys(kc, els)
	for i, e := range els {
		if e.Keys != want[i] {
			t.Fatalf("%s: keys %+v, want %+v", e.Name, e.Keys, want[i])
		}
	}
}

func firstDifference(a, b string) string {
	la, lb := strings.Split(a, "\n"), strings.Split(b, "\n")
	for i := 0; i < len(la) && i < len(lb); i++ {
		if la[i] != lb[i] {
			return fmt.Sprintf("line %d:\n got %s\nwant %s", i+1, la[i], lb[i])
		}
	}
	return fmt.Sprintf("lengths %d and %d lines", len(la), len(lb))
}
