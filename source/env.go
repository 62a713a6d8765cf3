package source

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/bstgo/bst/cas"
	"github.com/bstgo/bst/loader/node"
)

// Fetcher is implemented by sources that download something: a file, a
// git repository. What they download is kept under the source directory
// (the user configuration's sourcedir), as BuildStream keeps it.
type Fetcher interface {
	// IsCached reports whether what Fetch would download is already in
	// the source directory. It does no network I/O.
	IsCached(fc *FetchContext) bool
	// Fetch downloads the source into the source directory, trying the
	// URLs fc.URLs gives for it in order, each with fc's retries.
	Fetch(ctx context.Context, fc *FetchContext) error
}

// FetchedStager is implemented by sources that stage what they fetched.
// StageFetched is only called once IsCached holds; it stores the files in
// fc.Store and returns their Directory digest. The result is recorded in
// the source cache under the source's key, so it runs once per key.
type FetchedStager interface {
	StageFetched(ctx context.Context, fc *FetchContext) (cas.Digest, error)
}

// PreviousStager is implemented by sources that change the sources staged
// before them in the same element (BuildStream's
// BST_REQUIRES_PREVIOUS_SOURCES_STAGE), such as patch: StageOnto gets the
// Directory at the source's directory and returns what replaces it.
type PreviousStager interface {
	StageOnto(ctx context.Context, fc *FetchContext, previous cas.Digest) (cas.Digest, error)
}

// Tracker is implemented by sources whose ref can be updated from
// upstream. Track returns the new ref, or nil when the source has nothing
// to track (a git source without `track`).
type Tracker interface {
	Track(ctx context.Context, fc *FetchContext) (*RefUpdate, error)
}

// RefUpdate is what tracking found: keys to set in the source's entry (or
// its project.refs entry), in order, and keys to remove.
type RefUpdate struct {
	Set    []RefField
	Delete []string
}

// RefField is one key of a RefUpdate: a scalar, or a list of mappings of
// scalars (git's tags).
type RefField struct {
	Key   string
	Value *node.Node
}

// String renders the update for messages: the value of "ref".
func (u *RefUpdate) String() string {
	for _, f := range u.Set {
		if f.Key == "ref" && f.Value.IsScalar() {
			return f.Value.Value()
		}
	}
	return ""
}

// MessageKind classifies a Message.
type MessageKind int

// The kinds of messages sources emit.
const (
	Status MessageKind = iota
	Info
	Warning
)

// Message is something a source says while fetching, tracking or
// staging. URLs in Text are already redacted.
type Message struct {
	Kind    MessageKind
	Element string
	Text    string
}

// Options configure an Env.
type Options struct {
	// SourceDir is where downloads and git mirrors are kept.
	SourceDir string
	// Store is the local CAS; the source cache is kept beside it.
	Store *cas.LocalStore
	// Cache is the source cache of Store; nil makes one (and registers
	// its refs with the store).
	Cache *Cache
	// FetchPolicy and TrackPolicy are the user configuration's
	// fetch.source and track.source (default all and aliases).
	FetchPolicy, TrackPolicy Policy
	// Retries is how often a failed download or clone is tried again
	// (--network-retries, scheduler.network-retries), waiting Backoff
	// before the first retry and twice as long before each next one
	// (default 1s).
	Retries int
	Backoff time.Duration
	// Netrc gives HTTP credentials per host.
	Netrc *Netrc
	// HTTP is the client downloads use (default: one with no overall
	// timeout, whose transport honours the proxy environment).
	HTTP *http.Client
	// Log receives messages; nil drops them.
	Log func(Message)
	// Projects are the projects whose sources may be fetched, by name.
	Projects []*Project
	// NoScratch keeps extraction on disk, never on a tmpfs.
	NoScratch bool
}

// Env is everything fetching, tracking and staging sources use: one per
// bst invocation, safe for concurrent use.
type Env struct {
	SourceDir string
	Store     *cas.LocalStore
	Cache     *Cache

	fetchPolicy, trackPolicy Policy
	retries                  int
	backoff                  time.Duration
	netrc                    *Netrc
	http                     *http.Client
	log                      func(Message)
	projects                 map[string]*Project
	tmp                      string
	scratch                  string // a private directory on a tmpfs, or ""

	locks  keyedMutex
	flight flightGroup
	batch  captureBatcher

	trashMu sync.Mutex
	trash   []string
	trashWG sync.WaitGroup
	tidying bool
}

// RemoveLater removes a temporary directory in the background, so a job
// does not wait for thousands of unlinks; Wait waits for it.
func (fc *FetchContext) RemoveLater(dir string) { fc.Env.removeLater(dir) }

func (e *Env) removeLater(dir string) {
	e.trashMu.Lock()
	defer e.trashMu.Unlock()
	e.trash = append(e.trash, dir)
	if e.tidying {
		return
	}
	e.tidying = true
	e.trashWG.Add(1)
	go func() {
		defer e.trashWG.Done()
		for {
			e.trashMu.Lock()
			if len(e.trash) == 0 {
				e.tidying = false
				e.trashMu.Unlock()
				return
			}
			d := e.trash[0]
			e.trash = e.trash[1:]
			e.trashMu.Unlock()
			os.RemoveAll(d)
		}
	}()
}

// Wait waits for the background removal of temporary directories. The
// Env's bulk operations (FetchAll, TrackAll) wait before they return;
// call it after using Fetch or Stage directly.
func (e *Env) Wait() {
	e.trashWG.Wait()
}

// Close waits like Wait and removes the Env's scratch directory.
func (e *Env) Close() {
	e.Wait()
	if e.scratch != "" {
		os.RemoveAll(e.scratch)
	}
}

// NewEnv checks o and prepares the directories.
func NewEnv(o Options) (*Env, error) {
	if o.Store == nil {
		return nil, errors.New("source: no store")
	}
	if o.SourceDir == "" {
		return nil, errors.New("source: no source directory")
	}
	e := &Env{
		SourceDir:   o.SourceDir,
		Store:       o.Store,
		Cache:       o.Cache,
		fetchPolicy: o.FetchPolicy,
		trackPolicy: o.TrackPolicy,
		retries:     max(o.Retries, 0),
		backoff:     o.Backoff,
		netrc:       o.Netrc,
		http:        o.HTTP,
		log:         o.Log,
		projects:    map[string]*Project{},
		tmp:         filepath.Join(o.Store.Root(), "tmp"),
	}
	if e.Cache == nil {
		e.Cache = NewCache(o.Store)
	}
	if e.fetchPolicy == "" {
		e.fetchPolicy = PolicyAll
	}
	if e.trackPolicy == "" {
		e.trackPolicy = PolicyAliases
	}
	if e.backoff <= 0 {
		e.backoff = time.Second
	}
	if e.http == nil {
		e.http = &http.Client{Transport: http.DefaultTransport}
	}
	for _, p := range o.Projects {
		e.projects[p.Name] = p
	}
	for _, d := range []string{e.SourceDir, e.tmp} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, fmt.Errorf("preparing %s: %w", d, err)
		}
	}
	if !o.NoScratch {
		e.scratch = findScratch()
	}
	return e, nil
}

// Project returns the named project's settings (nil if unknown: its
// sources then fetch from their translated URLs only).
func (e *Env) Project(name string) *Project { return e.projects[name] }

// Context returns the context in which one source of an element, declared
// at prov in project, is fetched (or tracked, when tracking is set).
func (e *Env) Context(project, elementName string, prov node.Provenance, tracking bool) *FetchContext {
	return &FetchContext{Env: e, Project: e.projects[project], Element: elementName, Prov: prov, tracking: tracking}
}

func (e *Env) emit(m Message) {
	if e.log != nil {
		m.Text = RedactAll(m.Text)
		e.log(m)
	}
}

// FetchContext is the context of one source's fetch, track or stage: the
// Env, the source's project (aliases, mirrors), and where the source is
// declared.
type FetchContext struct {
	*Env
	Project *Project
	Element string
	Prov    node.Provenance

	tracking bool
}

// Tracking reports whether the context is that of a track.
func (fc *FetchContext) Tracking() bool { return fc.tracking }

// URLs returns the URLs to try, in order, for an URL as the source writes
// it (alias included) and as the project translates it.
func (fc *FetchContext) URLs(written, translated string) ([]string, error) {
	policy := fc.fetchPolicy
	if fc.tracking {
		policy = fc.trackPolicy
	}
	urls, err := fc.Project.URLs(written, translated, policy, fc.tracking)
	if err != nil {
		return nil, fc.Errorf("%v", err)
	}
	return urls, nil
}

// Status reports progress.
func (fc *FetchContext) Status(format string, args ...any) {
	fc.emit(Message{Kind: Status, Element: fc.Element, Text: fmt.Sprintf(format, args...)})
}

// Warn reports a warning with its token ("ref-not-in-track",
// "git:unlisted-submodule"), or none (""). It returns an error, which
// must stop the work, when the project lists the token in fatal-warnings.
func (fc *FetchContext) Warn(token, format string, args ...any) error {
	msg := fmt.Sprintf(format, args...)
	if token != "" {
		if fc.Project.FatalWarning(token) {
			return fc.Errorf("%s [%s]", msg, token)
		}
		msg += " [" + token + "]"
	}
	fc.emit(Message{Kind: Warning, Element: fc.Element, Text: msg})
	return nil
}

// Errorf makes an error located where the source is declared. URLs in it
// are redacted.
func (fc *FetchContext) Errorf(format string, args ...any) error {
	msg := RedactAll(fmt.Sprintf(format, args...))
	if fc.Prov.Valid() {
		return &node.Error{Prov: fc.Prov, Reason: "source-error", Msg: msg}
	}
	return errors.New(msg)
}

// TempDir makes a new empty directory for staging, on the file system of
// the cache. The caller removes it.
func (fc *FetchContext) TempDir(prefix string) (string, error) {
	d, err := os.MkdirTemp(fc.tmp, prefix)
	if err != nil {
		return "", fmt.Errorf("creating a staging directory: %w", err)
	}
	return d, nil
}

// MirrorDir returns where a kind keeps what it fetches:
// <sourcedir>/<kind>.
func (fc *FetchContext) MirrorDir(kind string) string { return filepath.Join(fc.SourceDir, kind) }

// Lock serialises work on one path (a git mirror) within this process;
// it returns the unlock.
func (fc *FetchContext) Lock(path string) func() { return fc.locks.lock(path) }

// keyedMutex is a set of mutexes by key.
type keyedMutex struct {
	mu sync.Mutex
	m  map[string]*keyedEntry
}

type keyedEntry struct {
	mu   sync.Mutex
	refs int
}

func (k *keyedMutex) lock(key string) func() {
	k.mu.Lock()
	if k.m == nil {
		k.m = map[string]*keyedEntry{}
	}
	e := k.m[key]
	if e == nil {
		e = &keyedEntry{}
		k.m[key] = e
	}
	e.refs++
	k.mu.Unlock()
	e.mu.Lock()
	return func() {
		e.mu.Unlock()
		k.mu.Lock()
		if e.refs--; e.refs == 0 {
			delete(k.m, key)
		}
		k.mu.Unlock()
	}
}

// flightGroup runs one function per key at a time and shares its result
// with the callers that ask meanwhile: two elements with the same source
// fetch it once.
type flightGroup struct {
	mu sync.Mutex
	m  map[string]*flightCall
}

type flightCall struct {
	done chan struct{}
	err  error
}

func (g *flightGroup) do(key string, fn func() error) error {
	g.mu.Lock()
	if g.m == nil {
		g.m = map[string]*flightCall{}
	}
	if c, ok := g.m[key]; ok {
		g.mu.Unlock()
		<-c.done
		return c.err
	}
	c := &flightCall{done: make(chan struct{})}
	g.m[key] = c
	g.mu.Unlock()
	c.err = fn()
	close(c.done)
	g.mu.Lock()
	delete(g.m, key)
	g.mu.Unlock()
	return c.err
}

// TemporaryError marks a failure worth retrying: a network error, a
// server error, a cut connection.
type TemporaryError struct{ Err error }

func (e *TemporaryError) Error() string { return e.Err.Error() }
func (e *TemporaryError) Unwrap() error { return e.Err }

// IsTemporary reports whether err is worth retrying.
func IsTemporary(err error) bool {
	var t *TemporaryError
	return errors.As(err, &t)
}

// Retry runs fn until it succeeds, fails with an error that is not
// temporary, or has been retried fc's retries times, waiting with
// exponential backoff between attempts.
func (fc *FetchContext) Retry(ctx context.Context, what string, fn func() error) error {
	delay := fc.backoff
	for attempt := 0; ; attempt++ {
		err := fn()
		if err == nil || !IsTemporary(err) || attempt >= fc.retries || ctx.Err() != nil {
			return err
		}
		fc.Status("Try #%d of %s failed, retrying in %s: %v", attempt+1, what, delay, err)
		select {
		case <-time.After(delay):
		case <-ctx.Done():
			return ctx.Err()
		}
		delay *= 2
	}
}
