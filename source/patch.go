package source

import (
	"context"
	"errors"
	"fmt"
	"path"
	"strconv"
	"strings"

	"github.com/bstgo/bst/cas"
)

// A Go implementation of what the patch source asks of GNU patch
// (`patch -pN -i FILE -d DIR`): unified diffs, as diff -u and git write
// them, applied to a staged tree in the CAS. Hunks apply where their
// context matches, searching nearby lines when the file moved (an offset)
// and, failing that, ignoring up to two lines of context at each end (GNU
// patch's default fuzz factor). Files are created and deleted by diffs
// from or to /dev/null, and git's extended headers for modes, renames and
// copies are understood. Everything else (context diffs, binary patches)
// is a clear error. Builds do not depend on the host's patch.

// Patch is a parsed unified diff.
type Patch struct {
	Files []*FilePatch
}

// FilePatch is the part of a diff about one file.
type FilePatch struct {
	OldName, NewName string // as written, "/dev/null" for none
	Hunks            []*Hunk
	// NewExec is set when a git header gives the new file mode as
	// executable (1) or not (0); -1 when unsaid.
	NewExec int
	// Rename and Copy come from git's "rename from/to" and "copy
	// from/to" headers.
	Rename, Copy bool
	line         int // where the file's part starts, for errors
}

// Hunk is one @@ section.
type Hunk struct {
	OldStart, OldLines int
	NewStart, NewLines int
	Lines              []HunkLine
	line               int
}

// HunkLine is one line of a hunk: ' ' context, '-' removed, '+' added.
// Text has its line terminator, unless the diff says the line has none.
type HunkLine struct {
	Op   byte
	Text string
}

const devNull = "/dev/null"

// ParsePatch parses a unified diff. Text outside file sections (mail
// headers, commit messages, "Index:" lines) is ignored.
func ParsePatch(data []byte) (*Patch, error) {
	lines := splitLines(string(data))
	p := &Patch{}
	var cur *FilePatch
	// git headers seen since "diff --git", before ---/+++.
	var git *FilePatch
	for i := 0; i < len(lines); i++ {
		l := strings.TrimSuffix(strings.TrimSuffix(lines[i], "\n"), "\r")
		switch {
		case strings.HasPrefix(l, "diff --git "):
			if git != nil {
				p.addGitOnly(git)
			}
			git = &FilePatch{NewExec: -1, line: i + 1}
			if a, b, ok := splitGitNames(l[len("diff --git "):]); ok {
				git.OldName, git.NewName = a, b
			}
			cur = nil
		case git != nil && cur == nil && strings.HasPrefix(l, "new file mode "):
			git.OldName = devNull
			git.NewExec = modeExec(l[len("new file mode "):])
		case git != nil && cur == nil && strings.HasPrefix(l, "deleted file mode "):
			git.NewName = devNull
		case git != nil && cur == nil && strings.HasPrefix(l, "new mode "):
			git.NewExec = modeExec(l[len("new mode "):])
		case git != nil && cur == nil && (strings.HasPrefix(l, "rename from ") || strings.HasPrefix(l, "copy from ")):
			git.Rename = strings.HasPrefix(l, "rename")
			git.Copy = !git.Rename
			git.OldName = "a/" + unquoteName(l[strings.Index(l, "from ")+5:])
		case git != nil && cur == nil && (strings.HasPrefix(l, "rename to ") || strings.HasPrefix(l, "copy to ")):
			git.NewName = "b/" + unquoteName(l[strings.Index(l, "to ")+3:])
		case git != nil && cur == nil && (strings.HasPrefix(l, "GIT binary patch") || strings.HasPrefix(l, "Binary files ")):
			return nil, fmt.Errorf("line %d: binary patches are not supported", i+1)
		case strings.HasPrefix(l, "--- ") && i+1 < len(lines) && strings.HasPrefix(lines[i+1], "+++ "):
			fp := &FilePatch{NewExec: -1, line: i + 1}
			if git != nil {
				fp.NewExec, fp.Rename, fp.Copy = git.NewExec, git.Rename, git.Copy
				git = nil
			}
			fp.OldName = headerName(l[4:])
			fp.NewName = headerName(strings.TrimSuffix(strings.TrimSuffix(lines[i+1], "\n"), "\r")[4:])
			p.Files = append(p.Files, fp)
			cur = fp
			i++
		case strings.HasPrefix(l, "@@ "):
			if cur == nil {
				return nil, fmt.Errorf("line %d: hunk without file headers (--- and +++ lines)", i+1)
			}
			h, next, err := parseHunk(lines, i)
			if err != nil {
				return nil, err
			}
			cur.Hunks = append(cur.Hunks, h)
			i = next - 1
		case strings.HasPrefix(l, "*** ") && i+1 < len(lines) && strings.HasPrefix(lines[i+1], "--- "):
			return nil, fmt.Errorf("line %d: context diffs are not supported: use a unified diff (diff -u)", i+1)
		}
	}
	if git != nil {
		p.addGitOnly(git)
	}
	if len(p.Files) == 0 {
		return nil, errors.New("no unified diff found in the patch")
	}
	return p, nil
}

// addGitOnly keeps a git section without hunks: a mode change, a rename,
// a copy, or an empty file created or deleted.
func (p *Patch) addGitOnly(g *FilePatch) {
	if g.OldName != "" && g.NewName != "" {
		p.Files = append(p.Files, g)
	}
}

func modeExec(m string) int {
	v, err := strconv.ParseUint(strings.TrimSpace(m), 8, 32)
	if err != nil {
		return -1
	}
	if v&0o100 != 0 {
		return 1
	}
	return 0
}

// splitLines splits s after each "\n", keeping the terminators.
func splitLines(s string) []string {
	var out []string
	for len(s) > 0 {
		i := strings.IndexByte(s, '\n')
		if i < 0 {
			out = append(out, s)
			break
		}
		out = append(out, s[:i+1])
		s = s[i+1:]
	}
	return out
}

// headerName takes the file name of a ---/+++ line: up to a tab (which
// starts the timestamp), C-quoted names unquoted.
func headerName(s string) string {
	if strings.HasPrefix(s, `"`) {
		if q, rest, ok := cutQuoted(s); ok {
			_ = rest
			return q
		}
	}
	if i := strings.IndexByte(s, '\t'); i >= 0 {
		s = s[:i]
	}
	return strings.TrimRight(s, " ")
}

// splitGitNames splits `a/x b/y` of a "diff --git" line.
func splitGitNames(s string) (string, string, bool) {
	if strings.HasPrefix(s, `"`) {
		a, rest, ok := cutQuoted(s)
		if !ok {
			return "", "", false
		}
		return a, unquoteName(strings.TrimSpace(rest)), true
	}
	// Without quotes the two names are the same length when the file
	// was not renamed: split in the middle.
	if n := len(s); n%2 == 1 && s[n/2] == ' ' {
		return s[:n/2], s[n/2+1:], true
	}
	if i := strings.Index(s, " b/"); i >= 0 {
		return s[:i], s[i+1:], true
	}
	return "", "", false
}

func unquoteName(s string) string {
	if q, _, ok := cutQuoted(s); ok {
		return q
	}
	return s
}

// cutQuoted reads a C-style quoted string at the start of s.
func cutQuoted(s string) (string, string, bool) {
	if !strings.HasPrefix(s, `"`) {
		return "", s, false
	}
	var b strings.Builder
	for i := 1; i < len(s); i++ {
		c := s[i]
		switch c {
		case '"':
			return b.String(), s[i+1:], true
		case '\\':
			if i+1 >= len(s) {
				return "", s, false
			}
			i++
			switch e := s[i]; e {
			case 'n':
				b.WriteByte('\n')
			case 't':
				b.WriteByte('\t')
			case '"', '\\':
				b.WriteByte(e)
			default:
				if e >= '0' && e <= '7' && i+2 < len(s) {
					v, err := strconv.ParseUint(s[i:i+3], 8, 8)
					if err == nil {
						b.WriteByte(byte(v))
						i += 2
						continue
					}
				}
				b.WriteByte(e)
			}
		default:
			b.WriteByte(c)
		}
	}
	return "", s, false
}

// parseHunk reads the hunk starting at lines[i] ("@@ -a,b +c,d @@") and
// returns it with the index of the line after it.
func parseHunk(lines []string, i int) (*Hunk, int, error) {
	head := strings.TrimRight(lines[i], "\r\n")
	h := &Hunk{line: i + 1}
	rest, ok := strings.CutPrefix(head, "@@ -")
	end := strings.Index(rest, " @@")
	if !ok || end < 0 {
		return nil, 0, fmt.Errorf("line %d: malformed hunk header %q", i+1, head)
	}
	oldR, newR, ok := strings.Cut(rest[:end], " +")
	if !ok {
		return nil, 0, fmt.Errorf("line %d: malformed hunk header %q", i+1, head)
	}
	var err1, err2 error
	h.OldStart, h.OldLines, err1 = parseRange(oldR)
	h.NewStart, h.NewLines, err2 = parseRange(newR)
	if err1 != nil || err2 != nil {
		return nil, 0, fmt.Errorf("line %d: malformed hunk header %q", i+1, head)
	}
	oldLeft, newLeft := h.OldLines, h.NewLines
	j := i + 1
	for ; j < len(lines) && (oldLeft > 0 || newLeft > 0); j++ {
		l := lines[j]
		if l == "\n" || l == "\r\n" {
			// Some mailers strip the space of empty context lines.
			l = " " + l
		}
		switch l[0] {
		case ' ':
			oldLeft--
			newLeft--
		case '-':
			oldLeft--
		case '+':
			newLeft--
		case '\\':
			markNoNewline(h)
			continue
		default:
			return nil, 0, fmt.Errorf("line %d: the hunk starting at line %d ends early", j+1, i+1)
		}
		if oldLeft < 0 || newLeft < 0 {
			return nil, 0, fmt.Errorf("line %d: the hunk starting at line %d has more lines than its header says", j+1, i+1)
		}
		h.Lines = append(h.Lines, HunkLine{Op: l[0], Text: l[1:]})
	}
	if oldLeft > 0 || newLeft > 0 {
		return nil, 0, fmt.Errorf("line %d: the hunk is truncated", i+1)
	}
	// A "\ No newline at end of file" after the last line.
	if j < len(lines) && strings.HasPrefix(lines[j], `\`) {
		markNoNewline(h)
		j++
	}
	return h, j, nil
}

func markNoNewline(h *Hunk) {
	if n := len(h.Lines); n > 0 {
		t := h.Lines[n-1].Text
		t = strings.TrimSuffix(t, "\n")
		h.Lines[n-1].Text = t
	}
}

func parseRange(s string) (start, count int, err error) {
	a, b, has := strings.Cut(s, ",")
	if start, err = strconv.Atoi(a); err != nil {
		return
	}
	count = 1
	if has {
		count, err = strconv.Atoi(b)
	}
	return
}

// stripName applies -pN: it removes the smallest prefix holding n slashes.
func stripName(name string, n int) (string, bool) {
	for ; n > 0; n-- {
		i := strings.IndexByte(name, '/')
		if i < 0 {
			return "", false
		}
		name = name[i+1:]
	}
	for strings.HasPrefix(name, "/") {
		name = name[1:]
	}
	return name, name != ""
}

// PatchError is a patch that does not apply.
type PatchError struct {
	File string
	Msg  string
}

func (e *PatchError) Error() string {
	if e.File == "" {
		return e.Msg
	}
	return e.File + ": " + e.Msg
}

// Apply applies the patch with strip level strip to the Directory root
// and returns the patched tree.
func (p *Patch) Apply(ctx context.Context, store *cas.LocalStore, root cas.Digest, strip int) (cas.Digest, error) {
	t := newTreeEditor(store, root)
	for _, fp := range p.Files {
		if err := fp.apply(ctx, t, strip); err != nil {
			return cas.Digest{}, err
		}
	}
	return t.digest(ctx)
}

func (fp *FilePatch) target(t *treeEditor, ctx context.Context, strip int) (oldP, newP string, err error) {
	resolve := func(name string) (string, error) {
		if name == devNull {
			return "", nil
		}
		s, ok := stripName(name, strip)
		if !ok {
			return "", &PatchError{name, fmt.Sprintf("has fewer than %d leading directories to strip (strip-level %d)", strip, strip)}
		}
		if _, err := cleanEntry(s, s); err != nil {
			return "", &PatchError{name, "the file name leaves the staged sources"}
		}
		return path.Clean(s), nil
	}
	if oldP, err = resolve(fp.OldName); err != nil {
		return
	}
	if newP, err = resolve(fp.NewName); err != nil {
		return
	}
	return
}

func (fp *FilePatch) apply(ctx context.Context, t *treeEditor, strip int) error {
	oldP, newP, err := fp.target(t, ctx, strip)
	if err != nil {
		return err
	}
	var src, dst string // the file read and the file written ("" for none)
	switch {
	case fp.OldName == devNull && fp.NewName == devNull:
		return nil
	case fp.OldName == devNull:
		dst = newP
		if f, ok, err := t.stat(ctx, dst); err != nil {
			return err
		} else if ok && (f.Size() > 0 || len(fp.Hunks) == 0) {
			return &PatchError{dst, "the patch creates this file, which exists already: the patch is reversed or applied already"}
		}
	case fp.NewName == devNull:
		src = oldP
	case fp.Rename || fp.Copy:
		src, dst = oldP, newP
	default:
		src = pickExisting(ctx, t, oldP, newP)
		dst = src
	}
	var content []byte
	exec := false
	if src != "" {
		data, x, ok, err := t.readFile(ctx, src)
		if err != nil {
			return err
		}
		if !ok {
			return &PatchError{src, "no such file to patch"}
		}
		content, exec = data, x
	}
	shown := dst
	if shown == "" {
		shown = src
	}
	out, err := applyHunks(shown, content, fp.Hunks)
	if err != nil {
		return err
	}
	if fp.NewExec >= 0 {
		exec = fp.NewExec == 1
	}
	if fp.NewName == devNull {
		if len(out) != 0 {
			return &PatchError{src, "the patch deletes this file but its content differs from what the patch removes"}
		}
		return t.remove(ctx, src)
	}
	if err := t.writeFile(ctx, dst, out, exec); err != nil {
		return err
	}
	if fp.Rename && src != dst {
		return t.remove(ctx, src)
	}
	return nil
}

// pickExisting chooses which of a diff's two names to patch, as GNU patch
// does: among those that exist, the one with the fewest directories, then
// the shortest base name, then the shortest name; the new name when
// neither exists.
func pickExisting(ctx context.Context, t *treeEditor, oldP, newP string) string {
	var have []string
	for _, c := range []string{oldP, newP} {
		if c == "" {
			continue
		}
		if _, ok, _ := t.stat(ctx, c); ok {
			have = append(have, c)
		}
	}
	if len(have) == 0 {
		if newP != "" {
			return newP
		}
		return oldP
	}
	best := have[0]
	for _, c := range have[1:] {
		if better(c, best) {
			best = c
		}
	}
	return best
}

func better(a, b string) bool {
	ca, cb := strings.Count(a, "/"), strings.Count(b, "/")
	if ca != cb {
		return ca < cb
	}
	if la, lb := len(path.Base(a)), len(path.Base(b)); la != lb {
		return la < lb
	}
	return len(a) < len(b)
}

// applyHunks applies hunks to content.
func applyHunks(file string, content []byte, hunks []*Hunk) ([]byte, error) {
	lines := splitLines(string(content))
	var out strings.Builder
	next := 0   // first line of lines not yet copied
	offset := 0 // how far the previous hunks applied from where they said
	for hi, h := range hunks {
		old, neu := hunkSides(h)
		want := h.OldStart - 1 + offset
		if h.OldLines == 0 {
			want = h.OldStart + offset // an insertion after line OldStart
		}
		lead, trail := contextAround(h)
		pos, fuzzTop, fuzzBottom, ok := locate(lines, next, want, old, lead, trail, h.OldStart)
		if !ok {
			if _, _, _, rev := locate(lines, next, h.NewStart-1+offset, neu, lead, trail, h.NewStart); rev && len(neu) > 0 && !sameLines(old, neu) {
				return nil, &PatchError{file, fmt.Sprintf("hunk #%d (line %d of the patch) is reversed or applied already", hi+1, h.line)}
			}
			return nil, &PatchError{file, fmt.Sprintf("hunk #%d (line %d of the patch) does not apply at line %d", hi+1, h.line, h.OldStart)}
		}
		for _, l := range lines[next:pos] {
			out.WriteString(l)
		}
		// With fuzz, the ignored context lines of the file are kept as
		// they are and the hunk's own are dropped.
		newSide := neu[fuzzTop : len(neu)-fuzzBottom]
		for _, l := range lines[pos : pos+fuzzTop] {
			out.WriteString(l)
		}
		for _, l := range newSide {
			out.WriteString(l)
		}
		matched := len(old)
		for _, l := range lines[pos+matched-fuzzBottom : pos+matched] {
			out.WriteString(l)
		}
		next = pos + matched
		offset = pos - (h.OldStart - 1)
		if h.OldLines == 0 {
			offset = pos - h.OldStart
		}
	}
	for _, l := range lines[next:] {
		out.WriteString(l)
	}
	return []byte(out.String()), nil
}

// hunkSides returns the lines a hunk expects and the lines it leaves.
func hunkSides(h *Hunk) (old, neu []string) {
	for _, l := range h.Lines {
		if l.Op != '+' {
			old = append(old, l.Text)
		}
		if l.Op != '-' {
			neu = append(neu, l.Text)
		}
	}
	return
}

// locate finds where old (the lines a hunk expects, lead of them leading
// context and trail trailing context) matches lines, at or after from,
// nearest to want, trying later positions first at each distance. It
// follows GNU patch: exactly first, then with fuzz 1 and 2, which ignore
// that many context lines at each end. A hunk with less leading than
// trailing context was made at the start of the file and matches only
// there (when it starts at line 1); one with less trailing context only at
// the end. It returns the position of old's first line and how many
// leading and trailing lines were ignored.
func locate(lines []string, from, want int, old []string, lead, trail, oldStart int) (pos, top, bottom int, ok bool) {
	if len(old) == 0 {
		return min(max(want, from), len(lines)), 0, 0, want >= from && want <= len(lines)
	}
	context := max(lead, trail)
	for fuzz := 0; fuzz <= 2; fuzz++ {
		if fuzz > 0 && fuzz > lead && fuzz > trail {
			break
		}
		prefixFuzz := fuzz + lead - context
		suffixFuzz := fuzz + trail - context
		try := func(p, t, b int) bool {
			return p >= from && p+len(old) <= len(lines) && t+b <= len(old) && matchAt(lines, p+t, old[t:len(old)-b])
		}
		if prefixFuzz < 0 && oldStart <= 1 {
			// Only at the start of the file; with no fuzz room at the
			// end either, only as the whole file.
			if suffixFuzz < 0 {
				if len(old) == len(lines) && try(0, 0, 0) {
					return 0, 0, 0, true
				}
				continue
			}
			if try(0, 0, suffixFuzz) {
				return 0, 0, suffixFuzz, true
			}
			continue
		}
		prefixFuzz = max(prefixFuzz, 0)
		if suffixFuzz < 0 {
			// Only at the end of the file.
			if p := len(lines) - len(old); try(p, prefixFuzz, 0) {
				return p, prefixFuzz, 0, true
			}
			continue
		}
		maxD := max(want-from, len(lines)-want) + 1
		for d := 0; d <= maxD; d++ {
			if try(want+d, prefixFuzz, suffixFuzz) {
				return want + d, prefixFuzz, suffixFuzz, true
			}
			if d > 0 && try(want-d, prefixFuzz, suffixFuzz) {
				return want - d, prefixFuzz, suffixFuzz, true
			}
		}
	}
	return 0, 0, 0, false
}

// contextAround counts the context lines a hunk starts and ends with.
func contextAround(h *Hunk) (lead, trail int) {
	for _, l := range h.Lines {
		if l.Op != ' ' {
			break
		}
		lead++
	}
	for i := len(h.Lines) - 1; i >= 0 && h.Lines[i].Op == ' '; i-- {
		trail++
	}
	if lead == len(h.Lines) {
		trail = 0
	}
	return
}

func matchAt(lines []string, p int, want []string) bool {
	if p < 0 || p+len(want) > len(lines) {
		return false
	}
	for i, w := range want {
		if lines[p+i] != w {
			// A line the patch gives with a terminator may end the
			// file without one, and the other way round.
			if strings.TrimSuffix(lines[p+i], "\n") != strings.TrimSuffix(w, "\n") || p+i != len(lines)-1 {
				return false
			}
		}
	}
	return true
}

func sameLines(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
