// Package browser drives a real headless Chromium through chromedp for the
// web pages' end-to-end tests: one browser per test binary (started on
// first use), one isolated tab per test (its own cookies), and helpers to
// open pages, fill forms, press buttons and read what the page shows.
//
// Without Chromium the tests skip, loudly; with CI=true they fail, so CI
// never passes by skipping.
package browser

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
)

// ActionTimeout bounds one step of a test (a navigation, a click).
const ActionTimeout = 30 * time.Second

// Browser is a running Chromium.
type Browser struct {
	ctx    context.Context
	cancel func()
}

var shared struct {
	mu  sync.Mutex
	b   *Browser
	err error
}

// ExecPath finds Chromium: $GITGATE_CHROMIUM, else chromium,
// chromium-browser or google-chrome on PATH.
func ExecPath() (string, error) {
	if p := os.Getenv("GITGATE_CHROMIUM"); p != "" {
		return p, nil
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p, nil
		}
	}
	return "", errors.New("no chromium found (install Debian's chromium, or set GITGATE_CHROMIUM)")
}

// Get returns the test binary's browser, starting it on first use. When
// Chromium is missing the test is skipped with a loud message, or fails
// under CI=true.
func Get(t testing.TB) *Browser {
	t.Helper()
	shared.mu.Lock()
	defer shared.mu.Unlock()
	if shared.b == nil && shared.err == nil {
		shared.b, shared.err = start()
	}
	if shared.err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("browser tests need chromium under CI: %v", shared.err)
		}
		t.Skipf("SKIPPING BROWSER TEST: %v", shared.err)
	}
	return shared.b
}

func start() (*Browser, error) {
	path, err := ExecPath()
	if err != nil {
		return nil, err
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.Headless,
		chromedp.DisableGPU,
		// Root in CI containers: Chromium's sandbox needs user namespaces
		// that containers rarely allow.
		chromedp.NoSandbox,
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.WindowSize(1280, 900),
	)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(allocCtx)
	// The first Run starts the browser, which lives as long as ctx: no
	// timeout on it.
	if err := chromedp.Do(ctx, chromedp.Navigate("about:blank")); err != nil {
		cancelCtx()
		cancelAlloc()
		return nil, fmt.Errorf("start chromium %s: %w", path, err)
	}
	return &Browser{ctx: ctx, cancel: func() { cancelCtx(); cancelAlloc() }}, nil
}

// Close stops the shared browser; call it from TestMain after m.Run.
func Close() {
	shared.mu.Lock()
	defer shared.mu.Unlock()
	if shared.b != nil {
		shared.b.cancel()
		shared.b = nil
	}
}

// Page is one tab with its own cookies, on one gitgate server.
type Page struct {
	t    testing.TB
	ctx  context.Context
	base string
}

// Page opens a tab in a fresh browser context (no cookies shared with
// other tabs) for a server at base (http://host:port); it closes at the
// test's cleanup.
func (b *Browser) Page(t testing.TB, base string) *Page {
	t.Helper()
	ctx, cancel := chromedp.NewContext(b.ctx, chromedp.WithNewBrowserContext())
	t.Cleanup(cancel)
	if err := chromedp.Do(ctx, chromedp.Navigate("about:blank")); err != nil {
		t.Fatalf("open a browser tab: %v", err)
	}
	return &Page{t: t, ctx: ctx, base: strings.TrimRight(base, "/")}
}

// step runs one action with ActionTimeout and fails the test on error.
func run[T any](p *Page, what string, a chromedp.Action[T]) T {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, ActionTimeout)
	defer cancel()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		p.t.Fatalf("browser: %s: %v", what, err)
	}
	return v
}

// Open navigates to a path of the server (or a full URL) and returns the
// HTTP status of the page.
func (p *Page) Open(path string) int {
	p.t.Helper()
	u := path
	if strings.HasPrefix(path, "/") {
		u = p.base + path
	}
	resp := run(p, "open "+path, chromedp.NavigateResponse(u))
	return status(resp)
}

// Press clicks a button (or link) that leads to another page, waits for
// that page and returns its HTTP status.
func (p *Page) Press(sel string) int {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, ActionTimeout)
	defer cancel()
	resp, err := chromedp.RunResponse(ctx, chromedp.Click(chromedp.CSS(sel)))
	if err != nil {
		p.t.Fatalf("browser: press %s: %v", sel, err)
	}
	return status(resp)
}

// Reload reloads the page (a GET: pages answer a POST with a redirect) and
// returns its status.
func (p *Page) Reload() int {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, ActionTimeout)
	defer cancel()
	resp, err := chromedp.RunResponse(ctx, chromedp.Reload())
	if err != nil {
		p.t.Fatalf("browser: reload: %v", err)
	}
	return status(resp)
}

func status(resp *network.Response) int {
	if resp == nil {
		return 0
	}
	return int(resp.Status)
}

// Fill sets a field's value (text, password, date) as typing would.
func (p *Page) Fill(sel, value string) {
	p.t.Helper()
	run(p, "fill "+sel, chromedp.Steps(chromedp.Clear(chromedp.CSS(sel)), chromedp.SendKeys(chromedp.CSS(sel), value)))
}

// SetValue sets a field's value directly (for inputs such as dates whose
// typing depends on the browser's locale).
func (p *Page) SetValue(sel, value string) {
	p.t.Helper()
	run(p, "set "+sel, chromedp.SetValue(chromedp.CSS(sel), value))
}

// Click clicks an element that does not leave the page (a checkbox).
func (p *Page) Click(sel string) {
	p.t.Helper()
	run(p, "click "+sel, chromedp.Click(chromedp.CSS(sel)))
}

// Text is an element's visible text.
func (p *Page) Text(sel string) string {
	p.t.Helper()
	return strings.TrimSpace(run(p, "text of "+sel, chromedp.Text(chromedp.CSS(sel))))
}

// Value is a form field's current value.
func (p *Page) Value(sel string) string {
	p.t.Helper()
	return run(p, "value of "+sel, chromedp.Value(chromedp.CSS(sel)))
}

// Attr is an attribute of an element ("" when absent).
func (p *Page) Attr(sel, name string) string {
	p.t.Helper()
	return Eval[string](p, fmt.Sprintf(`(document.querySelector(%q)||{getAttribute(){return ""}}).getAttribute(%q) || ""`, sel, name))
}

// Has reports whether an element matching sel is on the page.
func (p *Page) Has(sel string) bool {
	p.t.Helper()
	return Eval[bool](p, fmt.Sprintf(`document.querySelector(%q) !== null`, sel))
}

// Count is the number of elements matching sel.
func (p *Page) Count(sel string) int {
	p.t.Helper()
	return Eval[int](p, fmt.Sprintf(`document.querySelectorAll(%q).length`, sel))
}

// HTML is the whole document as the browser has it.
func (p *Page) HTML() string {
	p.t.Helper()
	return Eval[string](p, `document.documentElement.outerHTML`)
}

// Path is the path (and query) of the page shown.
func (p *Page) Path() string {
	p.t.Helper()
	return Eval[string](p, `location.pathname + location.search`)
}

// Eval evaluates a JavaScript expression in the page.
func Eval[T any](p *Page, expr string) T {
	p.t.Helper()
	return run(p, "evaluate", chromedp.Evaluate[T](expr))
}

// Screenshot saves the whole page as a PNG (quality 100 is PNG; below,
// chromium writes JPEG).
func (p *Page) Screenshot(path string) {
	p.t.Helper()
	png := run(p, "screenshot", chromedp.FullScreenshot(100))
	if err := os.WriteFile(path, png, 0o644); err != nil {
		p.t.Fatal(err)
	}
}

// SetLanguage makes the tab ask for pages in lang (Accept-Language).
func (p *Page) SetLanguage(lang string) {
	p.t.Helper()
	run(p, "set language", chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := cdp.Call(ctx, t, network.SetExtraHTTPHeaders, network.SetExtraHTTPHeadersParams{
			Headers: network.Headers{"Accept-Language": lang}})
		return err
	}))
}

// SignIn signs in through the sign-in page with a login and password and
// returns the status of the page it lands on. It does not check the
// outcome: a test asserts on where it landed.
func (p *Page) SignIn(login, password string) int {
	p.t.Helper()
	if code := p.Open("/users/sign_in"); code != 200 {
		p.t.Fatalf("sign-in page answered %d", code)
	}
	p.Fill("#user_login", login)
	p.Fill("#user_password", password)
	return p.Press("form[action='/users/sign_in'] button[type=submit]")
}

// SignedIn reports whether the page shows a signed-in user's navigation.
func (p *Page) SignedIn() bool {
	p.t.Helper()
	return p.Has("form.signout")
}
