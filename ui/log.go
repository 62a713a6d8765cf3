package ui

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"time"
)

// LogLine is one message of a session, as the log shows it.
type LogLine struct {
	Time    time.Time
	Kind    string // START, SUCCESS, FAILURE, SKIPPED, INFO, WARN, ERROR
	Action  string // build, fetch, ...
	Element string // the element's full name; "" for session messages
	Key     string // the element's cache key ("" when unknown)
	Message string
	Detail  string
	Elapsed time.Duration // of the job, for SUCCESS and FAILURE
}

// Logger writes one line per message in BuildStream's default message
// format, "[%{elapsed}][%{key}][%{element}] %{action} %{message}", without
// colours: what a log file or CI shows.
type Logger struct {
	mu        sync.Mutex
	w         io.Writer
	start     time.Time
	keyLength int
	// ErrorLines caps the lines of detail shown for failures.
	ErrorLines int
}

// NewLogger returns a Logger writing to w; elapsed times count from start.
func NewLogger(w io.Writer, start time.Time, keyLength int) *Logger {
	return &Logger{w: w, start: start, keyLength: keyLength, ErrorLines: 20}
}

// Log writes l.
func (lg *Logger) Log(l LogLine) {
	lg.mu.Lock()
	defer lg.mu.Unlock()
	key := l.Key
	if len(key) > lg.keyLength {
		key = key[:lg.keyLength]
	}
	if key == "" {
		key = strings.Repeat(" ", lg.keyLength)
	}
	where := l.Action + ":" + l.Element
	if l.Element == "" {
		where = l.Action
	}
	msg := l.Message
	if l.Elapsed > 0 && (l.Kind == "SUCCESS" || l.Kind == "FAILURE") {
		msg = strings.TrimSpace(fmtDuration(l.Elapsed) + " " + msg)
	}
	fmt.Fprintf(lg.w, "[%s][%s][%-40s] %-7s %s\n", fmtDuration(l.Time.Sub(lg.start)), key, where, l.Kind, msg)
	if l.Detail != "" {
		lines := strings.Split(strings.TrimRight(l.Detail, "\n"), "\n")
		if lg.ErrorLines > 0 && len(lines) > lg.ErrorLines {
			lines = lines[len(lines)-lg.ErrorLines:]
		}
		for _, line := range lines {
			fmt.Fprintf(lg.w, "    %s\n", line)
		}
	}
}

// fmtDuration renders HH:MM:SS.
func fmtDuration(d time.Duration) string {
	if d < 0 {
		d = 0
	}
	s := int(d.Round(time.Second) / time.Second)
	return fmt.Sprintf("%02d:%02d:%02d", s/3600, s/60%60, s%60)
}
