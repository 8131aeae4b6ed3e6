package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/gitgate/gitgate/access"
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
	return parentCmd("group", "Create groups and change their visibility", "  gitgate group create platform --visibility internal", create, update)
}
