package main

import (
	"encoding/json"
	"io"
	"time"

	"github.com/spf13/cobra"

	"github.com/gitgate/gitgate/api"
	"github.com/gitgate/gitgate/auth"
)

// The CLI's --json prints the REST API's own objects
// (docs/tokens.md#command-line), from the api package's entity functions,
// so the two can never drift apart.

func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// tokenJSON includes the secret only when one is given (creation and
// rotation).
func tokenJSON(t *auth.Token, now time.Time, secret string) any {
	if secret != "" {
		return api.CreatedTokenJSON(&auth.CreatedToken{Token: t, Secret: secret}, now)
	}
	return api.TokenJSON(t, now)
}

func (a *app) userJSON(u *auth.User) any {
	return api.UserDetailsJSON(u, a.cfg.Defaults().ExternalURL, true)
}

func keyJSON(k *auth.SSHKey) any { return api.KeyJSON(k) }

func settingsJSON(s auth.Settings) any { return api.SettingsJSON(s) }

// jsonFlag adds --json, which prints what the REST API would return.
func jsonFlag(c *cobra.Command, p *bool) {
	c.Flags().BoolVar(p, "json", false, "print the REST API's JSON object instead of text")
}
