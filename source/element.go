package source

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	repb "github.com/bazelbuild/remote-apis/build/bazel/remote/execution/v2"

	"github.com/bstgo/bst/cas"
	"github.com/bstgo/bst/loader/node"
)

// Entry is one source of an element, as fetching and staging see it.
type Entry struct {
	Kind      string
	Directory string
	Source    Source
	// Prov is where the source entry is declared, for errors.
	Prov node.Provenance
}

// ElementSources are the sources of one element, in order.
type ElementSources struct {
	Element string // the element's name, for messages
	Project string // the project declaring it
	Entries []Entry
}

// Key is the element sources key (ElementKey); every source must be
// resolved, and local sources' keys loaded.
func (es *ElementSources) Key() (string, error) {
	list := make([]ElementEntry, len(es.Entries))
	for i, e := range es.Entries {
		k, err := entryKey(e)
		if err != nil {
			return "", err
		}
		list[i] = ElementEntry{Kind: e.Kind, Directory: e.Directory, UniqueKey: k}
	}
	return ElementKey(list), nil
}

func entryKey(e Entry) (any, error) {
	if kl, ok := e.Source.(KeyLoader); ok {
		if err := kl.LoadKey(); err != nil {
			return nil, err
		}
	}
	if !e.Source.Resolved() {
		return nil, node.Errorf(e.Prov, "source-no-ref", "the %s source has no reference: run `bst source track` first", e.Kind)
	}
	return e.Source.UniqueKey(), nil
}

// sourceRef is the source cache ref of a resolved entry.
func sourceRef(e Entry) (string, error) {
	k, err := entryKey(e)
	if err != nil {
		return "", err
	}
	return SourceRef(e.Kind, k), nil
}

func (env *Env) contextFor(es *ElementSources, e Entry, tracking bool) *FetchContext {
	return env.Context(es.Project, es.Element, e.Prov, tracking)
}

// Cached reports whether the element's sources, staged together, are in
// the source cache (BuildStream's ElementSources.cached).
func (env *Env) Cached(ctx context.Context, es *ElementSources) bool {
	key, err := es.Key()
	if err != nil {
		return false
	}
	_, ok := env.Cache.Element(ctx, key)
	return ok
}

// FetchNeeded reports whether building the element would need fetching
// from the network: its sources are neither cached staged together nor
// each in the source directory (BuildStream's Element._fetch_needed,
// which `bst show` reports as "fetch needed"). It does no network I/O.
func (env *Env) FetchNeeded(ctx context.Context, es *ElementSources) bool {
	if env.Cached(ctx, es) {
		return false
	}
	for _, e := range es.Entries {
		f, ok := e.Source.(Fetcher)
		if !ok {
			continue
		}
		if ref, err := sourceRef(e); err == nil {
			if _, ok := env.Cache.Source(ctx, ref); ok {
				continue
			}
		}
		if !f.IsCached(env.contextFor(es, e, false)) {
			return true
		}
	}
	return false
}

// Fetch makes the element's sources available offline: each source that
// is in neither the source cache nor the source directory is fetched,
// each fetched source is staged into the source cache, and then all of
// them are staged together and cached under the element sources key, as
// BuildStream's fetch queue does. Identical sources of several elements
// fetched at the same time are fetched once.
func (env *Env) Fetch(ctx context.Context, es *ElementSources) (fetched bool, err error) {
	if env.Cached(ctx, es) {
		return false, nil
	}
	// The trees found or made here, by source ref, for staging them
	// together without looking them up again.
	known := map[string]cas.Digest{}
	var mu sync.Mutex
	for _, e := range es.Entries {
		f, ok := e.Source.(Fetcher)
		if !ok {
			continue
		}
		ref, err := sourceRef(e)
		if err != nil {
			return fetched, err
		}
		if d, ok := env.Cache.Source(ctx, ref); ok {
			known[ref] = d
			continue
		}
		fc := env.contextFor(es, e, false)
		err = env.flight.do(ref, func() error {
			if d, ok := env.Cache.Source(ctx, ref); ok {
				mu.Lock()
				known[ref] = d // another element fetched it meanwhile
				mu.Unlock()
				return nil
			}
			if !f.IsCached(fc) {
				fetched = true
				if err := f.Fetch(ctx, fc); err != nil {
					return err
				}
			}
			d, ok, err := env.commitSource(ctx, fc, e, ref)
			if ok {
				mu.Lock()
				known[ref] = d
				mu.Unlock()
			}
			return err
		})
		if err != nil {
			return fetched, err
		}
	}
	_, err = env.stage(ctx, es, known)
	return fetched, err
}

// commitSource stages a fetched source into the source cache, and
// returns its tree when it has one of its own.
func (env *Env) commitSource(ctx context.Context, fc *FetchContext, e Entry, ref string) (cas.Digest, bool, error) {
	fs, ok := e.Source.(FetchedStager)
	if !ok {
		return cas.Digest{}, false, nil
	}
	release, err := env.Store.Hold()
	if err != nil {
		return cas.Digest{}, false, err
	}
	defer release()
	d, err := fs.StageFetched(ctx, fc)
	if err != nil {
		return cas.Digest{}, false, err
	}
	if err := env.Cache.putMade(ctx, env.Cache.sourcePath(ref), d); err != nil {
		return cas.Digest{}, false, err
	}
	return d, true, nil
}

// Stage returns the Directory of the element's sources staged together,
// each at its directory, in order: from the source cache when it has
// them, or else staged from the source cache's single sources and the
// source directory, without network, and then cached. A source that was
// never fetched is an error saying so.
func (env *Env) Stage(ctx context.Context, es *ElementSources) (cas.Digest, error) {
	return env.stage(ctx, es, nil)
}

// stage is Stage, with the trees of some sources known (by source ref).
func (env *Env) stage(ctx context.Context, es *ElementSources, known map[string]cas.Digest) (cas.Digest, error) {
	key, err := es.Key()
	if err != nil {
		return cas.Digest{}, err
	}
	if d, ok := env.Cache.Element(ctx, key); ok {
		return d, nil
	}
	release, err := env.Store.Hold()
	if err != nil {
		return cas.Digest{}, err
	}
	defer release()
	root, err := env.Store.PutDirectory(ctx, &repb.Directory{})
	if err != nil {
		return cas.Digest{}, err
	}
	for _, e := range es.Entries {
		fc := env.contextFor(es, e, false)
		if ps, ok := e.Source.(PreviousStager); ok {
			prev, err := Subtree(ctx, env.Store, root, e.Directory)
			if err != nil {
				return cas.Digest{}, fmt.Errorf("%s: staging the %s source: %w", es.Element, e.Kind, err)
			}
			d, err := ps.StageOnto(ctx, fc, prev)
			if err != nil {
				return cas.Digest{}, err
			}
			if root, err = ReplaceSubtree(ctx, env.Store, root, e.Directory, d); err != nil {
				return cas.Digest{}, fmt.Errorf("%s: staging the %s source: %w", es.Element, e.Kind, err)
			}
			continue
		}
		d, err := env.stageOne(ctx, fc, e, known)
		if err != nil {
			return cas.Digest{}, err
		}
		tree := env.Store.LoadTree(root)
		if _, err := tree.Import(ctx, d, e.Directory, nil); err != nil {
			return cas.Digest{}, fmt.Errorf("%s: staging the %s source at '%s': %w", es.Element, e.Kind, e.Directory, err)
		}
		if root, err = tree.Digest(ctx); err != nil {
			return cas.Digest{}, err
		}
	}
	if err := env.Cache.putMade(ctx, env.Cache.elementPath(key), root); err != nil {
		return cas.Digest{}, err
	}
	return root, nil
}

// stageOne returns the tree of one source on its own.
func (env *Env) stageOne(ctx context.Context, fc *FetchContext, e Entry, known map[string]cas.Digest) (cas.Digest, error) {
	switch s := e.Source.(type) {
	case FetchedStager:
		ref, err := sourceRef(e)
		if err != nil {
			return cas.Digest{}, err
		}
		if d, ok := known[ref]; ok {
			return d, nil
		}
		if d, ok := env.Cache.Source(ctx, ref); ok {
			return d, nil
		}
		if f, ok := e.Source.(Fetcher); ok && !f.IsCached(fc) {
			return cas.Digest{}, fc.Errorf("the %s source is not fetched: run `bst source fetch %s`", e.Kind, fc.Element)
		}
		d, err := s.StageFetched(ctx, fc)
		if err != nil {
			return cas.Digest{}, err
		}
		return d, env.Cache.putMade(ctx, env.Cache.sourcePath(ref), d)
	case Stager:
		return s.Stage(ctx, env.Store)
	}
	return cas.Digest{}, fc.Errorf("sources of kind '%s' cannot be staged by bst", e.Kind)
}

// StageCached is for Stager implementations of fetched kinds: it returns
// the tree the source cache holds for a source (kind and unique key), or
// an error saying the source must be fetched first. It lets a build that
// stages sources one by one with Stager.Stage use what `bst source fetch`
// (or the build's fetch) cached.
func StageCached(ctx context.Context, store *cas.LocalStore, kind string, uniqueKey any) (cas.Digest, error) {
	c := &Cache{store: store, root: store.Root()}
	if d, ok := c.Source(ctx, SourceRef(kind, uniqueKey)); ok {
		return d, nil
	}
	return cas.Digest{}, fmt.Errorf("the %s source is not in the source cache: fetch it first (bst source fetch)", kind)
}

// Tracked is the outcome of tracking one source.
type Tracked struct {
	Index  int // of the source in the element
	Entry  Entry
	Update *RefUpdate // nil: nothing to track
}

// Track tracks each source of the element that can be tracked and
// returns what each found. Nothing is written: see RefWriter.
func (env *Env) Track(ctx context.Context, es *ElementSources) ([]Tracked, error) {
	var out []Tracked
	for i, e := range es.Entries {
		t, ok := e.Source.(Tracker)
		if !ok {
			continue
		}
		fc := env.contextFor(es, e, true)
		u, err := t.Track(ctx, fc)
		if err != nil {
			return out, err
		}
		out = append(out, Tracked{Index: i, Entry: e, Update: u})
	}
	return out, nil
}

// JobEvent reports the progress of one element's job in FetchAll or
// TrackAll.
type JobEvent struct {
	Element string
	Kind    JobEventKind
	Err     error
	Elapsed time.Duration
	// Tracked is set for successful tracks.
	Tracked []Tracked
}

// JobEventKind is the kind of a JobEvent.
type JobEventKind int

// The events of a job.
const (
	JobStart   JobEventKind = iota
	JobSuccess              // the job did something and succeeded
	JobSkipped              // nothing to do: already cached
	JobFailure
)

// FetchAll fetches the sources of every element on at most workers
// concurrent jobs (the user's scheduler.fetchers, or --fetchers), and
// reports each job's start and end. Once a job fails no new job starts;
// the running ones finish (BuildStream's on-error "quit"), and the
// failures are returned together.
func (env *Env) FetchAll(ctx context.Context, list []*ElementSources, workers int, report func(JobEvent)) error {
	defer env.Wait()
	return runPool(ctx, list, workers, report, func(ctx context.Context, es *ElementSources) (bool, []Tracked, error) {
		if len(es.Entries) == 0 {
			return false, nil, nil
		}
		if env.Cached(ctx, es) {
			return false, nil, nil
		}
		_, err := env.Fetch(ctx, es)
		return true, nil, err
	})
}

// TrackAll tracks the sources of every element like FetchAll fetches
// them, and returns what was tracked, in the order of list.
func (env *Env) TrackAll(ctx context.Context, list []*ElementSources, workers int, report func(JobEvent)) ([][]Tracked, error) {
	results := make([][]Tracked, len(list))
	index := map[*ElementSources]int{}
	for i, es := range list {
		index[es] = i
	}
	var mu sync.Mutex
	defer env.Wait()
	err := runPool(ctx, list, workers, report, func(ctx context.Context, es *ElementSources) (bool, []Tracked, error) {
		t, err := env.Track(ctx, es)
		mu.Lock()
		results[index[es]] = t
		mu.Unlock()
		return len(t) > 0, t, err
	})
	return results, err
}

func runPool(ctx context.Context, list []*ElementSources, workers int, report func(JobEvent),
	job func(context.Context, *ElementSources) (bool, []Tracked, error)) error {
	if workers < 1 {
		workers = 1
	}
	if report == nil {
		report = func(JobEvent) {}
	}
	var (
		mu     sync.Mutex
		errs   []error
		failed bool
		wg     sync.WaitGroup
		next   = make(chan *ElementSources)
	)
	for range min(workers, max(len(list), 1)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for es := range next {
				start := time.Now()
				report(JobEvent{Element: es.Element, Kind: JobStart})
				did, tracked, err := job(ctx, es)
				ev := JobEvent{Element: es.Element, Kind: JobSuccess, Elapsed: time.Since(start), Tracked: tracked}
				switch {
				case err != nil:
					ev.Kind, ev.Err = JobFailure, err
					mu.Lock()
					errs = append(errs, err)
					failed = true
					mu.Unlock()
				case !did:
					ev.Kind = JobSkipped
				}
				report(ev)
			}
		}()
	}
feed:
	for _, es := range list {
		mu.Lock()
		stop := failed
		mu.Unlock()
		if stop {
			break
		}
		select {
		case next <- es:
		case <-ctx.Done():
			break feed
		}
	}
	close(next)
	wg.Wait()
	if len(errs) == 0 && ctx.Err() != nil {
		return ctx.Err()
	}
	return errors.Join(errs...)
}
