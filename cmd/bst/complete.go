package main

import (
	"strings"

	"github.com/spf13/cobra"
)

// completeElements completes element names for shell completion. Loading
// errors just mean no suggestions.
func (a *app) completeElements(c *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
	p, err := a.loadProject(c.Context())
	if err != nil {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	names, err := p.ElementNames()
	if err != nil {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	var out []string
	for _, n := range names {
		if strings.HasPrefix(n, toComplete) {
			out = append(out, n)
		}
	}
	return out, cobra.ShellCompDirectiveNoFileComp
}
