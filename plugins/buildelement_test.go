package plugins

import (
	"testing"

	"github.com/bstgo/bst/element"
)

// AppendUniqueKey is a shortcut for the JSON of UniqueKey: both must write
// the same bytes for every configuration.
func TestBuildElementAppendUniqueKey(t *testing.T) {
	lists := [len(commandSteps)][]string{{"./configure"}, {"make", "make check"}, {"make \"DESTDIR=%{install-root}\" install"}, {}}
	configs := []*buildElementConfig{
		{},
		{commands: lists},
		{commands: lists, commandSubdir: "src"},
		{commands: lists, notParallel: true},
		{commands: lists, commandSubdir: "a b", notParallel: true},
		{commands: [len(commandSteps)][]string{nil, {"é\n\t\\"}, nil, {"strip"}}},
		{commands: lists, hasNonRoot: true, staged: []stagedDep{{"/sysroot", "base.bst"}, {"/", "tools.bst"}}},
		{commands: lists, digestEnv: map[string][]string{"DIGESTS": {"b.bst", "a.bst"}}},
	}
	for _, c := range configs {
		want := string(element.CanonicalJSON(c.UniqueKey()))
		if got := string(c.AppendUniqueKey([]byte("x"))); got != "x"+want {
			t.Errorf("%+v:\n append    %s\n UniqueKey %s", c, got[1:], want)
		}
	}
}
