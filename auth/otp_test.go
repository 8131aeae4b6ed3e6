package auth_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/gitgate/gitgate/internal/testdb"
	"github.com/gitgate/gitgate/store"
)

// A recovery code works once even when several requests bring it at the
// same moment: spending it is a conditional update, not a read followed
// by a write.
func TestARecoveryCodeBroughtByConcurrentRequestsWorksOnce(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		ctx := context.Background()
		e, err := f.svc.EnableTOTP(ctx, f.user.ID, "")
		if err != nil {
			t.Fatal(err)
		}
		for round, code := range e.RecoveryCodes[:3] {
			// The requests that lose count as failed attempts; the
			// account lockout is not what this test is about.
			if _, err := f.svc.UnlockUser(ctx, f.user.ID); err != nil {
				t.Fatal(err)
			}
			var ok atomic.Int32
			var wg sync.WaitGroup
			start := make(chan struct{})
			for range 8 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					<-start
					if f.svc.VerifySecondFactor(ctx, f.user.ID, code) == nil {
						ok.Add(1)
					}
				}()
			}
			close(start)
			wg.Wait()
			if n := ok.Load(); n != 1 {
				t.Fatalf("round %d: the recovery code was accepted %d times", round, n)
			}
		}
		// The codes not brought are all still there.
		if _, err := f.svc.UnlockUser(ctx, f.user.ID); err != nil {
			t.Fatal(err)
		}
		for _, code := range e.RecoveryCodes[3:] {
			if err := f.svc.VerifySecondFactor(ctx, f.user.ID, code); err != nil {
				t.Fatalf("an unused recovery code was lost: %v", err)
			}
		}
	})
}
