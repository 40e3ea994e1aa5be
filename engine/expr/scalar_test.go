package expr

import (
	"slices"
	"testing"

	"github.com/google/cel-go/common/types"
	"github.com/google/cel-go/common/types/ref"
	"github.com/tidwall/gjson"
)

// chainSrcs are chains of one-argument functions over one field.
var chainSrcs = []string{
	"dec(r.v)", "ts(r.v)", "str(r.v)", "nullIfEmpty(r.v)", "currency(r.v)", "country(r.v)",
	"lower(r.v)", "upper(r.v)", "trim(r.v)", "upper(nullIfEmpty(r.v))", "dec(nullIfEmpty(r.v))",
	"ts(nullIfEmpty(r.v))", "lower(str(r.v))", "country(lower(r.v))", "str(dec(r.v))",
	"lower(dec(r.v))", "currency(trim(r.v))", "dec(str(r.v))", "str(ts(r.v))", "nullIfEmpty(dec(r.v))",
}

// planSrcs are the other shapes typed evaluation covers (?:, ==, in, &&,
// ||, coalesce, when, lookup in a table, account values), and two it
// leaves to CEL (leftToCEL).
var planSrcs = []string{
	"r.v == 'a' ? 'x' : lookup(tables.status, r.w)",
	"lookup(tables.status, r.v)",
	"lookup(tables.status, r.v, null)",
	"lookup(tables.status, lower(r.v), 'other')",
	"lookup(tables.mixed, r.v, 'none')",
	"currency(coalesce(r.v, r.w, account.currency))",
	"coalesce(r.v, r.w)",
	"coalesce(r.v, 'z', r.w)",
	"when(r.v == 'a', ts(r.w))",
	"when(r.v in ['a', 'b'], nullIfEmpty(r.w))",
	"r.v != null && r.v != 'x'",
	"!(r.v == true) || r.w == 'a'",
	"r.v == null ? dec(0) : dec(r.v)",
	"nullIfEmpty(r.v) == null ? dec(0) : dec(r.v)",
	"when(lookup(tables.status, r.v) == 'approved', nullIfEmpty(r.w))",
	"when(coalesce(r.v, r.w) in ['a', 'pending'], ts(r.w))",
	"r.v == r.w",
	"r.v == 1",
	"account.id",
	"account.none == null ? 'no' : 'yes'",
	"r.v in ['a']",
	"r.v == true ? 'paid' : lookup(tables.status, r.w)",
	"str(r.v) + '/' + str(r.w)",
	"has(r.v.amount) ? dec(r.v.amount) : dec(r.v)",
	"has(r.v.a) && r.w == 'a'",
}

// leftToCEL are expressions of planSrcs typed evaluation always leaves
// to CEL: a table with a value that is not a string, numbers compared,
// string concatenation.
var leftToCEL = map[string]bool{
	"lookup(tables.mixed, r.v, 'none')": true, "r.v == 1": true, "str(r.v) + '/' + str(r.w)": true,
}

// scalarValues are field values, as JSON ("" for a missing field).
var scalarValues = []string{
	``, `null`, `""`, `"  "`, `" x "`, `"a"`, `"b"`, `"abc"`, `"ÄBC"`, `"pending"`, `"A"`, `"x"`,
	`"uk"`, `"UK"`, `"gbr"`, `"GB"`, `"de"`, `"xx"`, `"eur"`, `"EUR"`, `"usd "`, `"19.99"`, `"12,50"`,
	`"248.71766639999998"`, `"1e2"`, `"-0"`, `0`, `-0`, `1`, `1.5`, `19.99`, `1e2`, `1.5E+3`,
	`12345678901234567890`, `999999999999999`, `1700000000`, `1700000000.5`, `true`, `false`,
	`"2026-10-05T14:22:11"`, `"2026-10-05T14:22:11Z"`, `"2026-10-05 14:22:11"`, `"2026-10-05"`,
	`"2026-03-29T01:30:00"`, `"not a date"`, `"a\"b\\u00e9"`, `{"a":1}`, `[1]`,
}

// objectValues are objects for has(): a field present as null, as a
// string, as a number, escaped, none.
var objectValues = []string{
	`{"amount":null}`, `{"amount":"1.50","currency":"EUR"}`, `{"amount":19.99}`, `{"am\u006fount":1}`, `{}`,
}

// scalarPrograms compiles srcs for a record view with spec tables and
// account values.
func scalarPrograms(tb testing.TB, srcs []string) ([]*Program, *Record) {
	tb.Helper()
	tables := map[string]any{
		"status": map[string]string{"a": "approved", "pending": "pending", "1": "one", "true": "yes"},
		"mixed":  map[string]any{"a": "approved", "b": 2},
	}
	account := map[string]any{"id": "42", "currency": "EUR", "none": nil}
	return recordPrograms(tb, srcs, tables, account)
}

// record is the JSON object with fields v and w ("" leaves one out).
func record(v, w string) string {
	doc := "{"
	if v != "" {
		doc += `"v":` + v
	}
	if w != "" {
		if v != "" {
			doc += ","
		}
		doc += `"w":` + w
	}
	return doc + "}"
}

// checkScalar evaluates p over doc both ways: when the typed evaluation
// gives a value, CEL gives the same one. It reports whether it did.
func checkScalar(tb testing.TB, p *Program, rec *Record, doc string) bool {
	tb.Helper()
	rec.Reset(gjson.Parse(doc))
	s, ok := p.EvalScalar(rec)
	if !ok {
		return false
	}
	got := s.val()
	want, err := p.Eval(rec)
	if err != nil {
		tb.Errorf("%s over %s: typed %v, CEL error %v", p.Source, doc, got, err)
	} else if !sameVal(got, want) {
		tb.Errorf("%s over %s: typed %v (%T), CEL %v (%T)", p.Source, doc, got, got, want, want)
	}
	// Read again, from the record view's cache.
	if again, ok := p.EvalScalar(rec); !ok || !sameVal(again.val(), got) {
		tb.Errorf("%s over %s: read again %v, %v", p.Source, doc, again, ok)
	}
	return true
}

// TestEvalScalarMatchesCEL evaluates every typed function chain over a
// range of field values both ways: whenever the typed evaluation gives a
// value, CEL gives the same one (and the typed one declines where CEL
// gives an error).
func TestEvalScalarMatchesCEL(t *testing.T) {
	progs, rec := scalarPrograms(t, chainSrcs)
	typed, declined := 0, 0
	for _, p := range progs {
		if p.scalar == nil {
			t.Fatalf("%s: no typed plan", p.Source)
		}
		for _, v := range scalarValues {
			if checkScalar(t, p, rec, record(v, "")) {
				typed++
			} else {
				declined++
			}
		}
	}
	if typed < len(chainSrcs)*len(scalarValues)/2 || declined == 0 {
		t.Errorf("%d typed evaluations, %d declined: want most typed, some declined", typed, declined)
	}
}

// TestScalarPlanMatchesCEL is TestEvalScalarMatchesCEL for the other
// shapes, over pairs of field values.
func TestScalarPlanMatchesCEL(t *testing.T) {
	progs, rec := scalarPrograms(t, planSrcs)
	typed, declined := 0, 0
	for _, p := range progs {
		n := 0
		for _, v := range slices.Concat(scalarValues, objectValues) {
			for _, w := range scalarValues {
				if checkScalar(t, p, rec, record(v, w)) {
					n++
				} else {
					declined++
				}
			}
		}
		typed += n
		switch {
		case leftToCEL[p.Source] && n > 0:
			t.Errorf("%s: typed %d times, want it left to CEL", p.Source, n)
		case !leftToCEL[p.Source] && n == 0:
			t.Errorf("%s: never typed", p.Source)
		}
	}
	if typed < len(planSrcs)*len(scalarValues)*len(scalarValues)/3 || declined == 0 {
		t.Errorf("%d typed evaluations, %d declined: want a third typed, some declined", typed, declined)
	}
}

// FuzzScalarMatchesCEL is the two tests above over any pair of JSON
// values: typed evaluation and CEL never disagree.
func FuzzScalarMatchesCEL(f *testing.F) {
	for i, v := range scalarValues {
		f.Add(v, scalarValues[(i*7)%len(scalarValues)])
	}
	progs, rec := scalarPrograms(f, append(append([]string(nil), chainSrcs...), planSrcs...))
	f.Fuzz(func(t *testing.T, v, w string) {
		doc := record(v, w)
		if !gjson.Valid(doc) || !gjson.Parse(doc).IsObject() {
			return
		}
		for _, p := range progs {
			checkScalar(t, p, rec, doc)
		}
	})
}

// val is the CEL value of s.
func (s *Scalar) val() ref.Val {
	switch s.Kind {
	case SString:
		return types.String(s.Str)
	case SNumber:
		return jsonNumber(s.Str)
	case SBool:
		return types.Bool(s.Bool)
	case SDec:
		return Dec{D: s.Dec, Rounded: s.Rounded}
	case STime:
		return types.Timestamp{Time: s.Time}
	}
	return types.NullValue
}

func sameVal(a, b ref.Val) bool {
	switch x := a.(type) {
	case Number:
		y, ok := b.(Number)
		return ok && x == y
	case Dec:
		y, ok := b.(Dec)
		return ok && x == y
	case types.Timestamp:
		y, ok := b.(types.Timestamp)
		return ok && x.Time.Equal(y.Time) && x.Time.Location() == y.Time.Location()
	}
	return a.Type() == b.Type() && a.Equal(b) == types.True
}
