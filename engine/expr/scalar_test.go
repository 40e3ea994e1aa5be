package expr

import (
	"testing"
	"time"

	"github.com/google/cel-go/common/types"
	"github.com/google/cel-go/common/types/ref"
	"github.com/tidwall/gjson"
)

// TestEvalScalarMatchesCEL evaluates every typed function chain over a
// range of field values both ways: whenever the typed evaluation gives a
// value, CEL gives the same one (and the typed one declines where CEL
// gives an error).
func TestEvalScalarMatchesCEL(t *testing.T) {
	london, _ := time.LoadLocation("Europe/London")
	env, err := NewEnv(RecordScope, london)
	if err != nil {
		t.Fatal(err)
	}
	srcs := []string{
		"dec(r.v)", "ts(r.v)", "str(r.v)", "nullIfEmpty(r.v)", "currency(r.v)", "country(r.v)",
		"lower(r.v)", "upper(r.v)", "trim(r.v)", "upper(nullIfEmpty(r.v))", "dec(nullIfEmpty(r.v))",
		"ts(nullIfEmpty(r.v))", "lower(str(r.v))", "country(lower(r.v))", "str(dec(r.v))",
		"lower(dec(r.v))", "currency(trim(r.v))", "dec(str(r.v))", "str(ts(r.v))", "nullIfEmpty(dec(r.v))",
	}
	values := []string{
		`null`, ``, `""`, `"  "`, `" x "`, `"abc"`, `"ÄBC"`, `"uk"`, `"UK"`, `"gbr"`, `"GB"`, `"de"`,
		`"xx"`, `"eur"`, `"EUR"`, `"usd "`, `"19.99"`, `"12,50"`, `"248.71766639999998"`, `"1e2"`,
		`"-0"`, `0`, `-0`, `19.99`, `1e2`, `1.5E+3`, `12345678901234567890`, `999999999999999`,
		`1700000000`, `1700000000.5`, `true`, `false`, `"2026-10-05T14:22:11"`,
		`"2026-10-05T14:22:11Z"`, `"2026-10-05 14:22:11"`, `"2026-10-05"`, `"2026-03-29T01:30:00"`,
		`"not a date"`, `"a\"b\\u00e9"`, `{"a":1}`, `[1]`,
	}
	ps := NewPrograms(env, london)
	var progs []*Program
	for _, src := range srcs {
		p, err := ps.Add(src)
		if err != nil {
			t.Fatalf("%s: %v", src, err)
		}
		if p.typed == nil {
			t.Fatalf("%s: no typed chain", src)
		}
		progs = append(progs, p)
	}
	if err := ps.Build(); err != nil {
		t.Fatal(err)
	}
	rec := ps.Tree().NewRecord(nil)
	typed, declined := 0, 0
	for _, val := range values {
		doc := `{"v":` + val + `}`
		if val == "" {
			doc = `{}`
		}
		for _, p := range progs {
			rec.Reset(gjson.Parse(doc))
			s, ok := p.EvalScalar(rec)
			want, err := p.Eval(rec)
			if !ok {
				declined++
				continue
			}
			typed++
			if err != nil {
				t.Errorf("%s over %s: typed %+v, CEL error %v", p.Source, doc, *s, err)
				continue
			}
			if got := s.val(); !sameVal(got, want) {
				t.Errorf("%s over %s: typed %v (%T), CEL %v (%T)", p.Source, doc, got, got, want, want)
			}
			// Read again from the record's cache.
			if again, ok := p.EvalScalar(rec); !ok || !sameVal(again.val(), want) {
				t.Errorf("%s over %s: cached %+v", p.Source, doc, *again)
			}
		}
	}
	if typed < len(srcs)*len(values)/2 || declined == 0 {
		t.Errorf("%d typed evaluations, %d declined: want most typed, some declined", typed, declined)
	}
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

// TestScalarPlanMatchesCEL is TestEvalScalarMatchesCEL for the other
// shapes typed evaluation covers (?:, ==, in, &&, ||, coalesce, when,
// lookup in a table, account values), over pairs of field values.
func TestScalarPlanMatchesCEL(t *testing.T) {
	london, _ := time.LoadLocation("Europe/London")
	env, err := NewEnv(RecordScope, london)
	if err != nil {
		t.Fatal(err)
	}
	srcs := []string{
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
	}
	values := []string{``, `null`, `""`, `"a"`, `"b"`, `"pending"`, `"A"`, `"x"`, `"eur"`, `true`, `false`, `1`, `1.5`,
		`"2026-10-05T14:22:11"`, `{"o":1}`}
	ps := NewPrograms(env, london)
	var progs []*Program
	planned := 0
	for _, src := range srcs {
		p, err := ps.Add(src)
		if err != nil {
			t.Fatalf("%s: %v", src, err)
		}
		if p.scalar != nil || p.typed != nil {
			planned++
		}
		progs = append(progs, p)
	}
	if planned < len(srcs)-2 {
		t.Fatalf("%d of %d expressions have a typed plan", planned, len(srcs))
	}
	if err := ps.Build(); err != nil {
		t.Fatal(err)
	}
	tables := map[string]any{
		"status": map[string]string{"a": "approved", "pending": "pending", "1": "one", "true": "yes"},
		"mixed":  map[string]any{"a": "approved", "b": 2},
	}
	account := map[string]any{"id": "42", "currency": "EUR", "none": nil}
	rec := ps.Tree().NewRecord(Vars(map[string]any{"tables": tables, "account": account}))
	typed, declined := 0, 0
	typedBy := map[*Program]int{}
	for _, v := range values {
		for _, w := range values {
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
			doc += "}"
			rec.Reset(gjson.Parse(doc))
			for _, p := range progs {
				s, ok := p.EvalScalar(rec)
				want, err := p.Eval(rec)
				if !ok {
					declined++
					continue
				}
				typed++
				typedBy[p]++
				if err != nil {
					t.Errorf("%s over %s: typed %+v, CEL error %v", p.Source, doc, *s, err)
				} else if got := s.val(); !sameVal(got, want) {
					t.Errorf("%s over %s: typed %v (%T), CEL %v (%T)", p.Source, doc, got, got, want, want)
				}
			}
		}
	}
	if typed < len(srcs)*len(values)*len(values)/3 || declined == 0 {
		t.Errorf("%d typed evaluations, %d declined: want a third typed, some declined", typed, declined)
	}
	// Left to CEL by design: a table with a value that is not a string,
	// and numbers compared.
	leftToCEL := map[string]bool{"lookup(tables.mixed, r.v, 'none')": true, "r.v == 1": true}
	for _, p := range progs {
		planned := p.scalar != nil || p.typed != nil
		switch {
		case leftToCEL[p.Source] && typedBy[p] > 0:
			t.Errorf("%s: typed %d times, want it left to CEL", p.Source, typedBy[p])
		case !leftToCEL[p.Source] && planned && typedBy[p] == 0:
			t.Errorf("%s: planned, never typed", p.Source)
		}
	}
}
