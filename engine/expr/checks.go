package expr

import (
	"fmt"
	"sort"
	"strings"

	"github.com/google/cel-go/cel"
	"github.com/google/cel-go/common/ast"
	"github.com/google/cel-go/common/operators"
	"github.com/google/cel-go/common/types"
)

// checkMapping reports, each at its place, what a mapping expression may
// not do although CEL's checker lets it, because it would fail on every
// record instead of once when the spec loads:
//   - read a table the spec does not declare (tables.x, tables['x'];
//     tables, when not nil, are the spec's; has(tables.x) may name any);
//   - take dec() of a value typed double (dec(19.99), dec(double(x))): a
//     float has already rounded the amount, and dec() refuses it;
//   - call CEL's timestamp(), which reads only RFC 3339 with an offset,
//     not the spec's timezone nor a layout, as ts() does.
func checkMapping(a *cel.Ast, tables map[string]bool) error {
	native := a.NativeRep()
	info := native.SourceInfo()
	var bad []Issue
	// shift: a selection's place is its dot, the name follows it.
	report := func(id int64, shift int, msg string) {
		loc := info.GetStartLocation(id)
		bad = append(bad, Issue{Line: loc.Line(), Column: loc.Column() + shift, Message: msg})
	}
	undeclared := func(id int64, shift int, name string) {
		if tables != nil && !tables[name] {
			report(id, shift, fmt.Sprintf("undeclared table '%s' (the spec's tables: %s)", name, tableList(tables)))
		}
	}
	ast.PostOrderVisit(native.Expr(), ast.NewExprVisitor(func(e ast.Expr) {
		switch e.Kind() {
		case ast.SelectKind:
			if name, ok := tableName(e); ok {
				undeclared(e.ID(), 1, name)
			}
		case ast.CallKind:
			call := e.AsCall()
			args := call.Args()
			if name, ok := tableName(e); ok {
				undeclared(args[1].ID(), 0, name)
			}
			switch {
			case call.FunctionName() == "dec" && len(args) > 0 && native.GetType(args[0].ID()) == types.DoubleType:
				report(args[0].ID(), 0, "dec() of a double: a float has already rounded the amount; pass its text (dec('19.99'), dec(r.amount))")
			case call.FunctionName() == "timestamp" && !call.IsMemberFunction():
				report(e.ID(), 0, "timestamp() reads only RFC 3339 with an offset: use ts(x) (ISO 8601, the spec's timezone) or ts(x, layout)")
			}
		}
	}))
	if len(bad) == 0 {
		return nil
	}
	return &CompileError{Issues: bad}
}

func isTables(e ast.Expr) bool { return e.Kind() == ast.IdentKind && e.AsIdent() == "tables" }

func tableList(known map[string]bool) string {
	if len(known) == 0 {
		return "none"
	}
	names := make([]string, 0, len(known))
	for n := range known {
		names = append(names, n)
	}
	sort.Strings(names)
	return strings.Join(names, ", ")
}

// Results is what a mapping expression can give, as far as the spec tells
// before any record is read: the string literals it returns and the
// tables whose values it returns through lookup(). What other parts of
// the expression give (a field of the record, a function's result) is
// known per record only.
type Results struct {
	Literals []Literal
	Tables   []string // in the order they appear, each once
}

// Literal is a string an expression returns, at its place in the source.
type Literal struct {
	Value        string
	Line, Column int
}

// ResultsOf compiles src in env and walks the places its result comes
// from: both branches of a conditional, every argument of coalesce(), the
// value of when(), and a lookup()'s table and default.
func ResultsOf(env *cel.Env, src string) (Results, error) {
	a, err := Compile(env, src)
	if err != nil {
		return Results{}, err
	}
	native := a.NativeRep()
	info := native.SourceInfo()
	var res Results
	seen := map[string]bool{}
	var walk func(e ast.Expr)
	walk = func(e ast.Expr) {
		switch e.Kind() {
		case ast.LiteralKind:
			if s, ok := e.AsLiteral().(types.String); ok {
				loc := info.GetStartLocation(e.ID())
				res.Literals = append(res.Literals, Literal{Value: string(s), Line: loc.Line(), Column: loc.Column()})
			}
		case ast.CallKind:
			call := e.AsCall()
			args := call.Args()
			switch name := call.FunctionName(); {
			case name == operators.Conditional && len(args) == 3:
				walk(args[1])
				walk(args[2])
			case name == "coalesce" && !call.IsMemberFunction():
				for _, a := range args {
					walk(a)
				}
			case name == "when" && !call.IsMemberFunction() && len(args) == 2:
				walk(args[1])
			case name == "lookup" && !call.IsMemberFunction() && len(args) >= 2:
				if t, ok := tableName(args[0]); ok && !seen[t] {
					seen[t] = true
					res.Tables = append(res.Tables, t)
				}
				if len(args) == 3 {
					walk(args[2])
				}
			}
		}
	}
	walk(native.Expr())
	return res, nil
}

// tableName is the name of the table e reads: tables.x or tables['x'].
func tableName(e ast.Expr) (string, bool) {
	switch e.Kind() {
	case ast.SelectKind:
		if sel := e.AsSelect(); !sel.IsTestOnly() && isTables(sel.Operand()) {
			return sel.FieldName(), true
		}
	case ast.CallKind:
		call := e.AsCall()
		args := call.Args()
		if call.FunctionName() == operators.Index && len(args) == 2 && isTables(args[0]) && args[1].Kind() == ast.LiteralKind {
			if s, ok := args[1].AsLiteral().(types.String); ok {
				return string(s), true
			}
		}
	}
	return "", false
}
