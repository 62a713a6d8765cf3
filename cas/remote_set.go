package cas

import (
	"context"
	"errors"
	"fmt"
	"sync"
)

// Remotes are the remote caches of one kind (artifacts or sources) for
// every project of an invocation, each project with its own ordered list
// of specs (see ResolveRemotes). Each remote is connected to and checked
// on first use; one that fails is reported once, through the warn
// function, and left out from then on, so a remote that is down costs a
// warning and never a failed build. Remotes is safe for concurrent use.
type Remotes struct {
	warn func(msg string)

	mu       sync.Mutex
	projects map[string][]RemoteSpec
	slots    map[RemoteSpec]*remoteSlot
}

type remoteSlot struct {
	once   sync.Once
	remote *Remote
	err    error
	// warned records that a failed push check was reported.
	pushWarned bool
}

// NewRemotes returns the remotes of each project (by project name). warn
// receives one message per remote that cannot be used; nil discards
// them.
func NewRemotes(projects map[string][]RemoteSpec, warn func(msg string)) *Remotes {
	if warn == nil {
		warn = func(string) {}
	}
	rs := &Remotes{warn: warn, projects: map[string][]RemoteSpec{}, slots: map[RemoteSpec]*remoteSlot{}}
	for p, specs := range projects {
		rs.projects[p] = specs
	}
	return rs
}

// SetProject sets the remotes of a project (a junctioned one loaded late,
// say).
func (rs *Remotes) SetProject(project string, specs []RemoteSpec) {
	rs.mu.Lock()
	rs.projects[project] = specs
	rs.mu.Unlock()
}

// Specs returns a project's remote specs.
func (rs *Remotes) Specs(project string) []RemoteSpec {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	return rs.projects[project]
}

// Configured reports whether a project has remotes that could serve
// pulls (push false) or pushes (push true), without contacting them: an
// index and a storage remote, pushing ones for push.
func (rs *Remotes) Configured(project string, push bool) bool {
	var index, storage bool
	for _, s := range rs.Specs(project) {
		if push && !s.Push {
			continue
		}
		index = index || s.Type.HasIndex()
		storage = storage || s.Type.HasStorage()
	}
	return index && storage
}

// Available connects to a project's remotes and reports whether at least
// one index and one storage remote work (for push, accept pushes).
func (rs *Remotes) Available(ctx context.Context, project string, push bool) bool {
	index, storage := rs.usable(ctx, project, push)
	return len(index) > 0 && len(storage) > 0
}

// Close closes every connection.
func (rs *Remotes) Close() error {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	var errs []error
	for _, s := range rs.slots {
		if s.remote != nil {
			errs = append(errs, s.remote.Close())
		}
	}
	return errors.Join(errs...)
}

// connect returns the checked remote of spec, connecting the first time.
func (rs *Remotes) connect(ctx context.Context, spec RemoteSpec) (*remoteSlot, error) {
	rs.mu.Lock()
	slot := rs.slots[spec.key()]
	if slot == nil {
		slot = &remoteSlot{}
		rs.slots[spec.key()] = slot
	}
	rs.mu.Unlock()
	slot.once.Do(func() {
		r, err := DialRemote(spec)
		if err == nil {
			if err = r.Check(ctx); err != nil {
				r.Close()
				r = nil
			}
		}
		slot.remote, slot.err = r, err
		if err != nil {
			rs.warn(fmt.Sprintf("Failed to initialize remote %s: %v", spec, trimRemotePrefix(err, spec)))
		}
	})
	return slot, slot.err
}

// trimRemotePrefix drops the "remote cache URL: " a RemoteError starts
// with, when the message names the remote already.
func trimRemotePrefix(err error, spec RemoteSpec) string {
	var re *RemoteError
	if errors.As(err, &re) && re.Remote == spec.String() {
		msg := re.Op
		if re.Err != nil {
			msg += ": " + re.Err.Error()
		}
		return msg
	}
	return err.Error()
}

// usable returns a project's working index and storage remotes, in
// order; for push, only those configured to push that accept pushes.
func (rs *Remotes) usable(ctx context.Context, project string, push bool) (index, storage []*Remote) {
	for _, spec := range rs.Specs(project) {
		if push && !spec.Push {
			continue
		}
		slot, err := rs.connect(ctx, spec)
		if err != nil {
			continue
		}
		r := slot.remote
		if push {
			if err := r.CheckPush(ctx); err != nil {
				rs.mu.Lock()
				first := !slot.pushWarned
				slot.pushWarned = true
				rs.mu.Unlock()
				if first {
					rs.warn(fmt.Sprintf("Cannot push to remote %s: %v", spec, trimRemotePrefix(err, spec)))
				}
				continue
			}
		}
		if spec.Type.HasIndex() {
			index = append(index, r)
		}
		if spec.Type.HasStorage() {
			storage = append(storage, r)
		}
	}
	return index, storage
}
