package expr

import (
	"strconv"

	"github.com/google/cel-go/common/ast"
	"github.com/google/cel-go/common/operators"
	"github.com/google/cel-go/common/types"
	"github.com/google/cel-go/common/types/ref"
	"github.com/google/cel-go/common/types/traits"
	"github.com/tidwall/gjson"
)

// scalarNode evaluates part of an expression into *v with typed values,
// or declines (false), as the functions of a typed chain do: the program
// is then evaluated with CEL values. It covers the shapes of fastNode
// whose values are scalars: literals, record fields, account values,
// ?:, ==, !=, in a list of strings, !, &&, ||, and the library's
// one-argument functions, coalesce, when and lookup in a spec table.
type scalarNode func(rec *Record, v *Scalar) bool

// scalarPlanner compiles checked expressions into scalarNodes. consts
// counts the account and tables values record views keep (shared with
// fastNode), temps the Scalars nodes need besides their result: each has
// its own in a record view, so that none is allocated as a record is
// evaluated.
type scalarPlanner struct {
	a      *ast.AST
	fns    map[string]scalarFunc
	slot   func([]string) int
	consts *int
	temps  *int
}

// temp returns the index of a new temporary Scalar.
func (pl *scalarPlanner) temp() int {
	i := *pl.temps
	*pl.temps++
	return i
}

// plan compiles e into a scalarNode, or returns nil for a shape it does
// not cover.
func (pl *scalarPlanner) plan(e ast.Expr) scalarNode {
	switch e.Kind() {
	case ast.LiteralKind:
		var lit Scalar
		switch x := e.AsLiteral().(type) {
		case types.String:
			lit = Scalar{Kind: SString, Str: string(x)}
		case types.Bool:
			lit = Scalar{Kind: SBool, Bool: bool(x)}
		case types.Int:
			lit = Scalar{Kind: SNumber, Str: strconv.FormatInt(int64(x), 10)}
		case types.Null:
		default:
			return nil
		}
		return func(_ *Record, v *Scalar) bool { *v = lit; return true }
	case ast.SelectKind:
		if i, field, ok := presenceTest(e, pl.slot); ok {
			return func(rec *Record, v *Scalar) bool {
				b, ok := hasField(rec.slots[i], field)
				*v = Scalar{Kind: SBool, Bool: b}
				return ok
			}
		}
		name, chain := selectChain(e)
		switch {
		case name == "r":
			i := pl.slot(chain)
			return func(rec *Record, v *Scalar) bool { return scalarOf(&rec.slots[i], v) }
		case name == "account" && len(chain) == 1:
			get := constNode(name, chain[0], pl.consts)
			return func(rec *Record, v *Scalar) bool {
				switch x := get(rec).(type) {
				case types.String:
					*v = Scalar{Kind: SString, Str: string(x)}
				case types.Bool:
					*v = Scalar{Kind: SBool, Bool: bool(x)}
				case types.Null:
					*v = Scalar{}
				default:
					return false
				}
				return true
			}
		}
		return nil
	case ast.CallKind:
		return pl.call(e)
	}
	return nil
}

// presenceTest recognises has(r.a.b): the slot of r.a and the field b.
func presenceTest(e ast.Expr, slot func([]string) int) (int, string, bool) {
	s := e.AsSelect()
	if !s.IsTestOnly() {
		return 0, "", false
	}
	name, chain := selectChain(s.Operand())
	if name != "r" {
		return 0, "", false
	}
	return slot(chain), s.FieldName(), true
}

// hasField is has() of field in a record's value v, as CEL gives it: an
// object's field present (null or not); false for any other value or a
// missing one. ok is false for an array, which has() does not take.
func hasField(v gjson.Result, field string) (has, ok bool) {
	switch {
	case v.IsObject():
		v.ForEach(func(k, _ gjson.Result) bool {
			has = k.Str == field
			return !has
		})
		return has, true
	case v.IsArray():
		return false, false
	}
	return false, true
}

// selectChain returns the variable and field names of a field chain
// x.a.b, or "" when e is not one.
func selectChain(e ast.Expr) (string, []string) {
	var chain []string
	cur := e
	for cur.Kind() == ast.SelectKind {
		s := cur.AsSelect()
		if s.IsTestOnly() {
			return "", nil
		}
		chain = append(chain, s.FieldName())
		cur = s.Operand()
	}
	if cur.Kind() != ast.IdentKind {
		return "", nil
	}
	for i, j := 0, len(chain)-1; i < j; i, j = i+1, j-1 {
		chain[i], chain[j] = chain[j], chain[i]
	}
	return cur.AsIdent(), chain
}

// constNode reads name.key (account, tables) from a record view's
// variables, once a record view.
func constNode(name, key string, consts *int) func(rec *Record) ref.Val {
	id := *consts
	*consts++
	k := types.String(key)
	return func(rec *Record) ref.Val {
		if id < len(rec.consts) && rec.consts[id] != nil {
			return rec.consts[id]
		}
		m, ok := rec.vars[name].(traits.Mapper)
		if !ok {
			return nil
		}
		v, found := m.Find(k)
		if !found {
			return nil
		}
		if id < len(rec.consts) {
			rec.consts[id] = v
		}
		return v
	}
}

func (pl *scalarPlanner) call(e ast.Expr) scalarNode {
	call := e.AsCall()
	if call.IsMemberFunction() {
		return nil
	}
	// lookup(tables.T, key[, default]) reads T as a Go map.
	ids := pl.a.GetOverloadIDs(e.ID())
	if len(ids) == 1 && (ids[0] == "lookup_map_dyn" || ids[0] == "lookup_map_dyn_dyn") {
		return pl.lookup(call)
	}
	if call.FunctionName() == operators.In {
		return pl.in(call)
	}
	args := make([]scalarNode, len(call.Args()))
	for i, arg := range call.Args() {
		if args[i] = pl.plan(arg); args[i] == nil {
			return nil
		}
	}
	switch call.FunctionName() {
	case operators.Conditional:
		c, t, f := args[0], args[1], args[2]
		return func(rec *Record, v *Scalar) bool {
			if !c(rec, v) || v.Kind != SBool {
				return false
			}
			if v.Bool {
				return t(rec, v)
			}
			return f(rec, v)
		}
	case operators.Equals, operators.NotEquals:
		l, r := args[0], args[1]
		neq := call.FunctionName() == operators.NotEquals
		t := pl.temp()
		return func(rec *Record, v *Scalar) bool {
			rv := &rec.temps[t]
			if !l(rec, v) || !r(rec, rv) {
				return false
			}
			eq, ok := scalarEqual(v, rv)
			*v = Scalar{Kind: SBool, Bool: eq != neq}
			return ok
		}
	case operators.LogicalNot:
		x := args[0]
		return func(rec *Record, v *Scalar) bool {
			if !x(rec, v) || v.Kind != SBool {
				return false
			}
			v.Bool = !v.Bool
			return true
		}
	case operators.LogicalAnd, operators.LogicalOr:
		l, r := args[0], args[1]
		// The value that decides without the other side.
		short := call.FunctionName() == operators.LogicalOr
		return func(rec *Record, v *Scalar) bool {
			if !l(rec, v) || v.Kind != SBool {
				return false
			}
			if v.Bool == short {
				return true
			}
			return r(rec, v) && v.Kind == SBool
		}
	}
	if len(ids) != 1 {
		return nil
	}
	switch id := ids[0]; id {
	case "coalesce_dyn_dyn", "coalesce_dyn_dyn_dyn":
		// Every argument is evaluated, as CEL does: an argument CEL
		// refuses makes it refuse the call.
		t := pl.temp()
		return func(rec *Record, v *Scalar) bool {
			found := false
			arg := &rec.temps[t]
			for _, x := range args {
				if !x(rec, arg) {
					return false
				}
				if !found && arg.Kind != SNull && !(arg.Kind == SString && arg.Str == "") {
					*v, found = *arg, true
				}
			}
			if !found {
				*v = Scalar{}
			}
			return true
		}
	case "when_bool_T":
		c, x := args[0], args[1]
		t := pl.temp()
		return func(rec *Record, v *Scalar) bool {
			cond := &rec.temps[t]
			if !c(rec, cond) || cond.Kind != SBool || !x(rec, v) {
				return false
			}
			if !cond.Bool {
				*v = Scalar{}
			}
			return true
		}
	default:
		f, ok := pl.fns[scalarOverloads[id]]
		if !ok || len(args) != 1 {
			return nil
		}
		x := args[0]
		return func(rec *Record, v *Scalar) bool { return x(rec, v) && f(v) }
	}
}

// scalarOverloads names the library function of each one-argument
// overload with a typed version.
var scalarOverloads = map[string]string{
	"dec_dyn": "dec", "ts_dyn": "ts", "str_dyn": "str", "null_if_empty_dyn": "nullIfEmpty",
	"currency_dyn": "currency", "country_dyn": "country", "lower_dyn": "lower",
	"upper_dyn": "upper", "trim_dyn": "trim",
}

// scalarEqual is CEL's == over strings, bools and null: ok is false for
// other kinds, whose equality is left to CEL.
func scalarEqual(a, b *Scalar) (eq, ok bool) {
	for _, s := range [2]*Scalar{a, b} {
		if s.Kind != SString && s.Kind != SBool && s.Kind != SNull {
			return false, false
		}
	}
	if a.Kind != b.Kind {
		return false, true
	}
	return a.Str == b.Str && a.Bool == b.Bool, true
}

// in is x in [literal strings...].
func (pl *scalarPlanner) in(call ast.CallExpr) scalarNode {
	args := call.Args()
	if len(args) != 2 || args[1].Kind() != ast.ListKind {
		return nil
	}
	var set []string
	for _, el := range args[1].AsList().Elements() {
		if el.Kind() != ast.LiteralKind {
			return nil
		}
		s, ok := el.AsLiteral().(types.String)
		if !ok {
			return nil
		}
		set = append(set, string(s))
	}
	x := pl.plan(args[0])
	if x == nil {
		return nil
	}
	return func(rec *Record, v *Scalar) bool {
		if !x(rec, v) {
			return false
		}
		switch v.Kind {
		case SString:
			in := false
			for _, s := range set {
				if s == v.Str {
					in = true
					break
				}
			}
			*v = Scalar{Kind: SBool, Bool: in}
		case SNull, SBool:
			*v = Scalar{Kind: SBool}
		default:
			return false
		}
		return true
	}
}

// lookup is lookup(tables.T, key[, default]).
func (pl *scalarPlanner) lookup(call ast.CallExpr) scalarNode {
	args := call.Args()
	name, chain := selectChain(args[0])
	if name != "tables" || len(chain) != 1 {
		return nil
	}
	key := pl.plan(args[1])
	if key == nil {
		return nil
	}
	var def scalarNode
	if len(args) == 3 {
		if def = pl.plan(args[2]); def == nil {
			return nil
		}
	}
	get := constNode("tables", chain[0], pl.consts)
	t := pl.temp()
	return func(rec *Record, v *Scalar) bool {
		table, ok := rec.table(chain[0], get)
		if !ok || !key(rec, v) {
			return false
		}
		d := &rec.temps[t]
		*d = Scalar{}
		if def != nil && !def(rec, d) {
			return false
		}
		k, ok := v.text()
		if ok {
			if s, found := table[k]; found {
				*v = Scalar{Kind: SString, Str: s}
				return true
			}
		}
		// Not found, or no key: the default; without one CEL gives
		// the error.
		*v = *d
		return def != nil
	}
}

// table is the spec table name of a record view's variables as a Go map,
// read once a record view: ok is false when it is not a table of strings.
func (rv *Record) table(name string, get func(*Record) ref.Val) (map[string]string, bool) {
	if t, ok := rv.tables[name]; ok {
		return t, t != nil
	}
	var t map[string]string
	if m, ok := get(rv).(traits.Mapper); ok {
		t = map[string]string{}
		it := m.Iterator()
		for it.HasNext() == types.True {
			k := it.Next()
			ks, ok1 := k.(types.String)
			vs, ok2 := m.Get(k).(types.String)
			if !ok1 || !ok2 {
				t = nil
				break
			}
			t[string(ks)] = string(vs)
		}
	}
	if rv.tables == nil {
		rv.tables = map[string]map[string]string{}
	}
	rv.tables[name] = t
	return t, t != nil
}
