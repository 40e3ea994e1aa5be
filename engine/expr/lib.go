package expr

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/google/cel-go/cel"
	"github.com/google/cel-go/common/operators"
	"github.com/google/cel-go/common/overloads"
	"github.com/google/cel-go/common/types"
	"github.com/google/cel-go/common/types/ref"
	"github.com/google/cel-go/common/types/traits"
	"github.com/tidwall/gjson"
	"golang.org/x/text/currency"
	"golang.org/x/text/language"

	"github.com/afflake/afflake/engine/decimal"
)

// LibraryVersion is the version of the afflake CEL library. It grows
// when functions are added; a function's behaviour never changes within
// a version.
const LibraryVersion = 1

// Library returns the afflake CEL library. zone is where times without
// an offset are read (the spec's timezone).
func Library(zone *time.Location) cel.EnvOption {
	if zone == nil {
		zone = time.UTC
	}
	return cel.Lib(&library{zone: zone})
}

type library struct{ zone *time.Location }

func (*library) LibraryName() string { return "afflake" }

func (l *library) CompileOptions() []cel.EnvOption {
	dyn := cel.DynType
	str := cel.StringType
	strMap := cel.MapType(cel.StringType, cel.StringType)
	// Operators dispatch through the traits of Dec; these overloads only
	// declare them to the checker.
	decBin := func(name string) cel.FunctionOpt {
		return cel.Overload(name, []*cel.Type{DecimalType, DecimalType}, DecimalType)
	}
	cmp := func(name string) cel.FunctionOpt {
		return cel.Overload(name, []*cel.Type{DecimalType, DecimalType}, cel.BoolType)
	}
	return []cel.EnvOption{
		cel.OptionalTypes(),
		cel.Function("dec",
			cel.Overload("dec_dyn", []*cel.Type{dyn}, DecimalType,
				cel.UnaryBinding(func(v ref.Val) ref.Val { return toDec(v, '.') })),
			cel.Overload("dec_dyn_string", []*cel.Type{dyn, str}, DecimalType,
				cel.BinaryBinding(func(v, sep ref.Val) ref.Val {
					s, _ := sep.(types.String)
					if s != "." && s != "," {
						return types.NewErr("dec: separator must be \".\" or \",\", not %q", string(s))
					}
					return toDec(v, s[0])
				}))),
		cel.Function(operators.Add, decBin("add_decimal")),
		cel.Function(operators.Subtract, decBin("subtract_decimal")),
		cel.Function(operators.Multiply, decBin("multiply_decimal")),
		cel.Function(operators.Negate, cel.Overload("negate_decimal", []*cel.Type{DecimalType}, DecimalType)),
		cel.Function(operators.Less, cmp("less_decimal")),
		cel.Function(operators.LessEquals, cmp("less_equals_decimal")),
		cel.Function(operators.Greater, cmp("greater_decimal")),
		cel.Function(operators.GreaterEquals, cmp("greater_equals_decimal")),
		cel.Function("abs", cel.Overload("abs_decimal", []*cel.Type{DecimalType}, DecimalType,
			cel.UnaryBinding(func(a ref.Val) ref.Val {
				d := a.(Dec)
				if d.D.Sign() < 0 {
					return d.Negate()
				}
				return d
			}))),
		cel.Function(overloads.TypeConvertString,
			cel.Overload("string_decimal", []*cel.Type{DecimalType}, str,
				cel.UnaryBinding(func(a ref.Val) ref.Val { return types.String(a.(Dec).D.Compact()) })),
			cel.Overload("string_number", []*cel.Type{NumberType}, str,
				cel.UnaryBinding(func(a ref.Val) ref.Val { return types.String(a.(Number)) }))),
		cel.Function(overloads.TypeConvertDouble,
			cel.Overload("double_number", []*cel.Type{NumberType}, cel.DoubleType,
				cel.UnaryBinding(func(a ref.Val) ref.Val { return a.ConvertToType(types.DoubleType) }))),
		cel.Function(overloads.TypeConvertInt,
			cel.Overload("int_number", []*cel.Type{NumberType}, cel.IntType,
				cel.UnaryBinding(func(a ref.Val) ref.Val { return a.ConvertToType(types.IntType) }))),
		cel.Function("ts",
			cel.Overload("ts_dyn", []*cel.Type{dyn}, cel.TimestampType,
				cel.UnaryBinding(func(v ref.Val) ref.Val { return toTime(v, "", l.zone) })),
			cel.Overload("ts_dyn_string", []*cel.Type{dyn, str}, cel.TimestampType,
				cel.BinaryBinding(func(v, layout ref.Val) ref.Val { return tsLayout(v, layout, l.zone) })),
			cel.Overload("ts_dyn_string_string", []*cel.Type{dyn, str, str}, cel.TimestampType,
				cel.FunctionBinding(func(args ...ref.Val) ref.Val { return tsLayoutIn(args[0], args[1], args[2]) }))),
		cel.Function("formatTime",
			cel.Overload("format_time_timestamp_string", []*cel.Type{cel.TimestampType, str}, str,
				cel.BinaryBinding(func(t, layout ref.Val) ref.Val {
					return formatTime(t.(types.Timestamp).Time, string(layout.(types.String)), l.zone)
				})),
			cel.Overload("format_time_timestamp_string_string", []*cel.Type{cel.TimestampType, str, str}, str,
				cel.FunctionBinding(func(args ...ref.Val) ref.Val {
					loc, err := location(string(args[2].(types.String)))
					if err != nil {
						return types.NewErr("formatTime: %v", err)
					}
					return formatTime(args[0].(types.Timestamp).Time, string(args[1].(types.String)), loc)
				}))),
		cel.Function("lookup",
			cel.Overload("lookup_map_dyn", []*cel.Type{strMap, dyn}, str,
				cel.BinaryBinding(func(m, k ref.Val) ref.Val { return lookup(m, k, nil) })),
			cel.Overload("lookup_map_dyn_dyn", []*cel.Type{strMap, dyn, dyn}, dyn,
				cel.FunctionBinding(func(args ...ref.Val) ref.Val { return lookup(args[0], args[1], args[2]) }))),
		cel.Function("currency", cel.Overload("currency_dyn", []*cel.Type{dyn}, str,
			cel.UnaryBinding(toCurrency))),
		cel.Function("country",
			cel.Overload("country_dyn", []*cel.Type{dyn}, str,
				cel.UnaryBinding(toCountry)),
			// With a default for values that are no country code (free
			// text an advertiser typed): the default, not an error.
			cel.Overload("country_dyn_dyn", []*cel.Type{dyn, dyn}, dyn,
				cel.BinaryBinding(countryOr))),
		cel.Function("str", cel.Overload("str_dyn", []*cel.Type{dyn}, str,
			cel.UnaryBinding(toStr))),
		cel.Function("nullIfEmpty", cel.Overload("null_if_empty_dyn", []*cel.Type{dyn}, dyn,
			cel.UnaryBinding(nullIfEmpty))),
		cel.Function("coalesce",
			cel.Overload("coalesce_dyn_dyn", []*cel.Type{dyn, dyn}, dyn,
				cel.BinaryBinding(func(a, b ref.Val) ref.Val { return coalesce(a, b) })),
			cel.Overload("coalesce_dyn_dyn_dyn", []*cel.Type{dyn, dyn, dyn}, dyn,
				cel.FunctionBinding(coalesce))),
		cel.Function("when", cel.Overload("when_bool_T", []*cel.Type{cel.BoolType, cel.TypeParamType("T")}, cel.TypeParamType("T"),
			cel.BinaryBinding(func(c, v ref.Val) ref.Val {
				if c == types.True {
					return v
				}
				return types.NullValue
			}))),
		cel.Function("strMap", cel.Overload("str_map_dyn", []*cel.Type{dyn}, strMap,
			cel.UnaryBinding(toStrMap))),
		cel.Function("truthy", cel.Overload("truthy_dyn", []*cel.Type{dyn}, cel.BoolType,
			cel.UnaryBinding(truthy))),
		cel.Function("lower", cel.Overload("lower_dyn", []*cel.Type{dyn}, str,
			cel.UnaryBinding(textFunc("lower", strings.ToLower)))),
		cel.Function("upper", cel.Overload("upper_dyn", []*cel.Type{dyn}, str,
			cel.UnaryBinding(textFunc("upper", strings.ToUpper)))),
		cel.Function("trim", cel.Overload("trim_dyn", []*cel.Type{dyn}, str,
			cel.UnaryBinding(textFunc("trim", strings.TrimSpace)))),
		cel.Function("sha256", cel.Overload("sha256_string", []*cel.Type{str}, str,
			cel.UnaryBinding(func(v ref.Val) ref.Val {
				sum := sha256.Sum256([]byte(v.(types.String)))
				return types.String(hex.EncodeToString(sum[:]))
			}))),
		cel.Function("hmacSHA256", cel.Overload("hmac_sha256_string_string", []*cel.Type{str, str}, str,
			cel.BinaryBinding(func(key, msg ref.Val) ref.Val {
				m := hmac.New(sha256.New, []byte(key.(types.String)))
				m.Write([]byte(msg.(types.String)))
				return types.String(hex.EncodeToString(m.Sum(nil)))
			}))),
	}
}

func (*library) ProgramOptions() []cel.ProgramOption { return nil }

// unaryFuncs are the library's one-argument functions over dyn, by name,
// the same implementations the CEL bindings call.
func unaryFuncs(zone *time.Location) map[string]func(ref.Val) ref.Val {
	return map[string]func(ref.Val) ref.Val{
		"dec":         func(v ref.Val) ref.Val { return toDec(v, '.') },
		"ts":          func(v ref.Val) ref.Val { return toTime(v, "", zone) },
		"str":         toStr,
		"nullIfEmpty": nullIfEmpty,
		"currency":    toCurrency,
		"country":     toCountry,
		"strMap":      toStrMap,
		"truthy":      truthy,
		"lower":       textFunc("lower", strings.ToLower),
		"upper":       textFunc("upper", strings.ToUpper),
		"trim":        textFunc("trim", strings.TrimSpace),
	}
}

func nullIfEmpty(v ref.Val) ref.Val {
	if s, ok := v.(types.String); ok && strings.TrimSpace(string(s)) == "" {
		return types.NullValue
	}
	return v
}

// toDec makes an exact decimal of a string, integer or JSON number.
func toDec(v ref.Val, sep byte) ref.Val {
	switch x := v.(type) {
	case Dec:
		return x
	case types.Null:
		return types.NullValue
	case types.Int:
		d, err := decimal.FromInt(int64(x))
		if err != nil {
			return types.NewErr("dec: %d: %v", int64(x), err)
		}
		return Dec{D: d}
	case Number:
		return parseDec(string(x), '.')
	case types.String:
		if strings.TrimSpace(string(x)) == "" {
			return types.NullValue
		}
		if sep == ',' {
			// A decimal comma source may group thousands with dots.
			return parseDec(strings.ReplaceAll(string(x), ".", ""), ',')
		}
		return parseDec(string(x), '.')
	case types.Double:
		return types.NewErr("dec: refusing a double (%v): pass the value's text", float64(x))
	}
	return types.NewErr("dec: cannot make a decimal of %s", typeName(v))
}

func parseDec(s string, sep byte) ref.Val {
	d, rounded, err := decimal.Parse(s, sep)
	if err != nil {
		return types.NewErr("dec: %q: %v", s, err)
	}
	return Dec{d, rounded}
}

var zones sync.Map // name → *time.Location

// tsLayout is ts(v, layout), with times without an offset in zone.
func tsLayout(v, layout ref.Val, zone *time.Location) ref.Val {
	l, ok := layout.(types.String)
	if !ok {
		return types.NewErr("ts: the layout is %s, not a string", typeName(layout))
	}
	return toTime(v, string(l), zone)
}

// tsLayoutIn is ts(v, layout, timezone).
func tsLayoutIn(v, layout, timezone ref.Val) ref.Val {
	name, ok := timezone.(types.String)
	if !ok {
		return types.NewErr("ts: the timezone is %s, not a string", typeName(timezone))
	}
	loc, err := location(string(name))
	if err != nil {
		return types.NewErr("ts: %v", err)
	}
	return tsLayout(v, layout, loc)
}

func location(name string) (*time.Location, error) {
	if l, ok := zones.Load(name); ok {
		return l.(*time.Location), nil
	}
	l, err := time.LoadLocation(name)
	if err != nil {
		return nil, fmt.Errorf("unknown timezone %q", name)
	}
	zones.Store(name, l)
	return l, nil
}

// isoLayouts are tried, in order, by ts() without a layout.
var isoLayouts = []string{
	time.RFC3339Nano,
	"2006-01-02T15:04:05.999999999Z0700",
	"2006-01-02T15:04:05.999999999",
	"2006-01-02 15:04:05.999999999Z07:00",
	"2006-01-02 15:04:05.999999999Z0700",
	"2006-01-02 15:04:05.999999999",
	"2006-01-02T15:04Z07:00",
	"2006-01-02T15:04",
	"2006-01-02",
}

// toTime parses v with layout in loc. Named layouts: "" (ISO 8601 forms),
// "rfc3339", "date", "unix", "unix_ms"; anything else is a Go layout.
func toTime(v ref.Val, layout string, loc *time.Location) ref.Val {
	switch x := v.(type) {
	case types.Null:
		return types.NullValue
	case types.Timestamp:
		return x
	case types.Int:
		switch layout {
		case "unix_ms":
			return types.Timestamp{Time: time.UnixMilli(int64(x)).UTC()}
		case "", "unix":
			return types.Timestamp{Time: time.Unix(int64(x), 0).UTC()}
		}
		return toTime(types.String(strconv.FormatInt(int64(x), 10)), layout, loc)
	case Number:
		return toTime(types.String(x), layout, loc)
	case types.String:
		s := strings.TrimSpace(string(x))
		if s == "" {
			return types.NullValue
		}
		t, err := ParseTime(s, layout, loc)
		if err != nil {
			if NoTime(s) {
				return types.NullValue
			}
			return types.NewErr("ts: %v", err)
		}
		return types.Timestamp{Time: t.UTC()}
	}
	return types.NewErr("ts: cannot make a timestamp of %s", typeName(v))
}

// NoTime reports whether a time's text, trimmed, says there is none: it
// is empty, or a zero date such as 0000-00-00 00:00:00, which MySQL and
// the APIs built on it write for a date not set.
func NoTime(s string) bool {
	digits := 0
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '0':
			digits++
		case strings.IndexByte("-/: T.Z+", c) >= 0:
		default:
			return false
		}
	}
	return s == "" || digits >= 8
}

// ParseTime reads s with a layout (see toTime) in loc.
func ParseTime(s, layout string, loc *time.Location) (time.Time, error) {
	switch layout {
	case "":
		if t, ok := parseISO(s, loc); ok {
			return t, nil
		}
		for _, l := range isoLayouts {
			if t, err := time.ParseInLocation(l, s, loc); err == nil {
				return t, nil
			}
		}
		return time.Time{}, fmt.Errorf("%q is not an ISO 8601 time", s)
	case "rfc3339":
		return time.Parse(time.RFC3339Nano, s)
	case "date":
		return time.ParseInLocation("2006-01-02", s, loc)
	case "unix", "unix_ms":
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			f, ferr := strconv.ParseFloat(s, 64)
			if ferr != nil {
				return time.Time{}, fmt.Errorf("%q is not a %s time", s, layout)
			}
			if layout == "unix_ms" {
				return time.UnixMicro(int64(f * 1000)), nil
			}
			return time.UnixMicro(int64(f * 1e6)), nil
		}
		if layout == "unix_ms" {
			return time.UnixMilli(n), nil
		}
		return time.Unix(n, 0), nil
	}
	t, err := time.ParseInLocation(layout, s, loc)
	if err != nil {
		return time.Time{}, fmt.Errorf("%q does not match layout %q", s, layout)
	}
	return t, nil
}

func formatTime(t time.Time, layout string, loc *time.Location) ref.Val {
	t = t.In(loc)
	switch layout {
	case "rfc3339":
		return types.String(t.Format(time.RFC3339))
	case "date":
		return types.String(t.Format("2006-01-02"))
	case "unix":
		return types.String(strconv.FormatInt(t.Unix(), 10))
	case "unix_ms":
		return types.String(strconv.FormatInt(t.UnixMilli(), 10))
	}
	return types.String(t.Format(layout))
}

func lookup(m, k, def ref.Val) ref.Val {
	key, ok := scalarString(k)
	if !ok {
		if def != nil {
			return def
		}
		return types.NewErr("lookup: no value (got %s)", typeName(k))
	}
	mapper, ok := m.(traits.Mapper)
	if !ok {
		return types.NewErr("lookup: first argument is not a table")
	}
	if v, found := mapper.Find(types.String(key)); found {
		return v
	}
	if def != nil {
		return def
	}
	var known []string
	it := mapper.Iterator()
	for it.HasNext() == types.True {
		known = append(known, fmt.Sprint(it.Next().Value()))
	}
	sort.Strings(known)
	return types.NewErr("lookup: unknown value %q (table has %s)", key, strings.Join(known, ", "))
}

func typeName(v ref.Val) string {
	if v == nil {
		return "nothing"
	}
	switch t := v.Type().TypeName(); t {
	case "map":
		return "an object"
	case "list":
		return "an array"
	case "null_type":
		return "null"
	case "string":
		return "a string"
	case "bool":
		return "a boolean"
	case "int", "uint", "double", Number("").Type().TypeName():
		return "a number"
	default:
		return t
	}
}

// scalarString gives the text of a string, integer, JSON number or bool.
func scalarString(v ref.Val) (string, bool) {
	switch x := v.(type) {
	case types.String:
		return string(x), true
	case types.Int:
		return strconv.FormatInt(int64(x), 10), true
	case types.Uint:
		return strconv.FormatUint(uint64(x), 10), true
	case Number:
		return string(x), true
	case types.Bool:
		return strconv.FormatBool(bool(x)), true
	case Dec:
		return x.D.Compact(), true
	}
	return "", false
}

func toStr(v ref.Val) ref.Val {
	if _, ok := v.(types.Null); ok {
		return types.NullValue
	}
	if s, ok := scalarString(v); ok {
		return types.String(s)
	}
	return types.NewErr("str: cannot make a string of %s", typeName(v))
}

func toCurrency(v ref.Val) ref.Val {
	s, ok := scalarString(v)
	if !ok || strings.TrimSpace(s) == "" {
		if _, isNull := v.(types.Null); isNull || ok {
			return types.NullValue
		}
		return types.NewErr("currency: cannot read %s", typeName(v))
	}
	c, ok := currencyCode(strings.TrimSpace(s))
	if !ok {
		return types.NewErr("currency: %q is not an ISO 4217 code", s)
	}
	return types.String(c)
}

// currencyCode is the ISO 4217 code toCurrency makes of s.
func currencyCode(s string) (string, bool) {
	u, err := currency.ParseISO(s)
	return u.String(), err == nil
}

func toCountry(v ref.Val) ref.Val {
	s, ok := scalarString(v)
	if !ok || strings.TrimSpace(s) == "" {
		if _, isNull := v.(types.Null); isNull || ok {
			return types.NullValue
		}
		return types.NewErr("country: cannot read %s", typeName(v))
	}
	s = strings.TrimSpace(s)
	c, ok := countryCode(s)
	if !ok {
		return types.NewErr("country: %q is not an ISO 3166 country code", s)
	}
	return types.String(c)
}

// countryOr is country(v, def): def where v is no country code.
func countryOr(v, def ref.Val) ref.Val {
	if c := toCountry(v); !types.IsError(c) {
		return c
	}
	return def
}

// countryCode is the ISO 3166 alpha-2 code toCountry makes of s.
func countryCode(s string) (string, bool) {
	if strings.ToUpper(s) == "UK" {
		return "GB", true
	}
	r, err := language.ParseRegion(s)
	if err != nil || !r.IsCountry() {
		return "", false
	}
	return r.String(), true
}

func coalesce(args ...ref.Val) ref.Val {
	for _, a := range args {
		if _, isNull := a.(types.Null); isNull {
			continue
		}
		if s, ok := a.(types.String); ok && s == "" {
			continue
		}
		return a
	}
	return types.NullValue
}

func toStrMap(v ref.Val) ref.Val {
	if _, isNull := v.(types.Null); isNull {
		return types.NullValue
	}
	if o, ok := v.(object); ok {
		return strMapOfObject(o)
	}
	m, ok := v.(traits.Mapper)
	if !ok {
		return types.NewErr("strMap: cannot make a map of %s", typeName(v))
	}
	out := map[string]string{}
	it := m.Iterator()
	for it.HasNext() == types.True {
		k := it.Next()
		val := m.Get(k)
		ks, ok1 := scalarString(k)
		vs, ok2 := scalarString(val)
		if !ok1 || !ok2 || vs == "" {
			continue
		}
		out[ks] = vs
	}
	return newStrMap(out)
}

// strMapOfObject is toStrMap of a JSON object, read in one pass: a key
// that occurs twice has its first value, as Get gives it.
func strMapOfObject(o object) ref.Val {
	if out, ok := scanStrMap(o.raw); ok {
		return newStrMap(out)
	}
	return strMapForEach(o)
}

// strMapForEach is strMapOfObject with gjson's ForEach.
func strMapForEach(o object) ref.Val {
	out := map[string]string{}
	var seenBuf [8]string
	seen := seenBuf[:0]
	o.json().ForEach(func(k, v gjson.Result) bool {
		key := k.Str
		for _, s := range seen {
			if s == key {
				return true
			}
		}
		seen = append(seen, key)
		vs, ok := scalarString(FromJSON(v))
		if !ok || vs == "" {
			return true
		}
		out[key] = vs
		return true
	})
	return newStrMap(out)
}

// scanStrMap is strMapOfObject over the object's text in one pass, the
// values read as FromJSON and scalarString read them. ok is false for
// text it does not read (escaped keys, anything not well-formed).
func scanStrMap(obj string) (map[string]string, bool) {
	out := map[string]string{}
	var seenBuf [8]string
	seen := seenBuf[:0]
	i := skipSpace(obj, 0)
	if i >= len(obj) || obj[i] != '{' {
		return nil, false
	}
	i = skipSpace(obj, i+1)
	if i < len(obj) && obj[i] == '}' {
		return out, skipSpace(obj, i+1) == len(obj)
	}
	for {
		if i >= len(obj) || obj[i] != '"' {
			return nil, false
		}
		q := strings.IndexByte(obj[i+1:], '"')
		if q < 0 {
			return nil, false
		}
		key := obj[i+1 : i+1+q]
		if strings.IndexByte(key, '\\') >= 0 {
			return nil, false
		}
		i = skipSpace(obj, i+2+q)
		if i >= len(obj) || obj[i] != ':' {
			return nil, false
		}
		i = skipSpace(obj, i+1)
		ve, ok := skipValue(obj, i)
		if !ok {
			return nil, false
		}
		res, ok := scalar(obj[i:ve])
		if !ok {
			return nil, false
		}
		dup := false
		for _, s := range seen {
			if s == key {
				dup = true
				break
			}
		}
		if !dup {
			seen = append(seen, key)
			var vs string
			switch res.Type {
			case gjson.String:
				vs = res.Str
			case gjson.Number:
				// As jsonNumber reads it: an integer, or the text.
				vs = res.Raw
				if !strings.ContainsAny(res.Raw, ".eE") {
					if n, err := strconv.ParseInt(res.Raw, 10, 64); err == nil {
						vs = strconv.FormatInt(n, 10)
					}
				}
			case gjson.True:
				vs = "true"
			case gjson.False:
				vs = "false"
			}
			if vs != "" {
				out[key] = vs
			}
		}
		i = skipSpace(obj, ve)
		if i >= len(obj) {
			return nil, false
		}
		switch obj[i] {
		case ',':
			i = skipSpace(obj, i+1)
		case '}':
			return out, skipSpace(obj, i+1) == len(obj)
		default:
			return nil, false
		}
	}
}

// strMap is a map made by strMap(): a CEL map of strings whose Go map
// belongs to it alone, so that a row may take it as it is. It behaves as
// the CEL map of its Go map, made only when CEL reads it.
type strMap struct{ m map[string]string }

var _ traits.Mapper = strMap{}

func newStrMap(out map[string]string) ref.Val {
	if len(out) == 0 {
		return types.NullValue
	}
	return strMap{out}
}

func (s strMap) cel() traits.Mapper {
	return types.NewStringStringMap(types.DefaultTypeAdapter, s.m)
}

// ConvertToNative implements ref.Val.
func (s strMap) ConvertToNative(t reflect.Type) (any, error) { return s.cel().ConvertToNative(t) }

// ConvertToType implements ref.Val.
func (s strMap) ConvertToType(t ref.Type) ref.Val { return s.cel().ConvertToType(t) }

// Equal implements ref.Val.
func (s strMap) Equal(o ref.Val) ref.Val { return s.cel().Equal(o) }

// Type implements ref.Val.
func (s strMap) Type() ref.Type { return s.cel().Type() }

// Value implements ref.Val.
func (s strMap) Value() any { return s.cel().Value() }

// Contains implements traits.Container.
func (s strMap) Contains(k ref.Val) ref.Val { return s.cel().Contains(k) }

// Get implements traits.Indexer.
func (s strMap) Get(k ref.Val) ref.Val { return s.cel().Get(k) }

// Find implements traits.Mapper.
func (s strMap) Find(k ref.Val) (ref.Val, bool) { return s.cel().Find(k) }

// Iterator implements traits.Iterable.
func (s strMap) Iterator() traits.Iterator { return s.cel().Iterator() }

// Size implements traits.Sizer.
func (s strMap) Size() ref.Val { return s.cel().Size() }

// StringMap returns the Go map of a value made by strMap(), which no
// other value shares.
func StringMap(v ref.Val) (map[string]string, bool) {
	if m, ok := v.(strMap); ok {
		return m.m, true
	}
	return nil, false
}

func truthy(v ref.Val) ref.Val {
	switch x := v.(type) {
	case types.Bool:
		return x
	case types.Null:
		return types.False
	case types.Int:
		return types.Bool(x != 0)
	}
	s, _ := scalarString(v)
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "true", "y", "yes", "1", "t":
		return types.True
	}
	return types.False
}

// textFunc lifts a string function to scalars, passing null through.
func textFunc(name string, f func(string) string) func(ref.Val) ref.Val {
	return func(v ref.Val) ref.Val {
		if _, isNull := v.(types.Null); isNull {
			return types.NullValue
		}
		s, ok := scalarString(v)
		if !ok {
			return types.NewErr("%s: cannot read %s", name, typeName(v))
		}
		return types.String(f(s))
	}
}
