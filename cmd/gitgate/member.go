package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/gitgate/gitgate/access"
)

func newMemberCmd(a *app) *cobra.Command {
	var accessFlag string
	add := &cobra.Command{
		Use:   "add (NAMESPACE/NAME | GROUP) USER --access guest|reporter|developer|maintainer|owner",
		Short: "Give a user an access level in a repository or a group",
		Example: `  gitgate member add alice/hello bob --access developer
  gitgate member add platform carol --access maintainer`,
		Args: exactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			if accessFlag == "" {
				return usage(cmd)
			}
			level, err := access.ParseAccessLevel(accessFlag)
			if err != nil {
				return err
			}
			s, u, err := a.openWithUser(cmd.Context(), args[1])
			if err != nil {
				return err
			}
			defer s.close()
			target, err := s.repos.ResolveTarget(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			if err := s.repos.AddMember(cmd.Context(), target, u.ID, level); err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "%s is now %s of %s\n", u.Username, level, args[0])
			return nil
		},
	}
	add.Flags().StringVar(&accessFlag, "access", "", "access level: guest, reporter, developer, maintainer or owner")
	return parentCmd("member", "Add members to repositories and groups", "  gitgate member add alice/hello bob --access developer", add)
}
