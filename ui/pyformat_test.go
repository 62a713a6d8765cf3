package ui

import (
	"errors"
	"strings"
	"testing"
	"unicode/utf8"
)

// The tables pythonFormatCases and pythonReprCases below were generated
// with Python 3.11: each want is format(value, spec), or repr(value) and
// ascii(value); ok is false where format raised ValueError or
// MemoryError, whose message follows as a comment. Regenerate them by
// printing those calls for the same inputs.

type formatCase struct {
	value, spec, want string
	ok                bool
}

type reprCase struct {
	value, repr, ascii string
}

func TestFormatStringPython(t *testing.T) {
	for _, c := range pythonFormatCases {
		got, err := FormatString(c.value, c.spec)
		switch {
		case !c.ok && err == nil:
			t.Errorf("FormatString(%q, %q) = %q, want an error", c.value, c.spec, got)
		case c.ok && err != nil:
			t.Errorf("FormatString(%q, %q): %v", c.value, c.spec, err)
		case c.ok && got != c.want:
			t.Errorf("FormatString(%q, %q) = %q, want %q", c.value, c.spec, got, c.want)
		}
	}
}

func TestFormatStringErrors(t *testing.T) {
	for _, c := range []struct{ spec, reason string }{
		{"=5", "'=' alignment applies only to numbers"},
		{"+5", "a sign ('+') applies only to numbers"},
		{" 5", "a sign (' ') applies only to numbers"},
		{"z", "'z' (negative zero coercion) applies only to numbers"},
		{"#", "'#' (alternate form) applies only to numbers"},
		{"5,", "digit grouping (',') applies only to numbers"},
		{"5.", "'.' is not followed by a precision"},
		{"d", `format type "d" does not apply to strings (only 's' does)`},
		{"5xy", `unexpected "xy" at the end`},
		{"65537", "width 65537 is over the limit of 65536"},
		{"99999999999999999999", "width has too many digits"},
		{".99999999999999999999", "precision has too many digits"},
	} {
		_, err := FormatString("ab", c.spec)
		var se *SpecError
		if !errors.As(err, &se) || se.Spec != c.spec || se.Reason != c.reason {
			t.Errorf("FormatString(%q): error %v, want reason %q", c.spec, err, c.reason)
		}
	}
	if _, err := FormatString("ab", "65536"); err != nil {
		t.Errorf("width MaxWidth: %v", err)
	}
}

func TestFormatStringInvalidUTF8(t *testing.T) {
	// Each invalid byte counts as one character, as in a rune count.
	for _, c := range []struct{ value, spec, want string }{
		{"a\xffb", "5", "a\xffb  "},
		{"a\xffb", ".2", "a\xff"},
		{"ab", "\xff>4", "\xff\xffab"},
	} {
		got, err := FormatString(c.value, c.spec)
		if err != nil || got != c.want {
			t.Errorf("FormatString(%q, %q) = %q, %v; want %q", c.value, c.spec, got, err, c.want)
		}
	}
}

func TestPyRepr(t *testing.T) {
	for _, c := range pythonReprCases {
		if got := pyRepr(c.value, false); got != c.repr {
			t.Errorf("repr(%q) = %s, want %s", c.value, got, c.repr)
		}
		if got := pyRepr(c.value, true); got != c.ascii {
			t.Errorf("ascii(%q) = %s, want %s", c.value, got, c.ascii)
		}
	}
	if got, want := pyRepr("a\xffb", false), `'a\xffb'`; got != want {
		t.Errorf("repr of invalid UTF-8 = %s, want %s", got, want)
	}
}

func TestDigitValue(t *testing.T) {
	for r, want := range map[rune]int{
		'0': 0, '9': 9, 'a': -1, '/': -1, ':': -1,
		'٠': 0, '٥': 5, '０': 0, '９': 9,
		'𝟎': 0, '𝟗': 9, '𝟘': 0, '𝟝': 5, '𝟿': 9, // adjacent runs of mathematical digits
		'²': -1, '⑤': -1, 'Ⅻ': -1,
	} {
		if got := digitValue(r); got != want {
			t.Errorf("digitValue(%q) = %d, want %d", r, got, want)
		}
	}
}

func FuzzFormatString(f *testing.F) {
	for _, c := range pythonFormatCases {
		f.Add(c.value, c.spec)
	}
	f.Fuzz(func(t *testing.T, value, spec string) {
		got, err := FormatString(value, spec)
		if err != nil {
			return
		}
		if !utf8.ValidString(value) || !utf8.ValidString(spec) {
			// Invalid bytes of the value and the fill can join into
			// one character, so count only valid text.
			return
		}
		sp, _ := parseSpec(spec)
		n := utf8.RuneCountInString(value)
		if sp.precision >= 0 {
			n = min(n, sp.precision)
		}
		if want := max(n, sp.width); utf8.RuneCountInString(got) != want {
			t.Fatalf("FormatString(%q, %q) = %q: %d characters, want %d", value, spec, got, utf8.RuneCountInString(got), want)
		}
		if sp.precision < 0 && !strings.Contains(got, value) {
			t.Fatalf("FormatString(%q, %q) = %q lost the value", value, spec, got)
		}
	})
}

var pythonFormatCases = []formatCase{
	{"ab", "", "ab", true},
	{"ab", "s", "ab", true},
	{"ab", "5", "ab   ", true},
	{"ab", "05", "ab000", true},
	{"ab", "<05", "ab000", true},
	{"ab", ">05", "000ab", true},
	{"ab", "^05", "0ab00", true},
	{"ab", "x<05", "abxxx", true},
	{"ab", "0", "ab", true},
	{"ab", "00", "ab", true},
	{"ab", "010", "ab00000000", true},
	{"ab", "0<5", "ab000", true},
	{"ab", "0>5", "000ab", true},
	{"ab", "0^5", "0ab00", true},
	{"ab", "00005", "ab000", true},
	{"ab", ">005", "000ab", true},
	{"ab", "x>005", "xxxab", true},
	{"ab", "<5", "ab   ", true},
	{"ab", ">5", "   ab", true},
	{"ab", "^5", " ab  ", true},
	{"ab", "^6", "  ab  ", true},
	{"ab", "^7", "  ab   ", true},
	{"ab", "*^8", "***ab***", true},
	{"ab", "-<6", "ab----", true},
	{"ab", ".>6", "....ab", true},
	{"ab", "é>5", "éééab", true},
	{"ab", "日^7", "日日ab日日日", true},
	{"ab", "\n<5", "ab\n\n\n", true},
	{"ab", "{<5", "ab{{{", true},
	{"ab", "}>5", "}}}ab", true},
	{"ab", "%^6", "%%ab%%", true},
	{"ab", " ^5", " ab  ", true},
	{"ab", "<<5", "ab<<<", true},
	{"ab", "<<", "ab", true},
	{"ab", "<", "ab", true},
	{"ab", ">", "ab", true},
	{"ab", "^", "ab", true},
	{"ab", "é>", "ab", true},
	{"ab", ">é", "", false}, // Unknown format code '\xe9' for object of type 'str'
	{"ab", ".0", "", true},
	{"ab", ".1", "a", true},
	{"ab", ".3", "ab", true},
	{"ab", ".10", "ab", true},
	{"ab", "5.2", "ab   ", true},
	{"ab", "5.2s", "ab   ", true},
	{"ab", ">8.3s", "      ab", true},
	{"ab", "^9.4", "   ab    ", true},
	{"ab", "0.0", "", true},
	{"ab", ".9223372036854775807", "ab", true},
	{"ab", "٥", "ab   ", true},
	{"ab", ".٢", "ab", true},
	{"ab", "<١٠", "ab        ", true},
	{"ab", "𝟓", "ab   ", true},
	{"ab", "𝟘𝟝", "ab   ", true},
	{"ab", "０5", "ab   ", true},
	{"ab", "0٥", "ab000", true},
	{"ab", "٠5", "ab   ", true},
	{"ab", "=5", "", false},                   // '=' alignment not allowed in string format specifier
	{"ab", "x=5", "", false},                  // '=' alignment not allowed in string format specifier
	{"ab", "0=5", "", false},                  // '=' alignment not allowed in string format specifier
	{"ab", "=", "", false},                    // '=' alignment not allowed in string format specifier
	{"ab", "+", "", false},                    // Sign not allowed in string format specifier
	{"ab", "-", "", false},                    // Sign not allowed in string format specifier
	{"ab", " ", "", false},                    // Space not allowed in string format specifier
	{"ab", "<+5", "", false},                  // Sign not allowed in string format specifier
	{"ab", "-5", "", false},                   // Sign not allowed in string format specifier
	{"ab", "+5s", "", false},                  // Sign not allowed in string format specifier
	{"ab", " 5", "", false},                   // Space not allowed in string format specifier
	{"ab", "z", "", false},                    // Negative zero coercion (z) not allowed in string format specifier
	{"ab", "z5", "", false},                   // Negative zero coercion (z) not allowed in string format specifier
	{"ab", "<z", "", false},                   // Negative zero coercion (z) not allowed in string format specifier
	{"ab", "#", "", false},                    // Alternate form (#) not allowed in string format specifier
	{"ab", "#5", "", false},                   // Alternate form (#) not allowed in string format specifier
	{"ab", "<#", "", false},                   // Alternate form (#) not allowed in string format specifier
	{"ab", "5,", "", false},                   // Cannot specify ',' with 's'.
	{"ab", ",", "", false},                    // Cannot specify ',' with 's'.
	{"ab", "_", "", false},                    // Cannot specify '_' with 's'.
	{"ab", "5_", "", false},                   // Cannot specify '_' with 's'.
	{"ab", ",_", "", false},                   // Cannot specify both ',' and '_'.
	{"ab", "_,", "", false},                   // Cannot specify both ',' and '_'.
	{"ab", "__", "", false},                   // Cannot specify '_' with '_'.
	{"ab", ",5", "", false},                   // Cannot specify ',' with '5'.
	{"ab", ".", "", false},                    // Format specifier missing precision
	{"ab", "1.", "", false},                   // Format specifier missing precision
	{"ab", "5.,", "", false},                  // Format specifier missing precision
	{"ab", ".3,", "", false},                  // Unknown format code ',' for object of type 'str'
	{"ab", ".5_", "", false},                  // Unknown format code '_' for object of type 'str'
	{"ab", ".2.3", "", false},                 // Invalid format specifier '.2.3' for object of type 'str'
	{"ab", ".9223372036854775808", "", false}, // Too many decimal digits in format string
	{"ab", "99999999999999999999", "", false}, // Too many decimal digits in format string
	{"ab", "d", "", false},                    // Unknown format code 'd' for object of type 'str'
	{"ab", "x", "", false},                    // Unknown format code 'x' for object of type 'str'
	{"ab", "n", "", false},                    // Unknown format code 'n' for object of type 'str'
	{"ab", "c", "", false},                    // Unknown format code 'c' for object of type 'str'
	{"ab", "r", "", false},                    // Unknown format code 'r' for object of type 'str'
	{"ab", "S", "", false},                    // Unknown format code 'S' for object of type 'str'
	{"ab", "%", "", false},                    // Unknown format code '%' for object of type 'str'
	{"ab", "5%", "", false},                   // Unknown format code '%' for object of type 'str'
	{"ab", "ss", "", false},                   // Invalid format specifier 'ss' for object of type 'str'
	{"ab", "xy", "", false},                   // Invalid format specifier 'xy' for object of type 'str'
	{"ab", "5x", "", false},                   // Unknown format code 'x' for object of type 'str'
	{"ab", "0x5", "", false},                  // Invalid format specifier '0x5' for object of type 'str'
	{"ab", "0z", "", false},                   // Unknown format code 'z' for object of type 'str'
	{"ab", "5 ", "", false},                   // Unknown format code '\x20' for object of type 'str'
	{"ab", "é", "", false},                    // Unknown format code '\xe9' for object of type 'str'
	{"ab", "²", "", false},                    // Unknown format code '\xb2' for object of type 'str'
	{"ab", "⑤", "", false},                    // Unknown format code '\x2464' for object of type 'str'
	{"ab", "{", "", false},                    // Unknown format code '{' for object of type 'str'
	{"ab", "<5s5", "", false},                 // Invalid format specifier '<5s5' for object of type 'str'
	{"", "", "", true},
	{"", "s", "", true},
	{"", "5", "     ", true},
	{"", "05", "00000", true},
	{"", "<05", "00000", true},
	{"", ">05", "00000", true},
	{"", "^05", "00000", true},
	{"", "x<05", "xxxxx", true},
	{"", "0", "", true},
	{"", "00", "", true},
	{"", "010", "0000000000", true},
	{"", "0<5", "00000", true},
	{"", "0>5", "00000", true},
	{"", "0^5", "00000", true},
	{"", "00005", "00000", true},
	{"", ">005", "00000", true},
	{"", "x>005", "xxxxx", true},
	{"", "<5", "     ", true},
	{"", ">5", "     ", true},
	{"", "^5", "     ", true},
	{"", "^6", "      ", true},
	{"", "^7", "       ", true},
	{"", "*^8", "********", true},
	{"", "-<6", "------", true},
	{"", ".>6", "......", true},
	{"", "é>5", "ééééé", true},
	{"", "日^7", "日日日日日日日", true},
	{"", "\n<5", "\n\n\n\n\n", true},
	{"", "{<5", "{{{{{", true},
	{"", "}>5", "}}}}}", true},
	{"", "%^6", "%%%%%%", true},
	{"", " ^5", "     ", true},
	{"", "<<5", "<<<<<", true},
	{"", "<<", "", true},
	{"", "<", "", true},
	{"", ">", "", true},
	{"", "^", "", true},
	{"", "é>", "", true},
	{"", ".0", "", true},
	{"", ".1", "", true},
	{"", ".3", "", true},
	{"", ".10", "", true},
	{"", "5.2", "     ", true},
	{"", "5.2s", "     ", true},
	{"", ">8.3s", "        ", true},
	{"", "^9.4", "         ", true},
	{"", "0.0", "", true},
	{"", ".9223372036854775807", "", true},
	{"", "٥", "     ", true},
	{"", ".٢", "", true},
	{"", "<١٠", "          ", true},
	{"", "𝟓", "     ", true},
	{"", "𝟘𝟝", "     ", true},
	{"", "０5", "     ", true},
	{"", "0٥", "00000", true},
	{"", "٠5", "     ", true},
	{"héllo", "", "héllo", true},
	{"héllo", "s", "héllo", true},
	{"héllo", "5", "héllo", true},
	{"héllo", "05", "héllo", true},
	{"héllo", "<05", "héllo", true},
	{"héllo", ">05", "héllo", true},
	{"héllo", "^05", "héllo", true},
	{"héllo", "x<05", "héllo", true},
	{"héllo", "0", "héllo", true},
	{"héllo", "00", "héllo", true},
	{"héllo", "010", "héllo00000", true},
	{"héllo", "0<5", "héllo", true},
	{"héllo", "0>5", "héllo", true},
	{"héllo", "0^5", "héllo", true},
	{"héllo", "00005", "héllo", true},
	{"héllo", ">005", "héllo", true},
	{"héllo", "x>005", "héllo", true},
	{"héllo", "<5", "héllo", true},
	{"héllo", ">5", "héllo", true},
	{"héllo", "^5", "héllo", true},
	{"héllo", "^6", "héllo ", true},
	{"héllo", "^7", " héllo ", true},
	{"héllo", "*^8", "*héllo**", true},
	{"héllo", "-<6", "héllo-", true},
	{"héllo", ".>6", ".héllo", true},
	{"héllo", "é>5", "héllo", true},
	{"héllo", "日^7", "日héllo日", true},
	{"héllo", "\n<5", "héllo", true},
	{"héllo", "{<5", "héllo", true},
	{"héllo", "}>5", "héllo", true},
	{"héllo", "%^6", "héllo%", true},
	{"héllo", " ^5", "héllo", true},
	{"héllo", "<<5", "héllo", true},
	{"héllo", "<<", "héllo", true},
	{"héllo", "<", "héllo", true},
	{"héllo", ">", "héllo", true},
	{"héllo", "^", "héllo", true},
	{"héllo", "é>", "héllo", true},
	{"héllo", ".0", "", true},
	{"héllo", ".1", "h", true},
	{"héllo", ".3", "hél", true},
	{"héllo", ".10", "héllo", true},
	{"héllo", "5.2", "hé   ", true},
	{"héllo", "5.2s", "hé   ", true},
	{"héllo", ">8.3s", "     hél", true},
	{"héllo", "^9.4", "  héll   ", true},
	{"héllo", "0.0", "", true},
	{"héllo", ".9223372036854775807", "héllo", true},
	{"héllo", "٥", "héllo", true},
	{"héllo", ".٢", "hé", true},
	{"héllo", "<١٠", "héllo     ", true},
	{"héllo", "𝟓", "héllo", true},
	{"héllo", "𝟘𝟝", "héllo", true},
	{"héllo", "０5", "héllo", true},
	{"héllo", "0٥", "héllo", true},
	{"héllo", "٠5", "héllo", true},
	{"a\nb\n", "", "a\nb\n", true},
	{"a\nb\n", "s", "a\nb\n", true},
	{"a\nb\n", "5", "a\nb\n ", true},
	{"a\nb\n", "05", "a\nb\n0", true},
	{"a\nb\n", "<05", "a\nb\n0", true},
	{"a\nb\n", ">05", "0a\nb\n", true},
	{"a\nb\n", "^05", "a\nb\n0", true},
	{"a\nb\n", "x<05", "a\nb\nx", true},
	{"a\nb\n", "0", "a\nb\n", true},
	{"a\nb\n", "00", "a\nb\n", true},
	{"a\nb\n", "010", "a\nb\n000000", true},
	{"a\nb\n", "0<5", "a\nb\n0", true},
	{"a\nb\n", "0>5", "0a\nb\n", true},
	{"a\nb\n", "0^5", "a\nb\n0", true},
	{"a\nb\n", "00005", "a\nb\n0", true},
	{"a\nb\n", ">005", "0a\nb\n", true},
	{"a\nb\n", "x>005", "xa\nb\n", true},
	{"a\nb\n", "<5", "a\nb\n ", true},
	{"a\nb\n", ">5", " a\nb\n", true},
	{"a\nb\n", "^5", "a\nb\n ", true},
	{"a\nb\n", "^6", " a\nb\n ", true},
	{"a\nb\n", "^7", " a\nb\n  ", true},
	{"a\nb\n", "*^8", "**a\nb\n**", true},
	{"a\nb\n", "-<6", "a\nb\n--", true},
	{"a\nb\n", ".>6", "..a\nb\n", true},
	{"a\nb\n", "é>5", "éa\nb\n", true},
	{"a\nb\n", "日^7", "日a\nb\n日日", true},
	{"a\nb\n", "\n<5", "a\nb\n\n", true},
	{"a\nb\n", "{<5", "a\nb\n{", true},
	{"a\nb\n", "}>5", "}a\nb\n", true},
	{"a\nb\n", "%^6", "%a\nb\n%", true},
	{"a\nb\n", " ^5", "a\nb\n ", true},
	{"a\nb\n", "<<5", "a\nb\n<", true},
	{"a\nb\n", "<<", "a\nb\n", true},
	{"a\nb\n", "<", "a\nb\n", true},
	{"a\nb\n", ">", "a\nb\n", true},
	{"a\nb\n", "^", "a\nb\n", true},
	{"a\nb\n", "é>", "a\nb\n", true},
	{"a\nb\n", ".0", "", true},
	{"a\nb\n", ".1", "a", true},
	{"a\nb\n", ".3", "a\nb", true},
	{"a\nb\n", ".10", "a\nb\n", true},
	{"a\nb\n", "5.2", "a\n   ", true},
	{"a\nb\n", "5.2s", "a\n   ", true},
	{"a\nb\n", ">8.3s", "     a\nb", true},
	{"a\nb\n", "^9.4", "  a\nb\n   ", true},
	{"a\nb\n", "0.0", "", true},
	{"a\nb\n", ".9223372036854775807", "a\nb\n", true},
	{"a\nb\n", "٥", "a\nb\n ", true},
	{"a\nb\n", ".٢", "a\n", true},
	{"a\nb\n", "<١٠", "a\nb\n      ", true},
	{"a\nb\n", "𝟓", "a\nb\n ", true},
	{"a\nb\n", "𝟘𝟝", "a\nb\n ", true},
	{"a\nb\n", "０5", "a\nb\n ", true},
	{"a\nb\n", "0٥", "a\nb\n0", true},
	{"a\nb\n", "٠5", "a\nb\n ", true},
	{"日本語", "", "日本語", true},
	{"日本語", "s", "日本語", true},
	{"日本語", "5", "日本語  ", true},
	{"日本語", "05", "日本語00", true},
	{"日本語", "<05", "日本語00", true},
	{"日本語", ">05", "00日本語", true},
	{"日本語", "^05", "0日本語0", true},
	{"日本語", "x<05", "日本語xx", true},
	{"日本語", "0", "日本語", true},
	{"日本語", "00", "日本語", true},
	{"日本語", "010", "日本語0000000", true},
	{"日本語", "0<5", "日本語00", true},
	{"日本語", "0>5", "00日本語", true},
	{"日本語", "0^5", "0日本語0", true},
	{"日本語", "00005", "日本語00", true},
	{"日本語", ">005", "00日本語", true},
	{"日本語", "x>005", "xx日本語", true},
	{"日本語", "<5", "日本語  ", true},
	{"日本語", ">5", "  日本語", true},
	{"日本語", "^5", " 日本語 ", true},
	{"日本語", "^6", " 日本語  ", true},
	{"日本語", "^7", "  日本語  ", true},
	{"日本語", "*^8", "**日本語***", true},
	{"日本語", "-<6", "日本語---", true},
	{"日本語", ".>6", "...日本語", true},
	{"日本語", "é>5", "éé日本語", true},
	{"日本語", "日^7", "日日日本語日日", true},
	{"日本語", "\n<5", "日本語\n\n", true},
	{"日本語", "{<5", "日本語{{", true},
	{"日本語", "}>5", "}}日本語", true},
	{"日本語", "%^6", "%日本語%%", true},
	{"日本語", " ^5", " 日本語 ", true},
	{"日本語", "<<5", "日本語<<", true},
	{"日本語", "<<", "日本語", true},
	{"日本語", "<", "日本語", true},
	{"日本語", ">", "日本語", true},
	{"日本語", "^", "日本語", true},
	{"日本語", "é>", "日本語", true},
	{"日本語", ".0", "", true},
	{"日本語", ".1", "日", true},
	{"日本語", ".3", "日本語", true},
	{"日本語", ".10", "日本語", true},
	{"日本語", "5.2", "日本   ", true},
	{"日本語", "5.2s", "日本   ", true},
	{"日本語", ">8.3s", "     日本語", true},
	{"日本語", "^9.4", "   日本語   ", true},
	{"日本語", "0.0", "", true},
	{"日本語", ".9223372036854775807", "日本語", true},
	{"日本語", "٥", "日本語  ", true},
	{"日本語", ".٢", "日本", true},
	{"日本語", "<١٠", "日本語       ", true},
	{"日本語", "𝟓", "日本語  ", true},
	{"日本語", "𝟘𝟝", "日本語  ", true},
	{"日本語", "０5", "日本語  ", true},
	{"日本語", "0٥", "日本語00", true},
	{"日本語", "٠5", "日本語  ", true},
	{"abcdefghij", "", "abcdefghij", true},
	{"abcdefghij", "s", "abcdefghij", true},
	{"abcdefghij", "5", "abcdefghij", true},
	{"abcdefghij", "05", "abcdefghij", true},
	{"abcdefghij", "<05", "abcdefghij", true},
	{"abcdefghij", ">05", "abcdefghij", true},
	{"abcdefghij", "^05", "abcdefghij", true},
	{"abcdefghij", "x<05", "abcdefghij", true},
	{"abcdefghij", "0", "abcdefghij", true},
	{"abcdefghij", "00", "abcdefghij", true},
	{"abcdefghij", "010", "abcdefghij", true},
	{"abcdefghij", "0<5", "abcdefghij", true},
	{"abcdefghij", "0>5", "abcdefghij", true},
	{"abcdefghij", "0^5", "abcdefghij", true},
	{"abcdefghij", "00005", "abcdefghij", true},
	{"abcdefghij", ">005", "abcdefghij", true},
	{"abcdefghij", "x>005", "abcdefghij", true},
	{"abcdefghij", "<5", "abcdefghij", true},
	{"abcdefghij", ">5", "abcdefghij", true},
	{"abcdefghij", "^5", "abcdefghij", true},
	{"abcdefghij", "^6", "abcdefghij", true},
	{"abcdefghij", "^7", "abcdefghij", true},
	{"abcdefghij", "*^8", "abcdefghij", true},
	{"abcdefghij", "-<6", "abcdefghij", true},
	{"abcdefghij", ".>6", "abcdefghij", true},
	{"abcdefghij", "é>5", "abcdefghij", true},
	{"abcdefghij", "日^7", "abcdefghij", true},
	{"abcdefghij", "\n<5", "abcdefghij", true},
	{"abcdefghij", "{<5", "abcdefghij", true},
	{"abcdefghij", "}>5", "abcdefghij", true},
	{"abcdefghij", "%^6", "abcdefghij", true},
	{"abcdefghij", " ^5", "abcdefghij", true},
	{"abcdefghij", "<<5", "abcdefghij", true},
	{"abcdefghij", "<<", "abcdefghij", true},
	{"abcdefghij", "<", "abcdefghij", true},
	{"abcdefghij", ">", "abcdefghij", true},
	{"abcdefghij", "^", "abcdefghij", true},
	{"abcdefghij", "é>", "abcdefghij", true},
	{"abcdefghij", ".0", "", true},
	{"abcdefghij", ".1", "a", true},
	{"abcdefghij", ".3", "abc", true},
	{"abcdefghij", ".10", "abcdefghij", true},
	{"abcdefghij", "5.2", "ab   ", true},
	{"abcdefghij", "5.2s", "ab   ", true},
	{"abcdefghij", ">8.3s", "     abc", true},
	{"abcdefghij", "^9.4", "  abcd   ", true},
	{"abcdefghij", "0.0", "", true},
	{"abcdefghij", ".9223372036854775807", "abcdefghij", true},
	{"abcdefghij", "٥", "abcdefghij", true},
	{"abcdefghij", ".٢", "ab", true},
	{"abcdefghij", "<١٠", "abcdefghij", true},
	{"abcdefghij", "𝟓", "abcdefghij", true},
	{"abcdefghij", "𝟘𝟝", "abcdefghij", true},
	{"abcdefghij", "０5", "abcdefghij", true},
	{"abcdefghij", "0٥", "abcdefghij", true},
	{"abcdefghij", "٠5", "abcdefghij", true},
}

var pythonReprCases = []reprCase{
	{"", "''", "''"},
	{"it's", "\"it's\"", "\"it's\""},
	{"say \"hi\"", "'say \"hi\"'", "'say \"hi\"'"},
	{"both ' and \"", "'both \\' and \"'", "'both \\' and \"'"},
	{"tab\there\nnl\r\\", "'tab\\there\\nnl\\r\\\\'", "'tab\\there\\nnl\\r\\\\'"},
	{"\u0000\u007f\u001f\u001b", "'\\x00\\x7f\\x1f\\x1b'", "'\\x00\\x7f\\x1f\\x1b'"},
	{"é\u00a0\u200b\ue000😀\U000e0001\u0378", "'é\\xa0\\u200b\\ue000😀\\U000e0001\\u0378'", "'\\xe9\\xa0\\u200b\\ue000\\U0001f600\\U000e0001\\u0378'"},
	{"\U0010ffff", "'\\U0010ffff'", "'\\U0010ffff'"},
	{"日本 ü", "'日本 ü'", "'\\u65e5\\u672c \\xfc'"},
	{"\u2028\u0085", "'\\u2028\\x85'", "'\\u2028\\x85'"},
}
