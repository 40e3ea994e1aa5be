// Package mapping turns one record into the network's own table row and
// the unified transaction row, with the programs a spec compiled.
package mapping

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/google/cel-go/common/types"
	"github.com/google/cel-go/common/types/ref"
	"github.com/google/cel-go/common/types/traits"
	"github.com/tidwall/gjson"

	"github.com/afflake/afflake/engine/decimal"
	"github.com/afflake/afflake/engine/expr"
	"github.com/afflake/afflake/engine/row"
	"github.com/afflake/afflake/engine/spec"
)

// Account is what the mapping knows of the account a record belongs to.
type Account struct {
	ID       string
	Currency string            // used when a record carries none
	Extra    map[string]string // other configured values, as account.<key>
}

// Error says which field of a record could not be mapped and why.
type Error struct {
	Field string // e.g. transaction.sale_amount or columns.click_date
	Err   error
}

func (e *Error) Error() string { return e.Field + ": " + e.Err.Error() }
func (e *Error) Unwrap() error { return e.Err }

// Mapper maps the records of one spec and account. It is not safe for
// concurrent use: each worker has its own; they share the programs.
type Mapper struct {
	sp      *spec.Spec
	account Account
	rec     *expr.Record
	// Rounded counts amounts that had more than six fractional digits.
	Rounded int64
}

// New returns a mapper for sp's records of one account.
func New(sp *spec.Spec, acct Account) *Mapper {
	am := map[string]any{"id": acct.ID, "currency": acct.Currency}
	if acct.Currency == "" {
		am["currency"] = nil
	}
	for k, v := range acct.Extra {
		am[k] = v
	}
	tables := map[string]any{}
	for name, t := range sp.Tables {
		tables[name] = t
	}
	vars := expr.Vars(map[string]any{"account": am, "tables": tables})
	return &Mapper{sp: sp, account: acct, rec: sp.Record.Tree().NewRecord(vars)}
}

// TableColumns returns the declared columns then the lineage columns.
func TableColumns(sp *spec.Spec) (names, kinds []string) {
	for _, c := range sp.Cols {
		names = append(names, c.Name)
		kinds = append(kinds, c.Type)
	}
	names = append(names, spec.Lineage...)
	kinds = append(kinds, "string", "json", "string", "string", "timestamp", "string")
	return names, kinds
}

// Lineage is what the engine knows of where a record came from.
type Lineage struct {
	RunID     string
	RawRef    string
	FetchedAt time.Time
}

// Map maps rec. table receives the network table's values in
// TableColumns order (it must have that length). An *Error says why a
// record was rejected.
func (m *Mapper) Map(rec gjson.Result, lin Lineage, u *row.Unified, table []any) error {
	if !rec.IsObject() {
		return &Error{Field: "record", Err: fmt.Errorf("a record must be a JSON object, got %s", kindOf(rec))}
	}
	m.rec.Reset(rec)
	sp := m.sp
	// Rounding is counted for the unified amounts only; the network
	// table's columns read the same numbers.
	rounded := m.Rounded
	for i, c := range sp.Cols {
		var v any
		var err error
		switch {
		case c.Prog != nil:
			v, err = m.evalColumn(c.Prog, c.Type)
		case c.Slot >= 0:
			v, err = m.fromJSON(m.rec.Field(c.Slot), c.Type)
		default:
			v, err = m.fromJSON(rec.Get(c.GJSON), c.Type)
		}
		if err != nil {
			return &Error{Field: "columns." + c.Name, Err: err}
		}
		table[i] = v
	}
	m.Rounded = rounded
	n := len(sp.Cols)
	table[n] = m.account.ID
	table[n+1] = rec.Raw
	table[n+2] = lin.RunID
	table[n+3] = lin.RawRef
	table[n+4] = lin.FetchedAt.UTC()
	table[n+5] = sp.Hash

	*u = row.Unified{}
	for _, f := range sp.Fields {
		if f.Prog == nil {
			if f.Required {
				return &Error{Field: "transaction." + f.Name, Err: fmt.Errorf("required but not mapped")}
			}
			continue
		}
		v, err := m.evalColumn(f.Prog, f.Kind)
		if err == nil {
			err = set(u, f.Field, v)
		}
		if err != nil {
			return &Error{Field: "transaction." + f.Name, Err: err}
		}
	}
	u.Network = sp.Name
	u.AccountID = m.account.ID
	u.FetchedAt = lin.FetchedAt.UTC().Truncate(time.Microsecond)
	u.RunID = lin.RunID
	u.RawRef = lin.RawRef
	u.SpecHash = sp.Hash
	u.RowHash = u.Hash()
	return nil
}

func kindOf(r gjson.Result) string {
	switch {
	case !r.Exists():
		return "nothing"
	case r.IsArray():
		return "an array"
	case r.Type == gjson.Null:
		return "null"
	}
	return r.Type.String()
}

func (m *Mapper) evalColumn(p *expr.Program, kind string) (any, error) {
	if path := p.Path(); path != nil {
		return m.fromJSON(m.rec.Field(p.Slot()), kind)
	}
	v, err := p.EvalRecord(m.rec)
	if err != nil {
		return nil, err
	}
	return m.fromCEL(v, kind)
}

// fromJSON converts a field read as is.
func (m *Mapper) fromJSON(r gjson.Result, kind string) (any, error) {
	if !r.Exists() || r.Type == gjson.Null {
		return nil, nil
	}
	if kind == "json" {
		return r.Raw, nil
	}
	if r.IsObject() || r.IsArray() {
		return nil, fmt.Errorf("want a %s, got %s %s", kind, kindOf(r), clip(r.Raw))
	}
	text, _ := expr.ScalarText(r)
	switch kind {
	case "string":
		return text, nil
	case "decimal":
		if r.Type == gjson.True || r.Type == gjson.False {
			return nil, fmt.Errorf("want a decimal, got %s", text)
		}
		if r.Type == gjson.String && strings.TrimSpace(text) == "" {
			return nil, nil
		}
		return m.decimal(text)
	case "int":
		n, err := strconv.ParseInt(strings.TrimSpace(text), 10, 64)
		if err != nil {
			return nil, fmt.Errorf("want an integer, got %q", text)
		}
		return n, nil
	case "bool":
		switch text {
		case "true":
			return true, nil
		case "false":
			return false, nil
		}
		return nil, fmt.Errorf("want true or false, got %q", text)
	case "timestamp":
		if r.Type == gjson.Number {
			return m.fromCEL(expr.FromJSON(r), "timestamp")
		}
		if strings.TrimSpace(text) == "" {
			return nil, nil
		}
		t, err := expr.ParseTime(text, "", m.sp.Zone)
		if err != nil {
			return nil, err
		}
		return t.UTC().Truncate(time.Microsecond), nil
	case "map":
		return nil, fmt.Errorf("want a map, got %s", clip(r.Raw))
	}
	return nil, fmt.Errorf("unknown column type %q", kind)
}

func (m *Mapper) decimal(text string) (decimal.Decimal, error) {
	d, rounded, err := decimal.Parse(text, '.')
	if err != nil {
		return d, fmt.Errorf("%q: %w", text, err)
	}
	if rounded {
		m.Rounded++
	}
	return d, nil
}

// fromCEL converts an expression's value to a column's Go value.
func (m *Mapper) fromCEL(v ref.Val, kind string) (any, error) {
	switch x := v.(type) {
	case types.Null:
		return nil, nil
	case *types.Optional:
		if !x.HasValue() {
			return nil, nil
		}
		return m.fromCEL(x.GetValue(), kind)
	}
	switch kind {
	case "string":
		switch x := v.(type) {
		case types.String:
			return string(x), nil
		case types.Int, types.Uint, expr.Number:
			s, _ := v.ConvertToType(types.StringType).(types.String)
			return string(s), nil
		}
	case "decimal":
		switch x := v.(type) {
		case expr.Dec:
			if x.Rounded {
				m.Rounded++
			}
			return x.D, nil
		case types.Int:
			d, err := decimal.FromInt(int64(x))
			return d, err
		case expr.Number:
			return m.decimal(string(x))
		case types.String:
			if strings.TrimSpace(string(x)) == "" {
				return nil, nil
			}
			return m.decimal(string(x))
		}
	case "timestamp":
		switch x := v.(type) {
		case types.Timestamp:
			return x.Time.UTC().Truncate(time.Microsecond), nil
		case types.String:
			if strings.TrimSpace(string(x)) == "" {
				return nil, nil
			}
			t, err := time.Parse(time.RFC3339Nano, string(x))
			if err != nil {
				return nil, fmt.Errorf("want a timestamp: use ts() to read %q", string(x))
			}
			return t.UTC().Truncate(time.Microsecond), nil
		}
	case "int":
		switch x := v.(type) {
		case types.Int:
			return int64(x), nil
		case expr.Number:
			i := x.ConvertToType(types.IntType)
			if n, ok := i.(types.Int); ok {
				return int64(n), nil
			}
		}
	case "bool":
		if b, ok := v.(types.Bool); ok {
			return bool(b), nil
		}
	case "map":
		if mp, ok := v.(traits.Mapper); ok {
			out := map[string]string{}
			it := mp.Iterator()
			for it.HasNext() == types.True {
				k := it.Next()
				val := mp.Get(k)
				if _, isNull := val.(types.Null); isNull {
					continue
				}
				ks, err1 := m.fromCEL(k, "string")
				vs, err2 := m.fromCEL(val, "string")
				if err1 != nil || err2 != nil || ks == nil || vs == nil {
					return nil, fmt.Errorf("want a map of strings, got %s values", val.Type().TypeName())
				}
				out[ks.(string)] = vs.(string)
			}
			return out, nil
		}
	case "json":
		b, err := json.Marshal(native(v))
		if err != nil {
			return nil, err
		}
		return string(b), nil
	}
	return nil, fmt.Errorf("want a %s, got %s %s", kind, v.Type().TypeName(), clip(fmt.Sprint(v.Value())))
}

// native converts a CEL value to plain Go values for JSON.
func native(v ref.Val) any {
	switch x := v.(type) {
	case traits.Mapper:
		out := map[string]any{}
		it := x.Iterator()
		for it.HasNext() == types.True {
			k := it.Next()
			out[fmt.Sprint(k.Value())] = native(x.Get(k))
		}
		return out
	case traits.Lister:
		var out []any
		it := x.Iterator()
		for it.HasNext() == types.True {
			out = append(out, native(it.Next()))
		}
		return out
	case expr.Number:
		return json.Number(x)
	case expr.Dec:
		return json.Number(x.D.Compact())
	case types.Timestamp:
		return x.Time.UTC().Format(time.RFC3339Nano)
	case types.Null:
		return nil
	}
	return v.Value()
}

func clip(s string) string {
	if len(s) > 60 {
		return s[:57] + "..."
	}
	return s
}

var (
	currencyRe = regexp.MustCompile(`^[A-Z]{3}$`)
	countryRe  = regexp.MustCompile(`^[A-Z]{2}$`)
)

// set stores a converted value in the unified row and checks the
// contract's value rules.
func set(u *row.Unified, f row.Field, v any) error {
	if v == nil {
		if f.Required {
			return fmt.Errorf("required, got null")
		}
		return nil
	}
	str := func() *string { s := v.(string); return &s }
	tm := func() *time.Time { t := v.(time.Time); return &t }
	switch f.Name {
	case "transaction_id":
		if v.(string) == "" {
			return fmt.Errorf("required, got an empty string")
		}
		u.TransactionID = v.(string)
	case "parent_transaction_id":
		u.ParentTransactionID = str()
	case "order_ref":
		u.OrderRef = str()
	case "advertiser_id":
		u.AdvertiserID = str()
	case "advertiser_name":
		u.AdvertiserName = str()
	case "click_ref":
		u.ClickRef = str()
	case "click_refs":
		u.ClickRefs = v.(map[string]string)
	case "click_at":
		u.ClickAt = tm()
	case "transaction_at":
		u.TransactionAt = v.(time.Time)
	case "updated_at":
		u.UpdatedAt = tm()
	case "validated_at":
		u.ValidatedAt = tm()
	case "paid_at":
		u.PaidAt = tm()
	case "status":
		s := v.(string)
		if !row.ValidStatus(s) {
			return fmt.Errorf("%q is not one of %s", s, strings.Join(row.Statuses, ", "))
		}
		u.Status = s
	case "status_raw":
		u.StatusRaw = v.(string)
	case "sale_amount":
		u.SaleAmount = v.(decimal.Decimal).Unscaled
	case "commission_amount":
		u.CommissionAmount = v.(decimal.Decimal).Unscaled
	case "currency":
		s := v.(string)
		if !currencyRe.MatchString(s) {
			return fmt.Errorf("%q is not an ISO 4217 code", s)
		}
		u.Currency = s
	case "customer_type":
		s := v.(string)
		if s != "new" && s != "existing" {
			return fmt.Errorf("%q is not new or existing", s)
		}
		u.CustomerType = &s
	case "device":
		u.Device = str()
	case "country":
		s := v.(string)
		if !countryRe.MatchString(s) {
			return fmt.Errorf("%q is not an ISO 3166-1 alpha-2 code", s)
		}
		u.Country = &s
	case "voucher_code":
		u.VoucherCode = str()
	case "decline_reason":
		u.DeclineReason = str()
	default:
		return fmt.Errorf("no unified column %q", f.Name)
	}
	return nil
}
