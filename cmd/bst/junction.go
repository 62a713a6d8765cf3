package main

import (
	"context"
	"fmt"
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

// sourceProjects gives package source every project loaded with p.
func sourceProjects(p *loader.Project, uc *loader.UserConfig, defaultMirror string) ([]*source.Project, error) {
	var out []*source.Project
	for _, q := range p.Projects() {
		dm := ""
		if q == p.Toplevel() {
			dm = defaultMirror
		}
		sp, err := sourceProject(q, uc, dm)
		if err != nil {
			return nil, err
		}
		out = append(out, sp)
	}
	return out, nil
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
