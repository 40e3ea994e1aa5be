package mapping

import (
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/tidwall/gjson"

	"github.com/afflake/afflake/cmd/afflake-bench/awinpages"
	"github.com/afflake/afflake/engine/lake"
	"github.com/afflake/afflake/engine/row"
	"github.com/afflake/afflake/engine/spec"
)

// loadSpecs loads the project's specs and returns them with their names
// in order.
func loadSpecs(tb testing.TB) (*spec.Set, []string) {
	tb.Helper()
	set, errs := spec.Load(filepath.Join("..", "..", "specs"))
	if len(errs) > 0 {
		tb.Fatal(errs)
	}
	names := set.Names()
	sort.Strings(names)
	return set, names
}

func loadSpec(tb testing.TB, name string) *spec.Spec {
	tb.Helper()
	set, _ := loadSpecs(tb)
	sp, ok := set.Specs[name]
	if !ok {
		tb.Fatalf("no spec %s", name)
	}
	return sp
}

// mapInto maps rec into u and the current row of tb, commits the row and
// empties tb when full, as a transform fills its batches.
func mapInto(b *testing.B, m *Mapper, rec gjson.Result, lin Lineage, u *row.Unified, tb *lake.TableBatch) {
	if err := m.MapBatch(rec, lin, u, tb, true); err != nil {
		b.Fatal(err)
	}
	tb.Commit()
	if tb.Len() == 1024 {
		tb.Reset()
	}
}

func awinRecords(b *testing.B) []gjson.Result {
	body, err := os.ReadFile("../../testdata/awin/transactions.json")
	if err != nil {
		b.Fatal(err)
	}
	var recs []gjson.Result
	gjson.ParseBytes(body).ForEach(func(_, v gjson.Result) bool {
		recs = append(recs, v)
		return true
	})
	return recs[:5] // the records that map
}

// BenchmarkMapAwin maps the Awin fixture's records: the per-record hot
// path of a transform, without I/O or Parquet.
func BenchmarkMapAwin(b *testing.B) {
	sp := loadSpec(b, "awin")
	recs := awinRecords(b)
	m := New(sp, Account{ID: "189069", Currency: "GBP"})
	names := TableColumns(sp)
	vals := make([]any, len(names))
	lin := Lineage{RunID: "bench", RawRef: "bench#0", FetchedAt: time.Now()}
	var u row.Unified
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := m.Map(recs[i%len(recs)], lin, &u, vals); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
}

// BenchmarkMapAwinBatch is BenchmarkMapAwin into a typed table batch, as
// a transform maps.
func BenchmarkMapAwinBatch(b *testing.B) {
	sp := loadSpec(b, "awin")
	recs := awinRecords(b)
	m := New(sp, Account{ID: "189069", Currency: "GBP"})
	cols := TableColumns(sp)
	tb := lake.NewTableBatch(cols, 1024)
	lin := Lineage{RunID: "bench", RawRef: "bench#0", FetchedAt: time.Now()}
	var u row.Unified
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		mapInto(b, m, recs[i%len(recs)], lin, &u, tb)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
}

// BenchmarkMapAwinPage maps the records of a generated Awin page as a
// transform does: each record read in one pass as its end is found
// (Next), then mapped into a table batch and a unified row.
func BenchmarkMapAwinPage(b *testing.B) {
	sp := loadSpec(b, "awin")
	page := string(awinpages.New(1).Page(2000))
	arr := gjson.Parse(page)
	var starts []int
	arr.ForEach(func(_, v gjson.Result) bool {
		starts = append(starts, v.Index)
		return true
	})
	m := New(sp, Account{ID: "189069", Currency: "GBP"})
	tb := lake.NewTableBatch(TableColumns(sp), 1024)
	lin := Lineage{RunID: "bench", RawRef: "bench#0", FetchedAt: time.Now()}
	var u row.Unified
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		at := starts[i%len(starts)]
		rec, ok := m.Next(page[at:], at)
		if !ok {
			b.Fatalf("record at %d not read in one pass", at)
		}
		mapInto(b, m, rec, lin, &u, tb)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
}

// TestAwinPagesMap maps the benchmark's generated pages, with and without
// basket products: every record maps, and basket_products holds the
// products exactly when the page has them.
func TestAwinPagesMap(t *testing.T) {
	sp := loadSpec(t, "awin")
	cols := TableColumns(sp)
	basketCol := slices.IndexFunc(cols, func(c lake.Column) bool { return c.Name == "basket_products" })
	if basketCol < 0 {
		t.Fatal("the awin spec has no basket_products column")
	}
	for _, basket := range []bool{false, true} {
		g := awinpages.New(7)
		g.Basket = basket
		page := gjson.ParseBytes(g.Page(200))
		m := New(sp, Account{ID: "189069", Currency: "GBP"})
		ids := map[string]bool{}
		n := 0
		page.ForEach(func(_, rec gjson.Result) bool {
			var u row.Unified
			table := make([]any, len(cols))
			if err := m.Map(rec, Lineage{RunID: "r", RawRef: "p#0", FetchedAt: time.Now()}, &u, table); err != nil {
				t.Fatalf("basket %v: record %d: %v", basket, n, err)
			}
			ids[u.TransactionID] = true
			products, _ := table[basketCol].(string)
			if want := rec.Get("basketProducts").Raw; products != want || (basket && !strings.HasPrefix(want, `[{"productId":`)) {
				t.Fatalf("basket %v: record %d: basket_products %q, want %q", basket, n, products, want)
			}
			n++
			return true
		})
		if n != 200 || len(ids) != 200 {
			t.Errorf("basket %v: mapped %d records with %d distinct ids, want 200", basket, n, len(ids))
		}
	}
}
