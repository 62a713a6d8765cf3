package options

import (
	"strings"

	"github.com/bstgo/bst/loader/expr"
	"github.com/bstgo/bst/loader/node"
)

// The directives Process handles.
const (
	DirectiveConditional = "(?)"
	DirectiveAssertion   = "(!)"
)

// Process applies the assertions `(!)` and conditionals `(?)` of the
// mapping n, in place and recursively, over the resolved option values.
//
// In each mapping, an assertion fails at once (UserAssertion, with the
// user's message); it is looked at before the conditionals of the same
// mapping, so a conditional cannot hide it. A conditional is a list of
// one-key mappings, `expression: {fragment}`, taken in order: the fragment
// of every true expression is composed over the mapping holding the `(?)`.
// Composing may bring new conditionals (or assertions) to that mapping, so
// it is processed again until none is left; then Process descends into
// every mapping and list below it.
//
// restricted names keys that fragments of n's own conditionals must not
// hold (IllegalComposite); it does not apply further down. The loader uses
// it for the project.conf keys that cannot be conditional.
//
// Errors: a `(?)` that is not a list, or an item that is not a one-key
// mapping, is InvalidData; a fragment that is not a mapping is
// IllegalComposite; an expression that does not parse, or uses an undefined
// name, is ExpressionFailed at the item holding it.
//
// Process may be called concurrently on different trees.
func (p *Pool) Process(n *node.Node, restricted []string) error {
	p.mustBeResolved()
	return p.process(n, restricted)
}

func (p *Pool) process(n *node.Node, restricted []string) error {
	for {
		again, err := p.processOne(n, restricted)
		if err != nil {
			return err
		}
		if !again {
			break
		}
	}
	for _, v := range n.Items() {
		if err := p.processValue(v); err != nil {
			return err
		}
	}
	return nil
}

// processValue processes the mappings in v, which may be nested in lists.
func (p *Pool) processValue(v *node.Node) error {
	switch v.Kind() {
	case node.MappingKind:
		return p.process(v, nil)
	case node.SequenceKind:
		for _, it := range v.Items() {
			if err := p.processValue(it); err != nil {
				return err
			}
		}
	}
	return nil
}

// processOne checks n's assertion and applies its conditionals, reporting
// whether there were any.
func (p *Pool) processOne(n *node.Node, restricted []string) (bool, error) {
	conds, err := n.GetSequence(DirectiveConditional, true)
	if err != nil {
		return false, err
	}
	assertion, err := n.GetScalar(DirectiveAssertion, true)
	if err != nil {
		return false, err
	}
	if assertion != nil {
		return false, node.Errorf(assertion.Prov(), node.UserAssertion, "%s", strings.TrimSpace(assertion.Value()))
	}
	if conds == nil {
		return false, nil
	}
	n.Delete(DirectiveConditional)
	for _, c := range conds.Items() {
		if !c.IsMapping() {
			return false, node.Errorf(c.Prov(), node.InvalidData, "conditional statement is not of the expected type 'dict'")
		}
		switch c.Len() {
		case 0:
			return false, node.Errorf(c.Prov(), node.InvalidData, "conditional statement has no expression")
		case 1:
		default:
			return false, node.Errorf(c.Prov(), node.InvalidData, "conditional statement has more than one key")
		}
		src, fragment := c.Keys()[0], c.Items()[0]
		ok, err := p.evaluate(src)
		if err != nil {
			return false, &node.Error{Prov: c.Prov(), Reason: node.ExpressionFailed,
				Msg: "failed to evaluate expression (" + src + "): " + err.Error(), Err: err}
		}
		if !fragment.IsMapping() {
			return false, node.Errorf(c.Prov(), node.IllegalComposite, "only values of type 'dict' can be composed")
		}
		for _, key := range restricted {
			if v := fragment.Get(key); v != nil {
				return false, node.Errorf(v.Prov(), node.IllegalComposite, "the '%s' key cannot be specified conditionally", key)
			}
		}
		if ok {
			if err := node.Composite(fragment, n); err != nil {
				return false, err
			}
		}
	}
	return true, nil
}

// compiled is a cached parse of an expression.
type compiled struct {
	e   *expr.Expr
	err error
}

// evaluate evaluates an expression over the option values, parsing it only
// the first time it is seen.
func (p *Pool) evaluate(src string) (bool, error) {
	c, ok := p.exprs.Load(src)
	if !ok {
		e, err := expr.Parse(src)
		c, _ = p.exprs.LoadOrStore(src, &compiled{e, err})
	}
	cc := c.(*compiled)
	if cc.err != nil {
		return false, cc.err
	}
	return cc.e.Eval(p.values)
}
