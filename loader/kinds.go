package loader

import (
	"sync"

	"github.com/bstgo/bst/element"
	"github.com/bstgo/bst/loader/node"
	"github.com/bstgo/bst/loader/variables"
)

// kindDefaults is what every element of one kind starts from: the kind's
// own defaults with the project's configuration and per-kind overrides
// composed in. It is computed once per kind and shared, read-only.
type kindDefaults struct {
	once sync.Once
	err  error

	kind        element.Kind
	variables   *variables.Table
	environment *node.Node
	envNoCache  []string
	// envNoCacheSet is envNoCache sorted and without duplicates, what an
	// element that adds none has.
	envNoCacheSet []string
	config        *node.Node
	public        *node.Node // only public.bst.split-rules is inherited
	splits        *node.Node
	sandbox       *node.Node

	// Expanded copies of the shared trees, keyed by the values of the
	// variables they reference, so elements that share those values share
	// the expanded tree too.
	expanded     sync.Map // expandKey -> *node.Node
	expandedBase sync.Map // baseExpansion -> *node.Node
	refs         sync.Map // shared tree -> the variables it refers to
	publics      sync.Map // expanded split rules -> public data holding them
	// environments lists the variables of shared expanded environments.
	environments sync.Map // *node.Node -> []element.Variable
	// sandboxConfigs are the configurations of shared sandbox trees.
	sandboxConfigs sync.Map // *node.Node -> element.SandboxConfig
}

// kindDefaultsFor returns the defaults of kind, computing them once.
func (p *Project) kindDefaultsFor(k element.Kind) (*kindDefaults, error) {
	p.kindsMu.Lock()
	kd := p.kinds[k.Name()]
	if kd == nil {
		kd = &kindDefaults{kind: k}
		p.kinds[k.Name()] = kd
	}
	p.kindsMu.Unlock()
	kd.once.Do(func() { kd.err = p.computeKindDefaults(kd) })
	return kd, kd.err
}

func (p *Project) computeKindDefaults(kd *kindDefaults) error {
	name := kd.kind.Name()
	defaults, err := node.Parse([]byte(kd.kind.Defaults()), &node.File{Name: "plugins/" + name + ".yaml"})
	if err != nil {
		return err
	}
	// The project's split rules, extended by the kind's.
	public := mappingOrEmpty(defaults, "public")
	bst := mappingOrEmpty(public, "bst")
	splits := p.SplitRules.Clone()
	if ks := bst.Get("split-rules"); ks != nil {
		if err := node.Composite(ks, splits); err != nil {
			return err
		}
	}
	bst.Set("split-rules", splits)
	public.Set("bst", bst)
	defaults.Set("public", public)

	if ov := p.ElementOverrides.Get(name); ov != nil {
		if !ov.IsMapping() {
			return node.Errorf(ov.Prov(), node.InvalidData, "value of 'elements.%s' is not of the expected type 'dict'", name)
		}
		if err := ov.ValidateKeys("variables", "environment", "environment-nocache", "config", "public", "sandbox"); err != nil {
			return err
		}
		if err := node.Composite(ov, defaults); err != nil {
			return err
		}
	}

	for _, key := range []string{"variables", "environment", "config", "public", "sandbox"} {
		if v := defaults.Get(key); v != nil && !v.IsMapping() {
			return node.Errorf(v.Prov(), node.InvalidData, "value of '%s' is not of the expected type 'dict'", key)
		}
	}
	vars := mappingOrEmpty(defaults, "variables")
	if err := variables.CheckProtected(vars); err != nil {
		return err
	}
	if kd.variables, err = p.Variables.Overlay(vars); err != nil {
		return err
	}
	kd.environment = p.Environment.Clone()
	if e := defaults.Get("environment"); e != nil {
		if err := node.Composite(e, kd.environment); err != nil {
			return err
		}
	}
	nc, err := defaults.GetStringList("environment-nocache")
	if err != nil {
		return err
	}
	kd.envNoCache = append(append([]string(nil), p.EnvNoCache...), nc...)
	kd.envNoCacheSet = dedupSorted(append([]string(nil), kd.envNoCache...))
	kd.config = mappingOrEmpty(defaults, "config")
	kd.public = mappingOrEmpty(defaults, "public")
	kd.splits = kd.public.Get("bst").Get("split-rules")
	kd.sandbox = p.Sandbox.Clone()
	if s := defaults.Get("sandbox"); s != nil {
		if err := node.Composite(s, kd.sandbox); err != nil {
			return err
		}
	}
	return nil
}
