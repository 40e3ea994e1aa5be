package expr

import (
	"slices"
	"testing"

	"github.com/google/cel-go/common/types"
	"github.com/tidwall/gjson"
)

// fastSrcs are shapes the fast evaluator takes: string concatenation,
// orderings, sub-id maps from a map literal, times with a layout, and
// presence tests.
var fastSrcs = []string{
	"str(r.v) + '/' + str(r.w)",
	"r.v + r.w",
	"dec(r.v) < dec(0) ? 'declined' : 'pending'",
	"dec(r.v) >= dec(r.w)",
	"r.v <= r.w",
	"r.v > 1",
	"strMap({'a': r.v, 'b': r.w})",
	"strMap({'a': r.v, 'b': 'fixed', 'c': r.v})",
	"ts(r.v, 'unix')",
	"ts(r.v, '2006-01-02 15:04:05', 'America/New_York')",
	"has(r.v.amount) ? r.v.amount : r.w",
	"country(r.v, null)",
	"r.v in ['a', 'pending', 1, true]",
	"r.v in ['a'] || r.w in []",
	"string(r.v) + string(r.w)",
}

// TestFastMatchesCEL evaluates fastSrcs over pairs of field values with
// the fast evaluator and with CEL alone: whenever the fast one gives a
// value, CEL gives the same one, and errors are left to CEL.
func TestFastMatchesCEL(t *testing.T) {
	progs, rec := scalarPrograms(t, fastSrcs)
	for _, p := range progs {
		if p.fast == nil {
			t.Errorf("%s: not planned for the fast evaluator", p.Source)
			continue
		}
		n := 0
		for _, v := range slices.Concat(scalarValues, objectValues) {
			for _, w := range scalarValues {
				rec.Reset(gjson.Parse(record(v, w)))
				got := p.fast(rec)
				if got == nil {
					continue
				}
				n++
				want, err := p.Eval(rec)
				switch {
				case err != nil:
					t.Errorf("%s over %s: fast %v, CEL error %v", p.Source, record(v, w), got, err)
				case types.IsError(got):
					t.Errorf("%s over %s: fast gave an error value %v", p.Source, record(v, w), got)
				case !sameVal(got, want) && !(got.Type() == want.Type() && got.Equal(want) == types.True):
					t.Errorf("%s over %s: fast %v (%T), CEL %v (%T)", p.Source, record(v, w), got, got, want, want)
				}
			}
		}
		if n == 0 {
			t.Errorf("%s: the fast evaluator never gave a value", p.Source)
		}
	}
}
