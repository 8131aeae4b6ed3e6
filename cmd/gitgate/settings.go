package main

import (
	"context"
	"fmt"
	"strings"

	"github.com/gitgate/gitgate/auth"
)

func cmdSettings(ctx context.Context, a *app, args []string) error {
	const usage = "settings get [KEY] | set KEY=VALUE …"
	if len(args) == 0 {
		return usagef("usage: gitgate %s", usage)
	}
	fs := newFlagSet("settings", a)
	asJSON := fs.Bool("json", false, "print JSON")
	pos, err := parseArgs(fs, args[1:])
	if err != nil {
		return err
	}
	switch args[0] {
	case "get":
		if len(pos) > 1 {
			return usagef("usage: gitgate %s", usage)
		}
		if len(pos) == 1 && !isSetting(pos[0]) {
			return fmt.Errorf("unknown setting %q: valid settings are %s", pos[0], strings.Join(auth.SettingNames(), ", "))
		}
	case "set":
		if len(pos) == 0 {
			return usagef("usage: gitgate %s", usage)
		}
	default:
		return usagef("usage: gitgate %s", usage)
	}
	changes := map[string]string{}
	for _, kv := range pos {
		if args[0] != "set" {
			break
		}
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return usagef("%q is not KEY=VALUE", kv)
		}
		if _, dup := changes[k]; dup {
			return usagef("setting %s given twice", k)
		}
		changes[k] = v
	}
	s, err := a.open(ctx)
	if err != nil {
		return err
	}
	defer s.close()
	var st auth.Settings
	if args[0] == "set" {
		up, err := s.auth.UpdateSettings(ctx, changes)
		if err != nil {
			return err
		}
		st = up.Settings
		if up.CappedTokens > 0 {
			fmt.Fprintf(a.stderr, "Cut the expiry of %d token(s) to the new lifetime limit\n", up.CappedTokens)
		}
	} else if st, err = s.auth.Settings(ctx); err != nil {
		return err
	}
	m := st.Map()
	if *asJSON {
		return printJSON(a.stdout, settingsJSON(st))
	}
	if args[0] == "get" && len(pos) == 1 {
		fmt.Fprintln(a.stdout, m[pos[0]])
		return nil
	}
	for _, k := range auth.SettingNames() {
		fmt.Fprintf(a.stdout, "%s=%s\n", k, m[k])
	}
	return nil
}

func isSetting(k string) bool {
	for _, n := range auth.SettingNames() {
		if n == k {
			return true
		}
	}
	return false
}
