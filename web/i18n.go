package web

import (
	"encoding/json"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/gitgate/gitgate/auth"
)

// defaultLanguage is the language of a page when nothing else is known,
// and the one every other catalog must match key for key.
const defaultLanguage = "en"

// catalog holds every string the pages show, per language
// (locales/<lang>.json: key → text, fmt verbs for arguments).
type catalog struct {
	messages map[string]map[string]string
	langs    []string
}

func loadCatalog() (*catalog, error) {
	names, err := fs.Glob(files, "locales/*.json")
	if err != nil {
		return nil, err
	}
	c := &catalog{messages: map[string]map[string]string{}}
	for _, n := range names {
		b, err := files.ReadFile(n)
		if err != nil {
			return nil, err
		}
		m := map[string]string{}
		if err := json.Unmarshal(b, &m); err != nil {
			return nil, fmt.Errorf("web: message catalog %s: %w", n, err)
		}
		lang := strings.TrimSuffix(path.Base(n), ".json")
		c.messages[lang] = m
		c.langs = append(c.langs, lang)
	}
	if _, ok := c.messages[defaultLanguage]; !ok {
		return nil, fmt.Errorf("web: no %s message catalog", defaultLanguage)
	}
	sort.Strings(c.langs)
	return c, nil
}

// languages lists the catalog's languages.
func (c *catalog) languages() []string { return slices.Clone(c.langs) }

// has reports whether the catalog speaks lang.
func (c *catalog) has(lang string) bool { _, ok := c.messages[lang]; return ok }

// text translates key into lang, falling back to English; a key missing
// everywhere shows as itself (a test keeps that from happening).
func (c *catalog) text(lang, key string, args ...any) string {
	s, ok := c.messages[lang][key]
	if !ok {
		if s, ok = c.messages[defaultLanguage][key]; !ok {
			return key
		}
	}
	if len(args) > 0 {
		return fmt.Sprintf(s, args...)
	}
	return s
}

// choose picks a page's language: the user's own choice when the catalog
// has it, else the best of the browser's Accept-Language, else English.
func (c *catalog) choose(u *auth.User, acceptLanguage string) string {
	if u != nil && c.has(u.PreferredLanguage) {
		return u.PreferredLanguage
	}
	for _, tag := range parseAcceptLanguage(acceptLanguage) {
		if c.has(tag) {
			return tag
		}
		if base, _, ok := strings.Cut(tag, "-"); ok && c.has(base) {
			return base
		}
	}
	return defaultLanguage
}

// parseAcceptLanguage returns the tags of an Accept-Language header, most
// preferred first, lower-cased, without those of quality 0.
func parseAcceptLanguage(h string) []string {
	type pref struct {
		tag string
		q   float64
		i   int
	}
	var prefs []pref
	for i, part := range strings.Split(h, ",") {
		tag, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		tag = strings.ToLower(strings.TrimSpace(tag))
		if tag == "" || tag == "*" || len(tag) > 35 {
			continue
		}
		q := 1.0
		if v, ok := strings.CutPrefix(strings.TrimSpace(params), "q="); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				continue
			}
			q = f
		}
		if q <= 0 {
			continue
		}
		prefs = append(prefs, pref{tag, q, i})
	}
	sort.SliceStable(prefs, func(a, b int) bool { return prefs[a].q > prefs[b].q })
	out := make([]string, len(prefs))
	for i, p := range prefs {
		out[i] = p.tag
	}
	return out
}

// Languages lists the languages the pages are written in; a preferred
// language is one of these or empty (web-pages' profile form offers them).
func (h *Handler) Languages() []string { return h.catalog.languages() }
