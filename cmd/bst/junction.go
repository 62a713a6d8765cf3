package main

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/bstgo/bst/cas"
	"github.com/bstgo/bst/element"
	"github.com/bstgo/bst/loader"
	"github.com/bstgo/bst/plugins"
	"github.com/bstgo/bst/source"
)

// junctionStager opens junctions for the loader: it fetches a junction's
// sources when they are not cached (BuildStream fetches junctions
// implicitly while loading, even for bst show) and stages them.
type junctionStager struct{ a *app }

var _ loader.JunctionStager = junctionStager{}

func (s junctionStager) StageJunction(ctx context.Context, p *loader.Project, j *element.Element, dir string) error {
	env, err := s.a.newSourceEnv(p, nil, nil)
	if err != nil {
		return err
	}
	defer env.Close()
	es := plugins.ElementSources(j)
	if env.FetchNeeded(ctx, es) {
		start := time.Now()
		fmt.Fprintf(s.a.stderr, "Fetching junction %s\n", j.FullName)
		if _, err := env.Fetch(ctx, es); err != nil {
			return fmt.Errorf("fetching junction %s: %w", j.FullName, err)
		}
		fmt.Fprintf(s.a.stderr, "Fetched junction %s in %s\n", j.FullName, time.Since(start).Round(time.Millisecond))
	}
	d, err := env.Stage(ctx, es)
	if err != nil {
		return err
	}
	return env.Store.StageTree(ctx, d, dir, cas.StageOptions{Copy: true})
}

// sourceProjects gives package source every project loaded with p. The
// aliases a junction maps to its parent's (config aliases, map-aliases)
// fetch from the parent's URL and mirrors.
func sourceProjects(p *loader.Project, uc *loader.UserConfig, defaultMirror string) ([]*source.Project, error) {
	var out []*source.Project
	byProject := map[*loader.Project]*source.Project{}
	for _, q := range p.Projects() { // parents before their subprojects
		dm := ""
		if q == p.Toplevel() {
			dm = defaultMirror
		}
		sp, err := sourceProject(q, uc, dm)
		if err != nil {
			return nil, err
		}
		if parent := byProject[q.Parent()]; parent != nil {
			mapParentAliases(q, sp, parent)
		}
		byProject[q] = sp
		out = append(out, sp)
	}
	return out, nil
}

// mapParentAliases makes the aliases of subproject q that its junction
// maps to aliases of the parent use the parent's URL and mirrors.
func mapParentAliases(q *loader.Project, sp, parent *source.Project) {
	aliases := map[string]string{}
	for a, base := range sp.Aliases {
		aliases[a] = base
	}
	mirrors := map[string]int{}
	for i, m := range sp.Mirrors {
		mirrors[m.Name] = i
	}
	for a := range sp.Aliases {
		pa, ok := q.ParentAlias(a)
		if !ok {
			continue
		}
		if base, ok := parent.Aliases[pa]; ok {
			aliases[a] = base
		}
		for _, m := range parent.Mirrors {
			uris := m.Aliases[pa]
			if len(uris) == 0 {
				continue
			}
			i, ok := mirrors[m.Name]
			if !ok {
				i = len(sp.Mirrors)
				mirrors[m.Name] = i
				sp.Mirrors = append(sp.Mirrors, source.Mirror{Name: m.Name, Aliases: map[string][]string{}})
			} else {
				// Copy before adding: the map may be the loader's.
				cp := map[string][]string{}
				for k, v := range sp.Mirrors[i].Aliases {
					cp[k] = v
				}
				sp.Mirrors[i].Aliases = cp
			}
			sp.Mirrors[i].Aliases[a] = uris
		}
	}
	sp.Aliases = aliases
	if sp.DefaultMirror == "" {
		sp.DefaultMirror = parent.DefaultMirror
	}
}

// fatalWarnings are the fatal warnings of every project loaded with p, by
// project name.
func fatalWarnings(p *loader.Project) map[string][]string {
	m := map[string][]string{}
	for _, q := range p.Projects() {
		if _, ok := m[q.Name]; !ok {
			m[q.Name] = q.FatalWarnings
		}
	}
	return m
}

// crossJunctionFilter keeps, of the elements to track, those of the
// projects of the targets; with cross, it keeps all, which needs the
// toplevel project to store refs in project.refs, as BuildStream's
// _track_cross_junction_filter does.
func crossJunctionFilter(l *loaded, elements []*element.Element, cross bool) ([]*element.Element, error) {
	if !cross {
		projects := map[string]bool{}
		for _, t := range l.targets {
			projects[t.Project+"\x00"+junctionPrefix(t)] = true
		}
		var out []*element.Element
		for _, e := range elements {
			if projects[e.Project+"\x00"+junctionPrefix(e)] {
				out = append(out, e)
			}
		}
		elements = out
	}
	for _, e := range elements {
		if junctionPrefix(e) == "" {
			continue
		}
		if l.project.RefStorage != "project.refs" {
			return nil, fmt.Errorf("untrackable sources: %s belongs to a subproject\n"+
				"Tracking sources across junction boundaries needs the toplevel project to use\n"+
				"ref-storage: project.refs.", e.FullName)
		}
		return nil, fmt.Errorf("untrackable sources: %s belongs to a subproject, and bst cannot write junction.refs yet", e.FullName)
	}
	return elements, nil
}

// junctionPrefix is the junction path of an element's name ("" for the
// toplevel project's elements).
func junctionPrefix(e *element.Element) string {
	return strings.TrimSuffix(strings.TrimSuffix(e.FullName, e.Name), ":")
}
