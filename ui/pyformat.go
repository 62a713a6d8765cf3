package ui

import (
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// MaxWidth is the largest field width FormatString accepts. Python has
// no such limit short of memory; a larger width in a template is surely
// a mistake, and refusing it keeps a bad template from allocating
// gigabytes.
const MaxWidth = 1 << 16

// SpecError reports a format spec that Python's format() would refuse
// for a string value, or one wider than MaxWidth.
type SpecError struct {
	Spec   string
	Reason string
}

func (e *SpecError) Error() string {
	return fmt.Sprintf("format spec %q: %s", e.Spec, e.Reason)
}

// FormatString formats a string value as Python's format(value, spec)
// does. The spec follows Python's mini-language,
//
//	[[fill]align][sign][z][#][0][width][grouping][.precision][type]
//
// of which only part is meaningful for strings:
//
//   - align is '<' (left, the default), '>' (right) or '^' (centred, any
//     odd padding going to the right); fill is any one character and
//     defaults to a space;
//   - a '0' before the width, when no fill is given, makes '0' the fill
//     but keeps the alignment (Python 3.10 and later: format("ab", "05")
//     is "ab000");
//   - width and precision count characters (code points), not bytes or
//     terminal columns; precision truncates the value; both may be
//     written in any Unicode decimal digits, as Python allows;
//   - type is 's' or absent.
//
// Everything else (a sign, 'z', '#', ',' or '_' grouping, '=' alignment,
// any other type) is an error, as it is in Python. A multi-line value is
// formatted as one string: its newlines count towards the width.
func FormatString(value, spec string) (string, error) {
	sp, err := parseSpec(spec)
	if err != nil {
		return "", err
	}
	return sp.format(value), nil
}

// strSpec is a format spec parsed and checked for a string value.
type strSpec struct {
	fill      string // one character; "" means a space
	align     byte   // '<', '>' or '^'; 0 means '<'
	width     int
	precision int // -1 when absent
}

func isAlign(c byte) bool { return c == '<' || c == '>' || c == '^' || c == '=' }

// parseSpec parses spec in the order Python does, so that the same specs
// are accepted; the error wording is ours.
func parseSpec(spec string) (strSpec, error) {
	sp := strSpec{precision: -1}
	fail := func(format string, args ...any) (strSpec, error) {
		return strSpec{}, &SpecError{Spec: spec, Reason: fmt.Sprintf(format, args...)}
	}
	s := spec

	// [[fill]align]: a fill is any one character, but only when an align
	// character follows it.
	fillGiven := false
	if _, size := utf8.DecodeRuneInString(s); size > 0 && size < len(s) && isAlign(s[size]) {
		sp.fill, sp.align, fillGiven = s[:size], s[size], true
		s = s[size+1:]
	} else if s != "" && isAlign(s[0]) {
		sp.align = s[0]
		s = s[1:]
	}
	if sp.align == '=' {
		return fail("'=' alignment applies only to numbers")
	}

	if s != "" {
		switch s[0] {
		case '+', '-', ' ':
			return fail("a sign (%q) applies only to numbers", s[0])
		case 'z':
			return fail("'z' (negative zero coercion) applies only to numbers")
		case '#':
			return fail("'#' (alternate form) applies only to numbers")
		}
	}

	// An ASCII '0' before the width selects '0' as the fill unless a fill
	// was given explicitly, in which case the '0' is part of the width.
	if !fillGiven && s != "" && s[0] == '0' {
		sp.fill = "0"
		s = s[1:]
	}

	var ok bool
	if sp.width, s, ok = decimal(s); !ok {
		return fail("width has too many digits")
	}
	if sp.width > MaxWidth {
		return fail("width %d is over the limit of %d", sp.width, MaxWidth)
	}

	if s != "" && (s[0] == ',' || s[0] == '_') {
		return fail("digit grouping (%q) applies only to numbers", s[0])
	}

	if s != "" && s[0] == '.' {
		rest := s[1:]
		if sp.precision, s, ok = decimal(rest); !ok {
			return fail("precision has too many digits")
		}
		if len(s) == len(rest) {
			return fail("'.' is not followed by a precision")
		}
	}

	switch {
	case s == "" || s == "s":
	case utf8.RuneCountInString(s) == 1:
		return fail("format type %q does not apply to strings (only 's' does)", s)
	default:
		return fail("unexpected %q at the end", s)
	}
	return sp, nil
}

// decimal reads a run of Unicode decimal digits at the start of s, as
// Python does for widths and precisions. An empty run reads as 0. It
// reports false if the number does not fit in an int64, where Python
// gives up too.
func decimal(s string) (n int, rest string, ok bool) {
	for s != "" {
		r, size := utf8.DecodeRuneInString(s)
		d := digitValue(r)
		if d < 0 {
			break
		}
		if n > (1<<63-1-d)/10 {
			return 0, s, false
		}
		n = n*10 + d
		s = s[size:]
	}
	return n, s, true
}

// digitValue returns the value of a Unicode decimal digit (category Nd),
// or -1. Decimal digits come in contiguous runs made of whole blocks of
// ten, each starting at its zero, so a digit's value is its distance from
// the start of its run, modulo 10.
func digitValue(r rune) int {
	if r >= '0' && r <= '9' {
		return int(r - '0')
	}
	if r < 0x80 || !unicode.IsDigit(r) {
		return -1
	}
	start := r
	for unicode.IsDigit(start - 1) {
		start--
	}
	return int(r-start) % 10
}

// format applies the spec to value.
func (sp strSpec) format(value string) string {
	n := utf8.RuneCountInString(value)
	if sp.precision >= 0 && n > sp.precision {
		i := 0
		for range sp.precision {
			_, size := utf8.DecodeRuneInString(value[i:])
			i += size
		}
		value, n = value[:i], sp.precision
	}
	pad := sp.width - n
	if pad <= 0 {
		return value
	}
	fill := sp.fill
	if fill == "" {
		fill = " "
	}
	switch sp.align {
	case '>':
		return strings.Repeat(fill, pad) + value
	case '^':
		left := pad / 2
		return strings.Repeat(fill, left) + value + strings.Repeat(fill, pad-left)
	}
	return value + strings.Repeat(fill, pad)
}

// pyRepr quotes s as Python's repr() does for a str, or ascii() when
// asciiOnly is set: single quotes unless s holds a single quote and no
// double quote; backslash escapes for the quote, backslash, tab, newline
// and carriage return; \xhh, \uhhhh or \Uhhhhhhhh for other control
// characters and for non-printable characters (all non-ASCII ones with
// asciiOnly). Python strings cannot hold invalid UTF-8; here each invalid
// byte is written as \xhh.
func pyRepr(s string, asciiOnly bool) string {
	quote := byte('\'')
	if strings.IndexByte(s, '\'') >= 0 && strings.IndexByte(s, '"') < 0 {
		quote = '"'
	}
	b := make([]byte, 0, len(s)+2)
	b = append(b, quote)
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, `\x`...)
			b = appendHex(b, rune(s[i]), 2)
			i++
			continue
		}
		i += size
		switch {
		case r == rune(quote) || r == '\\':
			b = append(b, '\\', byte(r))
		case r == '\t':
			b = append(b, `\t`...)
		case r == '\n':
			b = append(b, `\n`...)
		case r == '\r':
			b = append(b, `\r`...)
		case r < ' ' || r == 0x7f:
			b = append(b, `\x`...)
			b = appendHex(b, r, 2)
		case r < 0x7f || !asciiOnly && unicode.IsPrint(r):
			b = utf8.AppendRune(b, r)
		case r <= 0xff:
			b = append(b, `\x`...)
			b = appendHex(b, r, 2)
		case r <= 0xffff:
			b = append(b, `\u`...)
			b = appendHex(b, r, 4)
		default:
			b = append(b, `\U`...)
			b = appendHex(b, r, 8)
		}
	}
	return string(append(b, quote))
}

// appendHex appends r in lower-case hexadecimal, zero-padded to digits.
func appendHex(b []byte, r rune, digits int) []byte {
	h := strconv.FormatInt(int64(r), 16)
	for range digits - len(h) {
		b = append(b, '0')
	}
	return append(b, h...)
}
