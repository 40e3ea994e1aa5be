package expr

import (
	"time"

	"github.com/google/cel-go/common/ast"
	"github.com/google/cel-go/common/operators"
	"github.com/google/cel-go/common/types"
	"github.com/google/cel-go/common/types/ref"
	"github.com/google/cel-go/common/types/traits"
)

// fastNode evaluates a simple expression without the CEL interpreter,
// with the library's own functions. It returns nil whenever the result
// is not a plain value (an error, an unknown, a case it does not cover):
// the program is then evaluated by CEL, which gives the same value and
// CEL's own error. CEL expressions have no side effects, so evaluating
// part of one twice changes nothing.
type fastNode func(rec *Record) ref.Val

// planFast compiles the checked expression e into a fastNode, or returns
// nil when it has a shape this evaluator does not cover. slot gives the
// record slot of a field chain r.a.b.
func planFast(a *ast.AST, e ast.Expr, funcs map[string]func([]ref.Val) ref.Val, slot func([]string) int, consts *int) fastNode {
	switch e.Kind() {
	case ast.LiteralKind:
		v := e.AsLiteral()
		switch v.(type) {
		case types.String, types.Bool, types.Int, types.Null:
			return func(*Record) ref.Val { return v }
		}
		return nil
	case ast.IdentKind:
		if e.AsIdent() == "fetched_at" {
			return func(rec *Record) ref.Val { return rec.vars["fetched_at"] }
		}
		return nil
	case ast.SelectKind:
		if i, field, ok := presenceTest(e, slot); ok {
			return func(rec *Record) ref.Val {
				if b, ok := hasField(rec.slots[i], field); ok {
					return types.Bool(b)
				}
				return nil
			}
		}
		switch name, chain := selectChain(e); {
		case name == "r":
			i := slot(chain)
			return func(rec *Record) ref.Val { return FromJSON(rec.slots[i]) }
		case (name == "account" || name == "tables") && len(chain) == 1:
			return constNode(name, chain[0], consts)
		}
		return nil
	case ast.CallKind:
		call := e.AsCall()
		if call.IsMemberFunction() {
			return nil
		}
		if ids := a.GetOverloadIDs(e.ID()); len(ids) == 1 && ids[0] == "str_map_dyn" && call.Args()[0].Kind() == ast.MapKind {
			return planStrMap(a, call.Args()[0], funcs, slot, consts)
		}
		if call.FunctionName() == operators.In && call.Args()[1].Kind() == ast.ListKind {
			return planIn(a, call.Args()[0], call.Args()[1], funcs, slot, consts)
		}
		if call.FunctionName() == "string" && len(call.Args()) == 1 {
			// CEL's string() of a string, integer, double or boolean is its
			// conversion to string; other values (null has no overload) are
			// left to CEL.
			if x := planFast(a, call.Args()[0], funcs, slot, consts); x != nil {
				return func(rec *Record) ref.Val {
					switch v := x(rec).(type) {
					case types.String:
						return v
					case types.Int, types.Uint, types.Double, types.Bool:
						if s := v.ConvertToType(types.StringType); !types.IsUnknownOrError(s) {
							return s
						}
					}
					return nil
				}
			}
			return nil
		}
		args := make([]fastNode, len(call.Args()))
		for i, arg := range call.Args() {
			if args[i] = planFast(a, arg, funcs, slot, consts); args[i] == nil {
				return nil
			}
		}
		switch call.FunctionName() {
		case operators.Conditional:
			c, t, f := args[0], args[1], args[2]
			return func(rec *Record) ref.Val {
				switch c(rec) {
				case types.True:
					return t(rec)
				case types.False:
					return f(rec)
				}
				return nil
			}
		case operators.Equals, operators.NotEquals:
			l, r := args[0], args[1]
			neq := call.FunctionName() == operators.NotEquals
			return func(rec *Record) ref.Val {
				lv := l(rec)
				if lv == nil {
					return nil
				}
				rv := r(rec)
				if rv == nil {
					return nil
				}
				eq, ok := types.Equal(lv, rv).(types.Bool)
				if !ok {
					return nil
				}
				if neq {
					return !eq
				}
				return eq
			}
		case operators.Add:
			// String concatenation (status_raw: "r.a + '/' + r.b"); any
			// other sum is left to CEL.
			l, r := args[0], args[1]
			return func(rec *Record) ref.Val {
				ls, ok := l(rec).(types.String)
				if !ok {
					return nil
				}
				rs, ok := r(rec).(types.String)
				if !ok {
					return nil
				}
				return ls + rs
			}
		case operators.Less, operators.LessEquals, operators.Greater, operators.GreaterEquals:
			// Orderings of values of one of afflake's or CEL's ordered
			// types, as CEL orders them (Compare).
			l, r := args[0], args[1]
			holds := map[string]func(int64) bool{
				operators.Less:          func(n int64) bool { return n < 0 },
				operators.LessEquals:    func(n int64) bool { return n <= 0 },
				operators.Greater:       func(n int64) bool { return n > 0 },
				operators.GreaterEquals: func(n int64) bool { return n >= 0 },
			}[call.FunctionName()]
			return func(rec *Record) ref.Val {
				lv, rv := l(rec), r(rec)
				if lv == nil || rv == nil {
					return nil
				}
				c, ok := lv.(traits.Comparer)
				if !ok {
					return nil
				}
				n, ok := c.Compare(rv).(types.Int)
				if !ok {
					return nil
				}
				return types.Bool(holds(int64(n)))
			}
		case operators.LogicalNot:
			x := args[0]
			return func(rec *Record) ref.Val {
				if b, ok := x(rec).(types.Bool); ok {
					return !b
				}
				return nil
			}
		case operators.LogicalAnd, operators.LogicalOr:
			l, r := args[0], args[1]
			// The value that decides without the other side.
			short := types.Bool(call.FunctionName() == operators.LogicalOr)
			return func(rec *Record) ref.Val {
				lv, ok := l(rec).(types.Bool)
				if !ok {
					return nil
				}
				if lv == short {
					return lv
				}
				rv, ok := r(rec).(types.Bool)
				if !ok {
					return nil
				}
				return rv
			}
		}
		ids := a.GetOverloadIDs(e.ID())
		if len(ids) != 1 {
			return nil
		}
		fn := funcs[ids[0]]
		if fn == nil {
			return nil
		}
		if len(args) == 1 {
			arg := args[0]
			return func(rec *Record) ref.Val {
				a := arg(rec)
				if a == nil {
					return nil
				}
				base := len(rec.args)
				rec.args = append(rec.args, a)
				v := fn(rec.args[base:])
				rec.args[base] = nil
				rec.args = rec.args[:base]
				if types.IsUnknownOrError(v) {
					return nil
				}
				return v
			}
		}
		return func(rec *Record) ref.Val {
			// The arguments go on the record's stack: a call of
			// fn with a slice of a local array would allocate it.
			base := len(rec.args)
			for _, arg := range args {
				v := arg(rec)
				if v == nil {
					clear(rec.args[base:])
					rec.args = rec.args[:base]
					return nil
				}
				rec.args = append(rec.args, v)
			}
			v := fn(rec.args[base:])
			clear(rec.args[base:])
			rec.args = rec.args[:base]
			if types.IsUnknownOrError(v) {
				return nil
			}
			return v
		}
	}
	return nil
}

// planIn plans x in [literal, …], as CEL tests it: equal to an element.
func planIn(a *ast.AST, x, list ast.Expr, funcs map[string]func([]ref.Val) ref.Val, slot func([]string) int, consts *int) fastNode {
	var elems []ref.Val
	for _, el := range list.AsList().Elements() {
		if el.Kind() != ast.LiteralKind {
			return nil
		}
		elems = append(elems, el.AsLiteral())
	}
	lhs := planFast(a, x, funcs, slot, consts)
	if lhs == nil {
		return nil
	}
	return func(rec *Record) ref.Val {
		v := lhs(rec)
		if v == nil || types.IsUnknownOrError(v) {
			return nil
		}
		for _, el := range elems {
			switch eq := types.Equal(v, el); eq {
			case types.True:
				return types.True
			case types.False:
			default:
				return nil
			}
		}
		return types.False
	}
}

// planStrMap plans strMap({'k': x, …}), a map literal of distinct
// string keys (the sub-ids of a record): the map of strings is built
// from the values as toStrMap builds it, without a CEL map between.
func planStrMap(a *ast.AST, lit ast.Expr, funcs map[string]func([]ref.Val) ref.Val, slot func([]string) int, consts *int) fastNode {
	entries := lit.AsMap().Entries()
	keys := make([]string, len(entries))
	vals := make([]fastNode, len(entries))
	seen := map[string]bool{}
	for i, en := range entries {
		entry := en.AsMapEntry()
		if entry.IsOptional() || entry.Key().Kind() != ast.LiteralKind {
			return nil
		}
		k, ok := entry.Key().AsLiteral().(types.String)
		if !ok || seen[string(k)] {
			return nil
		}
		seen[string(k)] = true
		keys[i] = string(k)
		if vals[i] = planFast(a, entry.Value(), funcs, slot, consts); vals[i] == nil {
			return nil
		}
	}
	return func(rec *Record) ref.Val {
		var out map[string]string
		for i, val := range vals {
			v := val(rec)
			if v == nil {
				return nil
			}
			s, ok := scalarString(v)
			if !ok || s == "" {
				continue
			}
			if out == nil {
				out = make(map[string]string, len(vals))
			}
			out[keys[i]] = s
		}
		return newStrMap(out)
	}
}

// fastFuncs are the library overloads the fast evaluator calls, by
// overload ID: the implementations the CEL bindings call. Each takes any
// values: a value CEL's type guards would refuse yields an error here
// too, or is refused by a check below, and CEL then reports it.
func fastFuncs(zone *time.Location) map[string]func([]ref.Val) ref.Val {
	unary := func(f func(ref.Val) ref.Val) func([]ref.Val) ref.Val {
		return func(a []ref.Val) ref.Val { return f(a[0]) }
	}
	fs := unaryFuncs(zone)
	return map[string]func([]ref.Val) ref.Val{
		"dec_dyn":              unary(fs["dec"]),
		"ts_dyn":               unary(fs["ts"]),
		"ts_dyn_string":        func(a []ref.Val) ref.Val { return tsLayout(a[0], a[1], zone) },
		"ts_dyn_string_string": func(a []ref.Val) ref.Val { return tsLayoutIn(a[0], a[1], a[2]) },
		"str_dyn":              unary(fs["str"]),
		"null_if_empty_dyn":    unary(fs["nullIfEmpty"]),
		"currency_dyn":         unary(fs["currency"]),
		"country_dyn":          unary(fs["country"]),
		"country_dyn_dyn":      func(a []ref.Val) ref.Val { return countryOr(a[0], a[1]) },
		"str_map_dyn":          unary(fs["strMap"]),
		"truthy_dyn":           unary(fs["truthy"]),
		"lower_dyn":            unary(fs["lower"]),
		"upper_dyn":            unary(fs["upper"]),
		"trim_dyn":             unary(fs["trim"]),
		"lookup_map_dyn": func(a []ref.Val) ref.Val {
			if _, ok := a[0].(traits.Mapper); !ok {
				return nil
			}
			return lookup(a[0], a[1], nil)
		},
		"lookup_map_dyn_dyn": func(a []ref.Val) ref.Val {
			if _, ok := a[0].(traits.Mapper); !ok {
				return nil
			}
			return lookup(a[0], a[1], a[2])
		},
		"coalesce_dyn_dyn":     func(a []ref.Val) ref.Val { return coalesce(a...) },
		"coalesce_dyn_dyn_dyn": func(a []ref.Val) ref.Val { return coalesce(a...) },
		"when_bool_T": func(a []ref.Val) ref.Val {
			if _, ok := a[0].(types.Bool); !ok {
				return nil
			}
			if a[0] == types.True {
				return a[1]
			}
			return types.NullValue
		},
	}
}
