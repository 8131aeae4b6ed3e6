package main

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/gitgate/gitgate/auth"
	"github.com/gitgate/gitgate/repos"
)

// Dynamic shell completion (docs/cli.md#shell-completion): usernames,
// repository paths and group paths come from the configured database.
// Completing must never create anything, so it looks only where a
// database already exists, says nothing on stderr, and offers nothing
// (rather than an error) when the database cannot be read.

// completionLimit bounds what one TAB reads.
const completionLimit = 1000

// openForCompletion opens an existing database quietly, or returns nil.
func (a *app) openForCompletion(ctx context.Context) *services {
	cfg := a.cfg.Defaults()
	if cfg.Validate() != nil {
		return nil
	}
	if cfg.DatabaseURL == "" {
		if _, err := os.Stat(filepath.Join(cfg.DataDir, "gitgate.db")); err != nil {
			return nil
		}
	}
	quiet := *a
	quiet.stderr = io.Discard
	s, err := quiet.open(ctx)
	if err != nil {
		return nil
	}
	return s
}

type completer func(ctx context.Context, s *services, prefix string) []string

// complete turns a completer into cobra's function for the positional
// argument at position pos (the others get no completion).
func (a *app) complete(pos int, fn completer) cobra.CompletionFunc {
	return func(cmd *cobra.Command, args []string, prefix string) ([]string, cobra.ShellCompDirective) {
		if len(args) != pos {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		return a.completeWith(cmd, fn, prefix)
	}
}

func (a *app) completeWith(cmd *cobra.Command, fn completer, prefix string) ([]string, cobra.ShellCompDirective) {
	ctx := cmd.Context()
	if ctx == nil {
		ctx = context.Background()
	}
	s := a.openForCompletion(ctx)
	if s == nil {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	defer s.close()
	return fn(ctx, s, prefix), cobra.ShellCompDirectiveNoFileComp
}

// flagCompletion registers fn for a flag of c.
func (a *app) flagCompletion(c *cobra.Command, flag string, fn completer) {
	_ = c.RegisterFlagCompletionFunc(flag, func(cmd *cobra.Command, _ []string, prefix string) ([]string, cobra.ShellCompDirective) {
		return a.completeWith(cmd, fn, prefix)
	})
}

func usernames(ctx context.Context, s *services, prefix string) []string {
	users, _, err := s.auth.ListUsers(ctx, auth.UserFilter{Search: prefix, SearchWithoutEmail: true, Limit: completionLimit})
	if err != nil {
		return nil
	}
	var out []string
	for _, u := range users {
		if strings.HasPrefix(strings.ToLower(u.Username), strings.ToLower(prefix)) {
			out = append(out, u.Username)
		}
	}
	return out
}

func projectPaths(ctx context.Context, s *services, prefix string) []string {
	projects, _, err := s.repos.List(ctx, repos.ProjectFilter{All: true, Limit: completionLimit})
	if err != nil {
		return nil
	}
	var out []string
	for i := range projects {
		if p := projects[i].FullPath(); strings.HasPrefix(strings.ToLower(p), strings.ToLower(prefix)) {
			out = append(out, p)
		}
	}
	return out
}

func groupPaths(ctx context.Context, s *services, prefix string) []string {
	groups, err := s.repos.Groups(ctx)
	if err != nil {
		return nil
	}
	var out []string
	for _, g := range groups {
		if strings.HasPrefix(strings.ToLower(g.FullPath), strings.ToLower(prefix)) {
			out = append(out, g.FullPath)
		}
	}
	return out
}

// namespacePaths are the users' and groups' namespaces.
func namespacePaths(ctx context.Context, s *services, prefix string) []string {
	return append(usernames(ctx, s, prefix), groupPaths(ctx, s, prefix)...)
}

// memberTargets are repositories and groups.
func memberTargets(ctx context.Context, s *services, prefix string) []string {
	return append(projectPaths(ctx, s, prefix), groupPaths(ctx, s, prefix)...)
}
