package main

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/gitgate/gitgate/access"
	"github.com/gitgate/gitgate/api"
	"github.com/gitgate/gitgate/repos"
)

// The protect commands manage a repository's protected branches, the
// rules of docs/permissions.md#protected-branches, as the API's
// /projects/:id/protected_branches does.

const pushLevelHelp = "no-one, developer, maintainer or admin (or 0, 30, 40, 60)"

var pushLevelWords = []string{"no-one", "developer", "maintainer", "admin"}

func newProtectCmd(a *app) *cobra.Command {
	c := parentCmd("protect", "List, add, change and remove a repository's protected branches (names or patterns such as release/*)",
		"  gitgate protect list alice/hello\n  gitgate protect add alice/hello 'release/*' --push-access-level developer\n  gitgate protect remove alice/hello 'release/*'",
		newProtectListCmd(a), newProtectAddCmd(a), newProtectUpdateCmd(a), newProtectRemoveCmd(a))
	for _, sub := range c.Commands() {
		sub.ValidArgsFunction = a.complete(0, projectPaths)
	}
	return c
}

// describeRule is a rule in one line of the CLI's words.
func describeRule(b *repos.ProtectedBranch) string {
	force := "refused"
	if b.AllowForcePush {
		force = "allowed"
	}
	return fmt.Sprintf("push: %s, merge: %s, force push %s", access.PushLevelDescription(b.PushAccessLevel),
		access.PushLevelDescription(b.MergeAccessLevel), force)
}

func newProtectListCmd(a *app) *cobra.Command {
	var json bool
	c := &cobra.Command{
		Use:   "list NAMESPACE/NAME [--json]",
		Short: "List a repository's protected branches with who may push and merge, and whether force pushes are allowed",
		Example: `  gitgate protect list alice/hello
  gitgate protect list platform/tools --json`,
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			s, p, err := a.openWithProject(ctx, args[0])
			if err != nil {
				return err
			}
			defer s.close()
			rules, err := s.repos.ListProtectedBranches(ctx, p.ID)
			if err != nil {
				return err
			}
			out := make([]any, 0, len(rules))
			t := a.newTable("NAME", "PUSH", "MERGE", "FORCE PUSH")
			for i := range rules {
				b := &rules[i]
				out = append(out, api.ProtectedBranchJSON(b))
				force := "no"
				if b.AllowForcePush {
					force = "yes"
				}
				t.row(b.Name, fmt.Sprintf("%s (%d)", access.PushLevelDescription(b.PushAccessLevel), int(b.PushAccessLevel)),
					fmt.Sprintf("%s (%d)", access.PushLevelDescription(b.MergeAccessLevel), int(b.MergeAccessLevel)), force)
			}
			if json {
				return printJSON(a.stdout, out)
			}
			return t.print()
		},
	}
	jsonFlag(c, &json)
	return c
}

// levelFlags are the --push-access-level and --merge-access-level flags.
type levelFlags struct{ push, merge string }

func (f *levelFlags) register(c *cobra.Command) {
	c.Flags().StringVar(&f.push, "push-access-level", "", "who may push: "+pushLevelHelp)
	c.Flags().StringVar(&f.merge, "merge-access-level", "", "who may merge (kept for GitLab's clients): "+pushLevelHelp)
	for _, name := range []string{"push-access-level", "merge-access-level"} {
		_ = c.RegisterFlagCompletionFunc(name, cobra.FixedCompletions(pushLevelWords, cobra.ShellCompDirectiveNoFileComp))
	}
}

// parse reads the flags that were given (nil for the others).
func (f *levelFlags) parse(c *cobra.Command) (push, merge *access.AccessLevel, err error) {
	read := func(flag, v string) (*access.AccessLevel, error) {
		if !c.Flags().Changed(flag) {
			return nil, nil
		}
		l, err := access.ParsePushLevel(v)
		if err != nil {
			return nil, fmt.Errorf("--%s: %w", flag, err)
		}
		return &l, nil
	}
	if push, err = read("push-access-level", f.push); err != nil {
		return nil, nil, err
	}
	if merge, err = read("merge-access-level", f.merge); err != nil {
		return nil, nil, err
	}
	return push, merge, nil
}

func newProtectAddCmd(a *app) *cobra.Command {
	var (
		levels levelFlags
		force  bool
		json   bool
	)
	c := &cobra.Command{
		Use:   "add NAMESPACE/NAME BRANCH [--push-access-level LEVEL] [--merge-access-level LEVEL] [--allow-force-push]",
		Short: "Protect a branch, or every branch a pattern with * matches (maintainers push by default; nobody force-pushes)",
		Example: `  gitgate protect add alice/hello main
  gitgate protect add alice/hello 'release/*' --push-access-level developer
  gitgate protect add alice/hello '*-stable' --push-access-level no-one
  gitgate protect add alice/hello sandbox --allow-force-push`,
		Args: exactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			push, merge, err := levels.parse(cmd)
			if err != nil {
				return err
			}
			s, p, err := a.openWithProject(ctx, args[0])
			if err != nil {
				return err
			}
			defer s.close()
			b := repos.ProtectedBranch{ProjectID: p.ID, Name: args[1], PushAccessLevel: access.Maintainer, MergeAccessLevel: access.Maintainer, AllowForcePush: force}
			if push != nil {
				b.PushAccessLevel = *push
			}
			if merge != nil {
				b.MergeAccessLevel = *merge
			}
			created, err := s.repos.ProtectBranch(ctx, b)
			if err != nil {
				return err
			}
			if json {
				return printJSON(a.stdout, api.ProtectedBranchJSON(created))
			}
			fmt.Fprintf(a.stdout, "Protected %s in %s (%s)\n", created.Name, p.FullPath(), describeRule(created))
			return nil
		},
	}
	levels.register(c)
	c.Flags().BoolVar(&force, "allow-force-push", false, "let those who may push also force-push")
	jsonFlag(c, &json)
	return c
}

func newProtectUpdateCmd(a *app) *cobra.Command {
	var (
		levels levelFlags
		force  bool
		json   bool
	)
	c := &cobra.Command{
		Use:   "update NAMESPACE/NAME BRANCH [--push-access-level LEVEL] [--merge-access-level LEVEL] [--allow-force-push=true|false]",
		Short: "Change who may push to a protected branch (or pattern) and whether force pushes are allowed",
		Example: `  gitgate protect update alice/hello main --push-access-level developer
  gitgate protect update alice/hello 'release/*' --allow-force-push=false`,
		Args: exactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			var ch repos.BranchProtectionChanges
			var err error
			if ch.PushAccessLevel, ch.MergeAccessLevel, err = levels.parse(cmd); err != nil {
				return err
			}
			if cmd.Flags().Changed("allow-force-push") {
				ch.AllowForcePush = &force
			}
			if ch.PushAccessLevel == nil && ch.MergeAccessLevel == nil && ch.AllowForcePush == nil {
				return usagef("nothing to change: give --push-access-level, --merge-access-level or --allow-force-push")
			}
			s, p, err := a.openWithProject(ctx, args[0])
			if err != nil {
				return err
			}
			defer s.close()
			b, err := s.repos.UpdateProtectedBranch(ctx, p.ID, args[1], ch)
			if errors.Is(err, repos.ErrProtectedBranchNotFound) {
				return fmt.Errorf("%s has no protected branch %s (give the rule's exact name, e.g. 'release/*')", p.FullPath(), args[1])
			}
			if err != nil {
				return err
			}
			if json {
				return printJSON(a.stdout, api.ProtectedBranchJSON(b))
			}
			fmt.Fprintf(a.stdout, "Updated %s in %s (%s)\n", b.Name, p.FullPath(), describeRule(b))
			return nil
		},
	}
	levels.register(c)
	c.Flags().BoolVar(&force, "allow-force-push", false, "let those who may push also force-push (=false to refuse)")
	jsonFlag(c, &json)
	return c
}

func newProtectRemoveCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:     "remove NAMESPACE/NAME BRANCH",
		Short:   "Unprotect a branch or pattern: its rule is removed, the branches themselves stay",
		Example: `  gitgate protect remove alice/hello 'release/*'`,
		Args:    exactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			s, p, err := a.openWithProject(ctx, args[0])
			if err != nil {
				return err
			}
			defer s.close()
			err = s.repos.UnprotectBranch(ctx, p.ID, args[1])
			if errors.Is(err, repos.ErrProtectedBranchNotFound) {
				return fmt.Errorf("%s has no protected branch %s (give the rule's exact name, e.g. 'release/*')", p.FullPath(), args[1])
			}
			if err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "Unprotected %s in %s\n", args[1], p.FullPath())
			return nil
		},
	}
}
