package expr

import (
	"testing"
	"time"

	"github.com/google/cel-go/common/types"
	"github.com/google/cel-go/common/types/ref"
	"github.com/tidwall/gjson"
)

const sample = `{"id":900000003,"amount":{"amount":248.71766639999998,"currency":"eur"},
"sale":19.99,"comma":"12,50","date":"2026-10-05T14:22:11","status":"deleted",
"refs":{"clickRef":"abc","clickRef2":null,"clickRef3":""},"name":"Müller-Café","big":12345678901234567890}`

// recordPrograms compiles srcs, record programs in Europe/London, and
// returns them with a record view whose tables and account values are
// given.
func recordPrograms(tb testing.TB, srcs []string, tables, account map[string]any) ([]*Program, *Record) {
	tb.Helper()
	london, _ := time.LoadLocation("Europe/London")
	env, err := NewEnv(RecordScope, london)
	if err != nil {
		tb.Fatal(err)
	}
	ps := NewPrograms(env, london)
	var progs []*Program
	for _, src := range srcs {
		p, err := ps.Add(src)
		if err != nil {
			tb.Fatalf("%s: %v", src, err)
		}
		progs = append(progs, p)
	}
	if err := ps.Build(); err != nil {
		tb.Fatal(err)
	}
	return progs, ps.Tree().NewRecord(Vars(map[string]any{"tables": tables, "account": account}))
}

func evalAll(t *testing.T, exprs map[string]string) map[string]ref.Val {
	t.Helper()
	var names, srcs []string
	for name, src := range exprs {
		names, srcs = append(names, name), append(srcs, src)
	}
	tables := map[string]any{"status": map[string]string{"pending": "pending", "deleted": "declined"}}
	progs, rec := recordPrograms(t, srcs, tables, map[string]any{"id": "1", "currency": "GBP"})
	rec.Reset(gjson.Parse(sample))
	out := map[string]ref.Val{}
	for i, p := range progs {
		name := names[i]
		v, err := p.Eval(rec)
		if err != nil {
			out[name] = types.NewErr("%v", err)
			continue
		}
		out[name] = v
	}
	return out
}

func TestRecordExpressions(t *testing.T) {
	got := evalAll(t, map[string]string{
		"id":       "string(r.id)",
		"idstr":    "str(r.id)",
		"amount":   "dec(r.amount.amount)",
		"sale":     "dec(r.sale)",
		"comma":    "dec(r.comma, ',')",
		"sum":      "dec(r.sale) + dec('0.01')",
		"neg":      "-dec(r.sale) < dec(0)",
		"date":     "ts(r.date)",
		"status":   "lookup(tables.status, r.status)",
		"unknown":  "lookup(tables.status, 'nope', 'pending')",
		"cur":      "currency(r.amount.currency)",
		"missing":  "r.nothing.here",
		"refs":     "strMap(r.refs)",
		"name":     "r.name",
		"big":      "str(r.big)",
		"country":  "country('GBR')",
		"cmp":      "r.sale > 19.5",
		"acct":     "account.currency",
		"hasRefs":  "has(r.refs)",
		"fallback": "r['id'] == 900000003",
	})
	want := map[string]string{
		"id": "900000003", "idstr": "900000003", "amount": "248.717666", "sale": "19.990000",
		"comma": "12.500000", "sum": "20.000000", "neg": "true", "status": "declined",
		"unknown": "pending", "cur": "EUR", "name": "Müller-Café", "big": "12345678901234567890",
		"country": "GB", "cmp": "true", "acct": "GBP", "hasRefs": "true", "fallback": "true",
		"date": "2026-10-05 13:22:11 +0000 UTC",
	}
	for name, w := range want {
		v := got[name]
		var s string
		switch x := v.(type) {
		case Dec:
			s = x.D.String()
		case types.Timestamp:
			s = x.Time.String()
		default:
			s = toString(v)
		}
		if s != w {
			t.Errorf("%s = %s, want %s", name, s, w)
		}
	}
	if d := got["amount"].(Dec); !d.Rounded {
		t.Errorf("amount not flagged as rounded")
	}
	if d := got["sale"].(Dec); d.Rounded {
		t.Errorf("sale flagged as rounded")
	}
	if got["missing"] != types.NullValue {
		t.Errorf("missing = %v, want null", got["missing"])
	}
	m := got["refs"].Value().(map[string]string)
	if len(m) != 1 || m["clickRef"] != "abc" {
		t.Errorf("refs = %v", m)
	}
}

func toString(v ref.Val) string {
	if types.IsError(v) {
		return "error: " + v.(*types.Err).Error()
	}
	if s, ok := scalarString(v); ok {
		return s
	}
	return v.Type().TypeName()
}
