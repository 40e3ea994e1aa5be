package mapping

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/google/cel-go/common/types/ref"
	"github.com/tidwall/gjson"

	"github.com/afflake/afflake/engine/expr"
	"github.com/afflake/afflake/engine/extract"
	"github.com/afflake/afflake/engine/lake"
	"github.com/afflake/afflake/engine/row"
	"github.com/afflake/afflake/engine/spec"
)

// TestProgramsAgreeWithCEL evaluates every record program of every spec
// over every fixture record, and over variants of each with one field
// missing or of another type, both as mappings evaluate them and through
// the CEL interpreter alone: values and errors must be the same. Where
// typed evaluation gives a value, it must convert to the column value
// CEL's does.
func TestProgramsAgreeWithCEL(t *testing.T) {
	set, names := loadSpecs(t)
	checked, typedChecked := 0, 0
	for _, name := range names {
		sp := set.Specs[name]
		var progs []*expr.Program
		var kinds []string
		for _, c := range sp.Cols {
			if c.Prog != nil {
				progs, kinds = append(progs, c.Prog), append(kinds, c.Type)
			}
		}
		for _, f := range sp.Fields {
			if f.Prog != nil {
				progs, kinds = append(progs, f.Prog), append(kinds, f.Kind)
			}
		}
		m := New(sp, testAccount)
		for _, rec := range fixtureRecords(t, sp) {
			for _, variant := range variants(rec) {
				r := gjson.Parse(variant)
				if !r.IsObject() {
					continue
				}
				m.rec.Reset(r)
				for i, p := range progs {
					got, gerr := p.EvalRecord(m.rec)
					want, werr := p.Eval(m.rec)
					if !same(got, gerr, want, werr) {
						t.Errorf("%s: %s on %s:\n got %v (%v)\nwant %v (%v)", name, p.Source, variant, show(got), gerr, show(want), werr)
					}
					checked++
					s, ok := p.EvalScalar(m.rec)
					if !ok {
						continue
					}
					typed, ok := m.fromScalar(s, kinds[i])
					if !ok {
						continue
					}
					if werr != nil {
						t.Errorf("%s: %s on %s: typed %+v, CEL error %v", name, p.Source, variant, typed, werr)
						continue
					}
					if cel, err := m.fromCEL(want, kinds[i]); err != nil || !reflect.DeepEqual(typed, cel) {
						t.Errorf("%s: %s on %s: typed %+v, CEL %+v (%v)", name, p.Source, variant, typed, cel, err)
					}
					typedChecked++
				}
			}
		}
	}
	t.Logf("%d evaluations compared, %d of them typed", checked, typedChecked)
	if typedChecked < checked/3 {
		t.Errorf("only %d of %d evaluations were typed", typedChecked, checked)
	}
}

func show(v ref.Val) string {
	if v == nil {
		return "<nil>"
	}
	return fmt.Sprintf("%T %v", v, v.Value())
}

func same(got ref.Val, gerr error, want ref.Val, werr error) bool {
	if (gerr != nil) != (werr != nil) {
		return false
	}
	if gerr != nil {
		return gerr.Error() == werr.Error()
	}
	if reflect.TypeOf(got) != reflect.TypeOf(want) && fmt.Sprint(got.Type()) != fmt.Sprint(want.Type()) {
		return false
	}
	return fmt.Sprintf("%v", got.Value()) == fmt.Sprintf("%v", want.Value())
}

func fixtureRecords(t testing.TB, sp *spec.Spec) []string {
	dir := filepath.Join("..", "..", "testdata", sp.Name)
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		n := e.Name()
		if strings.Contains(n, "golden") || n == "account.json" || strings.HasSuffix(n, ".meta.json") {
			continue
		}
		body, err := os.ReadFile(filepath.Join(dir, n))
		if err != nil {
			t.Fatal(err)
		}
		doc, err := extract.Read(body, sp.Response)
		if err != nil {
			continue
		}
		arr, err := doc.Records()
		if err != nil {
			continue
		}
		arr.ForEach(func(_, r gjson.Result) bool {
			out = append(out, r.Raw)
			return true
		})
	}
	if len(out) == 0 {
		t.Logf("%s: no fixture records", sp.Name)
	}
	return out
}

// variants returns rec and, for each of its fields (nested ones too),
// rec with that field missing and with it replaced by other values.
func variants(rec string) []string {
	out := []string{rec}
	r := gjson.Parse(rec)
	if !r.IsObject() {
		return out
	}
	repl := []string{`null`, `""`, `" "`, `"x"`, `"true"`, `1`, `0`, `1.5`, `-2`, `true`, `false`, `{}`, `[]`, `{"a":"b","c":null}`, `"pending"`, `"NEW"`, `"GB"`, `"uk"`, `"2026-01-02T03:04:05"`, `"EUR"`}
	var walk func(obj gjson.Result, rebuild func(string) string)
	walk = func(obj gjson.Result, rebuild func(string) string) {
		obj.ForEach(func(k, v gjson.Result) bool {
			key := k.Str
			with := func(val string) string {
				var b strings.Builder
				b.WriteByte('{')
				first := true
				obj.ForEach(func(k2, v2 gjson.Result) bool {
					if k2.Str == key && val == "" {
						return true
					}
					if !first {
						b.WriteByte(',')
					}
					first = false
					b.WriteString(k2.Raw)
					b.WriteByte(':')
					if k2.Str == key {
						b.WriteString(val)
					} else {
						b.WriteString(v2.Raw)
					}
					return true
				})
				b.WriteByte('}')
				return rebuild(b.String())
			}
			out = append(out, with(""))
			for _, x := range repl {
				out = append(out, with(x))
			}
			if v.IsObject() {
				walk(v, func(s string) string { return with(s) })
			}
			return true
		})
	}
	walk(r, func(s string) string { return s })
	return out
}

// TestBatchMatchesMap maps every spec's fixture records both ways a
// record is mapped: into []any values (afflake test, Map) and into a
// typed table batch (a transform, MapBatch, which takes shortcuts of its
// own). The unified rows must be equal, and the network tables written
// from the two must be the same bytes.
func TestBatchMatchesMap(t *testing.T) {
	set, names := loadSpecs(t)
	compared := 0
	for _, name := range names {
		sp := set.Specs[name]
		cols := TableColumns(sp)
		byMap, byBatch := New(sp, testAccount), New(sp, testAccount)
		batch := lake.NewTableBatch(cols, 64)
		var rows [][]any
		for _, src := range fixtureRecords(t, sp) {
			_, vals, ok := mapBoth(t, name, byMap, byBatch, batch, src)
			if !ok {
				continue
			}
			rows = append(rows, vals)
			batch.Commit()
			compared++
		}
		var fromMap, fromBatch bytes.Buffer
		for _, w := range []struct {
			out   *bytes.Buffer
			write func(*lake.TableWriter) error
		}{
			{&fromMap, func(tw *lake.TableWriter) error { return tw.Write(rows) }},
			{&fromBatch, func(tw *lake.TableWriter) error { return tw.WriteBatch(batch) }},
		} {
			tw, err := lake.NewTableWriter(w.out, cols)
			if err == nil {
				err = w.write(tw)
			}
			if err == nil {
				err = tw.Close()
			}
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
		}
		if !bytes.Equal(fromMap.Bytes(), fromBatch.Bytes()) {
			t.Errorf("%s: the network tables written from Map and MapBatch differ (%d and %d bytes)", name, fromMap.Len(), fromBatch.Len())
		}
	}
	if compared < 100 {
		t.Errorf("%d records compared", compared)
	}
}

// FuzzMapMatchesBatch maps arbitrary records with every spec, seeded with
// the fixtures: Map and MapBatch never panic, fail alike, and give the
// same unified row, which the lake accepts unless the record is not valid
// UTF-8 (the lake's check then quarantines it).
func FuzzMapMatchesBatch(f *testing.F) {
	set, names := loadSpecs(f)
	for _, name := range names {
		for _, rec := range fixtureRecords(f, set.Specs[name]) {
			f.Add(rec)
		}
	}
	type mappers struct {
		byMap, byBatch *Mapper
		batch          *lake.TableBatch
	}
	all := make([]mappers, len(names))
	for i, name := range names {
		sp := set.Specs[name]
		all[i] = mappers{New(sp, testAccount), New(sp, testAccount), lake.NewTableBatch(TableColumns(sp), 1)}
	}
	f.Fuzz(func(t *testing.T, src string) {
		if !gjson.Valid(src) {
			return
		}
		for i, m := range all {
			um, _, ok := mapBoth(t, names[i], m.byMap, m.byBatch, m.batch, src)
			m.batch.Reset()
			if !ok {
				continue
			}
			if err := lake.ValidateUnified([]row.Unified{um}); err != nil && utf8.ValidString(src) {
				t.Fatalf("%s: %s: the lake refuses the row: %v", names[i], src, err)
			}
		}
	})
}

var (
	testAccount = Account{ID: "a1", Currency: "EUR", Extra: map[string]string{"site": "s1"}}
	testLineage = Lineage{RunID: "r1", RawRef: "f#0", FetchedAt: time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)}
)

// mapBoth maps the record src with byMap.Map and with byBatch.MapBatch
// (into the current row of batch) and fails t unless both refuse it
// alike or give the same unified row. ok is false when they refused it;
// else it returns the row and Map's network-table values.
func mapBoth(t *testing.T, name string, byMap, byBatch *Mapper, batch *lake.TableBatch, src string) (row.Unified, []any, bool) {
	t.Helper()
	rec := gjson.Parse(src)
	var um, ub row.Unified
	vals := make([]any, len(TableColumns(byMap.sp)))
	errMap := byMap.Map(rec, testLineage, &um, vals)
	errBatch := byBatch.MapBatch(rec, testLineage, &ub, batch, utf8.ValidString(src))
	if fmt.Sprint(errMap) != fmt.Sprint(errBatch) {
		t.Fatalf("%s: %s: Map %v, MapBatch %v", name, src, errMap, errBatch)
	}
	if errMap != nil {
		return um, nil, false
	}
	if !reflect.DeepEqual(um, ub) {
		t.Fatalf("%s: %s: unified rows differ:\nMap      %+v\nMapBatch %+v", name, src, um, ub)
	}
	return um, vals, true
}
