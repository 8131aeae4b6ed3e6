package web_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"

	"github.com/gitgate/gitgate/internal/browser"
	"github.com/gitgate/gitgate/internal/testenv"
)

// A person enrols two-factor authentication on the page with the secret
// it shows, signs out, signs in again with a code, and Git no longer
// takes their password.
func TestTwoFactorEnrolledOnThePageAsksForACodeAndGitRefusesThePassword(t *testing.T) {
	env := testenv.Start(t, testenv.Options{})
	env.User("alice", testenv.UserOpts{Password: "alice-password-1"})
	env.Project("alice/notes", "private")
	clone := func() testenv.Result {
		return env.Git(t.TempDir(), "clone", "-q", env.RepoURL("alice", "alice-password-1", "alice/notes"), "c")
	}
	if r := clone(); r.Err != nil {
		t.Fatalf("before 2FA the password clones: %v %s", r.Err, r.Stderr)
	}
	p := browser.Get(t).Page(t, env.URL)
	p.SignIn("alice", "alice-password-1")
	p.Open("/-/profile/two_factor_auth")
	if p.Text("#twofa-status") != "Two-factor authentication is not enabled." {
		t.Fatalf("status %q", p.Text("main"))
	}
	if code := p.Press("form[action='/-/profile/two_factor_auth/setup'] button"); code != 200 {
		t.Fatalf("set-up: %d", code)
	}
	secret := p.Value("#otp_secret")
	if len(secret) < 16 || !strings.HasPrefix(p.Attr("img.qr", "src"), "data:image/png;base64,") {
		t.Fatalf("secret %q, QR %q", secret, p.Attr("img.qr", "src"))
	}
	// The QR image is a real PNG the browser decoded.
	if w := browser.Eval[int](p, `document.querySelector("img.qr").naturalWidth`); w == 0 {
		t.Fatal("the QR code is not an image the browser can show")
	}

	// A wrong code: the message next to the field, the same secret again.
	p.Fill("#pin_code", "000000")
	p.Fill("#current_password", "alice-password-1")
	if code := p.Press("form[action='/-/profile/two_factor_auth'] button[type=submit]"); code != http.StatusUnprocessableEntity {
		t.Fatalf("wrong code: %d", code)
	}
	if !strings.Contains(p.Text("#pin_code-error"), "Invalid two-factor code") || p.Value("#otp_secret") != secret {
		t.Fatalf("after a wrong code: %q, secret %q", p.Text("main"), p.Value("#otp_secret"))
	}

	now := time.Now()
	code, _ := totp.GenerateCode(secret, now)
	p.Fill("#pin_code", code)
	p.Fill("#current_password", "alice-password-1")
	p.Press("form[action='/-/profile/two_factor_auth'] button[type=submit]")
	if n := p.Count("#recovery-codes li"); n != 10 {
		t.Fatalf("%d recovery codes shown: %s", n, p.Text("main"))
	}
	if p.Text("#twofa-status") != "Two-factor authentication is enabled." {
		t.Fatalf("status after enabling: %q", p.Text("main"))
	}
	// The recovery codes are shown once.
	p.Reload()
	if p.Has("#recovery-codes") {
		t.Fatal("recovery codes shown again after a reload")
	}

	p.Press("form.signout button")
	p.SignIn("alice", "alice-password-1")
	if p.SignedIn() || p.Path() != "/users/sign_in/two_factor" {
		t.Fatalf("after the password: signed in %v at %s", p.SignedIn(), p.Path())
	}
	// The code of the next step: the one used to confirm counts once.
	next, _ := totp.GenerateCode(secret, now.Add(30*time.Second))
	p.Fill("#user_otp_attempt", next)
	p.Press("form button[type=submit]")
	if !p.SignedIn() {
		t.Fatalf("TOTP sign-in failed: %s", p.Text("main"))
	}

	if r := clone(); r.Err == nil || !strings.Contains(r.Stderr, "401") && !strings.Contains(r.Stderr, "Authentication failed") {
		t.Fatalf("with 2FA the password still clones: err %v, %s", r.Err, r.Stderr)
	}
}

// sshKey makes an ed25519 key pair with ssh-keygen and returns the
// private key's path and the public key line.
func sshKey(t *testing.T) (string, string) {
	t.Helper()
	dir := t.TempDir()
	path := filepath.Join(dir, "id_ed25519")
	if out, err := exec.Command("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "alice@laptop", "-f", path).CombinedOutput(); err != nil {
		t.Fatalf("ssh-keygen: %v %s", err, out)
	}
	pub, err := os.ReadFile(path + ".pub")
	if err != nil {
		t.Fatal(err)
	}
	return path, strings.TrimSpace(string(pub))
}

// sshGit is the environment git needs to use one key with OpenSSH.
func sshGit(t *testing.T, key string) []string {
	known := filepath.Join(t.TempDir(), "known_hosts")
	return []string{"GIT_SSH_COMMAND=ssh -o StrictHostKeyChecking=no -o UserKnownHostsFile=" + known +
		" -o BatchMode=yes -o IdentitiesOnly=yes -o IdentityAgent=none -i " + key}
}

// An SSH key added on the page clones over SSH with a real ssh client,
// through the URL the project page shows; deleted, it is refused.
func TestSSHKeyAddedOnThePageClonesOverSSHAndDeletedIsRefused(t *testing.T) {
	env := testenv.Start(t, testenv.Options{})
	alice := env.User("alice", testenv.UserOpts{Password: "alice-password-1"})
	env.Project("alice/tools", "private")
	token := env.Token(alice, "write_repository")
	work := env.WorkTree()
	env.MustGit(work, "push", "-q", env.RepoURL("alice", token, "alice/tools"), "main")
	key, pub := sshKey(t)

	p := browser.Get(t).Page(t, env.URL)
	p.SignIn("alice", "alice-password-1")
	p.Open("/-/user_settings/ssh_keys")
	// The core's validation message, next to the field.
	p.SetValue("#key_key", "ssh-ed25519 AAAAnotakey")
	p.Press("form[action='/-/user_settings/ssh_keys'] button[type=submit]")
	if got := p.Text("#key_key-error"); got != "key is not a valid OpenSSH public key" {
		t.Fatalf("field error %q", got)
	}
	p.SetValue("#key_key", pub)
	p.Fill("#key_title", "")
	p.Press("form[action='/-/user_settings/ssh_keys'] button[type=submit]")
	if p.Count("#ssh-keys tbody tr") != 1 || !strings.HasPrefix(p.Text("#ssh-keys .fingerprint"), "SHA256:") ||
		!strings.Contains(p.Text("#ssh-keys tbody tr"), "alice@laptop") {
		t.Fatalf("key list: %q", p.Text("main"))
	}

	p.Open("/alice/tools")
	sshURL := p.Value("#ssh_url_to_repo")
	if !strings.HasPrefix(sshURL, "ssh://git@127.0.0.1:") || !strings.HasSuffix(sshURL, "/alice/tools.git") {
		t.Fatalf("SSH clone URL %q", sshURL)
	}
	if r := env.GitEnv(t.TempDir(), sshGit(t, key), "clone", "-q", sshURL, "c"); r.Err != nil {
		t.Fatalf("clone over SSH with the page's key and URL: %v %s", r.Err, r.Stderr)
	}

	p.Open("/-/user_settings/ssh_keys")
	p.Press("#ssh-keys td.actions a")
	if !strings.Contains(p.Text("main"), "alice@laptop") {
		t.Fatalf("confirmation page: %q", p.Text("main"))
	}
	p.Press("form[action$='/delete'] button[type=submit]")
	if p.Has("#ssh-keys") || !strings.Contains(p.Text(".flash"), "deleted") {
		t.Fatalf("after deleting: %q", p.Text("main"))
	}
	if r := env.GitEnv(t.TempDir(), sshGit(t, key), "clone", "-q", sshURL, "c"); r.Err == nil {
		t.Fatal("a deleted key still clones")
	}
}

// The New project form creates a repository, whose page shows clone URLs
// that work, then its branch and latest commit; the list on "/" shows it
// with the user's role and last push.
func TestNewProjectFormCreatesARepositoryWhosePageShowsWorkingCloneURLs(t *testing.T) {
	env := testenv.Start(t, testenv.Options{})
	alice := env.User("alice", testenv.UserOpts{Password: "alice-password-1"})
	p := browser.Get(t).Page(t, env.URL)
	p.SignIn("alice", "alice-password-1")
	if p.Path() != "/" || !strings.Contains(p.Text("main"), "cannot see any project") {
		t.Fatalf("home: %s %q", p.Path(), p.Text("main"))
	}
	p.Press("a[href='/projects/new']")
	p.Fill("#project_name", "My Project")
	p.Click("#project_visibility_internal")
	if code := p.Press("form[action='/projects'] button[type=submit]"); code != 200 {
		t.Fatalf("create: %d %s", code, p.Text("main"))
	}
	if p.Path() != "/alice/my-project" {
		t.Fatalf("landed on %s: %s", p.Path(), p.Text("main"))
	}
	httpURL := p.Value("#http_url_to_repo")
	if httpURL != env.URL+"/alice/my-project.git" || !p.Has("#empty-repository") {
		t.Fatalf("HTTP URL %q, page %q", httpURL, p.Text("main"))
	}
	if !strings.Contains(p.Text("#http-hint"), "read_repository") || p.Attr("#http-hint a", "href") != "/-/user_settings/personal_access_tokens" {
		t.Fatalf("hint %q", p.Text("#http-hint"))
	}

	// Push through the page's URL with a token as the password.
	token := env.Token(alice, "write_repository")
	u, _ := url.Parse(httpURL)
	u.User = url.UserPassword("alice", token)
	work := env.WorkTree()
	env.MustGit(work, "commit", "-q", "--allow-empty", "-m", "Second <commit>")
	env.MustGit(work, "push", "-q", u.String(), "main")
	env.MustGit(t.TempDir(), "clone", "-q", u.String(), "c")

	p.Reload()
	if got := p.Text("#latest-commit"); !strings.Contains(got, "Second <commit>") {
		t.Fatalf("latest commit %q", got)
	}
	if p.Count("#branches tbody tr") != 1 || !strings.Contains(p.Text("#branches"), "main") {
		t.Fatalf("branches %q", p.Text("#branches"))
	}
	p.Open("/")
	row := p.Text("#projects tr[data-project='alice/my-project']")
	today := time.Now().UTC().Format("2006-01-02")
	for _, want := range []string{"alice/my-project", "Internal", "Owner", today} {
		if !strings.Contains(row, want) {
			t.Errorf("list row %q lacks %q", row, want)
		}
	}
}

// An admin creates an impersonation token on a user's admin page; shown
// once, it acts as that user on the API. Others get 404 on /admin.
func TestAdminImpersonationTokenActsAsTheUserAndNonAdminsGet404(t *testing.T) {
	env := testenv.Start(t, testenv.Options{})
	env.User("bob", testenv.UserOpts{Password: "bob-password-1"})
	b := browser.Get(t)

	bob := b.Page(t, env.URL)
	bob.SignIn("bob", "bob-password-1")
	for _, path := range []string{"/admin", "/admin/users", "/admin/users/bob", "/admin/application_settings"} {
		if code := bob.Open(path); code != http.StatusNotFound {
			t.Errorf("non-admin on %s: %d", path, code)
		}
	}
	if bob.Has("a[href='/admin']") {
		t.Error("a non-admin sees the Admin link")
	}

	p := b.Page(t, env.URL)
	p.SignIn("root", "root-password-for-tests")
	p.Open("/admin")
	if p.Path() != "/admin/users" {
		t.Fatalf("/admin led to %s", p.Path())
	}
	p.Fill("#search", "bo")
	p.Press("form.search button")
	if p.Count("#users tbody tr") != 1 {
		t.Fatalf("search: %q", p.Text("#users"))
	}
	p.Press("#users a[href='/admin/users/bob']")
	p.Fill("#impersonation_token_name", "support")
	p.Click("#impersonation_token_scopes_api")
	p.Press("form[action='/admin/users/bob/impersonation_tokens'] button[type=submit]")
	secret := p.Value("#created-impersonation-token")
	if !strings.HasPrefix(secret, "glpat-") {
		t.Fatalf("no token shown: %q", p.Text("main"))
	}
	p.Reload()
	if p.Has("#created-impersonation-token") || strings.Contains(p.HTML(), secret) {
		t.Fatal("the impersonation token is shown again")
	}
	if p.Count("#active-impersonation-tokens tbody tr") != 1 {
		t.Fatalf("active list: %q", p.Text("main"))
	}

	req, _ := http.NewRequest(http.MethodGet, env.URL+"/api/v4/user", nil)
	req.Header.Set("PRIVATE-TOKEN", secret)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var me struct{ Username string }
	if err := json.NewDecoder(resp.Body).Decode(&me); err != nil || resp.StatusCode != 200 || me.Username != "bob" {
		t.Fatalf("API as the token: %d %q %v", resp.StatusCode, me.Username, err)
	}
	// Bob's own pages do not show it.
	bob.Open("/-/user_settings/personal_access_tokens")
	if strings.Contains(bob.Text("main"), "support") {
		t.Fatal("the impersonation token is on the user's own tokens page")
	}
}
