package options

import (
	"errors"
	"reflect"
	"testing"

	"github.com/bstgo/bst/loader/node"
)

func TestDeclareErrors(t *testing.T) {
	for _, tc := range []struct {
		name   string
		decls  string
		reason node.Reason
		want   string
	}{
		{"valid bool", boolPony, "", ""},
		{"valid enums", enumAnimals, "", ""},
		{"valid flags", flagsFarm, "", ""},

		// Option names are symbols without dashes.
		{"name with dashes", "name-with-dashes: {type: bool, description: d, default: False}",
			node.InvalidSymbolName, "test.yaml [line 1 column 18]: invalid option name 'name-with-dashes'"},
		{"name with spaces", "name with spaces: {type: bool, description: d, default: False}",
			node.InvalidSymbolName, "invalid option name 'name with spaces'"},
		{"name with plus", "name_with_+: {type: bool, description: d, default: False}",
			node.InvalidSymbolName, "invalid option name 'name_with_+'"},
		{"name with leading digit", "123number_is_first: {type: bool, description: d, default: False}",
			node.InvalidSymbolName, "invalid option name '123number_is_first'"},
		{"name not ASCII", "poné: {type: bool, description: d, default: False}",
			node.InvalidSymbolName, "invalid option name"},
		{"empty name", "'': {type: bool, description: d, default: False}",
			node.InvalidSymbolName, "invalid option name ''"},
		{"name with underscores and digits", "_x9_Y: {type: bool, description: d, default: False}", "", ""},

		// Variable names are symbols that may have dashes.
		{"variable with dashes", "pony: {type: bool, description: d, default: False, variable: exported-pony}", "", ""},
		{"variable with spaces", "pony: {type: bool, description: d, default: False, variable: the variable}",
			node.InvalidSymbolName, "[line 1 column 61]: invalid variable name 'the variable'"},
		{"variable with plus", "pony: {type: bool, description: d, default: False, variable: pony+}",
			node.InvalidSymbolName, "invalid variable name 'pony+'"},
		{"variable not a string", "pony: {type: bool, description: d, default: False, variable: [a]}",
			node.InvalidData, "value of 'variable' is not of the expected type 'str'"},

		// Common keys.
		{"declaration not a mapping", "pony: yes", node.InvalidData, "value of 'options.pony' is not of the expected type 'dict'"},
		{"missing type", "pony: {description: d, default: False}", node.InvalidData, "dictionary did not contain expected key 'type'"},
		{"unknown type", "opt: {type: funny, description: d, default: False}",
			node.InvalidData, "[line 1 column 12]: value of 'type' should be one of: bool, enum, flags, element-mask, arch, os"},
		{"type not a string", "opt: {type: [bool], description: d, default: False}",
			node.InvalidData, "value of 'type' is not of the expected type 'str'"},
		{"missing description", "pony: {type: bool, default: False}", node.InvalidData, "expected key 'description'"},
		{"description not a string", "pony: {type: bool, description: {a: b}, default: False}",
			node.InvalidData, "value of 'description' is not of the expected type 'str'"},
		{"unknown key", "pony: {type: bool, description: d, default: False, colour: brown}", node.InvalidData, "unexpected key: colour"},

		// bool
		{"bool without default", "pony: {type: bool, description: d}", node.InvalidData, "expected key 'default'"},
		{"bool bad default", "pony: {type: bool, description: d, default: yes}", node.InvalidData,
			"value of 'default' is not of the expected type 'boolean'"},
		{"bool with values", "pony: {type: bool, description: d, default: true, values: [a]}", node.InvalidData, "unexpected key: values"},

		// enum
		{"enum empty values", "empty: {type: enum, description: d, values: [], default: a}",
			node.InvalidData, "[line 1 column 7]: no values specified for enum option 'empty'"},
		{"enum without values", "empty: {type: enum, description: d, default: a}", node.InvalidData, "no values specified for enum option 'empty'"},
		{"enum values not a list", "e: {type: enum, description: d, values: a, default: a}",
			node.InvalidData, "value of 'values' is not of the expected type 'list'"},
		{"enum values not strings", "e: {type: enum, description: d, values: [[a]], default: a}", node.InvalidData, "not of the expected type 'str'"},
		{"enum without default", "e: {type: enum, description: d, values: [a]}", node.InvalidData, "expected key 'default'"},
		{"enum default not a value", "e: {type: enum, description: d, values: [a, b], default: c}",
			node.InvalidData, "[line 1 column 57]: invalid value for enum option 'e': c\n\nValid values: a, b"},
		{"enum default a list", "e: {type: enum, description: d, values: [a, b], default: [a]}",
			node.InvalidData, "value of 'default' is not of the expected type 'str'"},

		// flags
		{"flags without values", "f: {type: flags, description: d, default: []}", node.InvalidData, "no values specified for flags option 'f'"},
		{"flags default not a value", "f: {type: flags, description: d, values: [a, b], default: [a, c]}",
			node.InvalidData, "invalid value for flags option 'f': c"},
		{"flags default a string", "f: {type: flags, description: d, values: [a, b], default: a}",
			node.InvalidData, "value of 'default' is not of the expected type 'list'"},
		{"flags without default", "f: {type: flags, description: d, values: [a]}", "", ""},

		// arch
		{"arch with default", "a: {type: arch, description: d, values: [x86_64], default: x86_64}", node.InvalidData, "unexpected key: default"},
		{"arch without values", "a: {type: arch, description: d}", node.InvalidData, "no values specified for arch option 'a'"},
		{"arch unknown value", "machine_arch:\n  type: arch\n  description: d\n  values:\n  - aarch32\n  - aarch64\n  - x86-128\n",
			node.InvalidData, "[line 7 column 4]: invalid value for arch option 'machine_arch': unknown architecture: x86-128"},

		// os
		{"os with default", "o: {type: os, description: d, values: [Linux], default: Linux}", node.InvalidData, "unexpected key: default"},
		{"os without values", "o: {type: os, description: d, values: []}", node.InvalidData, "no values specified for os option 'o'"},

		// element-mask
		{"element-mask with values", "m: {type: element-mask, description: d, values: [pony, horsy]}", node.InvalidData, "unexpected key: values"},
		{"element-mask without elements", "m: {type: element-mask, description: d}",
			node.InvalidData, "no values specified for element-mask option 'm'"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := NewPool("x86_64", "Linux")
			checkErr(t, p.Declare(parse(t, tc.decls), noElements), tc.reason, tc.want)
		})
	}
}

func TestDeclareNotMapping(t *testing.T) {
	n := parse(t, "options: [a, b]").Get("options")
	checkErr(t, NewPool("x86_64", "Linux").Declare(n, nil), node.InvalidData, "value of 'options' is not of the expected type 'dict'")
	if err := NewPool("x86_64", "Linux").Declare(nil, nil); err != nil {
		t.Fatalf("Declare(nil): %v", err)
	}
}

// TestDefaults checks the value each kind has when nothing overrides its
// default, as Printable and Variables show it.
func TestDefaults(t *testing.T) {
	for _, tc := range []struct {
		name         string
		arch, system string
		decl         string
		want         string
	}{
		{"bool False", "x86_64", "Linux", "o: {type: bool, description: d, default: False}", "0"},
		{"bool true", "x86_64", "Linux", "o: {type: bool, description: d, default: true}", "1"},
		{"bool 1", "x86_64", "Linux", "o: {type: bool, description: d, default: 1}", "1"},
		{"bool 0", "x86_64", "Linux", "o: {type: bool, description: d, default: 0}", "0"},
		{"enum", "x86_64", "Linux", "o: {type: enum, description: d, values: [a, b], default: b}", "b"},
		// A default list is not sorted; only values set later are.
		{"flags unsorted", "x86_64", "Linux", "o: {type: flags, description: d, values: [a, b, c], default: [c, a]}", "c,a"},
		{"flags empty", "x86_64", "Linux", "o: {type: flags, description: d, values: [a]}", ""},
		{"element-mask empty", "x86_64", "Linux", "o: {type: element-mask, description: d}", ""},
		{"element-mask default", "x86_64", "Linux", "o: {type: element-mask, description: d, default: [pony.bst]}", "pony.bst"},
		{"os host", "x86_64", "Darwin", "o: {type: os, description: d, values: [Linux, Darwin]}", "Darwin"},
		// The default is the first value naming the host's architecture,
		// as written in the project.
		{"arch exact", "aarch64", "Linux", "o: {type: arch, description: d, values: [aarch32, aarch64]}", "aarch64"},
		{"arch arm", "arm", "Linux", "o: {type: arch, description: d, values: [aarch32, aarch64]}", "aarch32"},
		{"arch alias", "arm", "Linux", "o: {type: arch, description: d, values: [arm, x86_64]}", "arm"},
		{"arch alias x86_64", "x86_64", "Linux", "o: {type: arch, description: d, values: [arm, x86_64]}", "x86_64"},
		{"arch canonical value", "x86_64", "Linux", "o: {type: arch, description: d, values: [x86-32, x86-64]}", "x86-64"},
		{"arch first match", "i686", "Linux", "o: {type: arch, description: d, values: [i386, i686, x86-32]}", "i386"},
		{"arch go name", "arm64", "Linux", "o: {type: arch, description: d, values: [x86-64, aarch64]}", "aarch64"},
		{"arch go amd64", "amd64", "Linux", "o: {type: arch, description: d, values: [x86_64]}", "x86_64"},
		{"os go name", "x86_64", "linux", "o: {type: os, description: d, values: [Linux]}", "Linux"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := NewPool(tc.arch, tc.system)
			if err := p.Declare(parse(t, tc.decl), func() ([]string, error) { return []string{"pony.bst", "horsy.bst"}, nil }); err != nil {
				t.Fatalf("Declare: %v", err)
			}
			if err := p.Resolve(); err != nil {
				t.Fatalf("Resolve: %v", err)
			}
			if got := p.Printable(); len(got) != 1 || got[0][1] != tc.want {
				t.Fatalf("Printable() = %q, want o=%q", got, tc.want)
			}
		})
	}
}

// TestHostNotSupported checks that arch and os options whose values do
// not include the host fail at Resolve unless a value is chosen.
func TestHostNotSupported(t *testing.T) {
	for _, tc := range []struct {
		name         string
		arch, system string
		decl         string
		cli          [][2]string
		reason       node.Reason
		want         string
	}{
		{"arch unsupported", "x86_64", "Linux", "machine_arch: {type: arch, description: d, values: [aarch32, aarch64]}", nil,
			node.InvalidData, "invalid value for arch option 'machine_arch': x86-64\n\nValid values: aarch32, aarch64"},
		{"arch overridden", "x86_64", "Linux", "machine_arch: {type: arch, description: d, values: [aarch32, aarch64]}",
			[][2]string{{"machine_arch", "aarch64"}}, "", ""},
		{"arch overridden on i386", "i386", "Linux", "machine_arch: {type: arch, description: d, values: [aarch32, aarch64]}",
			[][2]string{{"machine_arch", "aarch32"}}, "", ""},
		{"os unsupported", "x86_64", "ULTRIX", "machine_os: {type: os, description: d, values: [Linux, Darwin]}", nil,
			node.InvalidData, "invalid value for os option 'machine_os': ULTRIX"},
		{"os overridden", "x86_64", "HaikuOS", "machine_os: {type: os, description: d, values: [Linux, SunOS]}",
			[][2]string{{"machine_os", "SunOS"}}, "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := NewPool(tc.arch, tc.system)
			if err := p.Declare(parse(t, tc.decl), nil); err != nil {
				t.Fatalf("Declare: %v", err)
			}
			if err := p.SetCLIValues(tc.cli); err != nil {
				t.Fatalf("SetCLIValues: %v", err)
			}
			checkErr(t, p.Resolve(), tc.reason, tc.want)
		})
	}
}

func TestUnknownHostArch(t *testing.T) {
	p := NewPool("x86_128", "Linux")
	err := p.Declare(parse(t, "a: {type: arch, description: d, values: [x86_64]}"), nil)
	if !errors.Is(err, ErrUnknownArch) {
		t.Fatalf("Declare: %v, want ErrUnknownArch", err)
	}
	// Without an arch option, the host's architecture does not matter.
	p = NewPool("x86_128", "Linux")
	if err := p.Declare(parse(t, boolPony), nil); err != nil {
		t.Fatalf("Declare: %v", err)
	}
}

func TestElementNamesCallback(t *testing.T) {
	calls := 0
	list := func() ([]string, error) {
		calls++
		return []string{"pony.bst", "base/horsy.bst"}, nil
	}
	p := NewPool("x86_64", "Linux")
	if err := p.Declare(parse(t, boolPony+flagsFarm), list); err != nil {
		t.Fatal(err)
	}
	if calls != 0 {
		t.Fatalf("element names listed %d times without element-mask options", calls)
	}
	p = NewPool("x86_64", "Linux")
	if err := p.Declare(parse(t, "a: {type: element-mask, description: d}\nb: {type: element-mask, description: d, default: [base/horsy.bst]}"), list); err != nil {
		t.Fatal(err)
	}
	if calls != 1 {
		t.Fatalf("element names listed %d times, want once", calls)
	}
	if err := p.SetCLIValues([][2]string{{"a", "base/horsy.bst, pony.bst"}}); err != nil {
		t.Fatal(err)
	}
	if err := p.Resolve(); err != nil {
		t.Fatal(err)
	}
	if got, want := p.Printable(), [][2]string{{"a", "base/horsy.bst,pony.bst"}, {"b", "base/horsy.bst"}}; !reflect.DeepEqual(got, want) {
		t.Fatalf("Printable() = %q, want %q", got, want)
	}

	boom := errors.New("boom")
	p = NewPool("x86_64", "Linux")
	err := p.Declare(parse(t, "a: {type: element-mask, description: d}"), func() ([]string, error) { return nil, boom })
	if !errors.Is(err, boom) {
		t.Fatalf("Declare: %v, want the callback's error", err)
	}
}

func TestCanonicalArch(t *testing.T) {
	for in, want := range map[string]string{
		"x86_64": "x86-64", "X86_64": "x86-64", "amd64": "x86-64", "AMD64": "x86-64", "x86-64": "x86-64",
		"i386": "x86-32", "i686": "x86-32", "x86_32": "x86-32",
		"aarch64": "aarch64", "armv8l": "aarch64", "arm": "aarch32", "aarch64_be": "aarch64-be", "armv8b": "aarch64-be",
		"ppc64le": "power-isa-le", "powerpc64le": "power-isa-le", "ppc64": "power-isa-be", "powerpc": "power-isa-be",
		"riscv64": "rv64g", "riscv32": "rv32g", "loongarch64": "la64v100", "loong64": "la64v100",
		"sparc64": "sparc-v9", "sun4v": "sparc-v9",
	} {
		if got, err := CanonicalArch(in); err != nil || got != want {
			t.Errorf("CanonicalArch(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{"x86_128", "arm64", "386", "s390x", ""} {
		if got, err := CanonicalArch(in); !errors.Is(err, ErrUnknownArch) {
			t.Errorf("CanonicalArch(%q) = %q, %v; want ErrUnknownArch", in, got, err)
		}
	}
}

func TestNewPoolHost(t *testing.T) {
	p := NewPool("", "")
	if p.hostArch == "" || p.hostOS == "" {
		t.Fatalf("host not detected: arch %q, os %q", p.hostArch, p.hostOS)
	}
	if _, err := CanonicalArch(p.hostArch); err != nil {
		t.Logf("host machine %q is unknown to BuildStream", p.hostArch)
	}
}
