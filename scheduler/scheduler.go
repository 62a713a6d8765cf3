package scheduler

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/bstgo/bst/cas"
	"github.com/bstgo/bst/element"
	"github.com/bstgo/bst/sandbox"
)

// OnError says what a build does when a job fails.
type OnError string

// The --on-error choices.
const (
	// Quit starts no new jobs, lets the running ones finish and stops.
	Quit OnError = "quit"
	// Continue keeps building whatever does not depend on the failure.
	Continue OnError = "continue"
	// Terminate cancels the running jobs and stops at once.
	Terminate OnError = "terminate"
)

// EventKind is what happened to a job.
type EventKind string

// Kinds of events.
const (
	Start   EventKind = "START"
	Success EventKind = "SUCCESS"
	Failure EventKind = "FAILURE"
	Skipped EventKind = "SKIPPED"
	Info    EventKind = "INFO"
	Warning EventKind = "WARN"
)

// Event is one thing the UI is told about.
type Event struct {
	Time    time.Time
	Kind    EventKind
	Action  string // "build"
	Element *element.Element
	Message string
	Detail  string
	// Elapsed is the job's duration, for SUCCESS and FAILURE.
	Elapsed time.Duration
	LogFile string
}

// Options configure a run.
type Options struct {
	Artifacts *cas.ArtifactCache
	Lookup    *Lookup
	// Builders bounds concurrent build jobs (at least 1).
	Builders int
	OnError  OnError
	// RetryFailed rebuilds elements whose cached artifact is a failure.
	RetryFailed bool
	// LogDir holds one log file per job.
	LogDir string
	// FatalWarnings are the warning tokens that fail a build, by project.
	FatalWarnings map[string][]string
	// Events receives events; it is called from one goroutine at a time.
	Events func(Event)
	// Keep names refs expiry must not remove (the ones this command
	// needs).
	Keep func(ref string) bool
	// Sandbox runs the commands of elements that have some; BuildDir holds
	// their writable directories while they build.
	Sandbox  *sandbox.Sandbox
	BuildDir string
	// RemoteExec, when set, runs the batches of builds as REAPI Actions,
	// those that change the root too (its whole input root is then the
	// output); Sandbox runs shells.
	RemoteExec *cas.Executor

	// NeedsFetch tells which elements have sources to fetch before they
	// build, and Fetch fetches them, on up to Fetchers workers.
	NeedsFetch func(*element.Element) bool
	Fetch      func(context.Context, *element.Element) error
	Fetchers   int
	// Pull, when set, looks for an element's artifact in the remote
	// caches before anything is done to build it; it reports whether
	// the artifact is now cached locally. Its errors are warnings. Pulls
	// share the Fetchers workers, as downloads.
	Pull func(context.Context, *element.Element) (bool, error)
	// Push, when set, shares each artifact built (failed builds too) on
	// up to Pushers workers; its errors are warnings, never failures.
	Push    func(context.Context, *element.Element) error
	Pushers int
	// StageSources, when set, stages an element's sources (through the
	// source cache); otherwise each source stages itself.
	StageSources func(context.Context, *element.Element) (cas.Digest, error)
	// OnFailure, when set, decides what a failure leads to (the failure
	// prompt of an interactive session); otherwise OnError does. It is
	// called while no new job starts.
	OnFailure func(e *element.Element, action string, err error) FailureAction
	// Control, when set, can stop the run from outside.
	Control *Control
}

// Result sums up a run.
type Result struct {
	Built   []*element.Element
	Pulled  []*element.Element
	Pushed  []*element.Element
	Failed  []*element.Element
	Skipped []*element.Element // not built because something they need failed
}

// FailedError is returned when elements failed to build.
type FailedError struct{ Failed []*element.Element }

func (e *FailedError) Error() string {
	if len(e.Failed) == 1 {
		return fmt.Sprintf("build of %s failed", e.Failed[0].FullName)
	}
	return fmt.Sprintf("%d elements failed to build", len(e.Failed))
}

// Run builds the plan's elements, each once, dependencies first, on up
// to opts.Builders workers.
func Run(ctx context.Context, opts Options, plan *Plan) (*Result, error) {
	if opts.Builders < 1 {
		opts.Builders = 1
	}
	r := &runner{opts: opts, res: &Result{}, scopes: map[*element.Element][]*element.Element{}}
	return r.run(ctx, plan)
}

type runner struct {
	opts Options
	res  *Result
	// scopes are the build scopes of the plan's elements, computed before
	// any job starts and only read after.
	scopes map[*element.Element][]*element.Element

	mu     sync.Mutex
	events sync.Mutex
}

func (r *runner) emit(ev Event) {
	if r.opts.Events == nil {
		return
	}
	if ev.Time.IsZero() {
		ev.Time = time.Now()
	}
	r.events.Lock()
	defer r.events.Unlock()
	r.opts.Events(ev)
}

type jobState struct {
	e        *element.Element
	index    int // in plan order
	priority int // the longest chain of jobs that wait for this one
	pending  int // dependencies in the plan not built yet
	rdeps    []*jobState
	fetched  bool
	active   bool // the run needs the element's artifact
	expanded bool // the element must be built: its dependencies are needed
	queued   bool // in the build queue, or built
	pulled   bool // the last pull found it
	toPush   bool // built, to be pushed
	done     bool // built or pulled
	failed   bool // this job failed
	blocked  bool // something it needs failed
	err      error
	action   string // of the step that just ended: "pull", "fetch", "build" or "push"
}

// FailureAction is what to do after a job failed, when Options.OnFailure
// asks the user.
type FailureAction int

// The choices of the failure prompt.
const (
	// FailContinue goes on with whatever does not depend on the failure.
	FailContinue FailureAction = iota
	// FailQuit starts nothing new and stops when running jobs end.
	FailQuit
	// FailTerminate cancels running jobs and stops.
	FailTerminate
	// FailRetry runs the failed job again.
	FailRetry
)

// Control lets the caller stop a run from outside, as Ctrl-C does.
type Control struct {
	mu        sync.Mutex
	quit      bool
	terminate context.CancelFunc
}

// Quit starts no new job; running ones finish.
func (c *Control) Quit() {
	c.mu.Lock()
	c.quit = true
	c.mu.Unlock()
}

// Terminate cancels running jobs.
func (c *Control) Terminate() {
	c.mu.Lock()
	c.quit = true
	t := c.terminate
	c.mu.Unlock()
	if t != nil {
		t()
	}
}

func (c *Control) quitting() bool {
	if c == nil {
		return false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.quit
}

func (r *runner) run(ctx context.Context, plan *Plan) (*Result, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	if c := r.opts.Control; c != nil {
		c.mu.Lock()
		c.terminate = cancel
		c.mu.Unlock()
	}
	jobs := map[*element.Element]*jobState{}
	order := make([]*jobState, 0, len(plan.Build))
	for i, e := range plan.Build {
		j := &jobState{e: e, index: i}
		jobs[e] = j
		order = append(order, j)
	}
	sc := element.NewScopeCache()
	for _, j := range order {
		r.scopes[j.e] = sc.BuildScope(j.e)
		for _, d := range r.scopes[j.e] {
			if dj, ok := jobs[d]; ok {
				j.pending++
				dj.rdeps = append(dj.rdeps, j)
			}
		}
	}
	// Priorities: jobs on the longest remaining chains first, so the
	// critical path is never waiting for a free builder.
	for i := len(order) - 1; i >= 0; i-- {
		j := order[i]
		for _, rd := range j.rdeps {
			j.priority = max(j.priority, rd.priority+1)
		}
	}

	// Jobs become active when the run needs their element: the targets
	// at first, then the build scope of each element that must be built.
	// With remote caches an element is pulled first, and only when that
	// misses are its dependencies needed, as in BuildStream's pull queue.
	downloaders := max(r.opts.Fetchers, 1)
	pushers := max(r.opts.Pushers, 1)
	var pullReady, fetchReady, buildReady, pushReady []*jobState
	ready := func(j *jobState) {
		if j.expanded && j.fetched && j.pending == 0 && !j.blocked && !j.queued {
			j.queued = true
			buildReady = append(buildReady, j)
		}
	}
	var activate func(j *jobState)
	expand := func(j *jobState) {
		j.expanded = true
		for _, d := range r.scopes[j.e] {
			if dj, ok := jobs[d]; ok {
				activate(dj)
			}
		}
		if r.opts.NeedsFetch != nil && r.opts.NeedsFetch(j.e) {
			fetchReady = append(fetchReady, j)
			return
		}
		j.fetched = true
		ready(j)
	}
	activate = func(j *jobState) {
		if j.active {
			return
		}
		j.active = true
		if r.opts.Pull != nil && r.opts.Lookup.Status(j.e) == NotCached {
			pullReady = append(pullReady, j)
			return
		}
		expand(j)
	}
	// finished releases what waited for j's artifact.
	finished := func(j *jobState) {
		for _, rd := range j.rdeps {
			rd.pending--
			ready(rd)
		}
	}
	for _, j := range order {
		if r.opts.Pull == nil || plan.Targets == nil || plan.Targets[j.e] {
			activate(j)
		}
	}
	done := make(chan *jobState)
	downloading, building, pushing := 0, 0, 0
	stopping := false
	var failed []*element.Element
	for {
		stopping = stopping || r.opts.Control.quitting() || ctx.Err() != nil
		for !stopping && downloading < downloaders && len(pullReady) > 0 {
			j := pullReady[0]
			pullReady = pullReady[1:]
			downloading++
			go func() {
				j.action = "pull"
				j.pulled, j.err = r.pullOne(ctx, j.e)
				done <- j
			}()
		}
		for !stopping && downloading < downloaders && len(fetchReady) > 0 {
			j := fetchReady[0]
			fetchReady = fetchReady[1:]
			downloading++
			go func() {
				j.action, j.err = "fetch", r.fetchOne(ctx, j.e)
				done <- j
			}()
		}
		for !stopping && building < r.opts.Builders && len(buildReady) > 0 {
			j := popBest(&buildReady)
			building++
			go func() {
				j.action = "build"
				if r.opts.Lookup.Status(j.e) == Failed && !r.opts.RetryFailed {
					j.err = errors.New("the cached artifact is a failed build: build again with --retry-failed")
					r.emit(Event{Kind: Failure, Action: "build", Element: j.e, Message: j.err.Error()})
				} else {
					j.err = r.buildOne(ctx, j.e)
					// A failed build is cached too, and shared like
					// any artifact.
					j.toPush = j.err == nil || r.opts.Lookup.Status(j.e) == Failed
				}
				done <- j
			}()
		}
		for !stopping && pushing < pushers && len(pushReady) > 0 {
			j := pushReady[0]
			pushReady = pushReady[1:]
			pushing++
			go func() {
				r.pushOne(ctx, j.e)
				j.action, j.err = "push", nil
				done <- j
			}()
		}
		if downloading+building+pushing == 0 {
			break
		}
		j := <-done
		switch j.action {
		case "pull", "fetch":
			downloading--
		case "push":
			pushing--
			continue
		default:
			building--
			if j.toPush && r.opts.Push != nil {
				j.toPush = false
				pushReady = append(pushReady, j)
			}
		}
		if j.action == "pull" {
			// A remote that fails is a warning (pullOne gave it): the
			// element is then built as if no remote had it.
			if j.pulled {
				j.done = true
				r.res.Pulled = append(r.res.Pulled, j.e)
				finished(j)
			} else {
				expand(j)
			}
			continue
		}
		if j.err != nil {
			switch r.failureAction(ctx, j) {
			case FailRetry:
				if j.action == "fetch" {
					fetchReady = append(fetchReady, j)
				} else {
					buildReady = append(buildReady, j)
				}
				continue
			case FailContinue:
			case FailTerminate:
				stopping = true
				cancel()
			default:
				stopping = true
			}
			j.failed = true
			failed = append(failed, j.e)
			r.block(j)
			continue
		}
		if j.action == "fetch" {
			j.fetched = true
			ready(j)
			continue
		}
		j.done = true
		r.res.Built = append(r.res.Built, j.e)
		finished(j)
	}
	for _, j := range order {
		if j.active && !j.done && !j.failed {
			r.res.Skipped = append(r.res.Skipped, j.e)
		}
	}
	r.res.Failed = failed
	if err := ctx.Err(); err != nil && len(failed) == 0 {
		return r.res, err
	}
	if len(failed) > 0 {
		return r.res, &FailedError{Failed: failed}
	}
	if len(r.res.Skipped) > 0 {
		return r.res, errors.New("the build was stopped before it ended")
	}
	return r.res, nil
}

// failureAction decides what a failure leads to: the user's choice when
// the run is interactive, --on-error otherwise.
func (r *runner) failureAction(ctx context.Context, j *jobState) FailureAction {
	if ctx.Err() != nil {
		return FailQuit
	}
	if r.opts.OnFailure != nil {
		return r.opts.OnFailure(j.e, j.action, j.err)
	}
	switch r.opts.OnError {
	case Continue:
		return FailContinue
	case Terminate:
		return FailTerminate
	}
	return FailQuit
}

// popBest removes and returns the ready job with the highest priority,
// the earliest in plan order among equals.
func popBest(ready *[]*jobState) *jobState {
	best := 0
	for i, j := range *ready {
		b := (*ready)[best]
		if j.priority > b.priority || j.priority == b.priority && j.index < b.index {
			best = i
		}
	}
	j := (*ready)[best]
	*ready = append((*ready)[:best], (*ready)[best+1:]...)
	return j
}

// fetchOne fetches e's sources.
func (r *runner) fetchOne(ctx context.Context, e *element.Element) error {
	start := time.Now()
	r.emit(Event{Kind: Start, Action: "fetch", Element: e})
	err := r.opts.Fetch(ctx, e)
	if err != nil {
		r.emit(Event{Kind: Failure, Action: "fetch", Element: e, Message: err.Error(), Elapsed: time.Since(start)})
		return err
	}
	r.emit(Event{Kind: Success, Action: "fetch", Element: e, Elapsed: time.Since(start)})
	return nil
}

// pullOne pulls e's artifact; a remote error is reported as a warning
// and counts as a miss.
func (r *runner) pullOne(ctx context.Context, e *element.Element) (bool, error) {
	start := time.Now()
	r.emit(Event{Kind: Start, Action: "pull", Element: e})
	ok, err := r.opts.Pull(ctx, e)
	switch {
	case ok:
		r.opts.Lookup.set(e, Cached)
		r.emit(Event{Kind: Success, Action: "pull", Element: e, Elapsed: time.Since(start)})
	case err != nil && ctx.Err() == nil:
		r.emit(Event{Kind: Warning, Action: "pull", Element: e, Message: err.Error()})
		r.emit(Event{Kind: Skipped, Action: "pull", Element: e, Message: "not pulled", Elapsed: time.Since(start)})
	default:
		r.emit(Event{Kind: Skipped, Action: "pull", Element: e, Message: "not found on the remotes", Elapsed: time.Since(start)})
	}
	return ok, nil
}

// pushOne pushes e's artifact; failing to is a warning.
func (r *runner) pushOne(ctx context.Context, e *element.Element) {
	start := time.Now()
	r.emit(Event{Kind: Start, Action: "push", Element: e})
	if err := r.opts.Push(ctx, e); err != nil {
		if ctx.Err() == nil {
			r.emit(Event{Kind: Warning, Action: "push", Element: e, Message: err.Error()})
		}
		r.emit(Event{Kind: Skipped, Action: "push", Element: e, Message: "not pushed", Elapsed: time.Since(start)})
		return
	}
	r.mu.Lock()
	r.res.Pushed = append(r.res.Pushed, e)
	r.mu.Unlock()
	r.emit(Event{Kind: Success, Action: "push", Element: e, Elapsed: time.Since(start)})
}

// block marks everything that needs j as impossible to build.
func (r *runner) block(j *jobState) {
	for _, rd := range j.rdeps {
		if !rd.blocked {
			rd.blocked = true
			r.block(rd)
		}
	}
}
