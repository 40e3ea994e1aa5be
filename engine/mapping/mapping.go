// Package mapping turns one record into the network's own table row and
// the unified transaction row, with the programs a spec compiled.
package mapping

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/cel-go/common/types"
	"github.com/google/cel-go/common/types/ref"
	"github.com/google/cel-go/common/types/traits"
	"github.com/tidwall/gjson"

	"github.com/afflake/afflake/engine/decimal"
	"github.com/afflake/afflake/engine/expr"
	"github.com/afflake/afflake/engine/lake"
	"github.com/afflake/afflake/engine/row"
	"github.com/afflake/afflake/engine/spec"
)

// Account is what the mapping knows of the account a record belongs to.
type Account struct {
	ID       string
	Currency string            // used when a record carries none
	Extra    map[string]string // other configured values, as account.<key>
}

// AccountOf is the account with id and the configured values a raw
// body's meta keeps (currency, and the others as Extra).
func AccountOf(id string, config map[string]string) Account {
	a := Account{ID: id, Extra: map[string]string{}}
	for k, v := range config {
		switch k {
		case "id":
		case "currency":
			a.Currency = v
		default:
			a.Extra[k] = v
		}
	}
	return a
}

// Error says which field of a record could not be mapped and why.
type Error struct {
	Field string // e.g. transaction.sale_amount or columns.click_date
	Err   error
}

func (e *Error) Error() string { return e.Field + ": " + e.Err.Error() }
func (e *Error) Unwrap() error { return e.Err }

// WriteError is a lake.RowError of a mapped row (a string that is not
// UTF-8, a value beyond its column) as a mapping error, its column named
// as mapping errors name it: transaction.<field> in the unified row,
// columns.<name> for a spec's column of the network table, the engine's
// own columns (raw_record, …) by their names. Other errors are returned
// as they are.
func (m *Mapper) WriteError(err error, unified bool) error {
	var re *lake.RowError
	if err == nil || !errors.As(err, &re) {
		return err
	}
	field := re.Column
	switch {
	case unified:
		field = "transaction." + re.Column
	case slices.ContainsFunc(m.sp.Cols, func(c spec.Col) bool { return c.Name == re.Column }):
		field = "columns." + re.Column
	}
	err = re.Err
	if errors.Is(err, lake.ErrInvalidUTF8) {
		err = fmt.Errorf("%w (a body in another encoding needs response.charset)", err)
	}
	return &Error{Field: field, Err: err}
}

// Mapper maps the records of one spec and account. It is not safe for
// concurrent use: each worker has its own; they share the programs.
type Mapper struct {
	sp      *spec.Spec
	account Account
	rec     *expr.Record
	fields  []fieldID // per sp.Fields entry
	// Rounded counts amounts that had more than six fractional digits.
	Rounded int64

	// Slabs the optional columns of unified rows point into: one
	// allocation for many rows instead of one per value.
	strs  []string
	times []time.Time

	batOut batchRow
	// fetchedAt is the record view's fetched_at.
	fetchedAt time.Time
	// plainString marks the columns that copy a string field as is.
	plainString []bool
	// next is set by Next: the record view holds the record MapBatch
	// is given next.
	next bool
}

// New returns a mapper for sp's records of one account.
func New(sp *spec.Spec, acct Account) *Mapper {
	am := spec.AccountVars(acct.ID, acct.Currency, acct.Extra)
	tables := map[string]any{}
	for name, t := range sp.Tables {
		tables[name] = t
	}
	vars := expr.Vars(map[string]any{"account": am, "tables": tables})
	m := &Mapper{sp: sp, account: acct, rec: sp.Record.Tree().NewRecord(vars)}
	m.rec.SetFetchedAt(m.fetchedAt)
	m.fields = make([]fieldID, len(sp.Fields))
	for i, f := range sp.Fields {
		m.fields[i] = fieldByName[f.Name]
	}
	m.plainString = make([]bool, len(sp.Cols))
	for i, c := range sp.Cols {
		m.plainString[i] = c.Prog == nil && c.Slot >= 0 && c.Type == "string"
	}
	return m
}

// TableColumns returns the network table's columns: the declared ones,
// then the lineage columns.
func TableColumns(sp *spec.Spec) []lake.Column {
	cols := make([]lake.Column, 0, len(sp.Cols)+len(spec.Lineage))
	for _, c := range sp.Cols {
		cols = append(cols, lake.Column{Name: c.Name, Type: c.Type})
	}
	kinds := []string{"string", "json", "string", "string", "timestamp", "string"}
	for i, name := range spec.Lineage {
		cols = append(cols, lake.Column{Name: name, Type: kinds[i]})
	}
	return cols
}

// Lineage is what the engine knows of where a record came from.
type Lineage struct {
	RunID     string
	RawRef    string
	FetchedAt time.Time
}

// tableOut receives the network table's values of one record.
type tableOut interface {
	put(c int, v value)
}

type anyRow []any

func (a anyRow) put(c int, v value) { a[c] = v.any() }

type batchRow struct{ b *lake.TableBatch }

func (o batchRow) put(c int, v value) {
	b := o.b
	switch v.kind {
	case vNull:
		b.SetNull(c)
	case vString:
		b.SetString(c, v.s, v.valid)
	case vInt:
		b.SetInt(c, v.i)
	case vBool:
		b.SetBool(c, v.b)
	case vDecimal:
		b.SetDecimal(c, decimal.Decimal{Unscaled: v.i})
	case vTime:
		b.SetTime(c, v.t)
	default:
		b.Set(c, v.any())
	}
}

// Map maps rec. table receives the network table's values in
// TableColumns order (it must have that length). An *Error says why a
// record was rejected.
func (m *Mapper) Map(rec gjson.Result, lin Lineage, u *row.Unified, table []any) error {
	return m.mapRecord(rec, lin, u, anyRow(table), false)
}

// Next reads the record at the start of text, an element of a record
// array at index base of its document, when it is an object the mapper
// reads in one pass: it returns the record, as the array's ForEach gives
// it, and the mapping that follows does not read it again. ok is false
// when the caller must find the element itself.
func (m *Mapper) Next(text string, base int) (rec gjson.Result, ok bool) {
	rec, ok = m.rec.ResetNext(text, base)
	m.next = ok
	return rec, ok
}

// MapBatch maps rec into u and the current row of b, a batch of the
// TableColumns; the caller commits the row when the record is kept.
// valid says rec is part of a document known to be valid UTF-8, so that
// strings read from it as they are need no check.
func (m *Mapper) MapBatch(rec gjson.Result, lin Lineage, u *row.Unified, b *lake.TableBatch, valid bool) error {
	m.batOut.b = b
	err := m.mapRecord(rec, lin, u, m.batOut, valid)
	m.batOut.b = nil
	return err
}

func (m *Mapper) mapRecord(rec gjson.Result, lin Lineage, u *row.Unified, table tableOut, valid bool) error {
	if !rec.IsObject() {
		return &Error{Field: "record", Err: fmt.Errorf("a record must be a JSON object, got %s", expr.KindOf(rec))}
	}
	if !m.next || !m.rec.Holds(rec) {
		m.rec.Reset(rec)
	}
	m.next = false
	if !lin.FetchedAt.Equal(m.fetchedAt) {
		m.fetchedAt = lin.FetchedAt
		m.rec.SetFetchedAt(lin.FetchedAt)
	}
	sp := m.sp
	// Rounding is counted for the unified amounts only; the network
	// table's columns read the same numbers.
	rounded := m.Rounded
	batch, _ := table.(batchRow)
	for i, c := range sp.Cols {
		if batch.b != nil && m.plainString[i] {
			// The common case, as fromJSON and put do it: a string
			// field, or none.
			switch r := m.rec.Field(c.Slot); r.Type {
			case gjson.String:
				batch.b.SetString(i, r.Str, valid)
				continue
			case gjson.Null:
				batch.b.SetNull(i)
				continue
			}
		}
		var v value
		var err error
		switch {
		case c.Prog != nil:
			v, err = m.evalColumn(c.Prog, c.Type)
		case c.Slot >= 0:
			v, err = m.fromJSON(m.rec.Field(c.Slot), c.Type)
		default:
			// A path with modifiers may make new text.
			r := rec.Get(c.GJSON)
			v, err = m.fromJSON(&r, c.Type)
			v.valid = false
		}
		if err != nil {
			return &Error{Field: "columns." + c.Name, Err: err}
		}
		v.valid = v.valid && valid
		table.put(i, v)
	}
	m.Rounded = rounded
	n := len(sp.Cols)
	table.put(n, value{kind: vString, s: m.account.ID})
	table.put(n+1, value{kind: vString, s: rec.Raw, valid: valid})
	table.put(n+2, value{kind: vString, s: lin.RunID})
	table.put(n+3, value{kind: vString, s: lin.RawRef})
	table.put(n+4, value{kind: vTime, t: lin.FetchedAt.UTC()})
	table.put(n+5, value{kind: vString, s: sp.Hash})

	*u = row.Unified{}
	for i, f := range sp.Fields {
		if f.Prog == nil {
			if f.Required {
				return &Error{Field: "transaction." + f.Name, Err: fmt.Errorf("required but not mapped")}
			}
			continue
		}
		v, err := m.evalColumn(f.Prog, f.Kind)
		if err == nil {
			err = m.set(u, m.fields[i], f.Field, v)
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

// value is a converted column value, typed so that no value is boxed on
// its way to a batch.
type value struct {
	kind vkind
	b    bool
	// valid is set when s is text of the record as it is (a JSON string's
	// content or a value's JSON): valid UTF-8 when the record is.
	valid bool
	s     string
	i     int64 // int, decimal (unscaled)
	t     time.Time
	m     map[string]string
}

type vkind uint8

const (
	vNull vkind = iota
	vString
	vInt
	vBool
	vDecimal
	vTime
	vMap
)

func (v value) any() any {
	switch v.kind {
	case vString:
		return v.s
	case vInt:
		return v.i
	case vBool:
		return v.b
	case vDecimal:
		return decimal.Decimal{Unscaled: v.i}
	case vTime:
		return v.t
	case vMap:
		return v.m
	}
	return nil
}

func str(s string, valid bool) value    { return value{kind: vString, s: s, valid: valid} }
func dec(d decimal.Decimal) value       { return value{kind: vDecimal, i: d.Unscaled} }
func tsValue(t time.Time) value         { return value{kind: vTime, t: t} }
func intValue(n int64) value            { return value{kind: vInt, i: n} }
func boolValue(b bool) value            { return value{kind: vBool, b: b} }
func errValue(err error) (value, error) { return value{}, err }
func nullValue() (value, error)         { return value{}, nil }
func decValue(d decimal.Decimal, err error) (value, error) {
	if err != nil {
		return value{}, err
	}
	return dec(d), nil
}

func (m *Mapper) evalColumn(p *expr.Program, kind string) (value, error) {
	if path := p.Path(); path != nil {
		return m.fromJSON(m.rec.Field(p.Slot()), kind)
	}
	if s, ok := p.EvalScalar(m.rec); ok {
		if v, ok := m.fromScalar(s, kind); ok {
			return v, nil
		}
	}
	v, err := p.EvalRecord(m.rec)
	if err != nil {
		return value{}, err
	}
	return m.fromCEL(v, kind)
}

// fromJSON converts a field read as is.
func (m *Mapper) fromJSON(r *gjson.Result, kind string) (value, error) {
	if !r.Exists() || r.Type == gjson.Null {
		return nullValue()
	}
	if kind == "json" {
		return str(r.Raw, true), nil
	}
	if r.IsObject() || r.IsArray() {
		return errValue(fmt.Errorf("want a %s, got %s %s", kind, expr.KindOf(*r), clip(r.Raw)))
	}
	text, _ := expr.ScalarText(*r)
	switch kind {
	case "string":
		return str(text, true), nil
	case "decimal":
		if r.Type == gjson.True || r.Type == gjson.False {
			return errValue(fmt.Errorf("want a decimal, got %s", text))
		}
		if r.Type == gjson.String && strings.TrimSpace(text) == "" {
			return nullValue()
		}
		return decValue(m.decimal(text))
	case "int":
		if r.Type == gjson.Number {
			if n, err := strconv.ParseInt(text, 10, 64); err == nil {
				return intValue(n), nil
			}
		}
		t := strings.TrimSpace(text)
		if t == "" && r.Type == gjson.String {
			return nullValue()
		}
		n, ok := parseInt(t)
		if !ok {
			return errValue(fmt.Errorf("want an integer, got %q", text))
		}
		return intValue(n), nil
	case "bool":
		switch text {
		case "true":
			return boolValue(true), nil
		case "false":
			return boolValue(false), nil
		}
		switch t := strings.TrimSpace(text); {
		case strings.EqualFold(t, "true") || t == "1":
			return boolValue(true), nil
		case strings.EqualFold(t, "false") || t == "0":
			return boolValue(false), nil
		case t == "" && r.Type == gjson.String:
			return nullValue()
		}
		return errValue(fmt.Errorf("want true or false, got %q", text))
	case "timestamp":
		if r.Type == gjson.Number {
			return m.fromCEL(expr.FromJSON(*r), "timestamp")
		}
		if strings.TrimSpace(text) == "" {
			return nullValue()
		}
		t, err := expr.ParseTime(text, "", m.sp.Zone)
		if err != nil {
			if expr.NoTime(strings.TrimSpace(text)) {
				return nullValue()
			}
			return errValue(err)
		}
		return tsValue(t.UTC().Truncate(time.Microsecond)), nil
	case "map":
		return errValue(fmt.Errorf("want a map, got %s", clip(r.Raw)))
	}
	return errValue(fmt.Errorf("unknown column type %q", kind))
}

// parseInt reads an integer written as one ("12144") or as a JSON number
// whose value is one ("12144.0", "1.2e4", as some serialisers write
// integers); false for a fraction or a value beyond int64.
func parseInt(s string) (int64, bool) {
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		return n, true
	}
	mant, exp, ok := strings.Cut(strings.ToLower(s), "e")
	e := 0
	if ok {
		neg := false
		if exp != "" && (exp[0] == '-' || exp[0] == '+') {
			neg, exp = exp[0] == '-', exp[1:]
		}
		if exp == "" || !isDigits(exp) {
			return 0, false
		}
		if exp = strings.TrimLeft(exp, "0"); len(exp) > 6 {
			return 0, false // an exponent no int64 needs
		}
		e, _ = strconv.Atoi("0" + exp)
		if neg {
			e = -e
		}
	}
	sign := ""
	if mant != "" && (mant[0] == '-' || mant[0] == '+') {
		sign, mant = mant[:1], mant[1:]
	}
	whole, frac, _ := strings.Cut(mant, ".")
	digits := whole + frac
	if whole == "" || !isDigits(whole) || !isDigits(frac) {
		return 0, false
	}
	digits = strings.TrimLeft(digits, "0")
	e -= len(frac)
	if digits == "" {
		return 0, true // 0.0, 0e999
	}
	if e < 0 {
		// The digits dropped must be zeros.
		if -e > len(digits) || strings.TrimRight(digits[len(digits)+e:], "0") != "" {
			return 0, false
		}
		digits = digits[:len(digits)+e]
	} else if len(digits)+e > 19 {
		return 0, false
	} else {
		digits += strings.Repeat("0", e)
	}
	n, err := strconv.ParseInt(sign+digits, 10, 64)
	return n, err == nil
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
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

// fromScalar is fromCEL for the typed value of a function chain: ok is
// false for a value fromCEL is left to convert.
func (m *Mapper) fromScalar(s *expr.Scalar, kind string) (value, bool) {
	switch {
	case s.Kind == expr.SNull:
		return value{}, true
	case s.Kind == expr.SString && kind == "string":
		return str(s.Str, false), true
	case s.Kind == expr.SDec && kind == "decimal":
		if s.Rounded {
			m.Rounded++
		}
		return dec(s.Dec), true
	case s.Kind == expr.STime && kind == "timestamp":
		return tsValue(s.Time.UTC().Truncate(time.Microsecond)), true
	case s.Kind == expr.SBool && kind == "bool":
		return boolValue(s.Bool), true
	}
	return value{}, false
}

// fromCEL converts an expression's value to a column's Go value.
func (m *Mapper) fromCEL(v ref.Val, kind string) (value, error) {
	switch x := v.(type) {
	case types.Null:
		return nullValue()
	case *types.Optional:
		if !x.HasValue() {
			return nullValue()
		}
		return m.fromCEL(x.GetValue(), kind)
	}
	switch kind {
	case "string":
		switch x := v.(type) {
		case types.String:
			return str(string(x), false), nil
		case types.Int, types.Uint, expr.Number:
			s, _ := v.ConvertToType(types.StringType).(types.String)
			return str(string(s), false), nil
		}
	case "decimal":
		switch x := v.(type) {
		case expr.Dec:
			if x.Rounded {
				m.Rounded++
			}
			return dec(x.D), nil
		case types.Int:
			return decValue(decimal.FromInt(int64(x)))
		case expr.Number:
			return decValue(m.decimal(string(x)))
		case types.String:
			if strings.TrimSpace(string(x)) == "" {
				return nullValue()
			}
			return decValue(m.decimal(string(x)))
		}
	case "timestamp":
		switch x := v.(type) {
		case types.Timestamp:
			return tsValue(x.Time.UTC().Truncate(time.Microsecond)), nil
		case types.String:
			if strings.TrimSpace(string(x)) == "" {
				return nullValue()
			}
			t, err := time.Parse(time.RFC3339Nano, string(x))
			if err != nil {
				return errValue(fmt.Errorf("want a timestamp: use ts() to read %q", string(x)))
			}
			return tsValue(t.UTC().Truncate(time.Microsecond)), nil
		}
	case "int":
		switch x := v.(type) {
		case types.Int:
			return intValue(int64(x)), nil
		case expr.Number:
			i := x.ConvertToType(types.IntType)
			if n, ok := i.(types.Int); ok {
				return intValue(int64(n)), nil
			}
		}
	case "bool":
		if b, ok := v.(types.Bool); ok {
			return boolValue(bool(b)), nil
		}
	case "map":
		if mp, ok := expr.StringMap(v); ok {
			return value{kind: vMap, m: mp}, nil
		}
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
				if err1 != nil || err2 != nil || ks.kind != vString || vs.kind != vString {
					return errValue(fmt.Errorf("want a map of strings, got %s values", val.Type().TypeName()))
				}
				out[ks.s] = vs.s
			}
			return value{kind: vMap, m: out}, nil
		}
	case "json":
		b, err := json.Marshal(native(v))
		if err != nil {
			return errValue(err)
		}
		return str(string(b), false), nil
	}
	return errValue(fmt.Errorf("want a %s, got %s %s", kind, v.Type().TypeName(), clip(fmt.Sprint(v.Value()))))
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

type fieldID uint8

const (
	fUnknown fieldID = iota
	fTransactionID
	fParentTransactionID
	fOrderRef
	fAdvertiserID
	fAdvertiserName
	fClickRef
	fClickRefs
	fClickAt
	fTransactionAt
	fUpdatedAt
	fValidatedAt
	fPaidAt
	fStatus
	fStatusRaw
	fSaleAmount
	fCommissionAmount
	fCurrency
	fCustomerType
	fDevice
	fCountry
	fVoucherCode
	fDeclineReason
)

var fieldByName = map[string]fieldID{
	"transaction_id": fTransactionID, "parent_transaction_id": fParentTransactionID,
	"order_ref": fOrderRef, "advertiser_id": fAdvertiserID, "advertiser_name": fAdvertiserName,
	"click_ref": fClickRef, "click_refs": fClickRefs, "click_at": fClickAt,
	"transaction_at": fTransactionAt, "updated_at": fUpdatedAt, "validated_at": fValidatedAt,
	"paid_at": fPaidAt, "status": fStatus, "status_raw": fStatusRaw, "sale_amount": fSaleAmount,
	"commission_amount": fCommissionAmount, "currency": fCurrency, "customer_type": fCustomerType,
	"device": fDevice, "country": fCountry, "voucher_code": fVoucherCode, "decline_reason": fDeclineReason,
}

const slabSize = 256

// strPtr returns a pointer to a copy of s, from the mapper's slab.
func (m *Mapper) strPtr(s string) *string {
	if len(m.strs) == cap(m.strs) {
		m.strs = make([]string, 0, slabSize)
	}
	m.strs = append(m.strs, s)
	return &m.strs[len(m.strs)-1]
}

// timePtr returns a pointer to a copy of t, from the mapper's slab.
func (m *Mapper) timePtr(t time.Time) *time.Time {
	if len(m.times) == cap(m.times) {
		m.times = make([]time.Time, 0, slabSize)
	}
	m.times = append(m.times, t)
	return &m.times[len(m.times)-1]
}

// want returns the error of a value of the wrong kind for a field.
func want(f row.Field, v value) error {
	return fmt.Errorf("%s: %T value for a %s field", f.Name, v.any(), f.Kind)
}

// set stores a converted value in the unified row and checks the
// contract's value rules.
func (m *Mapper) set(u *row.Unified, id fieldID, f row.Field, v value) error {
	if v.kind == vNull {
		if f.Required {
			return fmt.Errorf("required, got null")
		}
		return nil
	}
	switch id {
	case fSaleAmount, fCommissionAmount:
		if v.kind != vDecimal {
			return want(f, v)
		}
	case fClickRefs:
		if v.kind != vMap {
			return want(f, v)
		}
	case fClickAt, fTransactionAt, fUpdatedAt, fValidatedAt, fPaidAt:
		if v.kind != vTime {
			return want(f, v)
		}
	case fUnknown:
	default:
		if v.kind != vString {
			return want(f, v)
		}
	}
	s := v.s
	switch id {
	case fTransactionID:
		if s == "" {
			return fmt.Errorf("required, got an empty string")
		}
		u.TransactionID = s
	case fParentTransactionID:
		u.ParentTransactionID = m.strPtr(s)
	case fOrderRef:
		u.OrderRef = m.strPtr(s)
	case fAdvertiserID:
		u.AdvertiserID = m.strPtr(s)
	case fAdvertiserName:
		u.AdvertiserName = m.strPtr(s)
	case fClickRef:
		u.ClickRef = m.strPtr(s)
	case fClickRefs:
		u.ClickRefs = v.m
	case fClickAt:
		u.ClickAt = m.timePtr(v.t)
	case fTransactionAt:
		u.TransactionAt = v.t
	case fUpdatedAt:
		u.UpdatedAt = m.timePtr(v.t)
	case fValidatedAt:
		u.ValidatedAt = m.timePtr(v.t)
	case fPaidAt:
		u.PaidAt = m.timePtr(v.t)
	case fStatus:
		if !slices.Contains(row.Statuses, s) {
			return fmt.Errorf("%q is not one of %s", s, strings.Join(row.Statuses, ", "))
		}
		u.Status = s
	case fStatusRaw:
		u.StatusRaw = s
	case fSaleAmount:
		u.SaleAmount = v.i
	case fCommissionAmount:
		u.CommissionAmount = v.i
	case fCurrency:
		if !isUpper(s, 3) {
			return fmt.Errorf("%q is not an ISO 4217 code", s)
		}
		u.Currency = s
	case fCustomerType:
		if !slices.Contains(row.CustomerTypes, s) {
			return fmt.Errorf("%q is not one of %s", s, strings.Join(row.CustomerTypes, ", "))
		}
		u.CustomerType = m.strPtr(s)
	case fDevice:
		u.Device = m.strPtr(s)
	case fCountry:
		if !isUpper(s, 2) {
			return fmt.Errorf("%q is not an ISO 3166-1 alpha-2 code", s)
		}
		u.Country = m.strPtr(s)
	case fVoucherCode:
		u.VoucherCode = m.strPtr(s)
	case fDeclineReason:
		u.DeclineReason = m.strPtr(s)
	default:
		return fmt.Errorf("no unified column %q", f.Name)
	}
	return nil
}

// isUpper reports whether s is n ASCII capital letters (^[A-Z]{n}$).
func isUpper(s string, n int) bool {
	if len(s) != n {
		return false
	}
	for i := 0; i < n; i++ {
		if s[i] < 'A' || s[i] > 'Z' {
			return false
		}
	}
	return true
}
