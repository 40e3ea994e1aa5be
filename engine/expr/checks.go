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
			if sel := e.AsSelect(); !sel.IsTestOnly() && isTables(sel.Operand()) {
				undeclared(e.ID(), 1, sel.FieldName())
			}
		case ast.CallKind:
			call := e.AsCall()
			args := call.Args()
			switch {
			case call.FunctionName() == operators.Index && len(args) == 2 && isTables(args[0]) && args[1].Kind() == ast.LiteralKind:
				if s, ok := args[1].AsLiteral().(types.String); ok {
					undeclared(args[1].ID(), 0, string(s))
				}
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
