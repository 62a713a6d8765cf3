package scheduler

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/bstgo/bst/cas"
	"github.com/bstgo/bst/cas/artifactpb"
	"github.com/bstgo/bst/element"
	"github.com/bstgo/bst/loader/node"
)

// buildOne builds e and caches its artifact, a failed one if the build
// fails. It returns the failure.
func (r *runner) buildOne(ctx context.Context, e *element.Element) error {
	start := time.Now()
	logPath, logFile, err := r.openLog(e, "build", start)
	if err != nil {
		r.emit(Event{Kind: Failure, Action: "build", Element: e, Message: err.Error()})
		return err
	}
	defer logFile.Close()
	fmt.Fprintf(logFile, "bst %s - %s\n", "2", start.Format(time.RFC1123))
	r.emit(Event{Kind: Start, Action: "build", Element: e, LogFile: logPath})

	b := &build{r: r, e: e, log: logFile, action: "build"}
	out, buildErr := r.assemble(ctx, b)
	if buildErr != nil && (ctx.Err() != nil || isInfrastructure(buildErr)) {
		fmt.Fprintf(logFile, "\nFAILURE: %v\n", buildErr)
		r.emit(Event{Kind: Failure, Action: "build", Element: e, Message: buildErr.Error(), Elapsed: time.Since(start), LogFile: logPath})
		return buildErr
	}
	if buildErr != nil {
		fmt.Fprintf(logFile, "\nFAILURE: %v\n", buildErr)
	} else {
		fmt.Fprintf(logFile, "\nSUCCESS: built in %s\n", time.Since(start).Round(time.Millisecond))
	}
	if err := r.commit(ctx, b, out, buildErr, logPath); err != nil {
		r.emit(Event{Kind: Failure, Action: "build", Element: e, Message: err.Error(), Elapsed: time.Since(start), LogFile: logPath})
		return err
	}
	if buildErr != nil {
		r.opts.Lookup.set(e, Failed)
		r.emit(Event{Kind: Failure, Action: "build", Element: e, Message: buildErr.Error(), Elapsed: time.Since(start), LogFile: logPath})
		return buildErr
	}
	r.opts.Lookup.set(e, Cached)
	r.emit(Event{Kind: Success, Action: "build", Element: e, Elapsed: time.Since(start), LogFile: logPath})
	return nil
}

// isInfrastructure reports errors that say nothing about the element, so
// are not cached as its failure: a full disk, a broken store, a remote
// execution service that lost its worker or timed out.
func isInfrastructure(err error) bool {
	var full *cas.DiskFullError
	var corrupt *cas.CorruptError
	var exec *cas.ExecError
	return errors.As(err, &full) || errors.As(err, &corrupt) || errors.As(err, &exec)
}

func (r *runner) assemble(ctx context.Context, b *build) (element.Output, error) {
	asm, ok := b.e.KindConfig.(element.Assembler)
	if !ok {
		return element.Output{}, fmt.Errorf("%s: bst cannot build '%s' elements yet (see docs/plugins.md)", b.e.Name, b.e.Kind)
	}
	return asm.Assemble(ctx, b)
}

// openLog creates the job's log file:
// <logdir>/<project>/<normal-name>/<brief-key>-<action>.<timestamp>.log.
func (r *runner) openLog(e *element.Element, action string, t time.Time) (string, *os.File, error) {
	if r.opts.LogDir == "" {
		f, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
		return "", f, err
	}
	key := e.Keys.Strong
	if len(key) > 8 {
		key = key[:8]
	}
	dir := filepath.Join(r.opts.LogDir, e.Project, cas.NormalName(e.Name))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", nil, fmt.Errorf("creating the log directory: %w", err)
	}
	p := filepath.Join(dir, fmt.Sprintf("%s-%s.%s.log", key, action, t.Format("20060102-150405")))
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return "", nil, fmt.Errorf("creating the log file: %w", err)
	}
	return p, f, nil
}

// warn reports a warning, which fails the build when the project lists
// its token in fatal-warnings.
func (b *build) warn(token, msg string) error {
	for _, t := range b.r.opts.FatalWarnings[b.e.Project] {
		if t == token {
			return fmt.Errorf("%s [%s]", msg, token)
		}
	}
	fmt.Fprintf(b.log, "WARNING [%s]: %s\n", token, msg)
	b.r.emit(Event{Kind: Warning, Action: b.action, Element: b.e, Message: msg + " [" + token + "]"})
	return nil
}

func firstN(s []string, n int) []string {
	if len(s) > n {
		return append(s[:n:n], "…")
	}
	return s
}

func shortKey(k string) string {
	if len(k) > 8 {
		return k[:8]
	}
	return k
}

// commit records e's artifact, a failed one when buildErr is set, under
// its strong and weak keys.
func (r *runner) commit(ctx context.Context, b *build, out element.Output, buildErr error, logPath string) error {
	e := b.e
	store := r.opts.Artifacts.Store()
	release, err := store.Hold()
	if err != nil {
		return err
	}
	defer release()
	a := &artifactpb.Artifact{
		Version:      cas.ArtifactVersion,
		BuildSuccess: buildErr == nil,
		StrongKey:    e.Keys.Strong,
		StrictKey:    e.Keys.Strict,
		WeakKey:      e.Keys.Weak,
	}
	if buildErr != nil {
		a.BuildError = buildErr.Error()
	}
	files := out.Files
	if files.IsZero() {
		if files, err = store.NewTree().Digest(ctx); err != nil {
			return err
		}
	}
	a.Files = files.Proto()
	public := out.Public
	if public == nil {
		public = e.Public
	}
	put := func(data string) (*cas.Digest, error) {
		d, err := store.PutBytesUnsynced(ctx, []byte(data))
		return &d, err
	}
	pd, err := put(dumpOrEmpty(public))
	if err != nil {
		return err
	}
	a.PublicData = pd.Proto()
	low, err := put(node.Dump(lowDiversityMeta(e)))
	if err != nil {
		return err
	}
	a.LowDiversityMeta = low.Proto()
	high, err := put(node.Dump(highDiversityMeta(e)))
	if err != nil {
		return err
	}
	a.HighDiversityMeta = high.Proto()
	if logPath != "" {
		data, err := os.ReadFile(logPath)
		if err != nil {
			return fmt.Errorf("reading the build log: %w", err)
		}
		ld, err := store.PutBytesUnsynced(ctx, data)
		if err != nil {
			return err
		}
		a.Logs = append(a.Logs, &artifactpb.Artifact_LogFile{Name: filepath.Base(logPath), Digest: ld.Proto()})
	}
	for _, d := range r.scopes[e] {
		a.BuildDeps = append(a.BuildDeps, &artifactpb.Artifact_Dependency{
			ProjectName: d.Project, ElementName: d.Name, CacheKey: d.Keys.Strong,
		})
	}
	refs := []string{cas.ArtifactRef(e.Project, e.Name, e.Keys.Strong)}
	if e.Keys.Weak != e.Keys.Strong {
		refs = append(refs, cas.ArtifactRef(e.Project, e.Name, e.Keys.Weak))
	}
	if err := store.Sync(); err != nil {
		return err
	}
	if err := r.opts.Artifacts.Put(ctx, a, refs...); err != nil {
		return err
	}
	release()
	keep := func(_ cas.RefSpace, ref string) bool {
		return r.opts.Keep != nil && r.opts.Keep(ref) || ref == refs[0]
	}
	if res, err := store.MaybeExpire(ctx, keep); err != nil {
		return fmt.Errorf("expiring artifacts: %w", err)
	} else if res.Refs > 0 {
		r.emit(Event{Kind: Info, Action: "build", Element: e,
			Message: fmt.Sprintf("cache quota reached: expired %d artifacts, freeing %d bytes", res.Refs, res.Bytes)})
	}
	return nil
}

func dumpOrEmpty(n *node.Node) string {
	if n == nil {
		return "{}\n"
	}
	return node.Dump(n)
}

// lowDiversityMeta is {environment, sandbox-config}: metadata many
// artifacts of a project share.
func lowDiversityMeta(e *element.Element) *node.Node {
	m := node.NewMapping(node.Synthetic)
	env := node.NewMapping(node.Synthetic)
	for _, v := range e.Environment {
		env.Set(v.Name, node.NewScalar(node.Synthetic, v.Value))
	}
	m.Set("environment", env)
	sb := node.NewMapping(node.Synthetic)
	sb.Set("build-os", node.NewScalar(node.Synthetic, e.SandboxConfig.BuildOS))
	sb.Set("build-arch", node.NewScalar(node.Synthetic, e.SandboxConfig.BuildArch))
	if e.SandboxConfig.BuildUID != nil {
		sb.Set("build-uid", node.NewScalar(node.Synthetic, fmt.Sprint(*e.SandboxConfig.BuildUID)))
	}
	if e.SandboxConfig.BuildGID != nil {
		sb.Set("build-gid", node.NewScalar(node.Synthetic, fmt.Sprint(*e.SandboxConfig.BuildGID)))
	}
	m.Set("sandbox-config", sb)
	return m
}

// highDiversityMeta is {variables}: metadata particular to the element.
func highDiversityMeta(e *element.Element) *node.Node {
	m := node.NewMapping(node.Synthetic)
	vars := node.NewMapping(node.Synthetic)
	for _, n := range e.Variables.Names() {
		v, _ := e.Variables.Get(n)
		vars.Set(n, node.NewScalar(node.Synthetic, v))
	}
	m.Set("variables", vars)
	return m
}
