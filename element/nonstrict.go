package element

// StrongFromDependencies returns the strong key e gets when it is built
// in non-strict mode: the strict key's recipe over the strong keys of
// its build scope (which must all be known), as BuildStream computes it
// once an element is scheduled to build. deps is e's build scope.
//
// It reuses ComputeKeys on e alone, with each dependency's strict key
// standing in for its strong key during the call; nothing else may use
// the keys of e or deps meanwhile.
func StrongFromDependencies(kc KeyContext, e *Element, deps []*Element) string {
	saved := make([]string, len(deps))
	for i, d := range deps {
		saved[i] = d.Keys.Strict
		d.Keys.Strict = d.Keys.Strong
	}
	keys := e.Keys
	kc.Strict, kc.Debug = true, nil
	ComputeKeys(kc, []*Element{e})
	strong := e.Keys.Strict
	e.Keys = keys
	for i, d := range deps {
		d.Keys.Strict = saved[i]
	}
	return strong
}
