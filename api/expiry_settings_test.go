package api_test

import (
	"fmt"
	"testing"

	"github.com/gitgate/gitgate/internal/testenv"
)

// token_expiry_warning_days is read and written through
// /application/settings like GitLab's settings: a list of days, "60,30,7"
// or a JSON array, largest first; a bad list changes nothing.
func TestExpiryWarningDaysSettingThroughTheAPI(t *testing.T) {
	f := newFixture(t, testenv.Options{})
	get := func() string {
		r := f.do(req{path: "/application/settings", token: f.adminToken})
		expect(t, "GET settings", r, 200, "")
		return fmt.Sprint(r.obj(t)["token_expiry_warning_days"])
	}
	if got := get(); got != "[7]" {
		t.Fatalf("default: %s, want [7]", got)
	}
	for _, c := range []struct{ body, want string }{
		{`{"token_expiry_warning_days":"7,60,30"}`, "[60 30 7]"},
		{`{"token_expiry_warning_days":[14,3]}`, "[14 3]"},
		{`{"token_expiry_warning_days":5}`, "[5]"},
		{`{"token_expiry_warning_days":null}`, "[7]"},
	} {
		r := f.do(req{method: "PUT", path: "/application/settings", token: f.adminToken, body: c.body})
		expect(t, c.body, r, 200, "")
		if got := fmt.Sprint(r.obj(t)["token_expiry_warning_days"]); got != c.want {
			t.Errorf("PUT %s: %s, want %s", c.body, got, c.want)
		}
	}
	f.do(req{method: "PUT", path: "/application/settings", token: f.adminToken, body: `{"token_expiry_warning_days":"30,7"}`})
	for _, bad := range []string{`{"token_expiry_warning_days":"0"}`, `{"token_expiry_warning_days":"7,7"}`,
		`{"token_expiry_warning_days":"400"}`, `{"token_expiry_warning_days":"soon"}`, `{"token_expiry_warning_days":{"a":1}}`} {
		r := f.do(req{method: "PUT", path: "/application/settings", token: f.adminToken, body: bad})
		if r.status != 400 {
			t.Errorf("PUT %s: %d %s, want 400", bad, r.status, r.body)
		}
	}
	if got := get(); got != "[30 7]" {
		t.Fatalf("after refused changes: %s, want [30 7] unchanged", got)
	}
}
