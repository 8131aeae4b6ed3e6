package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gitgate/gitgate/auth"
)

// params are a request's parameters from the query string and the body
// (JSON, form-encoded or multipart), merged as Grape merges them: the
// body wins. Unknown names are ignored, as GitLab ignores them.
type params struct {
	values map[string]param
}

// param is one parameter: raw JSON, or the strings of a form/query field.
type param struct {
	raw  json.RawMessage
	strs []string
}

func (p param) isJSON() bool { return p.raw != nil }

// errBadBody is what GitLab's JSON parser answers to a body that is not a
// JSON object.
var errBadBody = grapeError(http.StatusBadRequest, "message body does not match declared format")

func parseParams(r *http.Request) (*params, error) {
	ps := &params{values: map[string]param{}}
	if r.URL.RawQuery != "" {
		q, err := url.ParseQuery(r.URL.RawQuery)
		if err != nil {
			return nil, grapeError(http.StatusBadRequest, "query string is invalid")
		}
		ps.addForm(q)
	}
	switch r.Method {
	case http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete:
	default:
		return ps, nil
	}
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if ct == "multipart/form-data" {
		if err := r.ParseMultipartForm(MaxBodyBytes); err != nil {
			// Whatever the multipart reader refuses (a part header
			// without a colon, a missing boundary) is the client's
			// malformed body, a 400, unless it is only too large.
			if bodyErr(err) == errTooLarge {
				return nil, errTooLarge
			}
			return nil, errBadBody
		}
		ps.addForm(r.MultipartForm.Value)
		return ps, nil
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return nil, bodyErr(err)
	}
	trimmed := bytes.TrimSpace(body)
	if len(trimmed) == 0 {
		return ps, nil
	}
	isJSON := ct == "application/json" || strings.HasSuffix(ct, "+json") ||
		(ct != "application/x-www-form-urlencoded" && trimmed[0] == '{')
	if isJSON {
		var obj map[string]json.RawMessage
		dec := json.NewDecoder(bytes.NewReader(trimmed))
		dec.UseNumber()
		if err := dec.Decode(&obj); err != nil || obj == nil || dec.More() {
			return nil, errBadBody
		}
		for k, v := range obj {
			ps.values[strings.TrimSuffix(k, "[]")] = param{raw: v}
		}
		return ps, nil
	}
	form, err := url.ParseQuery(string(trimmed))
	if err != nil {
		return nil, errBadBody
	}
	ps.addForm(form)
	return ps, nil
}

func bodyErr(err error) error {
	var mb *http.MaxBytesError
	if errors.As(err, &mb) {
		return errTooLarge
	}
	if errors.Is(err, http.ErrNotMultipart) || strings.Contains(err.Error(), "multipart") {
		return errBadBody
	}
	return fmt.Errorf("read request body: %w", err)
}

func (ps *params) addForm(v url.Values) {
	for k, vs := range v {
		name := strings.TrimSuffix(k, "[]")
		cur := ps.values[name]
		if cur.isJSON() {
			cur = param{}
		}
		cur.strs = append(cur.strs, vs...)
		ps.values[name] = cur
	}
}

// has reports whether name was sent at all (null included).
func (ps *params) has(name string) bool {
	_, ok := ps.values[name]
	return ok
}

// isNull reports whether name was sent as JSON null.
func (ps *params) isNull(name string) bool {
	v, ok := ps.values[name]
	return ok && v.isJSON() && string(v.raw) == "null"
}

// str reads a string parameter; numbers and booleans are taken as their
// text, as Grape coerces them; arrays and objects are invalid. A JSON null
// counts as absent.
func (ps *params) str(name string) (string, bool, error) {
	v, ok := ps.values[name]
	if !ok {
		return "", false, nil
	}
	if !v.isJSON() {
		if len(v.strs) == 0 {
			return "", true, nil
		}
		return v.strs[len(v.strs)-1], true, nil
	}
	switch v.raw[0] {
	case 'n':
		return "", false, nil
	case '"':
		var s string
		if err := json.Unmarshal(v.raw, &s); err != nil {
			return "", false, invalidParam(name)
		}
		return s, true, nil
	case '[', '{':
		return "", false, invalidParam(name)
	}
	return string(v.raw), true, nil
}

// integer reads an integer parameter (JSON number or decimal string). A
// value beyond int64 is invalid.
func (ps *params) integer(name string) (int64, bool, error) {
	s, ok, err := ps.str(name)
	if err != nil || !ok {
		return 0, false, err
	}
	n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	if err != nil {
		return 0, false, invalidParam(name)
	}
	return n, true, nil
}

// id reads an id parameter: like integer, except that a number too large
// for int64 is an id that cannot exist (-1), so the lookup answers 404 as
// GitLab does.
func (ps *params) id(name string) (int64, bool, error) {
	s, ok, err := ps.str(name)
	if err != nil || !ok {
		return 0, false, err
	}
	id, isNum := parseID(strings.TrimSpace(s))
	if !isNum {
		return 0, false, invalidParam(name)
	}
	return id, true, nil
}

// boolean reads a Boolean as Grape does: true/false, 1/0, t/f, yes/no.
func (ps *params) boolean(name string) (bool, bool, error) {
	s, ok, err := ps.str(name)
	if err != nil || !ok {
		return false, false, err
	}
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "true", "1", "t", "yes", "y", "on":
		return true, true, nil
	case "false", "0", "f", "no", "n", "off":
		return false, true, nil
	}
	return false, false, invalidParam(name)
}

// flag reads an optional Boolean defaulting to false.
func (ps *params) flag(name string) (bool, error) {
	b, _, err := ps.boolean(name)
	return b, err
}

// date reads a Date (YYYY-MM-DD; a full timestamp is cut to its day).
func (ps *params) date(name string) (*time.Time, error) {
	s, ok, err := ps.str(name)
	if err != nil || !ok || strings.TrimSpace(s) == "" {
		return nil, err
	}
	s = strings.TrimSpace(s)
	if d, err := auth.ParseDate(s); err == nil {
		return &d, nil
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		d := auth.Today(t)
		return &d, nil
	}
	return nil, invalidParam(name)
}

// dateTime reads a DateTime (RFC 3339, or a date meaning its midnight UTC).
func (ps *params) dateTime(name string) (*time.Time, error) {
	s, ok, err := ps.str(name)
	if err != nil || !ok || strings.TrimSpace(s) == "" {
		return nil, err
	}
	s = strings.TrimSpace(s)
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02 15:04:05", auth.DateLayout} {
		if t, err := time.Parse(layout, s); err == nil {
			t = t.UTC()
			return &t, nil
		}
	}
	return nil, invalidParam(name)
}

// strList reads an array of strings: a JSON array, a comma-separated
// string (GitLab's CommaSeparatedToArray), or repeated form fields.
func (ps *params) strList(name string) ([]string, bool, error) {
	v, ok := ps.values[name]
	if !ok {
		return nil, false, nil
	}
	var items []string
	if v.isJSON() {
		switch v.raw[0] {
		case 'n':
			return nil, false, nil
		case '[':
			var raw []any
			if err := json.Unmarshal(v.raw, &raw); err != nil {
				return nil, false, invalidParam(name)
			}
			for _, x := range raw {
				s, isStr := x.(string)
				if !isStr {
					return nil, false, invalidParam(name)
				}
				items = append(items, s)
			}
		case '"':
			var s string
			if err := json.Unmarshal(v.raw, &s); err != nil {
				return nil, false, invalidParam(name)
			}
			items = []string{s}
		default:
			return nil, false, invalidParam(name)
		}
	} else {
		items = v.strs
	}
	var out []string
	for _, it := range items {
		for _, s := range strings.Split(it, ",") {
			if s = strings.TrimSpace(s); s != "" {
				out = append(out, s)
			}
		}
	}
	return out, true, nil
}
