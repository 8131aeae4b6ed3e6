package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/gitgate/gitgate/repos"
)

func newRepoCmd(a *app) *cobra.Command {
	var visibility, branch, description string
	create := &cobra.Command{
		Use:   "create NAMESPACE/NAME [--visibility private|internal|public] [--default-branch B]",
		Short: "Create a repository in a user's or a group's namespace",
		Example: `  gitgate repo create alice/hello
  gitgate repo create platform/tools/deploy --visibility internal --default-branch trunk --description 'Deploy scripts'`,
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ns, name, err := repos.SplitPath(args[0])
			if err != nil {
				return err
			}
			s, err := a.open(cmd.Context())
			if err != nil {
				return err
			}
			defer s.close()
			p, err := s.repos.CreateProject(cmd.Context(), repos.NewProject{NamespacePath: ns, Path: name, Visibility: visibility,
				DefaultBranch: branch, Description: description})
			if err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "Created repository %s (id %d, %s)\n", p.FullPath(), p.ID, p.Visibility)
			return nil
		},
	}
	create.Flags().StringVar(&visibility, "visibility", repos.Private, "private, internal or public")
	create.Flags().StringVar(&branch, "default-branch", "main", "default branch")
	create.Flags().StringVar(&description, "description", "", "description")
	return parentCmd("repo", "Create repositories", "  gitgate repo create alice/hello --visibility private", create)
}
