package expr

import (
	"fmt"
	"math"
	"reflect"
	"strconv"
	"strings"

	"github.com/google/cel-go/common/types"
	"github.com/google/cel-go/common/types/ref"
	"github.com/google/cel-go/common/types/traits"
	"github.com/tidwall/gjson"

	"github.com/afflake/afflake/engine/decimal"
)

// DecimalType is the CEL type of exact amounts made by dec().
var DecimalType = types.NewObjectType("decimal", traits.AdderType, traits.SubtractorType,
	traits.MultiplierType, traits.NegatorType, traits.ComparerType)

// NumberType is the CEL type of a JSON number that is not an integer: it
// keeps the number's text so that dec() is exact.
var NumberType = types.NewObjectType("number", traits.ComparerType)

// Dec is a decimal(18,6) CEL value. Rounded records that digits beyond
// the sixth fractional one were rounded away on the way here.
type Dec struct {
	D       decimal.Decimal
	Rounded bool
}

var (
	_ traits.Adder      = Dec{}
	_ traits.Subtractor = Dec{}
	_ traits.Negater    = Dec{}
	_ traits.Comparer   = Dec{}
)

// ConvertToNative implements ref.Val.
func (d Dec) ConvertToNative(t reflect.Type) (any, error) {
	switch t {
	case reflect.TypeOf(decimal.Decimal{}):
		return d.D, nil
	case reflect.TypeOf(""):
		return d.D.Compact(), nil
	}
	if t.Kind() == reflect.Interface {
		return d.D, nil
	}
	return nil, fmt.Errorf("decimal cannot convert to %v", t)
}

// ConvertToType implements ref.Val.
func (d Dec) ConvertToType(t ref.Type) ref.Val {
	switch t {
	case types.StringType:
		return types.String(d.D.Compact())
	case DecimalType:
		return d
	case types.TypeType:
		return DecimalType
	}
	return types.NewErr("type conversion error from decimal to '%s'", t)
}

// Equal implements ref.Val.
func (d Dec) Equal(o ref.Val) ref.Val {
	e, ok := asDec(o)
	if !ok {
		return types.False
	}
	return types.Bool(d.D == e.D)
}

// Type implements ref.Val.
func (d Dec) Type() ref.Type { return DecimalType }

// Value implements ref.Val.
func (d Dec) Value() any { return d.D }

// Add implements traits.Adder.
func (d Dec) Add(o ref.Val) ref.Val {
	e, ok := asDec(o)
	if !ok {
		return types.MaybeNoSuchOverloadErr(o)
	}
	s, err := d.D.Add(e.D)
	if err != nil {
		return types.NewErr("decimal addition: %v", err)
	}
	return Dec{s, d.Rounded || e.Rounded}
}

// Subtract implements traits.Subtractor.
func (d Dec) Subtract(o ref.Val) ref.Val {
	e, ok := asDec(o)
	if !ok {
		return types.MaybeNoSuchOverloadErr(o)
	}
	s, err := d.D.Add(e.D.Neg())
	if err != nil {
		return types.NewErr("decimal subtraction: %v", err)
	}
	return Dec{s, d.Rounded || e.Rounded}
}

// Multiply returns d×o, rounded half to even.
func (d Dec) Multiply(o ref.Val) ref.Val {
	e, ok := asDec(o)
	if !ok {
		return types.MaybeNoSuchOverloadErr(o)
	}
	p, r, err := d.D.Mul(e.D)
	if err != nil {
		return types.NewErr("decimal multiplication: %v", err)
	}
	return Dec{p, d.Rounded || e.Rounded || r}
}

// Negate implements traits.Negater.
func (d Dec) Negate() ref.Val { return Dec{d.D.Neg(), d.Rounded} }

// Compare implements traits.Comparer.
func (d Dec) Compare(o ref.Val) ref.Val {
	e, ok := asDec(o)
	if !ok {
		return types.MaybeNoSuchOverloadErr(o)
	}
	return types.Int(d.D.Cmp(e.D))
}

// asDec converts decimals, integers and JSON numbers for arithmetic and
// comparison.
func asDec(v ref.Val) (Dec, bool) {
	switch x := v.(type) {
	case Dec:
		return x, true
	case types.Int:
		d, err := decimal.FromInt(int64(x))
		return Dec{D: d}, err == nil
	case Number:
		d, r, err := decimal.Parse(string(x), '.')
		return Dec{d, r}, err == nil
	}
	return Dec{}, false
}

// Number is a JSON number that is not an integer, kept as its text.
type Number string

var _ traits.Comparer = Number("")

// ConvertToNative implements ref.Val.
func (n Number) ConvertToNative(t reflect.Type) (any, error) {
	switch t.Kind() {
	case reflect.String:
		return string(n), nil
	case reflect.Float64, reflect.Interface:
		return strconv.ParseFloat(string(n), 64)
	}
	return nil, fmt.Errorf("number cannot convert to %v", t)
}

// ConvertToType implements ref.Val.
func (n Number) ConvertToType(t ref.Type) ref.Val {
	switch t {
	case types.StringType:
		return types.String(n)
	case types.DoubleType:
		f, err := strconv.ParseFloat(string(n), 64)
		if err != nil {
			return types.NewErr("number %s: %v", n, err)
		}
		return types.Double(f)
	case types.IntType:
		f, err := strconv.ParseFloat(string(n), 64)
		if err != nil || f != math.Trunc(f) || math.Abs(f) > 1<<62 {
			return types.NewErr("number %s is not an integer", n)
		}
		return types.Int(int64(f))
	case NumberType:
		return n
	case types.TypeType:
		return NumberType
	}
	return types.NewErr("type conversion error from number to '%s'", t)
}

// Equal implements ref.Val.
func (n Number) Equal(o ref.Val) ref.Val {
	c := n.Compare(o)
	if i, ok := c.(types.Int); ok {
		return types.Bool(i == 0)
	}
	return types.False
}

// Type implements ref.Val.
func (n Number) Type() ref.Type { return NumberType }

// Value implements ref.Val.
func (n Number) Value() any { return string(n) }

// Compare implements traits.Comparer: exactly against decimals, integers
// and numbers, as floats against doubles.
func (n Number) Compare(o ref.Val) ref.Val {
	if d, ok := o.(types.Double); ok {
		f, err := strconv.ParseFloat(string(n), 64)
		if err != nil {
			return types.NewErr("number %s: %v", n, err)
		}
		return types.Double(f).Compare(d)
	}
	a, ok1 := asDec(n)
	b, ok2 := asDec(o)
	if ok1 && ok2 {
		return types.Int(a.D.Cmp(b.D))
	}
	if !ok2 {
		return types.MaybeNoSuchOverloadErr(o)
	}
	fa, _ := strconv.ParseFloat(string(n), 64)
	fb, _ := strconv.ParseFloat(b.D.String(), 64)
	return types.Double(fa).Compare(types.Double(fb))
}

// KindOf names the kind of a JSON value as errors name it: nothing (a
// missing value), null, a string, a number, a boolean, an object or an
// array.
func KindOf(r gjson.Result) string {
	switch {
	case !r.Exists():
		return "nothing"
	case r.IsArray():
		return "an array"
	case r.IsObject():
		return "an object"
	}
	switch r.Type {
	case gjson.Null:
		return "null"
	case gjson.String:
		return "a string"
	case gjson.Number:
		return "a number"
	}
	return "a boolean"
}

// FromJSON turns a gjson result into a CEL value without losing
// precision: strings stay strings, integers become int, other numbers
// Number (their text), objects maps (read lazily) and arrays lists. A missing value is
// null.
func FromJSON(res gjson.Result) ref.Val {
	switch res.Type {
	case gjson.String:
		return types.String(res.Str)
	case gjson.Number:
		return jsonNumber(res.Raw)
	case gjson.True:
		return types.True
	case gjson.False:
		return types.False
	case gjson.JSON:
		if res.IsArray() {
			var vals []ref.Val
			res.ForEach(func(_, v gjson.Result) bool {
				vals = append(vals, FromJSON(v))
				return true
			})
			return types.NewRefValList(types.DefaultTypeAdapter, vals)
		}
		return object{res.Raw}
	}
	return types.NullValue
}

func jsonNumber(raw string) ref.Val {
	if !strings.ContainsAny(raw, ".eE") {
		if i, err := strconv.ParseInt(raw, 10, 64); err == nil {
			return types.Int(i)
		}
	}
	return Number(raw)
}

// ScalarText returns the text of a scalar JSON value as it was sent:
// a string's content, a number's digits, true/false. ok is false for
// null, missing values, objects and arrays.
func ScalarText(res gjson.Result) (string, bool) {
	switch res.Type {
	case gjson.String:
		return res.Str, true
	case gjson.Number:
		return res.Raw, true
	case gjson.True:
		return "true", true
	case gjson.False:
		return "false", true
	}
	return "", false
}
