package main

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/gitgate/gitgate/access"
	"github.com/gitgate/gitgate/auth"
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
	_ = add.RegisterFlagCompletionFunc("access", cobra.FixedCompletions([]string{"guest", "reporter", "developer", "maintainer", "owner"}, cobra.ShellCompDirectiveNoFileComp))
	c := parentCmd("member", "List, add and remove the members of repositories and groups",
		"  gitgate member list alice/hello\n  gitgate member add alice/hello bob --access developer\n  gitgate member remove alice/hello bob",
		newMemberListCmd(a), add, newMemberRemoveCmd(a))
	for _, sub := range c.Commands() {
		sub.ValidArgsFunction = func(cmd *cobra.Command, args []string, prefix string) ([]string, cobra.ShellCompDirective) {
			if len(args) == 1 {
				return a.completeWith(cmd, usernames, prefix)
			}
			return a.complete(0, memberTargets)(cmd, args, prefix)
		}
	}
	return c
}

func newMemberListCmd(a *app) *cobra.Command {
	var json bool
	c := &cobra.Command{
		Use:   "list (NAMESPACE/NAME | GROUP) [--json]",
		Short: "List the members of a repository (its owner first) or of a group, with their access levels",
		Example: `  gitgate member list alice/hello
  gitgate member list platform --json`,
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			s, err := a.open(ctx)
			if err != nil {
				return err
			}
			defer s.close()
			target, err := s.repos.ResolveTarget(ctx, args[0])
			if err != nil {
				return err
			}
			members, err := s.repos.MembersOf(ctx, target)
			if err != nil {
				return err
			}
			var out []any
			t := a.newTable("USER", "NAME", "ACCESS", "SINCE")
			for _, m := range members {
				u, err := s.userByID(ctx, m.UserID)
				if err != nil {
					return err
				}
				out = append(out, a.memberJSON(u, m.AccessLevel, m.CreatedAt))
				t.row(u.Username, u.Name, fmt.Sprintf("%s (%d)", m.AccessLevel, int(m.AccessLevel)), m.CreatedAt.UTC().Format(auth.DateLayout))
			}
			if json {
				if out == nil {
					out = []any{}
				}
				return printJSON(a.stdout, out)
			}
			return t.print()
		},
	}
	jsonFlag(c, &json)
	return c
}

func newMemberRemoveCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "remove (NAMESPACE/NAME | GROUP) USER",
		Short: "Remove a user's direct membership of a repository or a group (a group keeps at least one owner)",
		Example: `  gitgate member remove alice/hello bob
  gitgate member remove platform carol`,
		Args: exactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			s, u, err := a.openWithUser(ctx, args[1])
			if err != nil {
				return err
			}
			defer s.close()
			target, err := s.repos.ResolveTarget(ctx, args[0])
			if err != nil {
				return err
			}
			if err := s.repos.RemoveMember(ctx, target, u.ID); err != nil {
				if errors.Is(err, access.ErrNotFound) {
					return fmt.Errorf("%s is not a direct member of %s", u.Username, args[0])
				}
				return err
			}
			fmt.Fprintf(a.stdout, "%s is no longer a member of %s\n", u.Username, args[0])
			return nil
		},
	}
}
