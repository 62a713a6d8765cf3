package ui

import (
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// FormatString applies a Python format spec to a string value, as
// format(value, spec) does in Python:
// [[fill]align][sign][z][#][0][width][grouping][.precision][type]. For
// strings, align is < (the default), > or ^, precision truncates, type is s
// or nothing, and sign, z, #, grouping and '=' alignment are errors.
func FormatString(value, spec string) (string, error) {
	fill, align := ' ', byte(0)
	s := spec
	if r, size := utf8.DecodeRuneInString(s); size > 0 && size < len(s) && isAlign(s[size]) {
		fill, align = r, s[size]
		s = s[size+1:]
	} else if len(s) > 0 && isAlign(s[0]) {
		align = s[0]
		s = s[1:]
	}
	if len(s) > 0 && (s[0] == '+' || s[0] == '-' || s[0] == ' ') {
		return "", fmt.Errorf("sign not allowed in string format specifier")
	}
	if len(s) > 0 && s[0] == 'z' {
		return "", fmt.Errorf("negative zero coercion (z) not allowed in string format specifier")
	}
	if len(s) > 0 && s[0] == '#' {
		return "", fmt.Errorf("alternate form (#) not allowed in string format specifier")
	}
	if len(s) > 0 && s[0] == '0' {
		// Zero padding: fill with '0' unless a fill was given.
		if align == 0 {
			fill = '0'
		}
		s = s[1:]
	}
	width, s := leadingInt(s)
	if len(s) > 0 && (s[0] == ',' || s[0] == '_') {
		return "", fmt.Errorf("cannot specify '%c' with 's'", s[0])
	}
	precision := -1
	if len(s) > 0 && s[0] == '.' {
		var digits string
		precision, digits = -1, s[1:]
		p, rest := leadingInt(digits)
		if len(rest) == len(digits) {
			return "", fmt.Errorf("format specifier missing precision")
		}
		precision, s = p, rest
	}
	if s != "" && s != "s" {
		return "", fmt.Errorf("unknown format code '%s' for object of type 'str'", s)
	}
	if align == '=' {
		return "", fmt.Errorf("'=' alignment not allowed in string format specifier")
	}
	if precision >= 0 && utf8.RuneCountInString(value) > precision {
		i := 0
		for n := 0; n < precision; n++ {
			_, size := utf8.DecodeRuneInString(value[i:])
			i += size
		}
		value = value[:i]
	}
	pad := width - utf8.RuneCountInString(value)
	if pad <= 0 {
		return value, nil
	}
	f := string(fill)
	switch align {
	case '>':
		return strings.Repeat(f, pad) + value, nil
	case '^':
		left := pad / 2
		return strings.Repeat(f, left) + value + strings.Repeat(f, pad-left), nil
	}
	return value + strings.Repeat(f, pad), nil
}

func isAlign(c byte) bool { return c == '<' || c == '>' || c == '^' || c == '=' }

func leadingInt(s string) (int, string) {
	i := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	if i == 0 {
		return 0, s
	}
	n, err := strconv.Atoi(s[:i])
	if err != nil || n > 1<<20 {
		n = 1 << 20
	}
	return n, s[i:]
}
