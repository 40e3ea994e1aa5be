package transform

import (
	"bytes"
	"context"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/afflake/afflake/cmd/afflake-bench/awinpages"
	"github.com/afflake/afflake/engine/lake"
	"github.com/afflake/afflake/engine/mapping"
	"github.com/afflake/afflake/engine/spec"
	"github.com/afflake/afflake/engine/storage"
)

// BenchmarkTransformAwin runs the whole transform of Awin-shaped pages in
// memory into a local lake; an op is one record. Besides records/s it
// reports the process's CPU time per record (user + system, all
// goroutines), which is what a machine's cores bound: at 2 cores,
// records/s can at best reach 2/cpu-s-per-record.
func BenchmarkTransformAwin(b *testing.B) {
	set, errs := spec.Load(filepath.Join("..", "..", "specs"))
	if len(errs) > 0 {
		b.Fatal(errs)
	}
	sp := set.Specs["awin"]
	const perPage = 2000
	g := awinpages.New(1)
	pages := make([][]byte, 20)
	for i := range pages {
		pages[i] = g.Page(perPage)
	}
	store, err := storage.Local(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	cpu0 := cpuTime()
	start := time.Now()
	sink := lake.NewSink(store, "awin", "bench", start, mapping.TableColumns(sp), lake.Options{})
	var inputs []Input
	for n := 0; n < b.N; n += perPage {
		page := pages[len(inputs)%len(pages)]
		// A copy, as a body read from a file or the network is: new
		// memory, not in any cache.
		inputs = append(inputs, Input{Ref: "page", Read: func() ([]byte, error) { return bytes.Clone(page), nil }})
	}
	st, err := Run(context.Background(), Job{Spec: sp, Account: mapping.Account{ID: "189069"}, Sink: sink, RunID: "bench", FetchedAt: start}, inputs)
	if err == nil {
		err = sink.Close()
	}
	if err != nil {
		b.Fatal(err)
	}
	wall := time.Since(start)
	cpu := cpuTime() - cpu0
	b.StopTimer()
	if st.Rows != int64(len(inputs)*perPage) {
		b.Fatalf("%d rows written of %d records", st.Rows, len(inputs)*perPage)
	}
	b.ReportMetric(float64(st.Rows)/wall.Seconds(), "records/s")
	b.ReportMetric(cpu.Seconds()*1e6/float64(st.Rows), "cpu-µs/record")
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
