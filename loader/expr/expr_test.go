package expr

import (
	"strings"
	"testing"
)

func TestEval(t *testing.T) {
	vars := map[string]Value{
		"debug": Bool(true), "release": Bool(false), "arch": String("x86-64"),
		"farm": List([]string{"pony", "horsy"}), "empty": List(nil), "n": Int(2), "blank": String(""),
	}
	for _, c := range []struct {
		src  string
		want bool
	}{
		{"debug", true}, {"release", false}, {"not release", true}, {"not not debug", true},
		{"arch == 'x86-64'", true}, {`arch == "aarch64"`, false}, {"arch != 'aarch64'", true},
		{"'pony' in farm", true}, {"'cow' in farm", false}, {"'cow' not in farm", true},
		{"arch in ['x86-64', 'aarch64']", true}, {"arch in ('x86-32',)", false},
		{"'86' in arch", true}, {"debug and release", false}, {"debug or release", true},
		{"release or debug and not release", true}, {"(release or debug) and release", false},
		{"not release and arch == 'x86-64'", true}, {"empty", false}, {"blank", false},
		{"n == 2", true}, {"debug == 1", true}, {"debug == True", true}, {"release == false", true},
		{"debug == 'True'", false}, {"none == None", true}, {"1 == 1 == 1", true}, {"1 == 1 == 2", false},
		{"farm == ['pony', 'horsy']", true}, {"[]", false}, {`"a\"b" == 'a"b'`, true},
	} {
		e, err := Parse(c.src)
		if err != nil {
			t.Errorf("Parse(%q): %v", c.src, err)
			continue
		}
		got, err := e.Eval(vars)
		if err != nil {
			t.Errorf("Eval(%q): %v", c.src, err)
			continue
		}
		if got != c.want {
			t.Errorf("Eval(%q) = %v, want %v", c.src, got, c.want)
		}
	}
}

func TestErrors(t *testing.T) {
	for _, c := range []struct{ src, parseErr, evalErr string }{
		{src: "debug | upper", parseErr: `unexpected "|" at offset 6`},
		{src: "foo()", parseErr: "calls and subscripts are not supported"},
		{src: "a + b", parseErr: `unexpected "+"`},
		{src: "a.b", parseErr: `unexpected "."`},
		{src: "(a", parseErr: "expected ')'"},
		{src: "'open", parseErr: "unterminated string"},
		{src: "", parseErr: "unexpected end"},
		{src: "a and", parseErr: "unexpected end"},
		{src: "a is b", parseErr: `unexpected "is"`},
		{src: "nosuch", evalErr: `undefined option "nosuch"`},
		{src: "1 in 2", evalErr: "not a container"},
		{src: "1 in 'abc'", evalErr: "requires a string"},
	} {
		e, err := Parse(c.src)
		if c.parseErr != "" {
			if err == nil || !strings.Contains(err.Error(), c.parseErr) {
				t.Errorf("Parse(%q) error = %v, want %q", c.src, err, c.parseErr)
			}
			continue
		}
		if err != nil {
			t.Fatalf("Parse(%q): %v", c.src, err)
		}
		if _, err := e.Eval(map[string]Value{}); err == nil || !strings.Contains(err.Error(), c.evalErr) {
			t.Errorf("Eval(%q) error = %v, want %q", c.src, err, c.evalErr)
		}
	}
}

func TestNames(t *testing.T) {
	e, err := Parse("b and (a or 'x' in c) and not a")
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(e.Names(), ","); got != "a,b,c" {
		t.Errorf("Names = %s", got)
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"debug", "a == 'b' and not c", "x in ['a', (b), \"c\"]", "((a)", "'\\''", "1 == 1 != 2"} {
		f.Add(s)
	}
	vars := map[string]Value{"a": Bool(true), "b": String("b"), "c": List([]string{"a"}), "debug": Int(0)}
	f.Fuzz(func(t *testing.T, src string) {
		e, err := Parse(src)
		if err != nil {
			return
		}
		_, _ = e.Eval(vars)
		_ = e.Names()
	})
}
