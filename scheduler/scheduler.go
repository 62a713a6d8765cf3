package scheduler

import (
	"context"
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
}

// Result sums up a run.
type Result struct {
	Built   []*element.Element
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
	e       *element.Element
	pending int // dependencies in the plan not built yet
	rdeps   []*jobState
	blocked bool
}

func (r *runner) run(ctx context.Context, plan *Plan) (*Result, error) {
	jobs := map[*element.Element]*jobState{}
	order := make([]*jobState, 0, len(plan.Build))
	for _, e := range plan.Build {
		j := &jobState{e: e}
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
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	var ready []*jobState
	for _, j := range order {
		if j.pending == 0 {
			ready = append(ready, j)
		}
	}
	done := make(chan *jobState)
	running := 0
	stopping := false
	var failed []*element.Element
	for {
		for !stopping && running < r.opts.Builders && len(ready) > 0 {
			j := ready[0]
			ready = ready[1:]
			running++
			go func() {
				if r.opts.Lookup.Status(j.e) == Failed && !r.opts.RetryFailed {
					r.emit(Event{Kind: Failure, Action: "build", Element: j.e,
						Message: "the cached artifact is a failed build: build again with --retry-failed"})
					j.blocked = true
				} else {
					j.blocked = r.buildOne(ctx, j.e) != nil
				}
				done <- j
			}()
		}
		if running == 0 {
			break
		}
		j := <-done
		running--
		if j.blocked {
			failed = append(failed, j.e)
			switch r.opts.OnError {
			case Continue:
			case Terminate:
				stopping = true
				cancel()
			default:
				stopping = true
			}
			r.block(j)
			continue
		}
		r.res.Built = append(r.res.Built, j.e)
		for _, rd := range j.rdeps {
			if rd.pending--; rd.pending == 0 && !rd.blocked {
				ready = append(ready, rd)
			}
		}
	}
	r.res.Failed = failed
	for _, j := range order {
		if !containsElem(r.res.Built, j.e) && !containsElem(failed, j.e) {
			r.res.Skipped = append(r.res.Skipped, j.e)
		}
	}
	if err := ctx.Err(); err != nil && len(failed) == 0 {
		return r.res, err
	}
	if len(failed) > 0 {
		return r.res, &FailedError{Failed: failed}
	}
	return r.res, nil
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

func containsElem(list []*element.Element, e *element.Element) bool {
	for _, x := range list {
		if x == e {
			return true
		}
	}
	return false
}
