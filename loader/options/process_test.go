package options

import (
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/bstgo/bst/loader/node"
)

// processDecls are the options the conditionals below test.
const processDecls = boolPony + flagsFarm + enumAnimals + `
horsy: {type: bool, description: d, default: False}
debug: {type: bool, description: d, default: False}
logging: {type: bool, description: d, default: False}
machine_arch: {type: arch, description: d, values: [aarch32, aarch64, x86_64]}
`

// processPool returns a resolved pool of processDecls with the values of
// `name=value` strings set as on the command line.
func processPool(t testing.TB, set ...string) *Pool {
	t.Helper()
	p := NewPool("x86_64", "Linux")
	decls, err := node.Parse([]byte(processDecls), &node.File{Name: "project.conf"})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Declare(decls, nil); err != nil {
		t.Fatal(err)
	}
	var pairs [][2]string
	for _, s := range set {
		name, value, _ := strings.Cut(s, "=")
		pairs = append(pairs, [2]string{name, value})
	}
	if err := p.SetCLIValues(pairs); err != nil {
		t.Fatal(err)
	}
	if err := p.Resolve(); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestProcess(t *testing.T) {
	for _, tc := range []struct {
		name string
		set  []string // option=value
		in   string
		want string
	}{
		{"no directives", nil, "a: b\nc: [d, {e: f}]", "a: b\nc: [d, {e: f}]"},
		{"simple true", []string{"pony=True"},
			"variables:\n  (?):\n  - pony:\n      prefix: /opt\n", "variables: {prefix: /opt}"},
		{"simple false", []string{"pony=False"},
			"variables:\n  prefix: /usr\n  (?):\n  - pony:\n      prefix: /opt\n", "variables: {prefix: /usr}"},
		{"empty list", nil, "a: b\n(?): []", "a: b"},

		// Boolean syntaxes.
		{"not", []string{"pony=False"}, "v: a pony\n(?): [{not pony: {v: not pony}}]", "v: not pony"},
		{"== True", []string{"pony=True"}, "v: not pony\n(?): [{pony == True: {v: a pony}}]", "v: a pony"},
		{"!= True", []string{"pony=False"}, "v: a pony\n(?): [{pony != True: {v: not pony}}]", "v: not pony"},
		{"and false", []string{"debug=True"}, "v: 'False'\n(?): [{logging and debug: {v: 'True'}}]", "v: 'False'"},
		{"and true", []string{"debug=True", "logging=True"}, "v: 'False'\n(?): [{logging and debug: {v: 'True'}}]", "v: 'True'"},
		{"or", []string{"logging=True"}, "v: 'False'\n(?): [{logging or debug: {v: 'True'}}]", "v: 'True'"},

		// Enums compare as strings.
		{"enum literal", []string{"brother=zebry"}, "r: a pony\n(?):\n- brother == \"zebry\": {r: a zebry}\n- brother == \"horsy\": {r: a horsy}", "r: a zebry"},
		{"enum single quotes", []string{"brother=horsy"}, "r: a pony\n(?):\n- brother == 'zebry': {r: a zebry}\n- brother == 'horsy': {r: a horsy}", "r: a horsy"},
		{"enum vs enum same", []string{"brother=zebry"}, "r: different\n(?): [{brother == sister: {r: same}}]", "r: same"},
		{"enum vs enum different", []string{"brother=horsy"}, "r: different\n(?): [{brother == sister: {r: same}}]", "r: different"},
		{"arch", []string{"machine_arch=aarch64"}, "r: x\n(?): [{machine_arch == \"aarch64\": {r: Aarchy}}]", "r: Aarchy"},

		// Flags are sorted lists of strings.
		{"flags equal", []string{"farm=horsy, pony"},
			"r: a pony\n(?):\n- farm == [ \"zebry\" ]: {r: a zebry}\n- farm == [ \"horsy\", \"pony\" ]: {r: a pony and a horsy}", "r: a pony and a horsy"},
		{"flags all", []string{"farm=zebry,horsy , pony"},
			"r: a pony\n(?): [{'farm == [ \"horsy\", \"pony\", \"zebry\" ]': {r: all the animals}}]", "r: all the animals"},
		{"flags in", []string{"farm=zebry, horsy, pony"}, "r: a pony\n(?): [{'(\"zebry\" in farm)': {r: a zebry}}]", "r: a zebry"},
		{"flags not in", []string{"farm=zebry, horsy"}, "r: a pony\n(?): [{'(\"pony\" not in farm)': {r: no pony}}]", "r: no pony"},
		{"enum not in flags", []string{"farm=zebry, pony"}, "r: a pony\n(?): [{(animal not in farm): {r: no horsy}}]", "r: no horsy"},

		// Items apply in order: the last true one wins.
		{"order", []string{"pony=True", "horsy=True"},
			"r: none\n(?):\n- pony: {r: pony}\n- horsy: {r: horsy}\n- not pony: {r: nothing}", "r: horsy"},

		// A fragment merges into the mapping, recursively.
		{"merge", []string{"pony=True"},
			"config: {a: 1, sub: {b: 2, c: 3}}\n(?): [{pony: {config: {sub: {c: 4, d: 5}}, extra: x}}]",
			"config: {a: 1, sub: {b: 2, c: 4, d: 5}}\nextra: x"},

		// Conditionals within conditionals.
		{"nested false", []string{"logging=True"},
			"variables:\n  debug: 'False'\n  (?):\n  - logging:\n      (?):\n      - debug:\n          debug: 'True'\n", "variables: {debug: 'False'}"},
		{"nested true", []string{"logging=True", "debug=True"},
			"variables:\n  debug: 'False'\n  (?):\n  - logging:\n      (?):\n      - debug:\n          debug: 'True'\n", "variables: {debug: 'True'}"},
		{"nested below", []string{"pony=True", "horsy=True"},
			"(?): [{pony: {sub: {'(?)': [{horsy: {v: deep}}]}}}]", "sub: {v: deep}"},
		// Conditionals from two fragments both apply, in order.
		{"accumulated", []string{"pony=True", "horsy=True"},
			"(?):\n- pony: {'(?)': [{horsy: {a: 1, b: 1}}]}\n- horsy: {'(?)': [{pony: {b: 2}}]}", "a: 1\nb: 2"},

		// Conditionals in mappings in lists, and in lists of lists.
		{"in list", []string{"pony=True"},
			"public:\n  shallow-nest:\n  - animal: horsy\n    (?):\n    - pony:\n        animal: pony\n", "public: {shallow-nest: [{animal: pony}]}"},
		{"in list false", []string{"pony=False"},
			"public:\n  shallow-nest:\n  - animal: horsy\n    (?):\n    - pony:\n        animal: pony\n", "public: {shallow-nest: [{animal: horsy}]}"},
		{"in list of lists", []string{"pony=True"},
			"public:\n  deep-nest:\n  -\n    - animal: horsy\n      (?):\n      - pony:\n          animal: pony\n", "public: {deep-nest: [[{animal: pony}]]}"},

		// List directives in fragments compose onto the lists beneath.
		{"append", []string{"pony=True"},
			"shell:\n  host-files: [/etc/passwd, /etc/group]\n  (?):\n  - pony:\n      host-files:\n        (>): [/dev/dri]\n",
			"shell: {host-files: [/etc/passwd, /etc/group, /dev/dri]}"},
		{"append false", []string{"pony=False"},
			"shell:\n  host-files: [/etc/passwd, /etc/group]\n  (?):\n  - pony:\n      host-files:\n        (>): [/dev/dri]\n",
			"shell: {host-files: [/etc/passwd, /etc/group]}"},
		{"prepend and append", []string{"pony=True", "horsy=True"},
			"l: [b]\n(?):\n- pony: {l: {(<): [a], (>): [c]}}\n- horsy: {l: {(>): [d]}}", "l: [a, b, c, d]"},
		{"overwrite", []string{"pony=True"}, "l: [a, b]\n(?): [{pony: {l: {(=): [z]}}}]", "l: [z]"},
		{"list replaces", []string{"pony=True"}, "l: [a, b]\n(?): [{pony: {l: [z]}}]", "l: [z]"},
		// With no list beneath, directives stay for the caller to report.
		{"trailing directive", []string{"pony=True"}, "(?): [{pony: {l: {(>): [z]}}}]", "l: {(>): [z]}"},
		// Lists of conditional mappings inside a fragment are processed.
		{"list in fragment", []string{"pony=True", "horsy=True"},
			"(?): [{pony: {items: [{'(?)': [{horsy: {h: 1}}]}]}}]", "items: [{h: 1}]"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := processPool(t, tc.set...)
			n := parse(t, tc.in)
			if err := p.Process(n, nil); err != nil {
				t.Fatalf("Process: %v", err)
			}
			if got, want := node.Dump(n), node.Dump(parse(t, tc.want)); got != want {
				t.Fatalf("got:\n%s\nwant:\n%s", got, want)
			}
		})
	}
}

func TestProcessErrors(t *testing.T) {
	for _, tc := range []struct {
		name       string
		set        []string
		in         string
		restricted []string
		reason     node.Reason
		want       string
	}{
		// Assertions.
		{"raw assertion", nil, "variables:\n  thepony: not pony\n  (!): |\n\n    Raw assertion boogey\n", nil,
			node.UserAssertion, "test.yaml [line 3 column 7]: Raw assertion boogey"},
		{"conditional assertion", []string{"pony=True"},
			"variables:\n  (?):\n  - pony == True:\n      thepony: It's a ponay !\n      (!): It's not pony time yet\n", nil,
			node.UserAssertion, "[line 5 column 11]: It's not pony time yet"},
		{"false assertion", []string{"pony=False"},
			"variables:\n  (?):\n  - pony == True:\n      (!): It's not pony time yet\n", nil, "", ""},
		// Both fragments compose before the mapping is looked at again,
		// so the later assertion is the one that remains.
		{"ordered assertion", []string{"pony=True", "horsy=True"},
			"variables:\n  (?):\n  - pony == True:\n      (!): It's not pony time yet\n  - horsy == True:\n      (!): It's not horsy time yet\n", nil,
			node.UserAssertion, "It's not horsy time yet"},
		{"assertion before conditional", []string{"pony=True"},
			"(!): stop\n(?): [{pony: {a: b}}]", nil, node.UserAssertion, "stop"},
		{"assertion in list", nil, "l: [{a: b}, {(!): in a list}]", nil, node.UserAssertion, "in a list"},
		{"assertion not a string", nil, "(!): [a]", nil, node.InvalidData, "value of '(!)' is not of the expected type 'str'"},

		// Malformed conditionals.
		{"not a list", nil, "(?): {pony: {a: b}}", nil, node.InvalidData, "value of '(?)' is not of the expected type 'list'"},
		{"item not a mapping", nil, "(?): [pony]", nil, node.InvalidData, "conditional statement is not of the expected type 'dict'"},
		{"item empty", nil, "(?): [{}]", nil, node.InvalidData, "conditional statement has no expression"},
		{"two keys", nil,
			"variables:\n  (?):\n  - not: Allowed any adjacent keys beside the expression.\n    opt:\n      prefix: /opt\n", nil,
			node.InvalidData, "test.yaml [line 3 column 4]: conditional statement has more than one key"},
		{"fragment not a mapping", []string{"pony=True"}, "(?): [{pony: [a]}]", nil,
			node.IllegalComposite, "[line 1 column 6]: only values of type 'dict' can be composed"},
		// The fragment's type is checked even when the condition is false.
		{"false fragment not a mapping", []string{"pony=False"}, "(?): [{pony: scalar}]", nil,
			node.IllegalComposite, "only values of type 'dict' can be composed"},
		{"compose error", []string{"pony=True"}, "a: {b: c}\n(?): [{pony: {a: [x]}}]", nil, node.IllegalComposite, "failure composing a"},

		// Expressions.
		{"invalid expression", nil, "variables:\n  (?):\n  - is defined pony:\n      prefix: /opt\n", nil,
			node.ExpressionFailed, "test.yaml [line 3 column 4]: failed to evaluate expression (is defined pony)"},
		{"undefined name", nil, "variables:\n  (?):\n  - pony == foo:\n      prefix: /opt\n", nil,
			node.ExpressionFailed, "test.yaml [line 3 column 4]: failed to evaluate expression (pony == foo)"},
		{"undefined option", nil, "(?): [{opt is funny: {prefix: /opt}}]", nil, node.ExpressionFailed, "failed to evaluate expression"},
		// The expression is evaluated before the fragment is checked.
		{"expression before fragment", nil, "(?): [{foo: scalar}]", nil, node.ExpressionFailed, "(foo)"},

		// Restricted keys, at the top only, whatever the condition.
		{"restricted", []string{"brother=pony"},
			"(?):\n- brother == \"pony\":\n    name: ponyproject\n- brother == \"horsy\":\n    name: horsyproject\n",
			[]string{"min-version", "name"}, node.IllegalComposite, "test.yaml [line 3 column 10]: the 'name' key cannot be specified conditionally"},
		{"restricted false", []string{"brother=pony"},
			"(?):\n- brother == \"horsy\":\n    options: {}\n", []string{"options"}, node.IllegalComposite, "the 'options' key cannot be specified conditionally"},
		{"restricted nested ok", []string{"pony=True"}, "variables: {'(?)': [{pony: {name: x}}]}", []string{"name"}, "", ""},
		{"restricted other keys ok", []string{"pony=True"}, "(?): [{pony: {variables: {name: x}}}]", []string{"name"}, "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := processPool(t, tc.set...)
			checkErr(t, p.Process(parse(t, tc.in), tc.restricted), tc.reason, tc.want)
		})
	}
}

// TestProcessConcurrent processes many trees at once with one pool, as the
// loader does with elements, and checks that expressions are parsed once.
func TestProcessConcurrent(t *testing.T) {
	p := processPool(t, "pony=True", "farm=pony,zebry", "brother=horsy")
	const (
		workers = 16
		rounds  = 50
	)
	in := `
variables:
  result: none
  (?):
  - pony and "zebry" in farm:
      result: '%d'
  - brother == "zebry":
      result: wrong
config:
  list: [a]
  (?):
  - not pony:
      list: [wrong]
  - brother == "horsy":
      list:
        (>): ['%d']
deps:
- {'(?)': [{pony: {x: '%d'}}]}
`
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for r := range rounds {
				i := w*rounds + r
				n, err := node.Parse(fmt.Appendf(nil, in, i, i, i), &node.File{Name: "e.bst"})
				if err == nil {
					err = p.Process(n, nil)
				}
				if err != nil {
					errs <- err
					return
				}
				got := node.Dump(n)
				want := fmt.Sprintf("variables:\n  result: \"%d\"\nconfig:\n  list:\n    - a\n    - \"%d\"\ndeps:\n  - x: \"%d\"\n", i, i, i)
				if got != want {
					errs <- fmt.Errorf("tree %d:\n%s\nwant:\n%s", i, got, want)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	parsed := 0
	p.exprs.Range(func(_, _ any) bool { parsed++; return true })
	if parsed != 5 {
		t.Fatalf("%d expressions cached, want 5", parsed)
	}
}

// BenchmarkProcess measures a typical element with cached expressions.
func BenchmarkProcess(b *testing.B) {
	p := processPool(b, "pony=True")
	src := []byte("kind: manual\nvariables:\n  a: b\n  (?):\n  - pony and brother == \"pony\": {a: c}\n  - not pony: {a: d}\nconfig:\n  install-commands: [x, y]\n")
	for b.Loop() {
		n, err := node.Parse(src, &node.File{Name: "e.bst"})
		if err != nil {
			b.Fatal(err)
		}
		if err := p.Process(n, nil); err != nil {
			b.Fatal(err)
		}
	}
}
