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

// checkTables reports each table an expression reads (tables.x or
// tables['x']) that is not one of known: the spec's tables are known at
// load, so a misspelt one is a spec error, not a runtime error on every
// record. A presence test (has(tables.x)) may name any table.
func checkTables(a *cel.Ast, known map[string]bool) error {
	native := a.NativeRep()
	info := native.SourceInfo()
	var bad []Issue
	// shift: a selection's place is its dot, the name follows it.
	report := func(id int64, shift int, name string) {
		loc := info.GetStartLocation(id)
		bad = append(bad, Issue{Line: loc.Line(), Column: loc.Column() + shift,
			Message: fmt.Sprintf("undeclared table '%s' (the spec's tables: %s)", name, tableList(known))})
	}
	ast.PostOrderVisit(native.Expr(), ast.NewExprVisitor(func(e ast.Expr) {
		switch e.Kind() {
		case ast.SelectKind:
			sel := e.AsSelect()
			if !sel.IsTestOnly() && isTables(sel.Operand()) && !known[sel.FieldName()] {
				report(e.ID(), 1, sel.FieldName())
			}
		case ast.CallKind:
			call := e.AsCall()
			if call.FunctionName() != operators.Index || len(call.Args()) != 2 || !isTables(call.Args()[0]) {
				return
			}
			if k := call.Args()[1]; k.Kind() == ast.LiteralKind {
				if s, ok := k.AsLiteral().(types.String); ok && !known[string(s)] {
					report(k.ID(), 0, string(s))
				}
			}
		}
	}))
	if len(bad) == 0 {
		return nil
	}
	return &CompileError{Issues: bad}
}

// checkTimestamps reports CEL's timestamp() in a mapping: it reads only
// RFC 3339 with an offset, not the spec's timezone nor a layout, so a
// source time without an offset would quarantine every record; ts()
// reads those forms and more.
func checkTimestamps(a *cel.Ast) error {
	native := a.NativeRep()
	info := native.SourceInfo()
	var bad []Issue
	ast.PostOrderVisit(native.Expr(), ast.NewExprVisitor(func(e ast.Expr) {
		if e.Kind() != ast.CallKind || e.AsCall().FunctionName() != "timestamp" || e.AsCall().IsMemberFunction() {
			return
		}
		loc := info.GetStartLocation(e.ID())
		bad = append(bad, Issue{Line: loc.Line(), Column: loc.Column(),
			Message: "timestamp() reads only RFC 3339 with an offset: use ts(x) (ISO 8601, the spec's timezone) or ts(x, layout)"})
	}))
	if len(bad) == 0 {
		return nil
	}
	return &CompileError{Issues: bad}
}

// checkDoubles reports dec() of a value typed double (a literal like
// 19.99, double(x)): dec refuses floats, which would have rounded the
// amount already; the value's text is what it reads.
func checkDoubles(a *cel.Ast) error {
	native := a.NativeRep()
	info := native.SourceInfo()
	var bad []Issue
	ast.PostOrderVisit(native.Expr(), ast.NewExprVisitor(func(e ast.Expr) {
		if e.Kind() != ast.CallKind {
			return
		}
		call := e.AsCall()
		if call.FunctionName() != "dec" || len(call.Args()) == 0 {
			return
		}
		arg := call.Args()[0]
		if native.GetType(arg.ID()) != types.DoubleType {
			return
		}
		loc := info.GetStartLocation(arg.ID())
		bad = append(bad, Issue{Line: loc.Line(), Column: loc.Column(),
			Message: "dec() of a double: a float has already rounded the amount; pass its text (dec('19.99'), dec(r.amount))"})
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
