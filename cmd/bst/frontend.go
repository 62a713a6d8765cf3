package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"time"

	"golang.org/x/term"

	"github.com/bstgo/bst/element"
	"github.com/bstgo/bst/scheduler"
	"github.com/bstgo/bst/ui"
)

// session is the user interface of one build-like command.
type session struct {
	a        *app
	ui       *ui.Frontend
	logFile  *os.File
	interact bool
	logs     map[*element.Element]string // the last log of each element
	// shell, when set, opens a shell in the build sandbox of an element
	// whose build failed (the failure prompt's "shell").
	shell func(e *element.Element) error
}

// newSession starts the interface: a status area and prompts on a
// terminal (unless --no-interactive), plain lines otherwise, JSON events
// on stdout with jsonOut.
func (a *app) newSession(project string, start time.Time, jsonOut bool) (*session, error) {
	uc, err := a.userConfig()
	if err != nil {
		return nil, err
	}
	s := &session{a: a, logs: map[*element.Element]string{}}
	o := ui.FrontendOptions{
		Stdin: a.stdin, Stdout: a.stdout, Stderr: a.stderr, JSON: jsonOut,
		Start: start, Project: project, KeyLength: uc.KeyLength,
		ErrorLines: a.errorLines(), MessageLines: a.messageLines(),
		Queues: []string{"fetch", "build"},
	}
	if f, ok := a.stderr.(*os.File); ok && term.IsTerminal(int(f.Fd())) && a.interactive() {
		o.Tty, o.Interactive = true, true
		o.Width = func() int {
			w, _, err := term.GetSize(int(f.Fd()))
			if err != nil {
				return 80
			}
			return w
		}
		s.interact = true
	}
	if a.logFilePath != "" {
		lf, err := os.OpenFile(a.logFilePath, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
		if err != nil {
			return nil, fmt.Errorf("opening the log file: %w", err)
		}
		s.logFile = lf
		o.LogFile = lf
	}
	s.ui = ui.NewFrontend(o)
	return s, nil
}

// event shows a scheduler event.
func (s *session) event(ev scheduler.Event) {
	if ev.LogFile != "" && ev.Element != nil {
		s.logs[ev.Element] = ev.LogFile
	}
	logFile := ev.LogFile
	if logFile == "" && ev.Element != nil && ev.Kind == scheduler.Failure {
		logFile = s.logs[ev.Element]
	}
	s.ui.Log(eventLine(ev), logFile)
}

// onFailure is the failure prompt of an interactive session; nil when
// the session is not interactive, so that --on-error decides.
func (s *session) onFailure() func(*element.Element, string, error) scheduler.FailureAction {
	if !s.interact {
		return nil
	}
	return func(e *element.Element, action string, err error) scheduler.FailureAction {
		for {
			choices := []string{"(c)ontinue", "(q)uit", "(t)erminate", "(r)etry", "(l)og"}
			if action == "build" && s.shell != nil {
				choices = append(choices, "(s)hell")
			}
			choice := s.ui.Ask(fmt.Sprintf("\n%s of %s failed: %v", action, e.FullName, err), choices, "q")
			switch choice {
			case "s":
				s.ui.Suspend(func() {
					fmt.Fprintf(s.a.stderr, "A shell in the build sandbox of %s: its dependencies and sources staged as for its build. Exit it to return.\n", e.FullName)
					if err := s.shell(e); err != nil {
						fmt.Fprintf(s.a.stderr, "the shell failed: %v\n", err)
					}
				})
				continue
			case "c":
				return scheduler.FailContinue
			case "t":
				return scheduler.FailTerminate
			case "r":
				return scheduler.FailRetry
			case "l":
				if p := s.logs[e]; p != "" {
					s.ui.ShowLog(p)
				} else {
					s.ui.Printf("no log for %s\n", e.FullName)
				}
				continue
			}
			return scheduler.FailQuit
		}
	}
}

// handleInterrupts makes Ctrl-C ask what to do in an interactive session
// (continue, quit or terminate; a second Ctrl-C while asking terminates),
// and terminate at once otherwise. It returns the function that restores
// the default handling.
func (s *session) handleInterrupts(ctx context.Context, ctl *scheduler.Control) func() {
	signal.Reset(os.Interrupt)
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, os.Interrupt)
	done := make(chan struct{})
	go func() {
		for {
			select {
			case <-done:
				return
			case <-ctx.Done():
				return
			case <-sigs:
			}
			if !s.interact {
				s.ui.Printf("\nInterrupted: terminating\n")
				ctl.Terminate()
				continue
			}
			answered := make(chan string, 1)
			go func() {
				answered <- s.ui.Ask("\nInterrupted.", []string{"(c)ontinue", "(q)uit", "(t)erminate"}, "c")
			}()
			select {
			case choice := <-answered:
				switch choice {
				case "q":
					s.ui.Printf("Quitting once the running jobs end\n")
					ctl.Quit()
				case "t":
					ctl.Terminate()
				}
			case <-sigs:
				s.ui.Printf("\nTerminating\n")
				ctl.Terminate()
			}
		}
	}()
	return func() {
		close(done)
		signal.Stop(sigs)
	}
}

// close ends the session: the failure summary, then the status area goes.
func (s *session) close() {
	s.ui.Close()
	s.ui.Summary()
	if s.logFile != nil {
		s.logFile.Close()
	}
}

// errorLines is --error-lines, or the user configuration's.
func (a *app) errorLines() int {
	if a.errorLineCount > 0 {
		return a.errorLineCount
	}
	if uc, err := a.userConfig(); err == nil {
		if n, err := uc.Node.Get("logging").GetInt("error-lines", 20); err == nil {
			return n
		}
	}
	return 20
}

// messageLines is --message-lines, or the user configuration's.
func (a *app) messageLines() int {
	if a.messageLineCount > 0 {
		return a.messageLineCount
	}
	if uc, err := a.userConfig(); err == nil {
		if n, err := uc.Node.Get("logging").GetInt("message-lines", 20); err == nil {
			return n
		}
	}
	return 20
}
