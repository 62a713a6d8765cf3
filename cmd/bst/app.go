package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"golang.org/x/term"

	"github.com/bstgo/bst/cas"
	"github.com/bstgo/bst/loader"
	"github.com/bstgo/bst/plugins"
	"github.com/bstgo/bst/scheduler"
)

// app holds the global options and what is loaded from them, shared by all
// commands of one invocation.
type app struct {
	stdin          io.Reader
	stdout, stderr io.Writer

	directory     string
	configFile    string
	options       []string
	noInteractive bool
	verbose       bool
	noVerbose     bool
	debug         bool
	noDebug       bool
	colors        bool
	noColors      bool
	strict        bool
	noStrict      bool
	onError       string
	builderCount  int
	pusherCount   int
	// building is set by the commands that build (non-strict keys of what
	// will be built are then computed up front).
	building bool
	// src are the source options (--fetchers, --network-retries,
	// --default-mirror), global as in BuildStream since builds fetch too.
	src sourceFlags
	// remoteExecution is --remote-execution (see remote_exec.go).
	remoteExecution string
	maxJobs         int
	rootFlags       *pflag.FlagSet // the global options, to tell which were given

	logFilePath      string
	errorLineCount   int
	messageLineCount int

	exitCode  int
	user      *loader.UserConfig
	project   *loader.Project
	artifacts *cas.ArtifactCache
}

func newApp(stdin io.Reader, stdout, stderr io.Writer) *app {
	return &app{stdin: stdin, stdout: stdout, stderr: stderr}
}

// newRootCommand builds the command tree. Every subcommand is listed here,
// in one place.
func newRootCommand(a *app) *cobra.Command {
	root := &cobra.Command{
		Use:   "bst",
		Short: "Build BuildStream 2 projects in a sandbox",
		Long: `bst builds BuildStream 2 projects: it reads project.conf and .bst elements,
computes BuildStream-compatible cache keys and builds every element in a
sandbox that contains nothing from the host.`,
		Version:       version,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetVersionTemplate("bst {{.Version}}\n")
	f := root.PersistentFlags()
	f.StringVarP(&a.directory, "directory", "C", "", "project directory (default: the current directory; bst searches upwards for project.conf)")
	f.StringVarP(&a.configFile, "config", "c", "", "user configuration file (default: ~/.config/buildstream.conf)")
	f.StringArrayVarP(&a.options, "option", "o", nil, "set project option KEY to VALUE (written -o KEY VALUE; repeatable)")
	f.BoolVar(&a.noInteractive, "no-interactive", false, "never ask questions, even on a terminal")
	f.BoolVar(&a.verbose, "verbose", false, "print more messages")
	f.BoolVar(&a.noVerbose, "no-verbose", false, "print fewer messages")
	f.BoolVar(&a.debug, "debug", false, "print debugging output, such as the reason of errors")
	f.BoolVar(&a.noDebug, "no-debug", false, "do not print debugging output")
	f.BoolVar(&a.colors, "colors", false, "force colours on")
	f.BoolVar(&a.noColors, "no-colors", false, "force colours off")
	f.BoolVar(&a.strict, "strict", false, "build in strict mode (the default unless the user configuration says otherwise)")
	f.BoolVar(&a.noStrict, "no-strict", false, "build in non-strict mode")
	f.StringVar(&a.onError, "on-error", "", "what to do when a build fails: continue, quit or terminate (default: the user configuration's scheduler.on-error, quit)")
	f.IntVar(&a.builderCount, "builders", 0, "how many elements to build at once (default: the user configuration's scheduler.builders, 4)")
	f.IntVar(&a.src.fetchers, "fetchers", 0, "how many elements to fetch sources of at once (default: the user configuration's scheduler.fetchers, 10)")
	f.IntVar(&a.pusherCount, "pushers", 0, "how many artifacts or sources to push at once (default: the user configuration's scheduler.pushers, 4)")
	f.IntVar(&a.src.retries, "network-retries", -1, "how often to retry a failed download or transfer (default: the user configuration's scheduler.network-retries, 2)")
	f.StringVar(&a.src.defaultMirror, "default-mirror", "", "the mirror to try first (default: the user configuration's projects.<name>.default-mirror, or the project's first mirror)")
	f.StringVar(&a.remoteExecution, "remote-execution", "", "build on this REAPI execution service, which also serves the CAS and action cache (URL or key=value list as --artifact-remote; default: the user configuration's remote-execution)")
	a.rootFlags = f
	f.IntVar(&a.maxJobs, "max-jobs", 0, "the parallelism of each build, exported as %{max-jobs}; 0 means min(cpus, 8) (default: the user configuration's build.max-jobs, 0)")
	f.StringVar(&a.logFilePath, "log-file", "", "also write the session's log to this file")
	f.IntVar(&a.errorLineCount, "error-lines", 0, "lines of a failed job's log to show (default: the user configuration's logging.error-lines, 20)")
	f.IntVar(&a.messageLineCount, "message-lines", 0, "lines of a message's detail to show (default: the user configuration's logging.message-lines, 20)")
	root.MarkFlagsMutuallyExclusive("colors", "no-colors")
	root.MarkFlagsMutuallyExclusive("strict", "no-strict")
	root.MarkFlagsMutuallyExclusive("verbose", "no-verbose")
	root.MarkFlagsMutuallyExclusive("debug", "no-debug")
	root.MarkPersistentFlagFilename("config")
	root.MarkPersistentFlagDirname("directory")
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error { return &usageError{err.Error()} })
	root.Args = func(c *cobra.Command, args []string) error {
		if len(args) > 0 {
			return &usageError{fmt.Sprintf("unknown command %q for %q", args[0], c.CommandPath())}
		}
		return nil
	}
	root.RunE = func(c *cobra.Command, args []string) error { return c.Help() }

	root.AddCommand(
		newInitCommand(a),
		newShowCommand(a),
		newBuildCommand(a),
		newShellCommand(a),
		newArtifactCommand(a),
		newSourceCommand(a),
		newServerCommand(a),
	)
	return root
}

// interactive reports whether bst may ask the user questions.
func (a *app) interactive() bool {
	if a.noInteractive {
		return false
	}
	f, ok := a.stdin.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// useColors decides whether output is coloured.
func (a *app) useColors() bool {
	if a.colors || a.noColors {
		return a.colors
	}
	f, ok := a.stdout.(*os.File)
	return ok && term.IsTerminal(int(f.Fd())) && os.Getenv("NO_COLOR") == ""
}

// userConfig loads the user configuration once.
func (a *app) userConfig() (*loader.UserConfig, error) {
	if a.user != nil {
		return a.user, nil
	}
	path := a.configFile
	if path == "" {
		path = loader.DefaultUserConfigPath()
	}
	uc, err := loader.LoadUserConfig(path)
	if err != nil {
		return nil, fmt.Errorf("loading user configuration: %w", err)
	}
	a.user = uc
	return uc, nil
}

// cliOptions parses the KEY=VALUE pairs of -o.
func (a *app) cliOptions() ([][2]string, error) {
	var out [][2]string
	for _, o := range a.options {
		k, v, ok := strings.Cut(o, "=")
		if !ok {
			return nil, &usageError{fmt.Sprintf("option %q needs a value: write -o KEY VALUE", o)}
		}
		out = append(out, [2]string{k, v})
	}
	return out, nil
}

// loadProject loads the project once.
func (a *app) loadProject(ctx context.Context) (*loader.Project, error) {
	if a.project != nil {
		return a.project, nil
	}
	uc, err := a.userConfig()
	if err != nil {
		return nil, err
	}
	opts, err := a.cliOptions()
	if err != nil {
		return nil, err
	}
	p, err := loader.LoadProject(ctx, loader.Settings{
		Directory: a.directory,
		User:      uc,
		Options:   opts,
		MaxJobs:   a.maxJobsSetting(uc),
		Registry:  plugins.Builtin(),
		Junctions: junctionStager{a},
	})
	if err != nil {
		return nil, fmt.Errorf("loading project: %w", err)
	}
	a.project = p
	return p, nil
}

// strictMode is the effective strict setting for the loaded project.
func (a *app) strictMode() bool {
	if a.strict || a.noStrict {
		return a.strict
	}
	if a.user != nil && a.project != nil {
		return a.user.Strict(a.project.Name)
	}
	return true
}

// onErrorMode is --on-error, or the user configuration's
// scheduler.on-error.
func (a *app) onErrorMode() (scheduler.OnError, error) {
	mode := a.onError
	if mode == "" {
		uc, err := a.userConfig()
		if err != nil {
			return "", err
		}
		mode, _ = uc.Node.Get("scheduler").GetString("on-error", "quit")
	}
	switch m := scheduler.OnError(mode); m {
	case scheduler.Continue, scheduler.Quit, scheduler.Terminate:
		return m, nil
	}
	return "", &usageError{fmt.Sprintf("invalid value %q for --on-error: choose continue, quit or terminate", mode)}
}

// fetchers is --fetchers, or the user configuration's scheduler.fetchers.
func (a *app) fetchers() int {
	if a.src.fetchers > 0 {
		return a.src.fetchers
	}
	return a.schedulerLimit("fetchers", 10)
}

// pushers is --pushers, or the user configuration's scheduler.pushers.
func (a *app) pushers() int {
	if a.pusherCount > 0 {
		return a.pusherCount
	}
	return a.schedulerLimit("pushers", 4)
}

// maxJobsSetting is --max-jobs, or the user configuration's
// build.max-jobs.
func (a *app) maxJobsSetting(uc *loader.UserConfig) int {
	if a.rootFlags != nil && a.rootFlags.Changed("max-jobs") && a.maxJobs >= 0 {
		return a.maxJobs
	}
	return uc.MaxJobs
}

// builders is --builders, or the user configuration's scheduler.builders.
func (a *app) builders() int {
	if a.builderCount > 0 {
		return a.builderCount
	}
	if uc, err := a.userConfig(); err == nil {
		if n, err := uc.Node.Get("scheduler").GetInt("builders", 4); err == nil && n > 0 {
			return n
		}
	}
	return 4
}
