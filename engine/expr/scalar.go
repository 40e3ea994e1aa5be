package expr

import (
	"strconv"
	"strings"
	"time"

	"github.com/tidwall/gjson"

	"github.com/afflake/afflake/engine/decimal"
)

// Scalar is a value of a simple expression evaluated with typed values
// (lower(nullIfEmpty(r.x)), dec(r.a.b), and the shapes of scalarNode), so
// that nothing is boxed into a CEL value on the way. Each typed function
// or operator gives the value its CEL implementation gives, or declines
// (false) whenever that one would give an error or a value of another
// kind; the program is then evaluated with CEL values, which give the
// same value or CEL's error.
type Scalar struct {
	Kind ScalarKind
	// Str is a string's content or a JSON number's text.
	Str     string
	Bool    bool
	Dec     decimal.Decimal
	Rounded bool // Dec was rounded to six fractional digits
	Time    time.Time
}

// ScalarKind is the kind of a Scalar.
type ScalarKind uint8

// The kinds of Scalar.
const (
	SNull ScalarKind = iota
	SString
	SNumber // a JSON number, as sent
	SBool
	SDec
	STime
)

// scalarFunc is a typed library function: it replaces *v by its value,
// or declines (false).
type scalarFunc func(v *Scalar) bool

// scalarOf reads a record field into v: false for an object or an array.
func scalarOf(res *gjson.Result, v *Scalar) bool {
	switch res.Type {
	case gjson.String:
		*v = Scalar{Kind: SString, Str: res.Str}
	case gjson.Number:
		*v = Scalar{Kind: SNumber, Str: res.Raw}
	case gjson.True, gjson.False:
		*v = Scalar{Kind: SBool, Bool: res.Type == gjson.True}
	case gjson.Null:
		*v = Scalar{}
	default:
		// Missing: null, as FromJSON reads it.
		*v = Scalar{}
		return !res.Exists()
	}
	return true
}

// jsonInt is the integer a JSON number is read as (jsonNumber): ok is
// false when it is read as a Number.
func jsonInt(raw string) (int64, bool) {
	if strings.ContainsAny(raw, ".eE") {
		return 0, false
	}
	i, err := strconv.ParseInt(raw, 10, 64)
	return i, err == nil
}

// text is scalarString of the CEL value of s.
func (s *Scalar) text() (string, bool) {
	switch s.Kind {
	case SString:
		return s.Str, true
	case SNumber:
		if i, ok := jsonInt(s.Str); ok {
			return strconv.FormatInt(i, 10), true
		}
		return s.Str, true
	case SBool:
		return strconv.FormatBool(s.Bool), true
	case SDec:
		return s.Dec.Compact(), true
	}
	return "", false
}

// scalarFuncs are the typed versions of unaryFuncs, by the same names.
func scalarFuncs(zone *time.Location) map[string]scalarFunc {
	text := func(f func(string) string) scalarFunc {
		return func(v *Scalar) bool {
			if v.Kind == SNull {
				return true
			}
			s, ok := v.text()
			if !ok {
				return false
			}
			*v = Scalar{Kind: SString, Str: f(s)}
			return true
		}
	}
	return map[string]scalarFunc{
		"dec":         scalarDec,
		"ts":          func(v *Scalar) bool { return scalarTime(v, zone) },
		"str":         text(func(s string) string { return s }),
		"nullIfEmpty": scalarNullIfEmpty,
		"currency":    scalarCode(currencyCode),
		"country":     scalarCode(countryCode),
		"lower":       text(strings.ToLower),
		"upper":       text(strings.ToUpper),
		"trim":        text(strings.TrimSpace),
	}
}

func scalarNullIfEmpty(v *Scalar) bool {
	if v.Kind == SString && strings.TrimSpace(v.Str) == "" {
		*v = Scalar{}
	}
	return true
}

// scalarDec is toDec(v, '.').
func scalarDec(v *Scalar) bool {
	switch v.Kind {
	case SNull, SDec:
		return true
	case SNumber:
		if i, ok := jsonInt(v.Str); ok {
			d, err := decimal.FromInt(i)
			*v = Scalar{Kind: SDec, Dec: d}
			return err == nil
		}
		d, rounded, err := decimal.Parse(v.Str, '.')
		*v = Scalar{Kind: SDec, Dec: d, Rounded: rounded}
		return err == nil
	case SString:
		if strings.TrimSpace(v.Str) == "" {
			*v = Scalar{}
			return true
		}
		d, rounded, err := decimal.Parse(v.Str, '.')
		*v = Scalar{Kind: SDec, Dec: d, Rounded: rounded}
		return err == nil
	}
	return false
}

// scalarTime is toTime(v, "", zone).
func scalarTime(v *Scalar, zone *time.Location) bool {
	switch v.Kind {
	case SNull, STime:
		return true
	case SNumber:
		if i, ok := jsonInt(v.Str); ok {
			*v = Scalar{Kind: STime, Time: time.Unix(i, 0).UTC()}
			return true
		}
		fallthrough
	case SString:
		s := strings.TrimSpace(v.Str)
		if s == "" {
			*v = Scalar{}
			return true
		}
		t, err := ParseTime(s, "", zone)
		if err != nil && NoTime(s) {
			*v = Scalar{}
			return true
		}
		*v = Scalar{Kind: STime, Time: t.UTC()}
		return err == nil
	}
	return false
}

// scalarCode is toCurrency and toCountry: code normalises a trimmed,
// non-empty text or refuses it.
func scalarCode(code func(string) (string, bool)) scalarFunc {
	return func(v *Scalar) bool {
		s, ok := v.text()
		if !ok || strings.TrimSpace(s) == "" {
			ok = v.Kind == SNull || ok
			*v = Scalar{}
			return ok
		}
		c, ok := code(strings.TrimSpace(s))
		if !ok {
			return false
		}
		*v = Scalar{Kind: SString, Str: c}
		return true
	}
}

// EvalScalar evaluates p against a record view with typed values when p
// has a shape scalarNode covers. ok is false when it is not, or when the typed
// evaluation leaves the value to EvalRecord: that gives the same value,
// or CEL's error. The value belongs to the record view until its next
// record.
func (p *Program) EvalScalar(rec *Record) (v *Scalar, ok bool) {
	if p.scalar == nil || p.index < 0 || p.index >= len(rec.scalars) {
		return nil, false
	}
	v = &rec.scalars[p.index]
	// A program read twice a record (a column and a transaction field)
	// is evaluated once.
	if rec.scalarGen[p.index] == rec.gen {
		return v, true
	}
	if !p.scalar(rec, v) {
		return nil, false
	}
	rec.scalarGen[p.index] = rec.gen
	return v, true
}
