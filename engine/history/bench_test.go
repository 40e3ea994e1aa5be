package history

import (
	"context"
	"fmt"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/afflake/afflake/engine/row"
)

// BenchmarkCommit commits a run of 500,000 transactions into a lake that
// already knows them all (the hourly case: most rows unchanged, a few
// new states) and reports the rows/s and the peak heap, which the bucket
// design keeps to about one bucket's worth of index and rows.
func BenchmarkCommit(b *testing.B) {
	const n = 500_000
	st := newStore(b)
	ctx := context.Background()
	mk := func(status string, i int) row.Unified {
		u := tx(fmt.Sprintf("acct-%d", i%4), fmt.Sprintf("%09d", i), status, int64(i%5000)*10000)
		return u
	}
	write := func(runID string, mode Mode, status func(i int) string) CommitStats {
		sp, err := NewSpool(b.TempDir())
		if err != nil {
			b.Fatal(err)
		}
		defer sp.Remove()
		batch := make([]row.Unified, 0, 1024)
		for i := 0; i < n; i++ {
			batch = append(batch, mk(status(i), i))
			if len(batch) == cap(batch) {
				if err := sp.WriteUnified(batch); err != nil {
					b.Fatal(err)
				}
				batch = batch[:0]
			}
		}
		if err := sp.WriteUnified(batch); err != nil {
			b.Fatal(err)
		}
		cs, err := Open(st, "net").Commit(ctx, runID, t0, sp, mode)
		if err != nil {
			b.Fatal(err)
		}
		return cs
	}
	write("base", Latest, func(int) string { return "pending" })
	b.ResetTimer()
	var peak atomic.Uint64
	stop := make(chan struct{})
	go func() {
		var ms runtime.MemStats
		for {
			select {
			case <-stop:
				return
			case <-time.After(5 * time.Millisecond):
				runtime.ReadMemStats(&ms)
				if ms.HeapInuse > peak.Load() {
					peak.Store(ms.HeapInuse)
				}
			}
		}
	}()
	for k := 0; k < b.N; k++ {
		cs := write(fmt.Sprintf("r%d", k), Latest, func(i int) string {
			if i%50 == k%50 {
				return "approved"
			}
			return "pending"
		})
		if cs.Rows != n {
			b.Fatalf("%d rows committed", cs.Rows)
		}
	}
	close(stop)
	b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "rows/s")
	b.ReportMetric(float64(peak.Load())/(1<<20), "peak-heap-MiB")
}
