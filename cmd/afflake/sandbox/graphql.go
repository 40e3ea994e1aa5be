package sandbox

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"
)

// A small GraphQL reader: enough of the query language (operations,
// variables, aliases, arguments, nested selection sets) to serve the CJ
// Commission Detail API queries. Fragments and directives are rejected.

type gqlError struct {
	msg       string
	line, col int
}

func (e *gqlError) Error() string { return e.msg }

type tokKind int

const (
	tokEOF tokKind = iota
	tokPunct
	tokName
	tokString
	tokNumber
)

type token struct {
	kind      tokKind
	val       string
	line, col int
}

func (t token) describe() string {
	switch t.kind {
	case tokEOF:
		return "<EOF>"
	case tokString:
		return "String " + strconv.Quote(t.val)
	case tokNumber:
		return "Number \"" + t.val + "\""
	case tokName:
		return "Name \"" + t.val + "\""
	}
	return "\"" + t.val + "\""
}

func lexGraphQL(src string) ([]token, *gqlError) {
	var toks []token
	line, lineStart := 1, 0
	i := 0
	errAt := func(pos int, msg string) *gqlError {
		return &gqlError{msg: "Syntax Error: " + msg, line: line, col: pos - lineStart + 1}
	}
	for i < len(src) {
		c := src[i]
		switch {
		case c == '\n':
			i++
			line, lineStart = line+1, i
			continue
		case c == ' ' || c == '\t' || c == '\r' || c == ',':
			i++
			continue
		case c == '#':
			for i < len(src) && src[i] != '\n' {
				i++
			}
			continue
		case strings.HasPrefix(src[i:], "\ufeff"):
			i += 3
			continue
		}
		col := i - lineStart + 1
		switch {
		case strings.HasPrefix(src[i:], "..."):
			toks = append(toks, token{tokPunct, "...", line, col})
			i += 3
		case strings.ContainsRune("!$()&:=@[]{}|", rune(c)):
			toks = append(toks, token{tokPunct, string(c), line, col})
			i++
		case c == '_' || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z':
			j := i + 1
			for j < len(src) && (src[j] == '_' || src[j] >= 'A' && src[j] <= 'Z' || src[j] >= 'a' && src[j] <= 'z' || src[j] >= '0' && src[j] <= '9') {
				j++
			}
			toks = append(toks, token{tokName, src[i:j], line, col})
			i = j
		case c == '-' || c >= '0' && c <= '9':
			j := i + 1
			for j < len(src) && (src[j] >= '0' && src[j] <= '9' || strings.IndexByte(".eE+-", src[j]) >= 0) {
				j++
			}
			if _, err := strconv.ParseFloat(src[i:j], 64); err != nil {
				return nil, errAt(i, "Invalid number, found \""+src[i:j]+"\".")
			}
			toks = append(toks, token{tokNumber, src[i:j], line, col})
			i = j
		case strings.HasPrefix(src[i:], `"""`):
			end := strings.Index(src[i+3:], `"""`)
			if end < 0 {
				return nil, errAt(i, "Unterminated string.")
			}
			raw := src[i+3 : i+3+end]
			toks = append(toks, token{tokString, strings.TrimSpace(raw), line, col})
			for _, r := range raw {
				if r == '\n' {
					line++
				}
			}
			i += 6 + end
			if n := strings.LastIndexByte(src[:i], '\n'); n >= 0 {
				lineStart = n + 1
			}
		case c == '"':
			var b strings.Builder
			j := i + 1
			for {
				if j >= len(src) || src[j] == '\n' {
					return nil, errAt(i, "Unterminated string.")
				}
				if src[j] == '"' {
					j++
					break
				}
				if src[j] == '\\' && j+1 < len(src) {
					switch e := src[j+1]; e {
					case '"', '\\', '/':
						b.WriteByte(e)
					case 'b':
						b.WriteByte('\b')
					case 'f':
						b.WriteByte('\f')
					case 'n':
						b.WriteByte('\n')
					case 'r':
						b.WriteByte('\r')
					case 't':
						b.WriteByte('\t')
					case 'u':
						if j+6 > len(src) {
							return nil, errAt(j, "Invalid Unicode escape sequence.")
						}
						n, err := strconv.ParseUint(src[j+2:j+6], 16, 32)
						if err != nil {
							return nil, errAt(j, "Invalid Unicode escape sequence.")
						}
						b.WriteRune(rune(n))
						j += 4
					default:
						return nil, errAt(j, "Invalid character escape sequence.")
					}
					j += 2
					continue
				}
				r, size := utf8.DecodeRuneInString(src[j:])
				b.WriteRune(r)
				j += size
			}
			toks = append(toks, token{tokString, b.String(), line, col})
			i = j
		default:
			r, _ := utf8.DecodeRuneInString(src[i:])
			return nil, errAt(i, fmt.Sprintf("Unexpected character: %q.", r))
		}
	}
	toks = append(toks, token{tokEOF, "", line, i - lineStart + 1})
	return toks, nil
}

type valKind int

const (
	valString valKind = iota
	valNumber
	valBool
	valNull
	valEnum
	valList
	valObject
	valVar
)

type gqlValue struct {
	kind      valKind
	str       string
	list      []gqlValue
	line, col int
}

type gqlArg struct {
	name      string
	val       gqlValue
	line, col int
}

type gqlField struct {
	alias, name string
	args        []gqlArg
	sel         []*gqlField
	line, col   int
}

func (f *gqlField) key() string {
	if f.alias != "" {
		return f.alias
	}
	return f.name
}

type gqlDoc struct {
	defaults map[string]gqlValue
	declared map[string]bool
	sel      []*gqlField
}

type gqlParser struct {
	toks []token
	pos  int
}

func (p *gqlParser) peek() token { return p.toks[p.pos] }
func (p *gqlParser) advance() token {
	t := p.toks[p.pos]
	if t.kind != tokEOF {
		p.pos++
	}
	return t
}

func (p *gqlParser) unexpected(want string) *gqlError {
	t := p.peek()
	return &gqlError{msg: "Syntax Error: Expected " + want + ", found " + t.describe() + ".", line: t.line, col: t.col}
}

func (p *gqlParser) isPunct(v string) bool {
	t := p.peek()
	return t.kind == tokPunct && t.val == v
}

func (p *gqlParser) expect(v string) *gqlError {
	if !p.isPunct(v) {
		return p.unexpected("\"" + v + "\"")
	}
	p.advance()
	return nil
}

func (p *gqlParser) name() (token, *gqlError) {
	if p.peek().kind != tokName {
		return token{}, p.unexpected("Name")
	}
	return p.advance(), nil
}

func parseGraphQL(src string) (*gqlDoc, *gqlError) {
	toks, err := lexGraphQL(src)
	if err != nil {
		return nil, err
	}
	p := &gqlParser{toks: toks}
	doc := &gqlDoc{defaults: map[string]gqlValue{}, declared: map[string]bool{}}
	if t := p.peek(); t.kind == tokName {
		switch t.val {
		case "query":
			p.advance()
		case "mutation", "subscription":
			return nil, &gqlError{msg: "Schema is not configured for " + t.val + "s.", line: t.line, col: t.col}
		case "fragment":
			return nil, &gqlError{msg: "Fragments are not supported.", line: t.line, col: t.col}
		default:
			return nil, &gqlError{msg: "Syntax Error: Unexpected " + t.describe() + ".", line: t.line, col: t.col}
		}
		if p.peek().kind == tokName {
			p.advance()
		}
		if p.isPunct("(") {
			p.advance()
			for !p.isPunct(")") {
				if err := p.expect("$"); err != nil {
					return nil, err
				}
				n, err := p.name()
				if err != nil {
					return nil, err
				}
				if err := p.expect(":"); err != nil {
					return nil, err
				}
				if err := p.skipType(); err != nil {
					return nil, err
				}
				doc.declared[n.val] = true
				if p.isPunct("=") {
					p.advance()
					v, err := p.value(true)
					if err != nil {
						return nil, err
					}
					doc.defaults[n.val] = v
				}
			}
			p.advance()
		}
	}
	if p.isPunct("@") {
		t := p.peek()
		return nil, &gqlError{msg: "Directives are not supported.", line: t.line, col: t.col}
	}
	sel, err := p.selectionSet()
	if err != nil {
		return nil, err
	}
	doc.sel = sel
	if t := p.peek(); t.kind != tokEOF {
		if t.kind == tokName && t.val == "fragment" {
			return nil, &gqlError{msg: "Fragments are not supported.", line: t.line, col: t.col}
		}
		return nil, &gqlError{msg: "Syntax Error: Unexpected " + t.describe() + ".", line: t.line, col: t.col}
	}
	return doc, nil
}

func (p *gqlParser) skipType() *gqlError {
	if p.isPunct("[") {
		p.advance()
		if err := p.skipType(); err != nil {
			return err
		}
		if err := p.expect("]"); err != nil {
			return err
		}
	} else if _, err := p.name(); err != nil {
		return err
	}
	if p.isPunct("!") {
		p.advance()
	}
	return nil
}

func (p *gqlParser) selectionSet() ([]*gqlField, *gqlError) {
	if err := p.expect("{"); err != nil {
		return nil, err
	}
	var out []*gqlField
	for {
		if p.isPunct("}") {
			if len(out) == 0 {
				return nil, p.unexpected("Name")
			}
			p.advance()
			return out, nil
		}
		if p.isPunct("...") {
			t := p.peek()
			return nil, &gqlError{msg: "Fragments are not supported.", line: t.line, col: t.col}
		}
		n, err := p.name()
		if err != nil {
			return nil, err
		}
		f := &gqlField{name: n.val, line: n.line, col: n.col}
		if p.isPunct(":") {
			p.advance()
			n2, err := p.name()
			if err != nil {
				return nil, err
			}
			f.alias, f.name = n.val, n2.val
		}
		if p.isPunct("(") {
			p.advance()
			for !p.isPunct(")") {
				an, err := p.name()
				if err != nil {
					return nil, err
				}
				if err := p.expect(":"); err != nil {
					return nil, err
				}
				v, err := p.value(false)
				if err != nil {
					return nil, err
				}
				f.args = append(f.args, gqlArg{name: an.val, val: v, line: an.line, col: an.col})
			}
			p.advance()
		}
		if p.isPunct("@") {
			t := p.peek()
			return nil, &gqlError{msg: "Directives are not supported.", line: t.line, col: t.col}
		}
		if p.isPunct("{") {
			sub, err := p.selectionSet()
			if err != nil {
				return nil, err
			}
			f.sel = sub
		}
		out = append(out, f)
	}
}

func (p *gqlParser) value(constant bool) (gqlValue, *gqlError) {
	t := p.peek()
	v := gqlValue{line: t.line, col: t.col}
	switch {
	case t.kind == tokPunct && t.val == "$" && !constant:
		p.advance()
		n, err := p.name()
		if err != nil {
			return v, err
		}
		v.kind, v.str = valVar, n.val
	case t.kind == tokString:
		p.advance()
		v.kind, v.str = valString, t.val
	case t.kind == tokNumber:
		p.advance()
		v.kind, v.str = valNumber, t.val
	case t.kind == tokName:
		p.advance()
		switch t.val {
		case "true", "false":
			v.kind, v.str = valBool, t.val
		case "null":
			v.kind = valNull
		default:
			v.kind, v.str = valEnum, t.val
		}
	case t.kind == tokPunct && t.val == "[":
		p.advance()
		v.kind = valList
		for !p.isPunct("]") {
			if p.peek().kind == tokEOF {
				return v, p.unexpected("\"]\"")
			}
			e, err := p.value(constant)
			if err != nil {
				return v, err
			}
			v.list = append(v.list, e)
		}
		p.advance()
	case t.kind == tokPunct && t.val == "{":
		p.advance()
		v.kind = valObject
		for !p.isPunct("}") {
			if _, err := p.name(); err != nil {
				return v, err
			}
			if err := p.expect(":"); err != nil {
				return v, err
			}
			if _, err := p.value(constant); err != nil {
				return v, err
			}
		}
		p.advance()
	default:
		return v, &gqlError{msg: "Syntax Error: Unexpected " + t.describe() + ".", line: t.line, col: t.col}
	}
	return v, nil
}

// ---------------------------------------------------------------------------
// Schema and validation

type gqlFieldDef struct {
	typ  string            // object type name, "" for scalars
	args map[string]string // argument name → GraphQL type (for messages)
}

type gqlSchema map[string]map[string]gqlFieldDef

func (sc gqlSchema) validate(typ string, sel []*gqlField) *gqlError {
	for _, f := range sel {
		if f.name == "__typename" {
			if f.sel != nil {
				return &gqlError{msg: `Field "__typename" must not have a selection since type "String!" has no subfields.`, line: f.line, col: f.col}
			}
			continue
		}
		def, ok := sc[typ][f.name]
		if !ok {
			return &gqlError{msg: fmt.Sprintf("Cannot query field %q on type %q.", f.name, typ), line: f.line, col: f.col}
		}
		for _, a := range f.args {
			if _, ok := def.args[a.name]; !ok {
				return &gqlError{msg: fmt.Sprintf("Unknown argument %q on field %q.", a.name, typ+"."+f.name), line: a.line, col: a.col}
			}
		}
		names := make([]string, 0, len(def.args))
		for n := range def.args {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, n := range names {
			t := def.args[n]
			if !strings.HasSuffix(t, "!") {
				continue
			}
			found := false
			for _, a := range f.args {
				found = found || a.name == n
			}
			if !found {
				return &gqlError{msg: fmt.Sprintf("Field %q argument %q of type %q is required, but it was not provided.", f.name, n, t), line: f.line, col: f.col}
			}
		}
		switch {
		case def.typ != "" && f.sel == nil:
			return &gqlError{msg: fmt.Sprintf("Field %q of type %q must have a selection of subfields. Did you mean \"%s { ... }\"?", f.name, def.typ, f.name), line: f.line, col: f.col}
		case def.typ == "" && f.sel != nil:
			return &gqlError{msg: fmt.Sprintf("Field %q must not have a selection since type %q has no subfields.", f.name, "String"), line: f.line, col: f.col}
		case def.typ != "":
			if err := sc.validate(def.typ, f.sel); err != nil {
				return err
			}
		}
	}
	return nil
}

// ---------------------------------------------------------------------------
// Argument values

// argValue is a resolved argument: a string, a list of strings or null.
type argValue struct {
	isNull bool
	isList bool
	str    string
	list   []string
}

func resolveArg(a gqlArg, doc *gqlDoc, vars map[string]any) (argValue, *gqlError) {
	bad := func(msg string) *gqlError { return &gqlError{msg: msg, line: a.val.line, col: a.val.col} }
	var conv func(v gqlValue, depth int) (argValue, *gqlError)
	conv = func(v gqlValue, depth int) (argValue, *gqlError) {
		switch v.kind {
		case valString:
			return argValue{str: v.str}, nil
		case valNull:
			return argValue{isNull: true}, nil
		case valList:
			if depth > 0 {
				return argValue{}, bad("Nested lists are not valid for argument \"" + a.name + "\".")
			}
			out := argValue{isList: true, list: []string{}}
			for _, e := range v.list {
				ev, err := conv(e, depth+1)
				if err != nil {
					return ev, err
				}
				if ev.isNull {
					return ev, bad("Expected value of type \"String!\", found null.")
				}
				out.list = append(out.list, ev.str)
			}
			return out, nil
		case valVar:
			if !doc.declared[v.str] {
				return argValue{}, bad(fmt.Sprintf("Variable \"$%s\" is not defined.", v.str))
			}
			raw, ok := vars[v.str]
			if !ok {
				d, ok := doc.defaults[v.str]
				if !ok {
					return argValue{isNull: true}, nil
				}
				return conv(d, depth)
			}
			return fromJSONVar(raw, depth, bad)
		default:
			return argValue{}, bad(fmt.Sprintf("String cannot represent a non string value: %s", v.str))
		}
	}
	return conv(a.val, 0)
}

func fromJSONVar(raw any, depth int, bad func(string) *gqlError) (argValue, *gqlError) {
	switch x := raw.(type) {
	case nil:
		return argValue{isNull: true}, nil
	case string:
		return argValue{str: x}, nil
	case []any:
		if depth > 0 {
			return argValue{}, bad("Nested lists are not valid here.")
		}
		out := argValue{isList: true, list: []string{}}
		for _, e := range x {
			s, ok := e.(string)
			if !ok {
				return argValue{}, bad(fmt.Sprintf("String cannot represent a non string value: %v", e))
			}
			out.list = append(out.list, s)
		}
		return out, nil
	}
	return argValue{}, bad(fmt.Sprintf("String cannot represent a non string value: %v", raw))
}

func gqlErrorBody(errs ...*gqlError) obj {
	list := make([]any, 0, len(errs))
	for _, e := range errs {
		o := obj{{"message", e.msg}}
		if e.line > 0 {
			o = append(o, kv{"locations", []any{obj{{"line", e.line}, {"column", e.col}}}})
		}
		list = append(list, o)
	}
	return obj{{"errors", list}, {"data", nil}}
}
