package api

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// Pagination defaults, as GitLab's.
const (
	DefaultPerPage = 20
	MaxPerPage     = 100
)

// page is one requested page.
type page struct {
	Page, PerPage int
}

func (p page) offset() int { return (p.Page - 1) * p.PerPage }

// pagination reads page and per_page as GitLab does: integers, page ≥ 1,
// per_page ≥ 1 (default 20), more than 100 is cut to 100.
func (c *call) pagination() (page, error) {
	pg := page{Page: 1, PerPage: DefaultPerPage}
	if n, ok, err := c.params.integer("page"); err != nil {
		return pg, err
	} else if ok {
		if n < 1 {
			return pg, invalidValue("page")
		}
		if n > 1<<30 {
			n = 1 << 30
		}
		pg.Page = int(n)
	}
	if n, ok, err := c.params.integer("per_page"); err != nil {
		return pg, err
	} else if ok {
		if n < 1 {
			return pg, invalidValue("per_page")
		}
		pg.PerPage = int(min(n, MaxPerPage))
	}
	return pg, nil
}

// paginate writes GitLab's offset pagination headers for a page of a
// list of total items.
func (c *call) paginate(pg page, total int) {
	totalPages := max((total+pg.PerPage-1)/pg.PerPage, 1)
	next, prev := "", ""
	if pg.Page < totalPages {
		next = strconv.Itoa(pg.Page + 1)
	}
	// Kaminari gives no previous page past the end (out of range).
	if pg.Page > 1 && pg.Page <= totalPages {
		prev = strconv.Itoa(pg.Page - 1)
	}
	h := c.w.Header()
	h.Set("X-Per-Page", strconv.Itoa(pg.PerPage))
	h.Set("X-Page", strconv.Itoa(pg.Page))
	h.Set("X-Next-Page", next)
	h.Set("X-Prev-Page", prev)
	h.Set("X-Total", strconv.Itoa(total))
	h.Set("X-Total-Pages", strconv.Itoa(totalPages))
	var links []string
	if prev != "" {
		links = append(links, `<`+c.pageURL(pg.Page-1, pg.PerPage)+`>; rel="prev"`)
	}
	if next != "" {
		links = append(links, `<`+c.pageURL(pg.Page+1, pg.PerPage)+`>; rel="next"`)
	}
	links = append(links, `<`+c.pageURL(1, pg.PerPage)+`>; rel="first"`)
	links = append(links, `<`+c.pageURL(totalPages, pg.PerPage)+`>; rel="last"`)
	h.Set("Link", strings.Join(links, ", "))
}

// pageURL is the request's URL with another page. The token is never
// copied into it: a Link header ends up in logs and proxies.
func (c *call) pageURL(n, perPage int) string {
	q := c.r.URL.Query()
	q.Del("private_token")
	q.Del("access_token")
	q.Set("page", strconv.Itoa(n))
	q.Set("per_page", strconv.Itoa(perPage))
	base := strings.TrimRight(c.links().BaseURL, "/")
	if base == "" {
		scheme := "http"
		if c.r.TLS != nil {
			scheme = "https"
		}
		base = scheme + "://" + c.r.Host
	}
	u := url.URL{RawQuery: q.Encode()}
	return base + c.r.URL.EscapedPath() + u.String()
}

// writeList answers a paginated list.
func writeList[T any](c *call, pg page, total int, items []T) error {
	if items == nil {
		items = []T{}
	}
	c.paginate(pg, total)
	writeJSON(c.w, http.StatusOK, items)
	return nil
}

// pageOf cuts one page out of a list held in memory.
func pageOf[T any](all []T, pg page) []T {
	start := pg.offset()
	if start >= len(all) {
		return nil
	}
	return all[start:min(start+pg.PerPage, len(all))]
}
