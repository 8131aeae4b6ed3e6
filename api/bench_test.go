package api_test

import (
	"io"
	"net/http"
	"testing"

	"github.com/gitgate/gitgate/internal/testenv"
	"github.com/gitgate/gitgate/store"
)

// BenchmarkGetUser measures an authenticated GET /api/v4/user through the
// whole stack: HTTP, token lookup, scope check, JSON.
func BenchmarkGetUser(b *testing.B) {
	for _, d := range []store.Dialect{store.SQLite, store.Postgres} {
		b.Run(string(d), func(b *testing.B) {
			f := newFixture(b, testenv.Options{Dialect: d})
			url := f.env.URL + "/api/v4/user"
			tr := &http.Transport{MaxIdleConnsPerHost: 64}
			client := &http.Client{Transport: tr}
			b.Cleanup(tr.CloseIdleConnections)
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					r, _ := http.NewRequest(http.MethodGet, url, nil)
					r.Header.Set("PRIVATE-TOKEN", f.aliceToken)
					resp, err := client.Do(r)
					if err != nil {
						b.Fatal(err)
					}
					_, _ = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if resp.StatusCode != http.StatusOK {
						b.Fatalf("status %d", resp.StatusCode)
					}
				}
			})
		})
	}
}
