package mapping

import (
	"errors"
	"math/big"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/tidwall/gjson"

	"github.com/afflake/afflake/engine/row"
	"github.com/afflake/afflake/engine/spec"
)

func loadTestSpec(t *testing.T) *spec.Spec {
	t.Helper()
	set, errs := spec.Load(filepath.Join("testdata", "specs"))
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	return set.Specs["exact"]
}

func mapOne(t *testing.T, sp *spec.Spec, m *Mapper, rec string) (row.Unified, []any, error) {
	t.Helper()
	names := TableColumns(sp)
	vals := make([]any, len(names))
	var u row.Unified
	err := m.Map(gjson.Parse(rec), testLineage, &u, vals)
	return u, vals, err
}

func TestExactness(t *testing.T) {
	sp := loadTestSpec(t)
	m := New(sp, Account{ID: "a1", Currency: "EUR"})
	tests := []struct {
		rec        string
		id         string
		sale, comm string
		at         string
		rounded    int64
	}{
		{`{"id": 900000003, "amount": "12,50", "commission": 19.99, "at": "2026-07-01 12:00:00"}`, "900000003", "12.500000", "19.990000", "2026-07-01T10:00:00Z", 0},
		{`{"id": "x-1", "amount": "1.234,5", "commission": 248.71766639999998, "at": "2026-01-15T08:30:00"}`, "x-1", "1234.500000", "248.717666", "2026-01-15T07:30:00Z", 1},
		{`{"id": 12345678901234567890, "amount": "0,1", "commission": "0.1", "at": "2026-03-29T02:30:00+00:00"}`, "12345678901234567890", "0.100000", "0.100000", "2026-03-29T02:30:00Z", 0},
	}
	var rounded int64
	for _, tt := range tests {
		u, vals, err := mapOne(t, sp, m, tt.rec)
		if err != nil {
			t.Fatalf("%s: %v", tt.rec, err)
		}
		rounded += tt.rounded
		got := []string{u.TransactionID, u.Sale().String(), u.Commission().String(), u.TransactionAt.Format(time.RFC3339)}
		want := []string{tt.id, tt.sale, tt.comm, tt.at}
		if strings.Join(got, " ") != strings.Join(want, " ") {
			t.Errorf("%s: got %v, want %v", tt.rec, got, want)
		}
		if vals[0] != tt.id {
			t.Errorf("table id = %v, want %s", vals[0], tt.id)
		}
		if u.Currency != "EUR" || u.AccountID != "a1" || u.Network != "exact" || u.RawRef != "f#0" || u.SpecHash != sp.Hash {
			t.Errorf("engine columns: %+v", u)
		}
		if u.RowHash != u.Hash() || len(u.RowHash) != 32 {
			t.Errorf("row hash %q", u.RowHash)
		}
	}
	if m.Rounded != rounded {
		t.Errorf("rounded = %d, want %d", m.Rounded, rounded)
	}
}

func TestRejections(t *testing.T) {
	sp := loadTestSpec(t)
	m := New(sp, Account{ID: "a1"})
	tests := []struct{ rec, want string }{
		{`{"id": 1, "amount": "abc", "commission": 1, "at": "2026-07-01"}`, `columns.amount: dec: "abc": not a decimal number`},
		{`{"id": 1, "amount": "1", "commission": 1e20, "at": "2026-07-01"}`, `transaction.commission_amount: dec: "1e20": out of decimal(18,6) range`},
		{`{"id": 1, "amount": "1", "commission": 1, "at": "2026-07-01", "currency": "EURO"}`, `transaction.currency: currency: "EURO" is not an ISO 4217 code`},
		{`{"id": 1, "amount": "1", "commission": 1, "at": "2026-07-01"}`, `transaction.currency: required, got null`},
		{`{"id": null, "amount": "1", "commission": 1, "at": "2026-07-01", "currency": "EUR"}`, `transaction.transaction_id: required, got null`},
		{`{"id": 1, "amount": "1", "commission": 1, "at": "01/07/2026", "currency": "EUR"}`, `columns.at: "01/07/2026" is not an ISO 8601 time`},
		{`[1, 2]`, `record: a record must be a JSON object, got an array`},
		{`42`, `record: a record must be a JSON object, got a number`},
		{`"x"`, `record: a record must be a JSON object, got a string`},
		{`{"id": 1, "amount": {"value": 1}, "commission": 1, "at": "2026-07-01", "currency": "EUR"}`, `columns.amount: dec: cannot make a decimal of an object`},
	}
	for _, tt := range tests {
		_, _, err := mapOne(t, sp, m, tt.rec)
		var me *Error
		if !errors.As(err, &me) {
			t.Fatalf("%s: err = %v, want a mapping error", tt.rec, err)
		}
		if err.Error() != tt.want {
			t.Errorf("%s:\n got %s\nwant %s", tt.rec, err, tt.want)
		}
	}
}

// TestFetchedAt maps one record at two fetch times: fetched_at reads each,
// though the record view holds the same record (no stale value), and
// Impact's early-approved action has a validation date only once its
// locking date has passed.
func TestFetchedAt(t *testing.T) {
	sp := loadSpec(t, "impact")
	m := New(sp, Account{ID: "IR1", Currency: "USD"})
	rec := gjson.Parse(`{"Id":"1","State":"APPROVED","Amount":"40.00","Payout":"4.00","Currency":"USD",
		"EventDate":"2026-10-20T09:12:00-07:00","LockingDate":"2026-12-20T00:00:00-08:00"}`)
	vals := make([]any, len(TableColumns(sp)))
	for _, tc := range []struct {
		fetched time.Time
		want    string // validated_at, "" for null
	}{
		{time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC), ""},
		{time.Date(2027, 1, 5, 0, 0, 0, 0, time.UTC), "2026-12-20T08:00:00Z"},
		{time.Date(2026, 12, 20, 7, 59, 59, 0, time.UTC), ""},
		{time.Date(2026, 12, 20, 8, 0, 0, 0, time.UTC), "2026-12-20T08:00:00Z"},
	} {
		var u row.Unified
		if err := m.Map(rec, Lineage{RunID: "r", RawRef: "x#0", FetchedAt: tc.fetched}, &u, vals); err != nil {
			t.Fatal(err)
		}
		got := ""
		if u.ValidatedAt != nil {
			got = u.ValidatedAt.Format(time.RFC3339)
		}
		if got != tc.want {
			t.Errorf("fetched %s: validated_at %q, want %q", tc.fetched.Format(time.RFC3339), got, tc.want)
		}
		if !u.FetchedAt.Equal(tc.fetched) {
			t.Errorf("fetched_at %s, want %s", u.FetchedAt, tc.fetched)
		}
	}
}

// TestFromJSONIntBool checks how a field read as it is fills an int or a
// bool column: integers however a serialiser wrote them, booleans as
// true/false in any case or 1/0, a blank string as null, and anything
// else an error.
func TestFromJSONIntBool(t *testing.T) {
	m := New(loadTestSpec(t), Account{ID: "a1"})
	tests := []struct {
		raw, kind string
		want      any // nil for null; an error's text as errPrefix+text
	}{
		{`12144`, "int", int64(12144)},
		{`"12144"`, "int", int64(12144)},
		{`12144.0`, "int", int64(12144)},
		{`1.2e4`, "int", int64(12000)},
		{`-7E+0`, "int", int64(-7)},
		{`9223372036854775807`, "int", int64(9223372036854775807)},
		{`" "`, "int", nil},
		{`12144.5`, "int", `want an integer, got "12144.5"`},
		{`9223372036854775808`, "int", `want an integer, got "9223372036854775808"`},
		{`"0x10"`, "int", `want an integer, got "0x10"`},
		{`"1/2"`, "int", `want an integer, got "1/2"`},
		{`true`, "int", `want an integer, got "true"`},
		{`1.5e1`, "int", int64(15)},
		{`-120e-1`, "int", int64(-12)},
		{`0.000e5`, "int", int64(0)},
		{`1e999999999`, "int", `want an integer, got "1e999999999"`},
		{`1e18`, "int", int64(1000000000000000000)},
		{`1e19`, "int", `want an integer, got "1e19"`},
		{`1.25e1`, "int", `want an integer, got "1.25e1"`},
		{`"1e"`, "int", `want an integer, got "1e"`},
		{`".5e1"`, "int", `want an integer, got ".5e1"`},
		{`"100e-+2"`, "int", `want an integer, got "100e-+2"`},
		{`true`, "bool", true},
		{`"False"`, "bool", false},
		{`1`, "bool", true},
		{`"0"`, "bool", false},
		{`""`, "bool", nil},
		{`2`, "bool", `want true or false, got "2"`},
		{`"yes"`, "bool", `want true or false, got "yes"`},
	}
	for _, tt := range tests {
		r := gjson.Parse(tt.raw)
		v, err := m.fromJSON(&r, tt.kind)
		switch want := tt.want.(type) {
		case string:
			if err == nil || err.Error() != want {
				t.Errorf("%s as %s: err %v, want %s", tt.raw, tt.kind, err, want)
			}
		default:
			if err != nil || v.any() != want {
				t.Errorf("%s as %s: %v (%v), want %v", tt.raw, tt.kind, v.any(), err, want)
			}
		}
	}
}

// jsonNumber is the grammar of a JSON number.
var jsonNumber = regexp.MustCompile(`^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]{1,4})?$`)

// FuzzParseInt checks parseInt against exact rational arithmetic: what it
// reads is the number's value, and a JSON number whose value is an int64
// is read.
func FuzzParseInt(f *testing.F) {
	for _, s := range []string{"12144", "12144.0", "1.2e4", "-7E+0", "1.25e1", "0.000e5", "1e19", "9223372036854775807", "-120e-1", "1e-0"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, ok := parseInt(s)
		if !jsonNumber.MatchString(s) {
			return
		}
		r, _ := new(big.Rat).SetString(s)
		want := r.IsInt() && r.Num().IsInt64()
		if ok != want || ok && n != r.Num().Int64() {
			t.Fatalf("parseInt(%q) = %d, %v; its value is %s", s, n, ok, r.RatString())
		}
	})
}
