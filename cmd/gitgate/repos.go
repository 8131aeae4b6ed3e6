package main

import (
	"context"
	"fmt"
	"os"

	"github.com/gitgate/gitgate/auth"
	"github.com/gitgate/gitgate/housekeeping"
	"github.com/gitgate/gitgate/repos"
)

func cmdGroup(ctx context.Context, a *app, args []string) error {
	if len(args) == 0 || args[0] != "create" {
		return usagef("usage: gitgate group create PATH [--visibility private|internal|public] [--name NAME]")
	}
	fs := newFlagSet("group create", a)
	visibility := fs.String("visibility", repos.Private, "private, internal or public")
	name := fs.String("name", "", "display name (default: the last path component)")
	pos, err := parseExact(fs, args[1:], 1, "group create PATH [--visibility private|internal|public]")
	if err != nil {
		return err
	}
	s, err := a.open(ctx)
	if err != nil {
		return err
	}
	defer s.close()
	ns, err := s.repos.CreateGroup(ctx, pos[0], *name, *visibility, 0)
	if err != nil {
		return err
	}
	fmt.Fprintf(a.stdout, "Created group %s (id %d)\n", ns.FullPath, ns.ID)
	return nil
}

func cmdRepo(ctx context.Context, a *app, args []string) error {
	if len(args) > 0 && args[0] == "prune" {
		return cmdRepoPrune(ctx, a, args[1:])
	}
	if len(args) == 0 || args[0] != "create" {
		return usagef("usage: gitgate repo create NAMESPACE/NAME [--visibility private|internal|public] | repo prune NAMESPACE/NAME [--grace 10m]")
	}
	fs := newFlagSet("repo create", a)
	visibility := fs.String("visibility", repos.Private, "private, internal or public")
	branch := fs.String("default-branch", "main", "default branch")
	description := fs.String("description", "", "description")
	pos, err := parseExact(fs, args[1:], 1, "repo create NAMESPACE/NAME [--visibility private|internal|public] [--default-branch B]")
	if err != nil {
		return err
	}
	ns, name, err := repos.SplitPath(pos[0])
	if err != nil {
		return err
	}
	s, err := a.open(ctx)
	if err != nil {
		return err
	}
	defer s.close()
	p, err := s.repos.CreateProject(ctx, repos.NewProject{NamespacePath: ns, Path: name, Visibility: *visibility,
		DefaultBranch: *branch, Description: *description})
	if err != nil {
		return err
	}
	fmt.Fprintf(a.stdout, "Created repository %s (id %d, %s)\n", p.FullPath(), p.ID, p.Visibility)
	return nil
}

// cmdRepoPrune deletes a repository's unreachable objects (of deleted
// and force-pushed branches) older than the grace now, rather than two
// weeks after the weekly repack moved them aside: the same job as the
// API's POST /projects/:id/housekeeping task=prune.
func cmdRepoPrune(ctx context.Context, a *app, args []string) error {
	const usage = "repo prune NAMESPACE/NAME [--grace 10m]"
	fs := newFlagSet("repo prune", a)
	grace := fs.Duration("grace", housekeeping.DefaultPruneGrace,
		"keep unreachable objects younger than this (a push in flight needs a few seconds; 0 only when no push can run)")
	pos, err := parseExact(fs, args, 1, usage)
	if err != nil {
		return err
	}
	if *grace < 0 {
		return usagef("--grace must not be negative")
	}
	s, err := a.open(ctx)
	if err != nil {
		return err
	}
	defer s.close()
	p, err := s.repos.Find(ctx, pos[0])
	if err != nil {
		return fmt.Errorf("repository %s: %w", pos[0], err)
	}
	if err := housekeeping.Run(ctx, "", s.repos.DiskPath(p.ID), housekeeping.TaskPrune, *grace); err != nil {
		return fmt.Errorf("prune %s: %w", p.FullPath(), err)
	}
	fmt.Fprintf(a.stdout, "Pruned unreachable objects older than %s from %s\n", *grace, p.FullPath())
	return nil
}

func cmdMember(ctx context.Context, a *app, args []string) error {
	const usage = "member add (NAMESPACE/NAME | GROUP) USER --access guest|reporter|developer|maintainer|owner"
	if len(args) == 0 || args[0] != "add" {
		return usagef("usage: gitgate %s", usage)
	}
	fs := newFlagSet("member add", a)
	access := fs.String("access", "", "access level")
	pos, err := parseExact(fs, args[1:], 2, usage)
	if err != nil {
		return err
	}
	if *access == "" {
		return usagef("usage: gitgate %s", usage)
	}
	level, err := repos.ParseAccessLevel(*access)
	if err != nil {
		return err
	}
	s, u, err := a.openWithUser(ctx, pos[1])
	if err != nil {
		return err
	}
	defer s.close()
	target, err := s.repos.ResolveTarget(ctx, pos[0])
	if err != nil {
		return err
	}
	if err := s.repos.AddMember(ctx, target, u.ID, level); err != nil {
		return err
	}
	fmt.Fprintf(a.stdout, "%s is now %s of %s\n", u.Username, level, pos[0])
	return nil
}

func cmdKey(ctx context.Context, a *app, args []string) error {
	const usage = `key add --user U --title T (--key "ssh-ed25519 …" | --file F) [--expires-at YYYY-MM-DD]`
	if len(args) == 0 || args[0] != "add" {
		return usagef("usage: gitgate %s", usage)
	}
	fs := newFlagSet("key add", a)
	user := fs.String("user", "", "owner's username")
	title := fs.String("title", "", "title (default: the key's comment)")
	key := fs.String("key", "", "the public key line")
	file := fs.String("file", "", "file holding the public key")
	expires := fs.String("expires-at", "", "expiry date YYYY-MM-DD")
	asJSON := fs.Bool("json", false, "print JSON")
	if _, err := parseExact(fs, args[1:], 0, usage); err != nil {
		return err
	}
	if *user == "" || (*key == "") == (*file == "") {
		return usagef("usage: gitgate %s", usage)
	}
	text := *key
	if *file != "" {
		b, err := os.ReadFile(*file)
		if err != nil {
			return fmt.Errorf("read key file: %w", err)
		}
		text = string(b)
	}
	exp, err := parseOptionalDate(*expires)
	if err != nil {
		return err
	}
	s, u, err := a.openWithUser(ctx, *user)
	if err != nil {
		return err
	}
	defer s.close()
	k, err := s.auth.AddKey(ctx, auth.NewKey{UserID: u.ID, Title: *title, Key: text, ExpiresAt: exp})
	if err != nil {
		return err
	}
	if *asJSON {
		return printJSON(a.stdout, keyJSON(k))
	}
	fmt.Fprintf(a.stdout, "Added key %s (id %d) for %s\n", k.Fingerprint, k.ID, u.Username)
	return nil
}
