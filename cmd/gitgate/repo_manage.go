package main

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/gitgate/gitgate/access"
	"github.com/gitgate/gitgate/auth"
	"github.com/gitgate/gitgate/repos"
)

// openWithProject opens the database and finds the repository a command
// is about, by path, in the CLI's words.
func (a *app) openWithProject(ctx context.Context, path string) (*services, *repos.Project, error) {
	s, err := a.open(ctx)
	if err != nil {
		return nil, nil, err
	}
	p, err := s.repos.Find(ctx, path)
	if errors.Is(err, access.ErrNotFound) {
		err = fmt.Errorf("no repository %s", path)
	}
	if err != nil {
		s.close()
		return nil, nil, err
	}
	return s, p, nil
}

func newRepoListCmd(a *app) *cobra.Command {
	var (
		namespace string
		json      bool
	)
	c := &cobra.Command{
		Use:   "list [--namespace N] [--json]",
		Short: "List repositories, all or those directly in one user's or group's namespace",
		Example: `  gitgate repo list
  gitgate repo list --namespace platform --json`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			s, err := a.open(ctx)
			if err != nil {
				return err
			}
			defer s.close()
			f := repos.ProjectFilter{All: true}
			if namespace != "" {
				ns, err := s.repos.Namespace(ctx, namespace)
				if err != nil {
					return err
				}
				f.In = ns
			}
			projects, _, err := s.repos.List(ctx, f)
			if err != nil {
				return err
			}
			if json {
				out := make([]any, 0, len(projects))
				for i := range projects {
					j, err := a.projectJSON(ctx, s, &projects[i])
					if err != nil {
						return err
					}
					out = append(out, j)
				}
				return printJSON(a.stdout, out)
			}
			t := a.newTable("ID", "PATH", "VISIBILITY", "DEFAULT BRANCH", "CREATED", "LAST ACTIVITY")
			for i := range projects {
				p := &projects[i]
				t.row(strconv.FormatInt(p.ID, 10), p.FullPath(), p.Visibility, p.DefaultBranch,
					p.CreatedAt.UTC().Format(auth.DateLayout), timeOrNever(&p.LastActivityAt))
			}
			return t.print()
		},
	}
	c.Flags().StringVar(&namespace, "namespace", "", "only the repositories directly in this user's or group's namespace")
	a.flagCompletion(c, "namespace", namespacePaths)
	jsonFlag(c, &json)
	return c
}

func newRepoShowCmd(a *app) *cobra.Command {
	var json bool
	c := &cobra.Command{
		Use:     "show NAMESPACE/NAME [--json]",
		Short:   "Show a repository: visibility, default branch, clone URLs, members and where it is on disk",
		Example: "  gitgate repo show alice/hello\n  gitgate repo show platform/tools/deploy --json",
		Args:    exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			s, p, err := a.openWithProject(ctx, args[0])
			if err != nil {
				return err
			}
			defer s.close()
			j, err := a.projectJSON(ctx, s, p)
			if err != nil {
				return err
			}
			if json {
				return printJSON(a.stdout, j)
			}
			members, err := s.repos.MembersOf(ctx, repos.MemberTarget{Project: p})
			if err != nil {
				return err
			}
			desc := p.Description
			if desc == "" {
				desc = "-"
			}
			links := a.links()
			sshURL := "-"
			if u := links.SSHURL(p.FullPath()); u != "" {
				sshURL = u
			}
			return a.fields("ID", strconv.FormatInt(p.ID, 10), "Path", p.FullPath(), "Name", p.Name, "Description", desc,
				"Visibility", p.Visibility, "Default branch", p.DefaultBranch, "HTTP URL", repos.HTTPCloneURL(links.BaseURL, p.FullPath()),
				"SSH URL", sshURL, "Members", strconv.Itoa(len(members)), "Created", timeOrNever(&p.CreatedAt),
				"Last activity", timeOrNever(&p.LastActivityAt), "On disk", s.repos.DiskPath(p.ID))
		},
	}
	jsonFlag(c, &json)
	return c
}

func newRepoDeleteCmd(a *app) *cobra.Command {
	var yes bool
	c := &cobra.Command{
		Use:   "delete NAMESPACE/NAME [--yes]",
		Short: "Delete a repository: its project, members and the bare repository on disk",
		Example: `  gitgate repo delete alice/hello          # asks to type the path on a terminal
  gitgate repo delete alice/hello --yes`,
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			s, p, err := a.openWithProject(ctx, args[0])
			if err != nil {
				return err
			}
			defer s.close()
			if err := a.confirm(yes, "delete "+p.FullPath()+" and its repository on disk", p.FullPath()); err != nil {
				return err
			}
			if err := s.repos.DeleteProject(ctx, p.ID); err != nil {
				return fmt.Errorf("delete %s: %w", p.FullPath(), err)
			}
			fmt.Fprintf(a.stdout, "Deleted repository %s\n", p.FullPath())
			return nil
		},
	}
	c.Flags().BoolVar(&yes, "yes", false, "do not ask for confirmation (needed without a terminal)")
	return c
}

func newRepoRenameCmd(a *app) *cobra.Command {
	var name string
	c := &cobra.Command{
		Use:   "rename NAMESPACE/NAME NEW-PATH [--name DISPLAY-NAME]",
		Short: "Rename a repository within its namespace (its URL changes; the repository on disk stays)",
		Example: `  gitgate repo rename alice/hello hello-world
  gitgate repo rename platform/tools platform-tools --name 'Platform tools'`,
		Args: exactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			s, p, err := a.openWithProject(ctx, args[0])
			if err != nil {
				return err
			}
			defer s.close()
			ch := repos.ProjectChanges{Path: &args[1]}
			// The name follows the path unless it was set apart from it
			// or is given.
			if name != "" {
				ch.Name = &name
			} else if p.Name == p.Path {
				ch.Name = &args[1]
			}
			q, err := s.repos.UpdateProject(ctx, p.ID, ch)
			if err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "Renamed %s to %s\n", p.FullPath(), q.FullPath())
			return nil
		},
	}
	c.Flags().StringVar(&name, "name", "", "new display name (default: the new path, if the name was the path)")
	return c
}

func newRepoVisibilityCmd(a *app) *cobra.Command {
	c := &cobra.Command{
		Use:   "visibility NAMESPACE/NAME private|internal|public",
		Short: "Change who can see a repository (never more visible than its group)",
		Example: `  gitgate repo visibility alice/hello public
  gitgate repo visibility platform/tools private`,
		Args: exactArgs(2),
		ValidArgsFunction: func(cmd *cobra.Command, args []string, prefix string) ([]string, cobra.ShellCompDirective) {
			if len(args) == 1 {
				return []string{access.Private, access.Internal, access.Public}, cobra.ShellCompDirectiveNoFileComp
			}
			return a.complete(0, projectPaths)(cmd, args, prefix)
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			s, p, err := a.openWithProject(ctx, args[0])
			if err != nil {
				return err
			}
			defer s.close()
			q, err := s.repos.UpdateProject(ctx, p.ID, repos.ProjectChanges{Visibility: &args[1]})
			if err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "Repository %s is now %s\n", q.FullPath(), q.Visibility)
			return nil
		},
	}
	return c
}
