package main

import (
	"bufio"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/bstgo/bst/loader"
)

func newInitCommand(a *app) *cobra.Command {
	var spec loader.InitSpec
	c := &cobra.Command{
		Use:   "init [DIRECTORY]",
		Short: "Create a new project",
		Long: `Create a new project: write project.conf in DIRECTORY (default: the current
directory) and create its element directory. Without --project-name, bst asks
for the settings on a terminal, and fails otherwise.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			if a.directory != "" {
				return &usageError{"bst init does not take -C/--directory: write bst init DIRECTORY"}
			}
			spec.Dir = "."
			if len(args) == 1 {
				spec.Dir = args[0]
			}
			if spec.Name == "" {
				if !a.interactive() {
					return &usageError{"cannot create a project without a name: give --project-name"}
				}
				if err := askInit(a, &spec); err != nil {
					return err
				}
			}
			conf, err := loader.InitProject(spec)
			if err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "Created project %s at %s\n", spec.Name, conf)
			return nil
		},
	}
	c.Flags().StringVar(&spec.Name, "project-name", "", "the project's name")
	c.Flags().StringVar(&spec.MinVersion, "min-version", fmt.Sprintf("%d.%d", loader.FormatMajor, loader.FormatMinor), "the minimum BuildStream format version")
	c.Flags().StringVar(&spec.ElementPath, "element-path", "elements", "the directory holding the elements")
	c.Flags().BoolVarP(&spec.Force, "force", "f", false, "overwrite an existing project.conf")
	return c
}

// askInit asks for the project's settings on the terminal, checking each
// answer before moving on.
func askInit(a *app, spec *loader.InitSpec) error {
	in := bufio.NewReader(a.stdin)
	ask := func(question, def string, check func(string) error) (string, error) {
		for {
			if def != "" {
				fmt.Fprintf(a.stdout, "%s [%s]: ", question, def)
			} else {
				fmt.Fprintf(a.stdout, "%s: ", question)
			}
			line, err := in.ReadString('\n')
			if err != nil && line == "" {
				return "", &usageError{"no answer given"}
			}
			answer := strings.TrimSpace(line)
			if answer == "" {
				answer = def
			}
			if err := check(answer); err != nil {
				fmt.Fprintf(a.stdout, "%v\n", err)
				continue
			}
			return answer, nil
		}
	}
	var err error
	if spec.Name, err = ask("Project name", "", func(s string) error {
		return loader.ValidateInit(loader.InitSpec{Name: s, MinVersion: "2.0", ElementPath: "elements"})
	}); err != nil {
		return err
	}
	if spec.MinVersion, err = ask("Minimum BuildStream version", spec.MinVersion, func(s string) error {
		return loader.ValidateInit(loader.InitSpec{Name: spec.Name, MinVersion: s, ElementPath: "elements"})
	}); err != nil {
		return err
	}
	spec.ElementPath, err = ask("Element path", spec.ElementPath, func(s string) error {
		return loader.ValidateInit(loader.InitSpec{Name: spec.Name, MinVersion: spec.MinVersion, ElementPath: s})
	})
	return err
}
