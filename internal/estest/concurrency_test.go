package estest

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
)

// Concurrent writers with overlapping ids, while faults change and tests
// read: every id is stored exactly once and the counters add up.
func TestConcurrentWriters(t *testing.T) {
	srv := New(t)
	const writers, requests, perRequest, ids = 4, 25, 20, 300
	var wg sync.WaitGroup
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for r := range requests {
				var b strings.Builder
				for i := range perRequest {
					id := (w*7 + r*perRequest + i) % ids
					b.WriteString(oneDoc("conc", fmt.Sprint(id)))
				}
				if st, _, err := post(context.Background(), srv.URL(), b.String()); err != nil || st != 200 {
					t.Errorf("writer %d: %d %v", w, st, err)
					return
				}
			}
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := range 50 {
			srv.SetFaults(Faults{Seed: uint64(i)})
			srv.Docs("conc")
			srv.Requests()
			call(t, "GET", srv.URL()+"/conc/_count", "")
		}
	}()
	wg.Wait()
	st := srv.Requests()
	if st.Created+st.Conflicts != st.Items || st.Items != writers*requests*perRequest {
		t.Errorf("created %d + conflicts %d != items %d", st.Created, st.Conflicts, st.Items)
	}
	if n := srv.Count("conc"); int64(n) != st.Created || n != ids {
		t.Errorf("stored %d, created %d, want %d distinct ids", n, st.Created, ids)
	}
}
