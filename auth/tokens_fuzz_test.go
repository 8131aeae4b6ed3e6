package auth

import (
	"encoding/hex"
	"strings"
	"testing"
)

// FuzzTokenFormat checks the token format rules against each other: a
// token string a caller may choose is one every door will look up (a
// custom token that LooksLikeToken refused could never be used), a
// refusal never echoes the token, nothing with whitespace is looked up,
// and what is stored is a fixed-size hex
// digest that never holds the secret.
func FuzzTokenFormat(f *testing.F) {
	for _, s := range []string{
		"glpat-abcdefghijklmnopqrstuv", "glpat-" + strings.Repeat("x", 249), "short", "exactly-twenty-chars", "nineteen-characters",
		"with space in the middle!!", "tab\tinside-the-token-x", "newline\ninside-token-xx", "ünicode-token-ünicode-token",
		"\x7fdelete-char-token-xxxx", "glpat-abcdefghijklmnopqrstuv\r\n", strings.Repeat("a", 256), "",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, secret string) {
		looks := LooksLikeToken(secret)
		if looks && (len(secret) < MinCustomTokenLength || len(secret) > 255 || strings.ContainsAny(secret, " \t\r\n")) {
			t.Fatalf("LooksLikeToken(%q) = true", secret)
		}
		if err := validateCustomToken(secret); err == nil {
			if !looks {
				t.Fatalf("custom token %q is accepted at creation but never authenticates", secret)
			}
			for _, r := range secret {
				if r <= ' ' || r >= 0x7f {
					t.Fatalf("custom token %q accepted with %q", secret, r)
				}
			}
		} else if msg := err.Error(); !fixedTokenMessages[msg] {
			// One of the fixed messages: the secret is never echoed.
			t.Fatalf("validateCustomToken(%q): message %q", secret, msg)
		}
		d := HashToken(secret)
		if len(d) != 64 || strings.Contains(d, secret) && len(secret) >= 8 {
			t.Fatalf("HashToken(%q) = %q", secret, d)
		}
		if _, err := hex.DecodeString(d); err != nil || d != strings.ToLower(d) {
			t.Fatalf("HashToken(%q) = %q is not lower-case hex", secret, d)
		}
	})
}

// fixedTokenMessages are validateCustomToken's refusals: too short, too
// long, a character outside printable ASCII.
var fixedTokenMessages = func() map[string]bool {
	m := map[string]bool{}
	for _, s := range []string{"short", strings.Repeat("x", 256), strings.Repeat(" ", MinCustomTokenLength)} {
		m[validateCustomToken(s).Error()] = true
	}
	return m
}()

// FuzzTokenPrefix checks the personal_access_token_prefix setting: an
// accepted prefix makes tokens that carry it, are accepted as custom
// tokens and are looked up; a refused one changes nothing and says why in
// one line.
func FuzzTokenPrefix(f *testing.F) {
	for _, s := range []string{"", "glpat-", "corp_", "x", strings.Repeat("p", 20), strings.Repeat("p", 21), "has space", "tab\t",
		"ünï-", "glpat-\n", "a/b", "-", "_"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, prefix string) {
		s := DefaultSettings()
		s.TokenPrefix = "before-"
		err := s.apply(SettingTokenPrefix, prefix)
		if err != nil {
			if s.TokenPrefix != "before-" {
				t.Fatalf("refused prefix %q changed the setting to %q", prefix, s.TokenPrefix)
			}
			if msg := err.Error(); strings.ContainsAny(msg, "\r\n") {
				t.Fatalf("prefix %q: message %q is not one line", prefix, msg)
			}
			return
		}
		want := prefix
		if prefix == "" {
			want = DefaultSettings().TokenPrefix
		}
		if s.TokenPrefix != want {
			t.Fatalf("prefix %q set as %q", prefix, s.TokenPrefix)
		}
		tok := GenerateToken(s.TokenPrefix)
		if !strings.HasPrefix(tok, s.TokenPrefix) || len(tok) != len(s.TokenPrefix)+secretLength {
			t.Fatalf("GenerateToken(%q) = %q", s.TokenPrefix, tok)
		}
		if err := validateCustomToken(tok); err != nil {
			t.Fatalf("generated token %q fails the custom-token rule: %v", tok, err)
		}
		if !LooksLikeToken(tok) {
			t.Fatalf("generated token %q is never looked up", tok)
		}
		// The stored form reads back as the same setting.
		again := DefaultSettings()
		if err := again.apply(SettingTokenPrefix, s.Map()[SettingTokenPrefix]); err != nil || again.TokenPrefix != s.TokenPrefix {
			t.Fatalf("prefix %q reads back as %q, %v", s.TokenPrefix, again.TokenPrefix, err)
		}
	})
}
