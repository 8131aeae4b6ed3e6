package main

import (
	"fmt"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/gitgate/gitgate/auth"
)

func newSettingsCmd(a *app) *cobra.Command {
	var getJSON, setJSON bool
	get := &cobra.Command{
		Use:     "get [KEY]",
		Short:   "Print the instance settings (KEY=VALUE lines), or one setting's value",
		Example: "  gitgate settings get\n  gitgate settings get max_personal_access_token_lifetime\n  gitgate settings get --json",
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) > 1 {
				return usage(cmd)
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 1 && !slices.Contains(auth.SettingNames(), args[0]) {
				return fmt.Errorf("unknown setting %q: valid settings are %s", args[0], strings.Join(auth.SettingNames(), ", "))
			}
			s, err := a.open(cmd.Context())
			if err != nil {
				return err
			}
			defer s.close()
			st, err := s.auth.Settings(cmd.Context())
			if err != nil {
				return err
			}
			if getJSON {
				return printJSON(a.stdout, settingsJSON(st))
			}
			if len(args) == 1 {
				fmt.Fprintln(a.stdout, st.Map()[args[0]])
				return nil
			}
			printSettings(a, st)
			return nil
		},
	}
	jsonFlag(get, &getJSON)
	set := &cobra.Command{
		Use:   "set KEY=VALUE …",
		Short: "Change instance settings in one step (KEY= resets KEY to its default) and print them all",
		Example: `  gitgate settings set max_personal_access_token_lifetime=90
  gitgate settings set impersonation_enabled=false password_authentication_enabled_for_git=false
  gitgate settings set max_personal_access_token_lifetime=`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return usage(cmd)
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			changes := map[string]string{}
			for _, kv := range args {
				k, v, ok := strings.Cut(kv, "=")
				if !ok || k == "" {
					return usagef("%q is not KEY=VALUE", kv)
				}
				if _, dup := changes[k]; dup {
					return usagef("setting %s given twice", k)
				}
				changes[k] = v
			}
			s, err := a.open(cmd.Context())
			if err != nil {
				return err
			}
			defer s.close()
			up, err := s.auth.UpdateSettings(cmd.Context(), changes)
			if err != nil {
				return err
			}
			if up.CappedTokens > 0 {
				fmt.Fprintf(a.stderr, "Cut the expiry of %d token(s) to the new lifetime limit\n", up.CappedTokens)
			}
			if setJSON {
				return printJSON(a.stdout, settingsJSON(up.Settings))
			}
			printSettings(a, up.Settings)
			return nil
		},
	}
	jsonFlag(set, &setJSON)
	return parentCmd("settings", "Read and change the instance settings that govern tokens and passwords",
		"  gitgate settings get\n  gitgate settings set require_personal_access_token_expiry=false", get, set)
}

func printSettings(a *app, st auth.Settings) {
	m := st.Map()
	for _, k := range auth.SettingNames() {
		fmt.Fprintf(a.stdout, "%s=%s\n", k, m[k])
	}
}
