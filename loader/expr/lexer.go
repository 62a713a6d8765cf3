package expr

import (
	"fmt"
	"strings"
)

type tokKind uint8

const (
	tEOF tokKind = iota
	tName
	tString
	tInt
	tOp // == != ( ) [ ] ,
)

type token struct {
	kind tokKind
	text string // names, operators; decoded strings
	pos  int
}

// lex splits src into tokens.
func lex(src string) ([]token, error) {
	var toks []token
	i := 0
	for i < len(src) {
		c := src[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case isNameStart(c):
			j := i + 1
			for j < len(src) && isNameChar(src[j]) {
				j++
			}
			toks = append(toks, token{tName, src[i:j], i})
			i = j
		case c >= '0' && c <= '9':
			j := i + 1
			for j < len(src) && src[j] >= '0' && src[j] <= '9' {
				j++
			}
			if j < len(src) && (isNameStart(src[j]) || src[j] == '.') {
				return nil, fmt.Errorf("unexpected %q at offset %d", src[i:j+1], i)
			}
			toks = append(toks, token{tInt, src[i:j], i})
			i = j
		case c == '\'' || c == '"':
			s, n, err := lexString(src[i:])
			if err != nil {
				return nil, fmt.Errorf("%v at offset %d", err, i)
			}
			toks = append(toks, token{tString, s, i})
			i += n
		case c == '=' || c == '!':
			if i+1 < len(src) && src[i+1] == '=' {
				toks = append(toks, token{tOp, src[i : i+2], i})
				i += 2
				continue
			}
			return nil, fmt.Errorf("unexpected %q at offset %d", string(c), i)
		case strings.IndexByte("()[],", c) >= 0:
			toks = append(toks, token{tOp, string(c), i})
			i++
		default:
			return nil, fmt.Errorf("unexpected %q at offset %d: only ==, !=, in, not, and, or, parentheses, option names and literals are supported", src[i:i+1], i)
		}
	}
	return append(toks, token{kind: tEOF, pos: len(src)}), nil
}

func isNameStart(c byte) bool { return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }
func isNameChar(c byte) bool  { return isNameStart(c) || c >= '0' && c <= '9' }

// lexString reads a quoted string with Python's common escapes; it returns
// the decoded text and the number of bytes consumed.
func lexString(s string) (string, int, error) {
	q := s[0]
	var b strings.Builder
	for i := 1; i < len(s); i++ {
		c := s[i]
		switch {
		case c == q:
			return b.String(), i + 1, nil
		case c == '\\' && i+1 < len(s):
			i++
			switch s[i] {
			case 'n':
				b.WriteByte('\n')
			case 't':
				b.WriteByte('\t')
			case 'r':
				b.WriteByte('\r')
			case '\\', '\'', '"':
				b.WriteByte(s[i])
			default:
				b.WriteByte('\\')
				b.WriteByte(s[i])
			}
		default:
			b.WriteByte(c)
		}
	}
	return "", 0, fmt.Errorf("unterminated string")
}
