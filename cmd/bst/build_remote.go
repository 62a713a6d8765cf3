package main

import (
	"context"
	"errors"

	"github.com/bstgo/bst/cas"
	"github.com/bstgo/bst/element"
	"github.com/bstgo/bst/plugins"
	"github.com/bstgo/bst/scheduler"
	"github.com/bstgo/bst/source"
)

// fetchNeeded returns whether an element's sources must be fetched
// before it builds: only elements with a source that downloads are asked
// about, so that local sources cost nothing.
func fetchNeeded(ctx context.Context, env *source.Env) func(*element.Element) bool {
	return func(e *element.Element) bool {
		for _, s := range e.Sources {
			if _, ok := s.Plugin.(source.Fetcher); ok {
				return env.FetchNeeded(ctx, plugins.ElementSources(e))
			}
		}
		return false
	}
}

// buildTransfers are the remote side of a build: the artifact caches it
// pulls from and pushes to, and the source caches its fetch pulls from
// and pushes to. A nil field is a kind of remote not configured.
type buildTransfers struct {
	artifacts *cas.RemoteArtifactCache
	sources   *cas.RemoteSourceCache
	pull      bool
	push      bool
	srcPull   bool
	srcPush   bool
}

// openBuildTransfers opens the remotes of a build of project; warn gets
// the remotes that cannot be used.
func (a *app) openBuildTransfers(l *loaded, env *source.Env, rf *remoteFlags, warn func(string)) (*buildTransfers, error) {
	t := &buildTransfers{}
	var err error
	if t.artifacts, err = a.openRemoteArtifacts(l.project, nil, rf, cas.PurposeAll, warn); err != nil {
		return nil, err
	}
	if t.sources, err = a.openRemoteSources(l.project, rf, cas.PurposeAll, env.Cache, warn); err != nil {
		t.artifacts.Remotes().Close()
		return nil, err
	}
	name := l.project.Name
	t.pull = t.artifacts.Remotes().Configured(name, false)
	t.push = t.artifacts.Remotes().Configured(name, true)
	t.srcPull = t.sources.Remotes().Configured(name, false)
	t.srcPush = t.sources.Remotes().Configured(name, true)
	return t, nil
}

func (t *buildTransfers) close() {
	t.artifacts.Remotes().Close()
	t.sources.Remotes().Close()
}

// wire sets the scheduler's pull, fetch, push and staging of sources.
func (t *buildTransfers) wire(opts *scheduler.Options, env *source.Env, warn func(e *element.Element, msg string)) {
	opts.NeedsFetch = fetchNeeded(context.Background(), env)
	opts.Fetch = func(ctx context.Context, e *element.Element) error {
		es := plugins.ElementSources(e)
		key, keyErr := es.Key()
		if t.srcPull && keyErr == nil {
			ok, err := t.sources.PullElementSources(ctx, e.Project, key)
			if ok {
				return nil
			}
			if err != nil {
				warnEach(err, func(msg string) { warn(e, msg) })
			}
		}
		if _, err := env.Fetch(ctx, es); err != nil {
			return err
		}
		if t.srcPush && keyErr == nil {
			if _, err := t.sources.PushElementSources(ctx, e.Project, key); err != nil {
				warnEach(err, func(msg string) { warn(e, msg) })
			}
		}
		return nil
	}
	opts.StageSources = func(ctx context.Context, e *element.Element) (cas.Digest, error) {
		return env.Stage(ctx, plugins.ElementSources(e))
	}
	if t.pull {
		opts.Pull = func(ctx context.Context, e *element.Element) (bool, error) {
			return t.artifacts.Pull(ctx, scheduler.Ref(e))
		}
	}
	if t.push {
		opts.Push = func(ctx context.Context, e *element.Element) error {
			_, err := t.artifacts.Push(ctx, scheduler.Ref(e))
			if errors.Is(err, cas.ErrWorkspaced) {
				return nil
			}
			return err
		}
	}
}

// warnEach calls warn with each of the errors joined in err.
func warnEach(err error, warn func(string)) {
	var j interface{ Unwrap() []error }
	if errors.As(err, &j) {
		for _, e := range j.Unwrap() {
			warn(e.Error())
		}
		return
	}
	warn(err.Error())
}
