package auth

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gitgate/gitgate/access"
	"github.com/gitgate/gitgate/store"
)

// Setting names (docs/tokens.md#settings).
const (
	SettingMaxLifetime          = "max_personal_access_token_lifetime"
	SettingRequireExpiry        = "require_personal_access_token_expiry"
	SettingEnforceExpiration    = "enforce_personal_access_token_expiration"
	SettingPasswordForGit       = "password_authentication_enabled_for_git"
	SettingImpersonationEnabled = "impersonation_enabled"
	SettingTokenPrefix          = "personal_access_token_prefix"
	// SettingGitFetchReachableOnly refuses fetches of objects no ref
	// reaches (docs/repositories.md, "Objects of deleted branches").
	SettingGitFetchReachableOnly = "git_fetch_reachable_only"
	// SettingExpiryWarningDays lists how many days before a token
	// expires its owner is warned, each threshold once (docs/mail.md).
	SettingExpiryWarningDays = "token_expiry_warning_days"
	// SettingDefaultBranchProtection is GitLab's 0–4 rule for a new
	// project's default branch (docs/permissions.md#default-branch-protection).
	SettingDefaultBranchProtection = "default_branch_protection"
)

// DefaultExpiryWarningDays is GitLab's one warning, a week ahead.
var DefaultExpiryWarningDays = []int{7}

// maxExpiryWarnings bounds the list; maxExpiryWarningDay the value.
const (
	maxExpiryWarnings   = 10
	maxExpiryWarningDay = 365
)

// Settings are the instance's token and authentication settings.
type Settings struct {
	// MaxLifetimeDays is 0 when there is no limit.
	MaxLifetimeDays      int
	RequireExpiry        bool
	EnforceExpiration    bool
	PasswordForGit       bool
	ImpersonationEnabled bool
	TokenPrefix          string
	// GitFetchReachableOnly serves fetches over protocol v0, which
	// refuses wants no ref reaches; protocol v2 does not check.
	GitFetchReachableOnly bool
	// ExpiryWarningDays are the thresholds of expiry warnings, largest
	// first (e.g. 60, 30, 7).
	ExpiryWarningDays []int
	// DefaultBranchProtection decides the rule a new project's default
	// branch gets and whether developers may push it first.
	DefaultBranchProtection access.BranchProtection
}

// DefaultSettings are the values of an instance nobody configured.
func DefaultSettings() Settings {
	return Settings{
		RequireExpiry:        true,
		EnforceExpiration:    true,
		PasswordForGit:       true,
		ImpersonationEnabled: true,
		TokenPrefix:          "glpat-",
		ExpiryWarningDays:    slices.Clone(DefaultExpiryWarningDays),

		DefaultBranchProtection: access.DefaultBranchProtection,
	}
}

// SettingNames lists the setting keys in display order.
func SettingNames() []string {
	return []string{SettingMaxLifetime, SettingRequireExpiry, SettingEnforceExpiration,
		SettingPasswordForGit, SettingImpersonationEnabled, SettingTokenPrefix, SettingGitFetchReachableOnly,
		SettingExpiryWarningDays, SettingDefaultBranchProtection}
}

// Map renders the settings as key → value strings (the CLI's and the
// store's form; an unset lifetime is the empty string).
func (s Settings) Map() map[string]string {
	lifetime := ""
	if s.MaxLifetimeDays > 0 {
		lifetime = strconv.Itoa(s.MaxLifetimeDays)
	}
	return map[string]string{
		SettingMaxLifetime:           lifetime,
		SettingRequireExpiry:         strconv.FormatBool(s.RequireExpiry),
		SettingEnforceExpiration:     strconv.FormatBool(s.EnforceExpiration),
		SettingPasswordForGit:        strconv.FormatBool(s.PasswordForGit),
		SettingImpersonationEnabled:  strconv.FormatBool(s.ImpersonationEnabled),
		SettingTokenPrefix:           s.TokenPrefix,
		SettingGitFetchReachableOnly: strconv.FormatBool(s.GitFetchReachableOnly),
		SettingExpiryWarningDays:     FormatDayList(s.ExpiryWarningDays),

		SettingDefaultBranchProtection: strconv.Itoa(int(s.DefaultBranchProtection)),
	}
}

// FormatDayList writes warning thresholds as "60,30,7".
func FormatDayList(days []int) string {
	parts := make([]string, len(days))
	for i, d := range days {
		parts[i] = strconv.Itoa(d)
	}
	return strings.Join(parts, ",")
}

// ParseDayList reads warning thresholds ("60,30,7", in any order):
// distinct whole numbers of days from 1 to 365, at most 10 of them. It
// returns them largest first.
func ParseDayList(value string) ([]int, error) {
	var out []int
	for _, p := range strings.Split(value, ",") {
		p = strings.TrimSpace(p)
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > maxExpiryWarningDay {
			return nil, fmt.Errorf("%s must be a comma-separated list of days from 1 to %d (e.g. 60,30,7), not %q",
				SettingExpiryWarningDays, maxExpiryWarningDay, value)
		}
		if slices.Contains(out, n) {
			return nil, fmt.Errorf("%s lists %d twice", SettingExpiryWarningDays, n)
		}
		out = append(out, n)
	}
	if len(out) > maxExpiryWarnings {
		return nil, fmt.Errorf("%s may list at most %d thresholds", SettingExpiryWarningDays, maxExpiryWarnings)
	}
	sort.Sort(sort.Reverse(sort.IntSlice(out)))
	return out, nil
}

// apply sets one key from its string form; the empty string resets it.
func (s *Settings) apply(key, value string) error {
	def := DefaultSettings()
	parseBool := func(dst *bool, d bool) error {
		if value == "" {
			*dst = d
			return nil
		}
		b, err := strconv.ParseBool(value)
		if err != nil {
			return fmt.Errorf("%s must be true or false, not %q", key, value)
		}
		*dst = b
		return nil
	}
	switch key {
	case SettingMaxLifetime:
		if value == "" || value == "null" {
			s.MaxLifetimeDays = 0
			return nil
		}
		n, err := strconv.Atoi(value)
		if err != nil || n < 1 || n > 365*400 {
			return fmt.Errorf("%s must be a number of days from 1 to %d, or empty for no limit, not %q", key, 365*400, value)
		}
		s.MaxLifetimeDays = n
	case SettingRequireExpiry:
		return parseBool(&s.RequireExpiry, def.RequireExpiry)
	case SettingEnforceExpiration:
		return parseBool(&s.EnforceExpiration, def.EnforceExpiration)
	case SettingPasswordForGit:
		return parseBool(&s.PasswordForGit, def.PasswordForGit)
	case SettingImpersonationEnabled:
		return parseBool(&s.ImpersonationEnabled, def.ImpersonationEnabled)
	case SettingGitFetchReachableOnly:
		return parseBool(&s.GitFetchReachableOnly, def.GitFetchReachableOnly)
	case SettingExpiryWarningDays:
		if value == "" {
			s.ExpiryWarningDays = slices.Clone(def.ExpiryWarningDays)
			return nil
		}
		days, err := ParseDayList(value)
		if err != nil {
			return err
		}
		s.ExpiryWarningDays = days
	case SettingDefaultBranchProtection:
		if value == "" {
			s.DefaultBranchProtection = def.DefaultBranchProtection
			return nil
		}
		p, err := access.ParseBranchProtection(value)
		if err != nil {
			return err
		}
		s.DefaultBranchProtection = p
	case SettingTokenPrefix:
		if value == "" {
			s.TokenPrefix = def.TokenPrefix
			return nil
		}
		if len(value) > 20 || strings.IndexFunc(value, func(r rune) bool {
			return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_')
		}) >= 0 {
			return fmt.Errorf("%s may hold up to 20 letters, digits, '-' and '_', not %q", key, value)
		}
		s.TokenPrefix = value
	default:
		names := SettingNames()
		sort.Strings(names)
		return fmt.Errorf("unknown setting %q: valid settings are %s", key, strings.Join(names, ", "))
	}
	return nil
}

// settingsCache keeps the settings read for a short while: every
// authentication needs them, and a change made by any process (the CLI
// included) must still show within a second.
type settingsCache struct {
	mu      sync.Mutex
	value   Settings
	fetched time.Time
}

// settingsTTL bounds how stale cached settings may be.
const settingsTTL = 500 * time.Millisecond

// Settings returns the current instance settings.
func (s *Service) Settings(ctx context.Context) (Settings, error) {
	now := time.Now()
	s.settings.mu.Lock()
	if !s.settings.fetched.IsZero() && now.Sub(s.settings.fetched) < settingsTTL {
		v := s.settings.value
		s.settings.mu.Unlock()
		v.ExpiryWarningDays = slices.Clone(v.ExpiryWarningDays)
		return v, nil
	}
	s.settings.mu.Unlock()
	v, err := LoadSettings(ctx, s.db)
	if err != nil {
		return Settings{}, err
	}
	s.settings.mu.Lock()
	s.settings.value, s.settings.fetched = v, now
	s.settings.mu.Unlock()
	return v, nil
}

// LoadSettings reads the settings from db (a transaction, for a caller
// that must decide with the value its writes commit against), uncached.
func LoadSettings(ctx context.Context, db *store.DB) (Settings, error) {
	stored, err := db.Settings(ctx)
	if err != nil {
		return Settings{}, err
	}
	v := DefaultSettings()
	for k, val := range stored {
		// A value this version cannot read falls back to the default
		// rather than locking everyone out.
		_ = v.apply(k, val)
	}
	return v, nil
}

// SettingsUpdate reports what UpdateSettings changed.
type SettingsUpdate struct {
	Settings Settings
	// CappedTokens counts tokens whose expiry a new lifetime limit cut.
	CappedTokens int64
}

// UpdateSettings validates and stores key → value changes in one
// transaction: either all apply or none. Setting a lifetime limit cuts
// every active token that would outlive it (docs/tokens.md#settings).
func (s *Service) UpdateSettings(ctx context.Context, changes map[string]string) (SettingsUpdate, error) {
	if len(changes) == 0 {
		return SettingsUpdate{}, errors.New("no settings given: use KEY=VALUE")
	}
	var out SettingsUpdate
	err := s.db.InTx(ctx, func(tx *store.DB) error {
		cur, err := LoadSettings(ctx, tx)
		if err != nil {
			return err
		}
		next := cur
		keys := make([]string, 0, len(changes))
		for k := range changes {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			if err := next.apply(k, changes[k]); err != nil {
				return &InputError{Field: k, Msg: err.Error()}
			}
		}
		now := s.Now()
		for _, k := range keys {
			if changes[k] == "" {
				if err := tx.DeleteSetting(ctx, k); err != nil {
					return err
				}
				continue
			}
			if err := tx.PutSetting(ctx, k, next.Map()[k], now); err != nil {
				return err
			}
		}
		if next.MaxLifetimeDays > 0 {
			n, err := tx.CapTokenExpiry(ctx, AddDays(Today(now), next.MaxLifetimeDays))
			if err != nil {
				return err
			}
			out.CappedTokens = n
		}
		out.Settings = next
		return nil
	})
	if err != nil {
		return SettingsUpdate{}, err
	}
	s.settings.mu.Lock()
	s.settings.fetched = time.Time{}
	s.settings.mu.Unlock()
	return out, nil
}
