package main

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/gitgate/gitgate/access"
	"github.com/gitgate/gitgate/housekeeping"
	"github.com/gitgate/gitgate/repos"
	"github.com/gitgate/gitgate/server"
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
	create.Flags().StringVar(&visibility, "visibility", access.Private, "private, internal or public")
	create.Flags().StringVar(&branch, "default-branch", "main", "default branch")
	create.Flags().StringVar(&description, "description", "", "description")
	create.ValidArgsFunction = func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	c := parentCmd("repo", "Create, list, show, rename, change and delete repositories; prune their unreachable objects",
		"  gitgate repo create alice/hello --visibility private\n  gitgate repo list --namespace alice\n  gitgate repo delete alice/hello --yes",
		create, newRepoListCmd(a), newRepoShowCmd(a), newRepoRenameCmd(a), newRepoVisibilityCmd(a), newRepoDeleteCmd(a), newRepoPruneCmd(a))
	for _, sub := range c.Commands() {
		if sub.ValidArgsFunction == nil {
			sub.ValidArgsFunction = a.complete(0, projectPaths)
		}
	}
	return c
}

// newRepoPruneCmd deletes a repository's unreachable objects (of deleted
// and force-pushed branches) older than the grace now, rather than two
// weeks after the weekly repack moved them aside: the same job as the
// API's POST /projects/:id/housekeeping task=prune (docs/repositories.md).
func newRepoPruneCmd(a *app) *cobra.Command {
	var grace time.Duration
	c := &cobra.Command{
		Use:   "prune NAMESPACE/NAME [--grace 10m]",
		Short: "Delete a repository's unreachable objects (deleted or force-pushed branches) now",
		Example: `  gitgate repo prune alice/hello
  gitgate repo prune alice/hello --grace 1h`,
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if grace < 0 {
				return usagef("--grace must not be negative")
			}
			s, err := a.open(cmd.Context())
			if err != nil {
				return err
			}
			defer s.close()
			p, err := s.repos.Find(cmd.Context(), args[0])
			if err != nil {
				return fmt.Errorf("repository %s: %w", args[0], err)
			}
			if err := housekeeping.Run(cmd.Context(), server.HousekeepingLocker(s.db), "", s.repos.DiskPath(p.ID), housekeeping.TaskPrune, grace); err != nil {
				return fmt.Errorf("prune %s: %w", p.FullPath(), err)
			}
			fmt.Fprintf(a.stdout, "Pruned unreachable objects older than %s from %s\n", grace, p.FullPath())
			return nil
		},
	}
	c.Flags().DurationVar(&grace, "grace", housekeeping.DefaultPruneGrace,
		"keep unreachable objects younger than this (a push in flight needs a few seconds; 0 only when no push can run)")
	return c
}
