package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"
)

// fuzzRequest builds a request as ServeHTTP hands it to parseParams,
// with the body bounded the same way.
func fuzzRequest(method, target, contentType string, body []byte) *http.Request {
	r := httptest.NewRequest(method, "http://gitgate.example/api/v4/users", bytes.NewReader(body))
	if u, err := url.ParseRequestURI(target); err == nil {
		r.URL.RawQuery = u.RawQuery
	} else {
		r.URL.RawQuery = strings.TrimPrefix(target, "?")
	}
	if contentType != "" {
		r.Header.Set("Content-Type", contentType)
	}
	r.Body = http.MaxBytesReader(httptest.NewRecorder(), r.Body, MaxBodyBytes)
	return r
}

// badRequest reports whether err is a client error the API answers with
// a GitLab body (never a 500 for input).
func isClientError(err error) bool {
	var ae *apiError
	return errors.As(err, &ae) && (ae.status == http.StatusBadRequest || ae.status == http.StatusRequestEntityTooLarge)
}

var fuzzMethods = []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete, http.MethodHead}

// FuzzParseParams feeds any query string and body, under any content
// type, to the parameter decoding every endpoint uses: bad input is a 400
// (or 413), never a 500 or a panic, and every typed reader agrees with
// the raw value it read.
func FuzzParseParams(f *testing.F) {
	seeds := []struct {
		method      int
		contentType string
		query       string
		body        string
	}{
		{0, "", "page=2&per_page=50&search=al", ""},
		{1, "application/json", "", `{"name":"tok","scopes":["api","read_repository"],"expires_at":"2030-01-31"}`},
		{1, "application/json", "", `{"user_id":12345678901234567890,"admin":true,"note":null}`},
		{2, "application/x-www-form-urlencoded", "", "name=My+Project&visibility=private&scopes[]=api&scopes[]=read_user"},
		{1, "", "", `{"name":"no content type"}`},
		{1, "application/json", "", `{"a":1}{"b":2}`},
		{1, "application/json", "", `[1,2]`},
		{1, "text/plain", "", "a=%zz"},
		{1, "multipart/form-data; boundary=xx", "", "--xx\r\nContent-Disposition: form-data; name=\"title\"\r\n\r\nkey\r\n--xx--\r\n"},
		{1, "multipart/form-data", "", "--xx\r\n"},
		{3, "application/merge-patch+json", "id=7", `{"id":"8","date":"2030-01-01T10:00:00+02:00"}`},
		{0, "", "a=%zz&b=;", ""},
		{4, "application/json", "", `{"expires_at":"2030-02-30","page":"0","per_page":"-1","flag":"maybe"}`},
	}
	for _, s := range seeds {
		f.Add(s.method, s.contentType, s.query, []byte(s.body))
	}
	f.Fuzz(func(t *testing.T, method int, contentType, query string, body []byte) {
		m := fuzzMethods[uint(method)%uint(len(fuzzMethods))]
		r := fuzzRequest(m, "?"+query, contentType, body)
		ps, err := parseParams(r)
		if err != nil {
			if !isClientError(err) {
				t.Fatalf("%s %q (%q) body %q: %v is not a client error", m, query, contentType, body, err)
			}
			return
		}
		for name := range ps.values {
			checkParam(t, ps, name)
		}
		c := &call{params: ps}
		pg, err := c.pagination()
		if err != nil {
			if !isClientError(err) {
				t.Fatalf("pagination: %v", err)
			}
			return
		}
		if pg.Page < 1 || pg.Page > 1<<30 || pg.PerPage < 1 || pg.PerPage > MaxPerPage || pg.offset() < 0 {
			t.Fatalf("pagination %+v", pg)
		}
	})
}

// checkParam reads one parameter with every typed reader.
func checkParam(t *testing.T, ps *params, name string) {
	t.Helper()
	if !ps.has(name) {
		t.Fatalf("parameter %q listed but not there", name)
	}
	s, ok, err := ps.str(name)
	if err != nil && !isClientError(err) {
		t.Fatalf("str(%q): %v", name, err)
	}
	if ps.isNull(name) && ok {
		t.Fatalf("null %q read as %q", name, s)
	}
	if n, ok2, err2 := ps.integer(name); err2 == nil && ok2 {
		if !ok || err != nil {
			t.Fatalf("integer(%q) = %d without a string", name, n)
		}
		if m, perr := strconv.ParseInt(strings.TrimSpace(s), 10, 64); perr != nil || m != n {
			t.Fatalf("integer(%q) = %d from %q", name, n, s)
		}
	} else if err2 != nil && !isClientError(err2) {
		t.Fatalf("integer(%q): %v", name, err2)
	}
	if id, ok2, err2 := ps.id(name); err2 == nil && ok2 && id < -1 {
		t.Fatalf("id(%q) = %d", name, id)
	} else if err2 != nil && !isClientError(err2) {
		t.Fatalf("id(%q): %v", name, err2)
	}
	if b, ok2, err2 := ps.boolean(name); err2 == nil && ok2 {
		word := strings.ToLower(strings.TrimSpace(s))
		if want := strings.Contains(" true 1 t yes y on ", " "+word+" "); want != b || word == "" {
			t.Fatalf("boolean(%q) = %v from %q", name, b, s)
		}
	} else if err2 != nil && !isClientError(err2) {
		t.Fatalf("boolean(%q): %v", name, err2)
	}
	if d, err2 := ps.date(name); err2 != nil && !isClientError(err2) {
		t.Fatalf("date(%q): %v", name, err2)
	} else if d != nil && (d.Hour() != 0 || d.Minute() != 0 || d.Second() != 0 || d.Nanosecond() != 0 || d.Location().String() != "UTC") {
		t.Fatalf("date(%q) = %v from %q is not a day", name, d, s)
	}
	if d, err2 := ps.dateTime(name); err2 != nil && !isClientError(err2) {
		t.Fatalf("dateTime(%q): %v", name, err2)
	} else if d != nil && d.Location().String() != "UTC" {
		t.Fatalf("dateTime(%q) = %v is not UTC", name, d)
	}
	items, _, err2 := ps.strList(name)
	if err2 != nil && !isClientError(err2) {
		t.Fatalf("strList(%q): %v", name, err2)
	}
	for _, it := range items {
		if it == "" || it != strings.TrimSpace(it) || strings.Contains(it, ",") {
			t.Fatalf("strList(%q) item %q", name, it)
		}
	}
}

// FuzzParamEncodings sends one name and value the four ways a GitLab
// client may (query string, form body, JSON body, multipart body): each
// reads back as the value sent.
func FuzzParamEncodings(f *testing.F) {
	for _, s := range [][2]string{
		{"name", "My Project"}, {"scopes[]", "api"}, {"expires_at", "2030-01-31"}, {"description", "line1\nline2\r\n\ttabbed "},
		{"title", "{\"json\":\"looking\"}"}, {"q", "a&b=c;d%20e+f"}, {"key", "ssh-ed25519 AAAAC3Nza x@y"}, {"x", ""},
		{"ü", "ünïcödé ✓"}, {"n", "\x00\xff"}, {"private_token", "glpat-abcdefghijklmnopqrstuv"},
	} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, name, value string) {
		key := strings.TrimSuffix(name, "[]")
		if name == "" || key == "" {
			return
		}
		read := func(how string, r *http.Request) {
			t.Helper()
			ps, err := parseParams(r)
			if err != nil {
				t.Fatalf("%s %q=%q: %v", how, name, value, err)
			}
			got, ok, err := ps.str(key)
			if err != nil || !ok || got != value {
				t.Fatalf("%s %q=%q read back as %q ok=%v err=%v", how, name, value, got, ok, err)
			}
		}
		form := url.Values{name: {value}}.Encode()
		read("query", fuzzRequest(http.MethodGet, "?"+form, "", nil))
		// A form body is trimmed of surrounding spaces before decoding,
		// which the encoding never leaves there.
		read("form", fuzzRequest(http.MethodPost, "", "application/x-www-form-urlencoded", []byte(form)))
		if utf8.ValidString(name) && utf8.ValidString(value) {
			js, err := json.Marshal(map[string]string{name: value})
			if err != nil {
				t.Fatal(err)
			}
			read("json", fuzzRequest(http.MethodPut, "", "application/json", js))
		}
		// Multipart field names travel in a header line: a name with a
		// control character cannot be sent at all.
		if strings.IndexFunc(name, func(r rune) bool { return r < 0x20 || r == 0x7f }) < 0 && utf8.ValidString(name) {
			var buf bytes.Buffer
			mw := multipart.NewWriter(&buf)
			if err := mw.WriteField(name, value); err != nil {
				t.Fatal(err)
			}
			if err := mw.Close(); err != nil {
				t.Fatal(err)
			}
			read("multipart", fuzzRequest(http.MethodPost, "", mw.FormDataContentType(), buf.Bytes()))
		}
	})
}

// FuzzPagination checks page and per_page as GitLab reads them, and the
// pagination headers written from them: a Link header never carries the
// caller's token, and its pages stay within 1..X-Total-Pages.
func FuzzPagination(f *testing.F) {
	for _, s := range []struct {
		query string
		total int
	}{
		{"page=2&per_page=20", 45}, {"page=0", 1}, {"per_page=1000", 250}, {"page=-1&per_page=abc", 0},
		{"page=99999999999999999999", 3}, {"page= 3 &per_page=+7", 100}, {"private_token=glpat-abcdefghijklmnopqrstuv&page=2", 100},
		{"access_token=secret-token-value-1234&per_page=1", 2}, {"page=1&page=3", 60}, {"per_page=2&search=%zz", 7},
	} {
		f.Add(s.query, s.total)
	}
	f.Fuzz(func(t *testing.T, query string, total int) {
		total = int(uint(total) % (1 << 40))
		r := fuzzRequest(http.MethodGet, "?"+query, "", nil)
		ps, err := parseParams(r)
		if err != nil {
			if !isClientError(err) {
				t.Fatalf("parseParams(%q): %v", query, err)
			}
			return
		}
		w := httptest.NewRecorder()
		c := &call{h: New(Config{}), w: w, r: r, params: ps}
		pg, err := c.pagination()
		want, wantErr := referencePage(ps)
		if (err != nil) != wantErr || err == nil && pg != want {
			t.Fatalf("pagination(%q) = %+v, %v; want %+v (error %v)", query, pg, err, want, wantErr)
		}
		if err != nil {
			return
		}
		c.paginate(pg, total)
		h := w.Header()
		pages, _ := strconv.Atoi(h.Get("X-Total-Pages"))
		if pages < 1 || h.Get("X-Per-Page") != strconv.Itoa(pg.PerPage) || h.Get("X-Total") != strconv.Itoa(total) {
			t.Fatalf("headers %v for %+v of %d", h, pg, total)
		}
		for _, link := range strings.Split(h.Get("Link"), ", ") {
			target, _, ok := strings.Cut(strings.TrimPrefix(link, "<"), ">; rel=")
			if !ok {
				t.Fatalf("Link part %q", link)
			}
			u, err := url.Parse(target)
			if err != nil {
				t.Fatalf("Link %q: %v", target, err)
			}
			q := u.Query()
			for _, secret := range []string{"private_token", "access_token"} {
				if q.Has(secret) {
					t.Fatalf("Link %q carries the %s", target, secret)
				}
			}
			n, err := strconv.Atoi(q.Get("page"))
			if err != nil || n < 1 || n > pages || q.Get("per_page") != strconv.Itoa(pg.PerPage) {
				t.Fatalf("Link %q outside 1..%d", target, pages)
			}
		}
	})
}

// referencePage is GitLab's rule for page and per_page, written apart
// from the code under test.
func referencePage(ps *params) (page, bool) {
	pg := page{Page: 1, PerPage: DefaultPerPage}
	for _, name := range []string{"page", "per_page"} {
		s, ok, err := ps.str(name)
		if err != nil {
			return pg, true
		}
		if !ok {
			continue
		}
		n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
		if err != nil || n < 1 {
			return pg, true
		}
		if name == "page" {
			pg.Page = int(min(n, 1<<30))
		} else {
			pg.PerPage = int(min(n, MaxPerPage))
		}
	}
	return pg, false
}

// FuzzAPICredential checks where the API finds a token (PRIVATE-TOKEN,
// then Authorization: Bearer, then private_token or access_token in the
// query): any header is either a Bearer token or ignored, and a token
// sent each of these ways is found as sent (headers without surrounding
// spaces).
func FuzzAPICredential(f *testing.F) {
	for _, s := range [][2]string{
		{"Bearer glpat-abcdefghijklmnopqrstuv", "glpat-abcdefghijklmnopqrstuv"}, {"bearer  x ", " spaced "}, {"Bearer", ""},
		{"Basic YTpi", "tok"}, {"BEARER\ttab", "a+b&c=d"}, {"Token abc", "ü"}, {"", "glpat-xxxxxxxxxxxxxxxxxxxx"},
	} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, authorization, tok string) {
		r := httptest.NewRequest(http.MethodGet, "http://gitgate.example/api/v4/user", nil)
		r.Header.Set("Authorization", authorization)
		got, ok := credential(r)
		scheme, rest, hasRest := strings.Cut(authorization, " ")
		if isBearer := hasRest && strings.EqualFold(scheme, "Bearer"); ok != isBearer || ok && got != strings.TrimSpace(rest) {
			t.Fatalf("Authorization %q gave %q, %v", authorization, got, ok)
		}

		r = httptest.NewRequest(http.MethodGet, "http://gitgate.example/api/v4/user", nil)
		r.Header.Set("PRIVATE-TOKEN", tok)
		r.Header.Set("Authorization", "Bearer other-token-value")
		r.URL.RawQuery = url.Values{"private_token": {"query-token-value"}}.Encode()
		if got, ok := credential(r); tok != "" && (!ok || got != strings.TrimSpace(tok)) {
			t.Fatalf("PRIVATE-TOKEN %q read as %q, %v", tok, got, ok)
		} else if tok == "" && (!ok || got != "other-token-value") {
			t.Fatalf("an empty PRIVATE-TOKEN hid the Bearer token: %q %v", got, ok)
		}
		if strings.TrimSpace(tok) != "" {
			r = httptest.NewRequest(http.MethodGet, "http://gitgate.example/api/v4/user", nil)
			r.Header.Set("Authorization", "Bearer "+tok)
			if got, ok := credential(r); !ok || got != strings.TrimSpace(tok) {
				t.Fatalf("Bearer %q read as %q, %v", tok, got, ok)
			}
		}
		for _, name := range []string{"private_token", "access_token"} {
			r = httptest.NewRequest(http.MethodGet, "http://gitgate.example/api/v4/user", nil)
			r.URL.RawQuery = url.Values{name: {tok}}.Encode()
			got, ok := credential(r)
			if ok != (tok != "") || got != tok {
				t.Fatalf("%s=%q read as %q, %v", name, tok, got, ok)
			}
		}
	})
}
