package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/bstgo/bst/sandbox"
	"github.com/bstgo/bst/scheduler"
	"github.com/bstgo/bst/ui"
)

func newShellCommand(a *app) *cobra.Command {
	var (
		build, isolate, buildtree bool
		mounts                    []string
	)
	c := &cobra.Command{
		Use:   "shell [ELEMENT] [-- COMMAND...]",
		Short: "Shell into an element's sandbox environment",
		Long: `Run COMMAND, or the project's shell command (sh -i unless shell: command says
otherwise), in a sandbox staged for ELEMENT. Its artifacts must be cached:
build them first with bst build.

By default the sandbox holds ELEMENT and its runtime dependencies, with their
integration commands run. With --build it is staged as ELEMENT's build would
be: its build dependencies at their locations and integrated, its sources at
%{build-root}, and the command runs where the build's commands would.

The root is writable, and what the command changes is thrown away when it
ends. Unless --isolate is given, the sandbox shares the host's network, gets
the project's shell environment (values expanded from the host's
environment) and its host files (read-only), and the --mount directories
(read-write); with --isolate it is as isolated as a build.

On a terminal the command gets a terminal of its own; otherwise its standard
streams are bst's. bst exits with the command's exit status.

Put -- before COMMAND, so that its options are not taken for bst's:
  bst shell hello.bst -- sh -c 'ls -l /'`,
		RunE: func(c *cobra.Command, args []string) error {
			// Shells run sandboxes: seal the binary first (this re-executes
			// bst once, before anything else is done).
			if err := sandbox.Seal(); err != nil {
				return err
			}
			if buildtree {
				return &usageError{"--use-buildtree is not supported yet: cached build trees cannot be staged"}
			}
			target, command := args, []string(nil)
			if dash := c.ArgsLenAtDash(); dash >= 0 {
				target, command = args[:dash], args[dash:]
			} else if len(args) > 1 {
				target, command = args[:1], args[1:]
			}
			if len(target) != 1 {
				return &usageError{`missing argument "ELEMENT"`}
			}
			var ms []scheduler.ShellMount
			for _, m := range mounts {
				host, dest, ok := strings.Cut(m, "\x00")
				if !ok {
					return &usageError{fmt.Sprintf("--mount needs two values, HOSTPATH and PATH: %q", m)}
				}
				if _, err := os.Stat(host); err != nil {
					return &usageError{fmt.Sprintf("invalid value for --mount: path %q does not exist", host)}
				}
				ms = append(ms, scheduler.ShellMount{HostPath: host, Path: dest, ReadWrite: true})
			}
			start := time.Now()
			l, err := a.loadTargets(c.Context(), target, nil)
			if err != nil {
				return err
			}
			e := l.targets[0]
			shellConfig, err := scheduler.ParseShellConfig(l.project.Config.Get("shell"), os.LookupEnv)
			if err != nil {
				return err
			}
			artifacts, err := a.openCache()
			if err != nil {
				return err
			}
			uc, _ := a.userConfig()
			logger := ui.NewLogger(a.stderr, start, uc.KeyLength)
			buildDir := filepath.Join(artifacts.Store().Root(), "build")
			sb, err := sandbox.New(c.Context(), sandbox.Options{Stager: artifacts.Store(), Roots: artifacts.Store(), Dir: buildDir})
			if err != nil {
				return err
			}
			defer sb.Close()
			opts := scheduler.ShellOptions{
				Options: scheduler.Options{
					Sandbox:       sb,
					BuildDir:      buildDir,
					Artifacts:     artifacts,
					Lookup:        scheduler.NewLookup(artifacts),
					LogDir:        uc.LogDir,
					FatalWarnings: map[string][]string{l.project.Name: l.project.FatalWarnings},
					Events:        func(ev scheduler.Event) { logger.Log(eventLine(ev)) },
				},
				Element: e,
				Build:   build,
				Command: command,
				Config:  shellConfig,
				Mounts:  ms,
				Isolate: isolate,
				Prompt:  shellPrompt(e.FullName, e.Keys.Strong, uc.KeyLength),
				Stdin:   a.stdin,
				Stdout:  a.stdout,
				Stderr:  a.stderr,
			}
			if in, ok := a.stdin.(*os.File); ok && term.IsTerminal(int(in.Fd())) {
				opts.Tty = true // the sandbox puts the terminal in raw mode meanwhile
			}
			code, err := scheduler.Shell(c.Context(), opts)
			if err != nil {
				return err
			}
			if code != 0 {
				return &exitError{code}
			}
			return nil
		},
	}
	f := c.Flags()
	f.BoolVarP(&build, "build", "b", false, "stage the element's build dependencies and sources, as for its build")
	f.StringArrayVar(&mounts, "mount", nil, "mount the host file or directory HOSTPATH at PATH in the sandbox, read-write (written --mount HOSTPATH PATH; repeatable)")
	f.BoolVar(&isolate, "isolate", false, "isolate the sandbox as a build's: no network, no shell environment, host files or mounts")
	f.BoolVarP(&buildtree, "use-buildtree", "t", false, "stage a cached build tree (not supported yet)")
	c.ValidArgsFunction = a.completeElements
	return c
}

// shellPrompt is a shell's PS1, BuildStream's without colours:
// [<brief key>@<element>:$PWD]$ .
func shellPrompt(name, key string, keyLength int) string {
	if keyLength > 0 && len(key) > keyLength {
		key = key[:keyLength]
	}
	return fmt.Sprintf("[%s@%s:${PWD}]$ ", key, name)
}
