package api

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"

	"github.com/gitgate/gitgate/auth"
)

// GET /application/settings (admin): the settings of docs/tokens.md#settings.
func getSettings(c *call) error {
	if err := c.requireAdmin(); err != nil {
		return err
	}
	st, err := c.h.auth.Settings(c.ctx)
	if err != nil {
		return err
	}
	writeJSON(c.w, http.StatusOK, SettingsJSON(st))
	return nil
}

// PUT /application/settings (admin): changes the named settings in one
// transaction through auth.UpdateSettings, exactly as the CLI does; other
// GitLab settings are ignored, as GitLab ignores unknown parameters.
func updateSettings(c *call) error {
	if err := c.requireAdmin(); err != nil {
		return err
	}
	changes := map[string]string{}
	for _, name := range auth.SettingNames() {
		if !c.params.has(name) {
			continue
		}
		if c.params.isNull(name) {
			changes[name] = ""
			continue
		}
		var v string
		switch name {
		case auth.SettingMaxLifetime:
			n, _, err := c.params.integer(name)
			if err != nil {
				return err
			}
			v = strconv.FormatInt(n, 10)
			if n == 0 {
				// GitLab clears the limit with an empty value; 0 days
				// would lock everyone out, so it means "no limit" too.
				v = ""
			}
		case auth.SettingExpiryWarningDays:
			days, err := c.params.dayList(name)
			if err != nil {
				return err
			}
			v = days
		case auth.SettingDefaultBranchProtection:
			n, _, err := c.params.integer(name)
			if err != nil {
				return err
			}
			v = strconv.FormatInt(n, 10)
		case auth.SettingTokenPrefix:
			s, _, err := c.params.str(name)
			if err != nil {
				return err
			}
			v = s
		default:
			b, _, err := c.params.boolean(name)
			if err != nil {
				return err
			}
			v = strconv.FormatBool(b)
		}
		changes[name] = v
	}
	if len(changes) > 0 {
		if _, err := c.h.auth.UpdateSettings(c.ctx, changes); err != nil {
			return err
		}
	}
	return getSettings(c)
}

// dayList reads token_expiry_warning_days: "60,30,7", a JSON array of
// numbers or strings, or one number; auth checks the values.
func (ps *params) dayList(name string) (string, error) {
	if v, ok := ps.values[name]; ok && v.isJSON() && v.raw[0] == '[' {
		var raw []json.Number
		dec := json.NewDecoder(bytes.NewReader(v.raw))
		dec.UseNumber()
		if err := dec.Decode(&raw); err != nil {
			var strs []string
			if json.Unmarshal(v.raw, &strs) != nil {
				return "", invalidParam(name)
			}
			return strings.Join(strs, ","), nil
		}
		parts := make([]string, len(raw))
		for i, n := range raw {
			parts[i] = n.String()
		}
		return strings.Join(parts, ","), nil
	}
	s, _, err := ps.str(name)
	return s, err
}

// GET /version
func getVersion(c *call) error {
	writeJSON(c.w, http.StatusOK, VersionJSON(c.h.cfg.Revision))
	return nil
}
