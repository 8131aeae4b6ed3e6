// Package logging builds gitgate's slog logger: text or JSON, with every
// secret-looking attribute and token-shaped string redacted, whatever the
// caller logs.
package logging

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"regexp"
	"strings"
)

// Redacted replaces secrets in logs.
const Redacted = "[REDACTED]"

// secretKeys are attribute names whose values are never logged.
var secretKeys = []string{"password", "passwd", "token", "secret", "authorization", "private-token", "private_token", "cookie", "otp", "recovery"}

// tokenPattern finds token-shaped substrings (glpat-… and any configured
// prefix followed by a long base62 run), and credentials in URLs.
var (
	tokenPattern   = regexp.MustCompile(`\b[a-zA-Z0-9_]{0,16}pat-[A-Za-z0-9_\-]{16,}`)
	urlCredPattern = regexp.MustCompile(`(://[^/\s:@]*:)[^@\s/]+@`)
	basicPattern   = regexp.MustCompile(`(?i)\b(basic|bearer)\s+[A-Za-z0-9+/=._\-]{8,}`)
)

// Scrub removes token-shaped strings and URL credentials from s.
func Scrub(s string) string {
	s = tokenPattern.ReplaceAllString(s, Redacted)
	s = urlCredPattern.ReplaceAllString(s, "${1}"+Redacted+"@")
	s = basicPattern.ReplaceAllString(s, "$1 "+Redacted)
	return s
}

// IsSecretKey reports whether an attribute name holds a secret.
func IsSecretKey(key string) bool {
	k := strings.ToLower(key)
	for _, s := range secretKeys {
		if strings.Contains(k, s) {
			// token_id, token_name and the like are identifiers, not secrets.
			if strings.HasSuffix(k, "_id") || strings.HasSuffix(k, "_name") || strings.HasSuffix(k, "_count") {
				return false
			}
			return true
		}
	}
	return false
}

// New returns a logger writing to w in format "text" or "json".
func New(w io.Writer, format, level string) (*slog.Logger, error) {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("log level %q: use debug, info, warn or error", level)
	}
	opts := &slog.HandlerOptions{Level: lv, ReplaceAttr: redact}
	var h slog.Handler
	switch format {
	case "text", "":
		h = slog.NewTextHandler(w, opts)
	case "json":
		h = slog.NewJSONHandler(w, opts)
	default:
		return nil, fmt.Errorf("log format %q: use text or json", format)
	}
	return slog.New(h), nil
}

func redact(_ []string, a slog.Attr) slog.Attr {
	if IsSecretKey(a.Key) {
		return slog.String(a.Key, Redacted)
	}
	switch a.Value.Kind() {
	case slog.KindString:
		return slog.String(a.Key, Scrub(a.Value.String()))
	case slog.KindAny:
		if err, ok := a.Value.Any().(error); ok {
			return slog.String(a.Key, Scrub(err.Error()))
		}
		if s, ok := a.Value.Any().(fmt.Stringer); ok {
			return slog.String(a.Key, Scrub(s.String()))
		}
	}
	return a
}

// Discard is a logger that writes nothing (tests, CLI).
func Discard() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

type ctxKey struct{}

// WithRequestID stores a request id in ctx.
func WithRequestID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, ctxKey{}, id)
}

// RequestID returns the request id stored in ctx, or "".
func RequestID(ctx context.Context) string {
	id, _ := ctx.Value(ctxKey{}).(string)
	return id
}
