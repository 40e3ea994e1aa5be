// Package expr compiles the CEL expressions of network specs: the
// environments they are checked in, the afflake CEL library, and record
// programs that read JSON fields without building a map per record.
package expr

import (
	"fmt"
	"regexp"
	"sort"
	"strings"
	"time"
	"unicode"

	"github.com/google/cel-go/cel"
	celast "github.com/google/cel-go/common/ast"
	"github.com/google/cel-go/common/types"
	"github.com/google/cel-go/common/types/ref"
	"github.com/google/cel-go/ext"

	"github.com/afflake/afflake/engine/suggest"
)

// Scope names the environment an expression is checked in.
type Scope int

// Scopes of spec expressions.
const (
	// RecordScope: mappings and columns; r is the record, account the
	// account's configuration, tables the spec's lookup tables.
	RecordScope Scope = iota
	// RequestScope: URL, query, header, body and auth templates; account,
	// window, page, secret, session, now and request.
	RequestScope
	// ResponseScope: pagination and error expressions; body is the parsed
	// response, headers its headers, page the current page.
	ResponseScope
)

func (s Scope) String() string {
	switch s {
	case RecordScope:
		return "record"
	case RequestScope:
		return "request"
	}
	return "response"
}

// Issue is one compile error with its position inside the expression:
// Line is 1-based, Column 0-based in bytes.
type Issue struct {
	Line, Column int
	Message      string
}

// CompileError lists the issues of one expression.
type CompileError struct{ Issues []Issue }

func (e *CompileError) Error() string {
	var b strings.Builder
	for i, is := range e.Issues {
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(is.Message)
	}
	return b.String()
}

func mapType() *cel.Type { return cel.MapType(cel.StringType, cel.DynType) }

// NewEnv returns the CEL environment of a scope. zone is the spec's
// timezone for times without an offset.
func NewEnv(scope Scope, zone *time.Location) (*cel.Env, error) {
	opts := []cel.EnvOption{
		Library(zone),
		ext.Strings(),
		ext.Encoders(),
		ext.Math(),
		cel.Variable("account", mapType()),
	}
	switch scope {
	case RecordScope:
		opts = append(opts,
			cel.Variable("r", cel.DynType),
			cel.Variable("tables", cel.MapType(cel.StringType, cel.MapType(cel.StringType, cel.StringType))),
			cel.Variable("fetched_at", cel.TimestampType))
	case RequestScope:
		opts = append(opts,
			cel.Variable("window", mapType()),
			cel.Variable("page", mapType()),
			cel.Variable("secret", cel.MapType(cel.StringType, cel.StringType)),
			cel.Variable("session", cel.MapType(cel.StringType, cel.StringType)),
			cel.Variable("request", cel.MapType(cel.StringType, cel.StringType)),
			cel.Variable("now", cel.TimestampType))
	case ResponseScope:
		opts = append(opts,
			cel.Variable("body", cel.DynType),
			cel.Variable("headers", cel.MapType(cel.StringType, cel.StringType)),
			cel.Variable("page", mapType()))
	}
	return cel.NewEnv(opts...)
}

func issuesOf(env *cel.Env, src string, iss *cel.Issues) *CompileError {
	ce := &CompileError{}
	for _, e := range iss.Errors() {
		called := calledAt(src, e.Location.Line(), e.Location.Column())
		ce.Issues = append(ce.Issues, Issue{Line: e.Location.Line(), Column: e.Location.Column(), Message: e.Message + suggestion(env, e.Message, called)})
	}
	return ce
}

// calledAt reports whether the name at line and column (CEL's: 1-based,
// 0-based in code points) of src is called: a '(' follows it.
func calledAt(src string, line, col int) bool {
	lines := strings.Split(src, "\n")
	if line < 1 || line > len(lines) {
		return false
	}
	rs := []rune(lines[line-1])
	i := col
	for i < len(rs) && (rs[i] == '_' || unicode.IsLetter(rs[i]) || unicode.IsDigit(rs[i])) {
		i++
	}
	for i < len(rs) && unicode.IsSpace(rs[i]) {
		i++
	}
	return i < len(rs) && rs[i] == '('
}

var undeclared = regexp.MustCompile(`^undeclared reference to '([^']+)'`)

// suggestion is "; did you mean 'x'?" for a reference to an undeclared
// name close to a declared function (when called) or variable (decimal →
// dec, rec → r), or "".
func suggestion(env *cel.Env, msg string, called bool) string {
	m := undeclared.FindStringSubmatch(msg)
	if m == nil {
		return ""
	}
	var names []string
	if called {
		for name := range env.Functions() {
			if !strings.HasPrefix(name, "_") && !strings.Contains(name, "@") && !strings.Contains(name, ".") {
				names = append(names, name)
			}
		}
	} else {
		for _, v := range env.Variables() {
			names = append(names, v.Name())
		}
	}
	// A called name must be two letters or more to be a prefix: r is no
	// function.
	if best := suggest.Closest(m[1], names, true); best != "" && (len(best) >= 2 || !called) {
		return fmt.Sprintf("; did you mean '%s'?", best)
	}
	return ""
}

// Compile parses and checks one expression in env.
func Compile(env *cel.Env, src string) (*cel.Ast, error) {
	a, iss := env.Compile(src)
	if iss != nil && iss.Err() != nil {
		return nil, issuesOf(env, src, iss)
	}
	return a, nil
}

// Program is a compiled, type-checked expression, safe for concurrent use.
type Program struct {
	Source string
	Output *cel.Type
	prog   cel.Program
	// path is set when the expression only reads one record field (r.a.b):
	// the field is copied without evaluating CEL.
	path []string
	slot int
	// direct, when set, is a chain of one-argument library functions
	// applied to the field in slot (lower(nullIfEmpty(r.x))): evaluated
	// without the CEL interpreter, with the same functions.
	direct []func(ref.Val) ref.Val
	// scalar, when set, evaluates the expression with typed values when
	// it can (see scalarNode).
	scalar scalarNode
	// fast, when set, evaluates the expression without the interpreter
	// when it can (see fastNode).
	fast fastNode
	// index is the program's place in its Programs: a record view keeps
	// the value of each program it evaluated, so that an expression used
	// twice (a column and a transaction field) is evaluated once a record.
	index int
}

// Path returns the record field the expression reads as is, if it is
// nothing but that field.
func (p *Program) Path() []string { return p.path }

// Eval evaluates p with vars (an interpreter.Activation or a map).
func (p *Program) Eval(vars any) (ref.Val, error) {
	v, _, err := p.prog.Eval(vars)
	return v, err
}

// EvalRecord evaluates p against a record view.
func (p *Program) EvalRecord(rec *Record) (ref.Val, error) {
	if p.index < 0 || p.index >= len(rec.results) {
		return p.evalRecord(rec)
	}
	if rec.resultGen[p.index] == rec.gen {
		return rec.results[p.index], nil
	}
	v, err := p.evalRecord(rec)
	if err == nil {
		rec.results[p.index] = v
		rec.resultGen[p.index] = rec.gen
	}
	return v, err
}

func (p *Program) evalRecord(rec *Record) (ref.Val, error) {
	if p.direct != nil {
		v := FromJSON(rec.slots[p.slot])
		for i := len(p.direct) - 1; i >= 0; i-- {
			v = p.direct[i](v)
			if err, ok := v.(*types.Err); ok {
				return nil, err
			}
		}
		return v, nil
	}
	if p.fast != nil {
		if v := p.fast(rec); v != nil {
			return v, nil
		}
	}
	return p.Eval(rec)
}

// Programs compiles a set of expressions over one record env, collecting
// the record fields they read so that a record is walked once, however
// many expressions read it.
type Programs struct {
	env   *cel.Env
	unary map[string]func(ref.Val) ref.Val
	// scalar holds the typed versions of unary functions, by name.
	scalar map[string]scalarFunc
	funcs  map[string]func([]ref.Val) ref.Val
	srcs   []string
	outs   []*Program
	bySrc  map[string]*Program
	// consts counts the values of account and tables fast programs read,
	// which a record view keeps once read.
	consts int
	// temps counts the temporary values of typed programs.
	temps int
	paths map[string]int // dotted path → slot
	tree  *PathTree
	// Tables, when set, are the names of the spec's tables: an
	// expression reading another one does not compile.
	Tables map[string]bool
}

// NewPrograms starts a record program set in env, a RecordScope env
// made with the same zone.
func NewPrograms(env *cel.Env, zone *time.Location) *Programs {
	return &Programs{env: env, paths: map[string]int{}, unary: unaryFuncs(zone), scalar: scalarFuncs(zone), funcs: fastFuncs(zone)}
}

var plainPath = regexp.MustCompile(`^\s*r(\.[A-Za-z_][A-Za-z0-9_]*)+\s*$`)

// Add checks src and returns its program slot; the program is usable
// after Build. A compile error is returned at once.
func (ps *Programs) Add(src string) (*Program, error) {
	if p, ok := ps.bySrc[src]; ok {
		return p, nil
	}
	a, err := Compile(ps.env, src)
	if err != nil {
		return nil, err
	}
	if err := checkMapping(a, ps.Tables); err != nil {
		return nil, err
	}
	for _, path := range recordPaths(a) {
		ps.slotOf(path)
	}
	p := &Program{Source: src, Output: a.OutputType(), slot: -1, index: len(ps.outs)}
	if plainPath.MatchString(src) {
		p.path = strings.Split(strings.TrimSpace(src), ".")[1:]
		p.slot = ps.slotOf(p.path)
	} else {
		if fns, path := ps.unaryChain(src); fns != nil {
			p.direct = fns
			p.slot = ps.slotOf(path)
		} else {
			p.fast = planFast(a.NativeRep(), a.NativeRep().Expr(), ps.funcs, ps.slotOf, &ps.consts)
		}
		pl := &scalarPlanner{a: a.NativeRep(), fns: ps.scalar, slot: ps.slotOf, consts: &ps.consts, temps: &ps.temps}
		p.scalar = pl.plan(a.NativeRep().Expr())
	}
	ps.srcs = append(ps.srcs, src)
	ps.outs = append(ps.outs, p)
	if ps.bySrc == nil {
		ps.bySrc = map[string]*Program{}
	}
	ps.bySrc[src] = p
	return p, nil
}

var callRe = regexp.MustCompile(`^\s*([A-Za-z]+)\((.*)\)\s*$`)

// unaryChain recognises f(g(…(r.a.b))) where every function is a
// one-argument library function.
func (ps *Programs) unaryChain(src string) ([]func(ref.Val) ref.Val, []string) {
	var fns []func(ref.Val) ref.Val
	for {
		if plainPath.MatchString(src) {
			if len(fns) == 0 {
				return nil, nil
			}
			return fns, strings.Split(strings.TrimSpace(src), ".")[1:]
		}
		m := callRe.FindStringSubmatch(src)
		if m == nil {
			return nil, nil
		}
		f, ok := ps.unary[m[1]]
		if !ok {
			return nil, nil
		}
		fns = append(fns, f)
		src = m[2]
	}
}

// AddPath registers a plain field path read without CEL; it returns the
// slot the field's value is found in.
func (ps *Programs) AddPath(path []string) int { return ps.slotOf(path) }

func (ps *Programs) slotOf(path []string) int {
	key := "r." + strings.Join(path, ".")
	if i, ok := ps.paths[key]; ok {
		return i
	}
	i := len(ps.paths)
	ps.paths[key] = i
	return i
}

// Build recompiles every expression with each field it reads declared as
// its own variable, and plans the programs.
func (ps *Programs) Build() error {
	names := make([]string, 0, len(ps.paths))
	for name := range ps.paths {
		names = append(names, name)
	}
	sort.Strings(names)
	var opts []cel.EnvOption
	for _, name := range names {
		opts = append(opts, cel.Variable(name, cel.DynType))
	}
	env, err := ps.env.Extend(opts...)
	if err != nil {
		return fmt.Errorf("record fields: %w", err)
	}
	for i, src := range ps.srcs {
		a, err := Compile(env, src)
		if err != nil {
			return err
		}
		prog, err := env.Program(a, cel.EvalOptions(cel.OptOptimize))
		if err != nil {
			return err
		}
		ps.outs[i].prog = prog
	}
	ps.tree = newPathTree(ps.paths)
	ps.tree.programs = len(ps.outs)
	ps.tree.consts = ps.consts
	ps.tree.temps = ps.temps
	return nil
}

// Tree returns the fields to collect from each record.
func (ps *Programs) Tree() *PathTree { return ps.tree }

// recordPaths returns the longest field chains r.a.b… the expression
// reads, other than presence tests.
func recordPaths(a *cel.Ast) [][]string {
	var out [][]string
	seen := map[int64]bool{}
	celast.PreOrderVisit(a.NativeRep().Expr(), celast.NewExprVisitor(func(e celast.Expr) {
		if e.Kind() != celast.SelectKind || seen[e.ID()] {
			return
		}
		var chain []string
		cur := e
		for cur.Kind() == celast.SelectKind {
			sel := cur.AsSelect()
			seen[cur.ID()] = true
			if sel.IsTestOnly() {
				chain = nil
			} else {
				chain = append(chain, sel.FieldName())
			}
			cur = sel.Operand()
		}
		if cur.Kind() != celast.IdentKind || cur.AsIdent() != "r" || len(chain) == 0 {
			return
		}
		for i, j := 0, len(chain)-1; i < j; i, j = i+1, j-1 {
			chain[i], chain[j] = chain[j], chain[i]
		}
		out = append(out, chain)
	}))
	return out
}

// Assignable reports whether an expression of type out may fill a column
// of the given kind (string, int, bool, decimal, timestamp, json, map).
// dyn is accepted and checked when the row is built.
func Assignable(out *cel.Type, column string) bool {
	if out == nil {
		return false
	}
	switch out.Kind() {
	case types.DynKind, types.NullTypeKind, types.AnyKind:
		return true
	}
	if out.Kind() == types.OpaqueKind && out.TypeName() == "optional_type" {
		return true
	}
	switch column {
	case "string":
		return out.IsExactType(cel.StringType) || out.IsExactType(NumberType) || out.IsExactType(cel.IntType)
	case "int":
		return out.IsExactType(cel.IntType)
	case "bool":
		return out.IsExactType(cel.BoolType)
	case "decimal":
		return out.IsExactType(DecimalType) || out.IsExactType(cel.IntType) || out.IsExactType(NumberType)
	case "timestamp":
		return out.IsExactType(cel.TimestampType)
	case "map":
		return out.Kind() == types.MapKind
	case "json":
		return true
	}
	return false
}

// CompileProgram compiles src in env into a program (for request and
// response scopes, which read no record).
func CompileProgram(env *cel.Env, src string) (*Program, error) {
	a, err := Compile(env, src)
	if err != nil {
		return nil, err
	}
	prog, err := env.Program(a, cel.EvalOptions(cel.OptOptimize))
	if err != nil {
		return nil, err
	}
	return &Program{Source: src, Output: a.OutputType(), prog: prog, slot: -1, index: -1}, nil
}

// Slot returns the record slot of a plain-path program.
func (p *Program) Slot() int { return p.slot }
