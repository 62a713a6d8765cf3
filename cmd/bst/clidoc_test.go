package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// writeCLIReference renders the whole command tree as Markdown.
func writeCLIReference(root *cobra.Command) string {
	var b bytes.Buffer
	b.WriteString("# Command line reference\n\n")
	b.WriteString("<!-- Generated from the commands by TestDocsUpToDate; run\n")
	b.WriteString("     BST_UPDATE_DOCS=1 go test ./cmd/bst -run TestDocsUpToDate to refresh. -->\n\n")
	b.WriteString("Global options go before the command: `bst [GLOBAL OPTIONS] COMMAND [ARGS]`.\n")
	b.WriteString("Every failure exits with status 255, as BuildStream does; command line usage\n")
	b.WriteString("errors exit with status 2.\n\n")
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		if c.Hidden || (!c.IsAvailableCommand() && c != root) {
			return
		}
		fmt.Fprintf(&b, "## %s\n\n", c.CommandPath())
		long := c.Long
		if long == "" {
			long = c.Short
		}
		fmt.Fprintf(&b, "```\n%s\n```\n\n", c.UseLine())
		fmt.Fprintf(&b, "%s\n\n", strings.TrimSpace(long))
		flags := c.LocalNonPersistentFlags()
		if c == root {
			flags = c.PersistentFlags()
		}
		if flags.HasAvailableFlags() {
			b.WriteString("| Option | Meaning |\n|---|---|\n")
			flags.VisitAll(func(f *pflag.Flag) {
				if f.Hidden || f.Name == "help" {
					return
				}
				name := "`--" + f.Name + "`"
				if f.Shorthand != "" {
					name = "`-" + f.Shorthand + "`, " + name
				}
				usage := f.Usage
				if f.DefValue != "" && f.DefValue != "false" && f.DefValue != "[]" {
					usage += fmt.Sprintf(" (default `%s`)", f.DefValue)
				}
				fmt.Fprintf(&b, "| %s | %s |\n", name, strings.ReplaceAll(usage, "|", `\|`))
			})
			b.WriteString("\n")
		}
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(root)
	return b.String()
}

func TestDocsUpToDate(t *testing.T) {
	root := newRootCommand(newApp(nil, nil, nil))
	root.InitDefaultHelpCmd()
	root.InitDefaultCompletionCmd()
	got := writeCLIReference(root)
	path := filepath.Join("..", "..", "docs", "cli.md")
	if os.Getenv("BST_UPDATE_DOCS") != "" {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if string(want) != got {
		t.Errorf("docs/cli.md is out of date: run BST_UPDATE_DOCS=1 go test ./cmd/bst -run TestDocsUpToDate")
	}
}
