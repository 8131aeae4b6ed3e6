package auth_test

import (
	"context"
	"testing"

	"github.com/gitgate/gitgate/auth"
	"github.com/gitgate/gitgate/internal/testdb"
)

// BenchmarkAuthenticateToken measures token authentication as every door
// pays it: digest, one indexed lookup joined with the owner, state checks.
// No cache. Run: go test -bench AuthenticateToken ./auth/
func BenchmarkAuthenticateToken(b *testing.B) {
	for _, d := range testdb.Engines {
		b.Run(string(d), func(b *testing.B) {
			db := testdb.Open(b, d)
			svc := auth.New(db)
			defer svc.Close(context.Background())
			ctx := context.Background()
			u, err := svc.CreateUser(ctx, auth.NewUser{Username: "bench", Email: "bench@example.com"})
			if err != nil {
				b.Fatal(err)
			}
			// A realistic table: many tokens, one looked up.
			var secret string
			for i := 0; i < 1000; i++ {
				c, err := svc.CreateToken(ctx, auth.NewToken{UserID: u.ID, Name: "t", Scopes: []string{"api"}})
				if err != nil {
					b.Fatal(err)
				}
				secret = c.Secret
			}
			cred := auth.Credential{Kind: auth.CredToken, Secret: secret}
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if _, err := svc.Authenticate(ctx, cred); err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "auths/s")
		})
	}
}
