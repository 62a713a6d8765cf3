package ui

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"
)

// FrontendOptions configure how a session talks to the user.
type FrontendOptions struct {
	Stdin          io.Reader
	Stdout, Stderr io.Writer
	// Tty pins a status area at the bottom of Stderr (a terminal).
	Tty bool
	// Interactive asks the user what to do on failures and interrupts.
	Interactive bool
	// JSON writes one JSON object per message to Stdout, for tools.
	JSON bool
	// LogFile, when set, also receives every log line (--log-file).
	LogFile io.Writer
	Start   time.Time
	Project string
	// KeyLength is how much of a cache key lines show.
	KeyLength int
	// ErrorLines is how many lines of a failed job's log are shown;
	// MessageLines how many lines of a message's detail.
	ErrorLines, MessageLines int
	// Width reports the terminal's width.
	Width func() int
	// Queues are the status area's queues, in order.
	Queues []string
}

// Frontend is a session's user interface: the log (plain lines, on a
// terminal with a status area under them), optional JSON events, and the
// prompts of an interactive session.
type Frontend struct {
	o      FrontendOptions
	plain  *Logger
	file   *Logger
	status *Status
	json   *json.Encoder
	in     *bufio.Reader
	out    *heldWriter // the log's way to stderr

	mu       sync.Mutex
	failures []Failure
	stop     chan struct{}
	stopped  sync.WaitGroup
}

// Failure is a failed job, for the summary.
type Failure struct {
	Action, Element, Message, LogFile string
}

// NewFrontend starts a session's interface.
func NewFrontend(o FrontendOptions) *Frontend {
	if o.KeyLength <= 0 {
		o.KeyLength = 8
	}
	f := &Frontend{o: o, stop: make(chan struct{})}
	if o.Stdin != nil {
		f.in = bufio.NewReader(o.Stdin)
	}
	if o.JSON {
		f.json = json.NewEncoder(o.Stdout)
	}
	if o.Tty {
		f.status = NewStatus(o.Stderr, o.Start, o.Project, o.Queues, o.Width)
		f.stopped.Add(1)
		go f.tick()
	}
	f.out = &heldWriter{w: o.Stderr}
	if f.status != nil {
		f.out.w = statusWriter{f.status}
	}
	var lw io.Writer = f.out
	f.plain = NewLogger(lw, o.Start, o.KeyLength)
	f.plain.ErrorLines = o.MessageLines
	if o.LogFile != nil {
		f.file = NewLogger(o.LogFile, o.Start, o.KeyLength)
		f.file.ErrorLines = o.MessageLines
	}
	return f
}

// heldWriter writes through, or keeps what is written while held (while
// the user is in a shell) and writes it when released.
type heldWriter struct {
	mu   sync.Mutex
	w    io.Writer
	held bool
	buf  []byte
}

func (h *heldWriter) Write(p []byte) (int, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.held {
		h.buf = append(h.buf, p...)
		return len(p), nil
	}
	return h.w.Write(p)
}

func (h *heldWriter) hold(on bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.held = on
	if !on && len(h.buf) > 0 {
		h.w.Write(h.buf)
		h.buf = nil
	}
}

// Suspend runs fn, such as an interactive shell, with the terminal to
// itself: the status area hidden and the log held back until fn returns.
func (f *Frontend) Suspend(fn func()) {
	if f.status != nil {
		f.status.Hide()
		defer f.status.Show()
	}
	f.out.hold(true)
	defer f.out.hold(false)
	fn()
}

// statusWriter prints log text above the status area.
type statusWriter struct{ s *Status }

func (w statusWriter) Write(p []byte) (int, error) {
	w.s.Print(string(p))
	return len(p), nil
}

func (f *Frontend) tick() {
	defer f.stopped.Done()
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			f.status.Tick()
		case <-f.stop:
			return
		}
	}
}

// jsonEvent is the machine-readable form of a log line.
type jsonEvent struct {
	Time    string  `json:"time"`
	Type    string  `json:"type"`
	Action  string  `json:"action,omitempty"`
	Element string  `json:"element,omitempty"`
	Key     string  `json:"key,omitempty"`
	Message string  `json:"message,omitempty"`
	Detail  string  `json:"detail,omitempty"`
	Elapsed float64 `json:"elapsed,omitempty"`
	LogFile string  `json:"logfile,omitempty"`
}

// Log shows one message. logFile is the job's log, for START lines and
// the failure summary.
func (f *Frontend) Log(l LogLine, logFile string) {
	if f.status != nil && l.Element != "" {
		switch l.Kind {
		case "START":
			f.status.Started(l.Action, l.Element, l.Time)
		case "SUCCESS":
			f.status.Ended(l.Action, l.Element, "success")
		case "SKIPPED":
			f.status.Ended(l.Action, l.Element, "skipped")
		case "FAILURE":
			f.status.Ended(l.Action, l.Element, "failure")
		}
	}
	if l.Kind == "FAILURE" && l.Element != "" {
		f.mu.Lock()
		f.failures = append(f.failures, Failure{Action: l.Action, Element: l.Element, Message: l.Message, LogFile: logFile})
		f.mu.Unlock()
	}
	f.plain.Log(l)
	if f.file != nil {
		f.file.Log(l)
	}
	if f.json != nil {
		ev := jsonEvent{Time: l.Time.UTC().Format(time.RFC3339Nano), Type: l.Kind, Action: l.Action, Element: l.Element,
			Key: l.Key, Message: l.Message, Detail: l.Detail, Elapsed: l.Elapsed.Seconds(), LogFile: logFile}
		f.mu.Lock()
		f.json.Encode(ev)
		f.mu.Unlock()
	}
}

// Printf prints a message of the session itself (not a job's).
func (f *Frontend) Printf(format string, args ...any) {
	text := fmt.Sprintf(format, args...)
	if f.status != nil {
		f.status.Print(text)
	} else {
		io.WriteString(f.o.Stderr, text)
	}
	if f.o.LogFile != nil {
		io.WriteString(f.o.LogFile, text)
	}
}

// Close removes the status area.
func (f *Frontend) Close() {
	if f.status == nil {
		return
	}
	select {
	case <-f.stop:
		return
	default:
	}
	close(f.stop)
	f.stopped.Wait()
	f.status.Hide()
}

// Summary prints the failure summary: each failed job with the last
// ErrorLines lines of its log.
func (f *Frontend) Summary() {
	f.mu.Lock()
	failures := append([]Failure(nil), f.failures...)
	f.mu.Unlock()
	if len(failures) == 0 {
		return
	}
	var b strings.Builder
	b.WriteString("\nFailure Summary\n")
	for _, fl := range failures {
		fmt.Fprintf(&b, "  %s:%s: %s\n", fl.Action, fl.Element, fl.Message)
		if fl.LogFile == "" {
			continue
		}
		fmt.Fprintf(&b, "    log: %s\n", fl.LogFile)
		for _, line := range tailLines(fl.LogFile, f.o.ErrorLines) {
			fmt.Fprintf(&b, "    | %s\n", line)
		}
	}
	f.Printf("%s", b.String())
}

// tailLines returns the last n lines of a file.
func tailLines(path string, n int) []string {
	data, err := os.ReadFile(path)
	if err != nil || n <= 0 {
		return nil
	}
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return lines
}

// Ask shows a question with single-letter choices and returns the chosen
// letter. The status area is hidden meanwhile. An end of input chooses
// def.
func (f *Frontend) Ask(question string, choices []string, def string) string {
	if f.status != nil {
		f.status.Hide()
		defer f.status.Show()
	}
	for {
		fmt.Fprintf(f.o.Stderr, "%s\nChoose one of: %s [%s]: ", question, strings.Join(choices, " "), def)
		if f.in == nil {
			return def
		}
		line, err := f.in.ReadString('\n')
		answer := strings.ToLower(strings.TrimSpace(line))
		if answer == "" && err != nil {
			fmt.Fprintln(f.o.Stderr)
			return def
		}
		if answer == "" {
			answer = def
		}
		for _, c := range choices {
			// A choice is written like "(c)ontinue"; accept its letter or
			// its whole word.
			letter := strings.TrimPrefix(c[:strings.IndexByte(c, ')')+1], "(")
			letter = strings.TrimSuffix(letter, ")")
			word := strings.ReplaceAll(strings.ReplaceAll(c, "(", ""), ")", "")
			if answer == letter || answer == word {
				return letter
			}
		}
		fmt.Fprintf(f.o.Stderr, "%q is not one of the choices.\n", answer)
	}
}

// ShowLog prints a job's log for the user, through the status area.
func (f *Frontend) ShowLog(path string) {
	data, err := os.ReadFile(path)
	if err != nil {
		f.Printf("cannot read the log: %v\n", err)
		return
	}
	f.Printf("%s\n", strings.TrimRight(string(data), "\n"))
}
