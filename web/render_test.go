package web

import (
	"io/fs"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gitgate/gitgate/auth"
	"github.com/gitgate/gitgate/repos"
)

// testHandler is a Handler with its templates and catalogs but no
// services: enough to render pages.
func testHandler(t *testing.T) *Handler {
	t.Helper()
	cat, err := loadCatalog()
	if err != nil {
		t.Fatal(err)
	}
	v, err := parseViews()
	if err != nil {
		t.Fatal(err)
	}
	return &Handler{views: v, catalog: cat, log: slog.New(slog.DiscardHandler)}
}

// renderFor renders one page as a request in lang by user would see it.
func renderFor(t *testing.T, h *Handler, lang string, user *auth.User, name string, p *page) (int, string) {
	t.Helper()
	rec := httptest.NewRecorder()
	q := h.newRequest(rec, httptest.NewRequest(http.MethodGet, "/", nil))
	q.lang, q.user = lang, user
	if user != nil {
		q.sessionSecret = "session-secret-for-a-rendering-test"
	}
	h.renderPage(q, http.StatusOK, name, p)
	return rec.Code, rec.Body.String()
}

func TestEveryPageRendersInEveryLanguage(t *testing.T) {
	h := testHandler(t)
	now := time.Date(2026, 3, 4, 10, 0, 0, 0, time.UTC)
	exp := time.Date(2026, 4, 3, 0, 0, 0, 0, time.UTC)
	alice := &auth.User{ID: 2, Username: "alice"}
	root := &auth.User{ID: 1, Username: "root", Admin: true}
	tok := auth.Token{ID: 7, UserID: 2, Name: "laptop <b>", Scopes: []string{"read_repository", "write_repository"}, CreatedAt: now, ExpiresAt: &exp}
	cases := []struct {
		name, template string
		user           *auth.User
		p              *page
		want           []string
	}{
		{"sign in", "sign_in", nil, &page{Title: "signin.title", Data: signInForm{Login: "bob", RedirectTo: "/x", Alert: "signin.invalid"}},
			[]string{`name="user[login]"`, `value="bob"`, `name="user[password]"`, `name="authenticity_token"`}},
		{"two factor", "two_factor", nil, &page{Title: "signin.otp.title", Data: twoFactorForm{Alert: "signin.otp.invalid"}},
			[]string{`name="user[otp_attempt]"`, `autocomplete="one-time-code"`}},
		{"error", "error", alice, &page{Title: "error.503.heading", Data: errorData{Status: 503, Heading: "error.503.heading", Message: "error.503.message"}},
			[]string{`503`}},
		{"tokens with a new token", "tokens", alice, &page{Title: "tokens.title", Nav: "tokens", Data: tokensData{
			NewToken: "glpat-shown-once-in-this-test", NewTokenName: "ci", Form: tokenForm{ExpiresAt: "2026-04-03"},
			ScopeChoices: []scopeChoice{{Name: "api"}, {Name: "write_repository", Checked: true}},
			MinDate:      "2026-03-05", MaxDate: "2026-06-02", ExpiryRequired: true,
			Active: []tokenRow{{Token: tok, State: "active"}}, Inactive: []tokenRow{{Token: auth.Token{ID: 8, Name: "old", Scopes: []string{"api"}, CreatedAt: now, Revoked: true}, State: "revoked"}},
		}}, []string{`value="glpat-shown-once-in-this-test"`, `name="personal_access_token[name]"`, `name="personal_access_token[expires_at]"`,
			`type="date" value="2026-04-03"`, `min="2026-03-05" max="2026-06-02"`, `name="personal_access_token[scopes][]" value="write_repository" checked`,
			`laptop &lt;b&gt;`, `2026-03-04`, `/-/user_settings/personal_access_tokens/7/revoke`, `/-/user_settings/personal_access_tokens/7/rotate`}},
		{"tokens with field errors", "tokens", alice, &page{Title: "tokens.title", Nav: "tokens",
			Errors: map[string]string{fieldExpiresAt: "bad date", fieldName: "bad name"}, Data: tokensData{Form: tokenForm{Name: "n"}}},
			[]string{`<p class="field-error" id="personal_access_token_expires_at-error">bad date</p>`, `aria-invalid="true"`}},
		{"revoke confirmation", "token_revoke", alice, &page{Title: "tokens.revoke.title", Nav: "tokens", Data: &tok},
			[]string{`action="/-/user_settings/personal_access_tokens/7/revoke"`, `method="post"`}},
		{"projects", "projects", alice, &page{Title: "projects.title", Nav: "projects", Data: projectsData{Total: 41, Page: 2, PrevPage: 1, NextPage: 3,
			Projects: []projectRow{{FullPath: "alice/web", Name: "web", Description: "the <site>", Visibility: "internal", Role: "projects.role.owner", LastPush: now}}}},
			[]string{`href="/alice/web"`, `the &lt;site&gt;`, `2026-03-04`, `href="/?page=1"`, `href="/?page=3"`, `href="/projects/new"`}},
		{"new project with errors", "project_new", alice, &page{Title: "projects.new.title", Nav: "projects",
			Errors: map[string]string{fieldProjectVisibility: "public is not allowed in a private group."},
			Data: newProjectData{Form: newProjectForm{Name: "Web", NamespaceID: "9", Visibility: "public"}, Visibilities: []string{"private", "internal", "public"},
				Namespaces: []repos.Namespace{{ID: 2, FullPath: "alice"}, {ID: 9, FullPath: "team/sub"}}}},
			[]string{`name="project[name]"`, `<option value="9" selected>team/sub</option>`, `value="public" checked`,
				`<p class="field-error" id="project_visibility-error">public is not allowed in a private group.</p>`, `action="/projects"`}},
		{"project", "project", alice, &page{Title: "projects.project.title", Nav: "projects", Data: projectData{
			Project: &repos.Project{Name: "web", Path: "web", Visibility: "private", DefaultBranch: "main", Namespace: repos.Namespace{FullPath: "alice"}},
			HTTPURL: "http://git.example/alice/web.git", SSHURL: "ssh://git@git.example:2222/alice/web.git", CanRead: true, Role: "projects.role.owner",
			Branches: []repos.Branch{{Name: "main", Commit: repos.Commit{ID: "0123456789abcdef", Subject: "first <commit>", Author: "Alice", When: now}}}}},
			[]string{`value="http://git.example/alice/web.git"`, `value="ssh://git@git.example:2222/alice/web.git"`, `data-copy-target="http_url_to_repo"`,
				`data-copy-target="ssh_url_to_repo"`, `href="/-/user_settings/personal_access_tokens"`, `01234567`, `first &lt;commit&gt;`}},
		{"two-factor set-up", "twofa", alice, &page{Title: "twofa.title", Nav: "two_factor", Errors: map[string]string{fieldPinCode: "bad code"},
			Data: twoFactorData{Setup: &enrolmentView{Secret: "JBSWY3DPEHPK3PXP", QR: "data:image/png;base64,iVBORw0KGgo=", Sealed: "sealed-value"}}},
			[]string{`src="data:image/png;base64,iVBORw0KGgo="`, `value="JBSWY3DPEHPK3PXP"`, `name="enrolment" value="sealed-value"`, `name="pin_code"`,
				`name="current_password"`, `<p class="field-error" id="pin_code-error">bad code</p>`}},
		{"two-factor recovery codes", "twofa", alice, &page{Title: "twofa.title", Nav: "two_factor", Data: twoFactorData{Enabled: true, RecoveryCodes: []string{"code-one", "code-two"}}},
			[]string{`<code>code-one</code>`, `action="/-/profile/two_factor_auth/disable"`}},
		{"profile", "profile", alice, &page{Title: "profile.title", Nav: "profile", Data: profileForm{Name: "Alice", Email: "alice@example.com", Language: "ja", Languages: []string{"en", "ja"}}},
			[]string{`name="user[email]"`, `value="alice@example.com"`, `<option value="ja" selected>`, `name="user[validation_password]"`}},
		{"password", "password", alice, &page{Title: "password.title", Nav: "profile", Errors: map[string]string{fieldPasswordConfirmation: "no match"}},
			[]string{`name="user[password]"`, `name="user[new_password]"`, `<p class="field-error" id="user_password_confirmation-error">no match</p>`}},
		{"ssh keys", "ssh_keys", alice, &page{Title: "ssh_keys.title", Nav: "ssh_keys", Errors: map[string]string{fieldKeyKey: "RSA keys must be at least 2048 bits"},
			Data: sshKeysData{MinDate: "2026-03-05", Keys: []auth.SSHKey{{ID: 4, Title: "laptop", Fingerprint: "SHA256:abc", KeyType: "ssh-ed25519", CreatedAt: now}}}},
			[]string{`name="key[key]"`, `RSA keys must be at least 2048 bits`, `SHA256:abc`, `href="/-/user_settings/ssh_keys/4/delete"`}},
		{"ssh key delete", "ssh_key_delete", alice, &page{Title: "ssh_keys.delete.title", Nav: "ssh_keys", Data: &auth.SSHKey{ID: 4, Title: "laptop"}},
			[]string{`action="/-/user_settings/ssh_keys/4/delete"`, `method="post"`}},
		{"admin users", "admin_users", root, &page{Title: "admin.users.title", Nav: "admin", Data: adminUsersData{Search: "al", Total: 1, Page: 1, FirstShown: 1, LastOn: 1,
			Users: []adminUserRow{{User: *alice}}}}, []string{`href="/admin/users/alice"`, `name="search" type="search" value="al"`}},
		{"admin new user", "admin_user_new", root, &page{Title: "admin.new_user.title", Nav: "admin", Data: newUserForm{Username: "bob"}},
			[]string{`name="user[username]"`, `value="bob"`, `name="user[admin]"`}},
		{"admin user", "admin_user", root, &page{Title: "admin.user.title", Nav: "admin", Data: adminUserData{User: alice, NewToken: "glpat-impersonation-shown-once",
			NewTokenName: "support", ImpersonationEnabled: true, ScopeChoices: []scopeChoice{{Name: "api"}}, Active: []tokenRow{{Token: tok, State: "active"}}}},
			[]string{`value="glpat-impersonation-shown-once"`, `action="/admin/users/alice/impersonation_tokens"`, `action="/admin/users/alice/block"`,
				`href="/admin/users/alice/impersonation_tokens/7/revoke"`}},
		{"admin token revoke", "admin_token_revoke", root, &page{Title: "tokens.revoke.title", Nav: "admin", Data: adminRevokeData{User: alice, Token: &tok}},
			[]string{`action="/admin/users/alice/impersonation_tokens/7/revoke"`}},
		{"admin settings", "admin_settings", root, &page{Title: "admin.settings.title", Nav: "admin",
			Errors: map[string]string{"setting[personal_access_token_prefix]": "bad prefix"},
			Data: adminSettingsData{Fields: []settingField{{Name: "max_personal_access_token_lifetime", Value: "30", Kind: "days"},
				{Name: "impersonation_enabled", Value: "true", Kind: "bool"}, {Name: "personal_access_token_prefix", Value: "x!", Kind: "text"}}}},
			[]string{`name="setting[max_personal_access_token_lifetime]" value="30"`, `name="setting[impersonation_enabled]" value="true" checked`,
				`<p class="field-error" id="setting_personal_access_token_prefix-error">bad prefix</p>`}},
		{"admin navigation", "error", root, &page{Title: "error.404.heading", Data: errorData{Status: 404, Heading: "error.404.heading", Message: "error.404.message"}},
			[]string{`href="/admin"`}},
	}
	for _, lang := range h.catalog.languages() {
		for _, c := range cases {
			t.Run(lang+"/"+c.name, func(t *testing.T) {
				code, body := renderFor(t, h, lang, c.user, c.template, c.p)
				if code != http.StatusOK {
					t.Fatalf("status %d: %s", code, body)
				}
				for _, w := range c.want {
					if !strings.Contains(body, w) {
						t.Errorf("page lacks %s", w)
					}
				}
				if !strings.Contains(body, `<html lang="`+lang+`">`) {
					t.Errorf("page not marked as %s", lang)
				}
				// A key missing from the catalog would show as itself.
				if m := regexp.MustCompile(`>\s*(?:signin|tokens|error|nav|flash|scope|layout|projects|project|twofa|profile|password|ssh_keys|admin|setting|visibility|language|pager)\.[a-z0-9_.]+\s*<`).FindString(body); m != "" {
					t.Errorf("untranslated key on the page: %s", m)
				}
				if c.user == nil && strings.Contains(body, `href="/admin"`) {
					t.Error("a visitor sees the admin link")
				}
			})
		}
	}
	// Only admins see the Admin entry.
	if _, body := renderFor(t, h, "en", alice, "error", cases[2].p); strings.Contains(body, `href="/admin"`) {
		t.Error("a non-admin sees the admin link")
	}
}

func TestCatalogsHaveTheSameKeys(t *testing.T) {
	c, err := loadCatalog()
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(c.languages(), "ja") {
		t.Fatal("no Japanese catalog")
	}
	for _, lang := range c.languages() {
		for key, text := range c.messages[defaultLanguage] {
			other, ok := c.messages[lang][key]
			if !ok || strings.TrimSpace(other) == "" {
				t.Errorf("%s: no text for %s", lang, key)
			}
			if strings.Count(text, "%") != strings.Count(other, "%") {
				t.Errorf("%s: %s has other arguments than in English", lang, key)
			}
		}
		for key := range c.messages[lang] {
			if _, ok := c.messages[defaultLanguage][key]; !ok {
				t.Errorf("%s: %s is not in the English catalog", lang, key)
			}
		}
	}
}

// Every key the templates and the Go code name is in the catalog.
func TestEveryCatalogKeyUsedExists(t *testing.T) {
	c, err := loadCatalog()
	if err != nil {
		t.Fatal(err)
	}
	inTemplates := regexp.MustCompile(`\.T "([a-z0-9_.]+)"`)
	inGo := regexp.MustCompile(`"((?:signin|tokens|error|nav|flash|layout|projects|project|twofa|profile|password|ssh_keys|admin|setting|visibility|language|pager)\.[a-z0-9_.]+)"`)
	check := func(file, text string, re *regexp.Regexp) {
		for _, m := range re.FindAllStringSubmatch(text, -1) {
			key := m[1]
			if _, ok := c.messages[defaultLanguage][key]; !ok {
				t.Errorf("%s names %s, which the catalog lacks", file, key)
			}
		}
	}
	_ = fs.WalkDir(files, "templates", func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			b, _ := files.ReadFile(p)
			check(p, string(b), inTemplates)
		}
		return err
	})
	goFiles, _ := filepath.Glob("*.go")
	for _, f := range goFiles {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		// The flash kind is written before its key ("notice", "flash.x").
		check(f, string(b), inGo)
	}
	for _, s := range auth.Scopes {
		if _, ok := c.messages[defaultLanguage]["scope."+s.Name]; !ok {
			t.Errorf("scope %s has no description in the catalog", s.Name)
		}
	}
}

// The English scope descriptions are auth's own, word for word: the page
// explains scopes as the rest of gitgate does.
func TestScopeDescriptionsAreAuths(t *testing.T) {
	c, err := loadCatalog()
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range auth.Scopes {
		if got := c.messages[defaultLanguage]["scope."+s.Name]; got != s.Description {
			t.Errorf("scope %s: catalog says %q, auth says %q", s.Name, got, s.Description)
		}
	}
}

func TestLanguageIsTheUsersChoiceThenAcceptLanguageThenEnglish(t *testing.T) {
	c, err := loadCatalog()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		preferred, header, want string
	}{
		{"", "", "en"},
		{"", "ja", "ja"},
		{"", "ja-JP,ja;q=0.9,en;q=0.8", "ja"},
		{"", "fr-FR, en;q=0.5, ja;q=0.7", "ja"},
		{"", "en-US,en;q=0.9,ja;q=0.8", "en"},
		{"", "ja;q=0, de", "en"},
		{"", "*", "en"},
		{"", "ja;q=bogus, en", "en"},
		{"en", "ja", "en"},
		{"ja", "en-US", "ja"},
		{"xx", "ja", "ja"},
	} {
		var u *auth.User
		if tc.preferred != "" {
			u = &auth.User{PreferredLanguage: tc.preferred}
		}
		if got := c.choose(u, tc.header); got != tc.want {
			t.Errorf("preferred %q, Accept-Language %q: %s, want %s", tc.preferred, tc.header, got, tc.want)
		}
	}
}

func TestRedirectTargetsStayOnTheSite(t *testing.T) {
	for in, want := range map[string]string{
		"/-/profile": "/-/profile", "/a?b=c": "/a?b=c", "": "/", "https://evil.example/": "/",
		"//evil.example/": "/", "/\\evil.example": "/", "javascript:alert(1)": "/", "/x\r\nSet-Cookie: a=b": "/",
		"/\t/evil.example": "/", "/\n/evil.example": "/", "/\x00x": "/", "/a\x7f": "/",
	} {
		if got := localPath(in); got != want {
			t.Errorf("localPath(%q) = %q, want %q", in, got, want)
		}
	}
}
