package ui

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/charmbracelet/lipgloss"
)

// Status is the status area a session pins at the bottom of a terminal:
// a header with the elapsed time and, per queue, the jobs processed,
// skipped and failed, then one line per running job. Log lines are
// printed above it; the area is redrawn under them.
//
// It writes ANSI sequences and is only for terminals; without one, the
// Logger's plain lines are all there is.
type Status struct {
	mu      sync.Mutex
	w       io.Writer
	start   time.Time
	project string
	width   func() int
	queues  []string
	counts  map[string]*queueCount
	running []runningJob
	drawn   int // lines of the area on screen
	hidden  bool
	st      styles
}

type styles struct {
	header, queue, failed, elapsed, job, rule lipgloss.Style
}

// newStyles makes the area's styles for the terminal w.
func newStyles(w io.Writer) styles {
	r := lipgloss.NewRenderer(w)
	return styles{
		header:  r.NewStyle().Bold(true),
		queue:   r.NewStyle().Foreground(lipgloss.Color("4")),
		failed:  r.NewStyle().Foreground(lipgloss.Color("1")),
		elapsed: r.NewStyle().Foreground(lipgloss.Color("6")),
		job:     r.NewStyle().Foreground(lipgloss.Color("5")),
		rule:    r.NewStyle().Faint(true),
	}
}

type queueCount struct{ processed, skipped, failed int }

type runningJob struct {
	action, element string
	since           time.Time
}

// NewStatus returns a status area writing to w (a terminal), for a
// session started at start; width reports the terminal's width.
func NewStatus(w io.Writer, start time.Time, project string, queues []string, width func() int) *Status {
	s := &Status{w: w, start: start, project: project, width: width, queues: queues, counts: map[string]*queueCount{}, st: newStyles(w)}
	for _, q := range queues {
		s.counts[q] = &queueCount{}
	}
	return s
}

// Print writes text above the area, then redraws the area.
func (s *Status) Print(text string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.clear()
	io.WriteString(s.w, text)
	s.draw()
}

// Started records a running job.
func (s *Status) Started(action, element string, at time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.running = append(s.running, runningJob{action, element, at})
	s.redraw()
}

// Ended records a job's end: "success", "skipped" or "failure".
func (s *Status) Ended(action, element, how string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, j := range s.running {
		if j.action == action && j.element == element {
			s.running = append(s.running[:i], s.running[i+1:]...)
			break
		}
	}
	c := s.counts[action]
	if c == nil {
		c = &queueCount{}
		s.counts[action] = c
		s.queues = append(s.queues, action)
	}
	switch how {
	case "skipped":
		c.skipped++
	case "failure":
		c.failed++
	default:
		c.processed++
	}
	s.redraw()
}

// Tick redraws the area, to move the clocks on.
func (s *Status) Tick() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.redraw()
}

// Hide clears the area and keeps it off screen until Show, while a
// prompt or another program uses the terminal.
func (s *Status) Hide() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.clear()
	s.hidden = true
}

// Show brings the area back after Hide.
func (s *Status) Show() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.hidden = false
	s.draw()
}

func (s *Status) redraw() {
	s.clear()
	s.draw()
}

// clear erases the area: up one line and clear it, for each line drawn.
func (s *Status) clear() {
	if s.drawn == 0 {
		return
	}
	var b strings.Builder
	for range s.drawn {
		b.WriteString("\x1b[1A\x1b[2K")
	}
	b.WriteString("\r")
	io.WriteString(s.w, b.String())
	s.drawn = 0
}

func (s *Status) draw() {
	if s.hidden {
		return
	}
	lines := s.lines(time.Now())
	io.WriteString(s.w, strings.Join(lines, "\n")+"\n")
	s.drawn = len(lines)
}

// lines renders the area.
func (s *Status) lines(now time.Time) []string {
	width := 80
	if s.width != nil {
		if w := s.width(); w > 20 {
			width = w
		}
	}
	parts := []string{s.st.elapsed.Render(fmtDuration(now.Sub(s.start))), s.st.header.Render(s.project)}
	for _, q := range s.queues {
		c := s.counts[q]
		counts := fmt.Sprintf("%d/%d/", c.processed, c.skipped)
		failed := fmt.Sprint(c.failed)
		if c.failed > 0 {
			failed = s.st.failed.Render(failed)
		}
		parts = append(parts, s.st.queue.Render(capitalize(q))+" "+counts+failed)
	}
	header := strings.Join(parts, "  ")
	rule := s.st.rule.Render(strings.Repeat("─", max(width-1, 10)))
	out := []string{rule, header}
	jobs := append([]runningJob(nil), s.running...)
	sort.SliceStable(jobs, func(i, j int) bool { return jobs[i].since.Before(jobs[j].since) })
	for _, j := range jobs {
		line := fmt.Sprintf("[%s] %s", fmtDuration(now.Sub(j.since)), s.st.job.Render(j.action+":"+j.element))
		out = append(out, truncate(line, width-1))
	}
	return out
}

func capitalize(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// truncate cuts a line to n visible cells.
func truncate(s string, n int) string {
	if lipgloss.Width(s) <= n {
		return s
	}
	return lipgloss.NewStyle().MaxWidth(n).Render(s)
}
