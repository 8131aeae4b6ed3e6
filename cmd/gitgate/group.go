package main

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/gitgate/gitgate/access"
	"github.com/gitgate/gitgate/api"
	"github.com/gitgate/gitgate/auth"
	"github.com/gitgate/gitgate/repos"
)

func newGroupCmd(a *app) *cobra.Command {
	var visibility, name string
	create := &cobra.Command{
		Use:   "create PATH [--visibility private|internal|public] [--name NAME]",
		Short: "Create a group (a namespace for repositories and members); subgroups need their parent",
		Example: `  gitgate group create platform
  gitgate group create platform/tools --visibility internal --name 'Platform tools'`,
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := a.open(cmd.Context())
			if err != nil {
				return err
			}
			defer s.close()
			ns, err := s.repos.CreateGroup(cmd.Context(), args[0], name, visibility, 0)
			if err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "Created group %s (id %d)\n", ns.FullPath, ns.ID)
			return nil
		},
	}
	create.Flags().StringVar(&visibility, "visibility", access.Private, "private, internal or public")
	create.Flags().StringVar(&name, "name", "", "display name (default: the last path component)")
	var newVisibility string
	update := &cobra.Command{
		Use:     "update PATH --visibility private|internal|public",
		Short:   "Change a group's visibility, within the limits of the groups above it and of what it holds",
		Example: `  gitgate group update platform --visibility private`,
		Args:    exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if newVisibility == "" {
				return usage(cmd)
			}
			s, err := a.open(cmd.Context())
			if err != nil {
				return err
			}
			defer s.close()
			ns, err := s.repos.SetGroupVisibility(cmd.Context(), args[0], newVisibility)
			if err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "Group %s is now %s\n", ns.FullPath, ns.Visibility)
			return nil
		},
	}
	update.Flags().StringVar(&newVisibility, "visibility", "", "private, internal or public")
	update.ValidArgsFunction = a.complete(0, groupPaths)
	return parentCmd("group", "Create, list, change and delete groups",
		"  gitgate group create platform --visibility internal\n  gitgate group list\n  gitgate group delete platform",
		create, newGroupListCmd(a), update, newGroupDeleteCmd(a))
}

func newGroupListCmd(a *app) *cobra.Command {
	var json bool
	c := &cobra.Command{
		Use:     "list [--json]",
		Short:   "List every group with its visibility, projects and members",
		Example: "  gitgate group list\n  gitgate group list --json",
		Args:    exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			s, err := a.open(ctx)
			if err != nil {
				return err
			}
			defer s.close()
			groups, err := s.repos.Groups(ctx)
			if err != nil {
				return err
			}
			if json {
				out := make([]any, 0, len(groups))
				for i := range groups {
					name, err := s.repos.GroupFullName(ctx, &groups[i])
					if err != nil {
						return err
					}
					out = append(out, api.GroupJSON(&groups[i], name, a.links()))
				}
				return printJSON(a.stdout, out)
			}
			t := a.newTable("ID", "PATH", "NAME", "VISIBILITY", "PROJECTS", "MEMBERS", "CREATED")
			for i := range groups {
				g := &groups[i]
				projects, _, err := s.repos.List(ctx, repos.ProjectFilter{All: true, In: g})
				if err != nil {
					return err
				}
				members, err := s.repos.MembersOf(ctx, repos.MemberTarget{Group: g})
				if err != nil {
					return err
				}
				t.row(strconv.FormatInt(g.ID, 10), g.FullPath, g.Name, g.Visibility, strconv.Itoa(len(projects)), strconv.Itoa(len(members)),
					g.CreatedAt.UTC().Format(auth.DateLayout))
			}
			return t.print()
		},
	}
	jsonFlag(c, &json)
	return c
}

func newGroupDeleteCmd(a *app) *cobra.Command {
	var withProjects, yes bool
	c := &cobra.Command{
		Use:   "delete PATH [--with-projects] [--yes]",
		Short: "Delete a group (refused while it holds projects or subgroups, unless --with-projects)",
		Example: `  gitgate group delete old-team
  gitgate group delete platform --with-projects --yes`,
		Args:              exactArgs(1),
		ValidArgsFunction: a.complete(0, groupPaths),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			s, err := a.open(ctx)
			if err != nil {
				return err
			}
			defer s.close()
			if _, err := s.repos.Namespace(ctx, args[0]); err != nil {
				return err
			}
			if withProjects {
				if err := a.confirm(yes, "delete group "+args[0]+" with every project and repository in it", args[0]); err != nil {
					return err
				}
			}
			gone, err := s.repos.DeleteGroup(ctx, args[0], withProjects)
			if err != nil {
				return hintFlag(err)
			}
			fmt.Fprintf(a.stdout, "Deleted group %s", args[0])
			if len(gone) > 0 {
				fmt.Fprintf(a.stdout, " and the repositories %s", strings.Join(gone, ", "))
			}
			fmt.Fprintln(a.stdout)
			return nil
		},
	}
	c.Flags().BoolVar(&withProjects, "with-projects", false, "also delete the group's subgroups and projects, repositories included")
	c.Flags().BoolVar(&yes, "yes", false, "do not ask for confirmation (needed without a terminal with --with-projects)")
	return c
}
