package spec

import (
	"fmt"
	"strings"

	"github.com/google/cel-go/common/types"
	"github.com/google/cel-go/common/types/ref"

	"github.com/afflake/afflake/engine/expr"
)

// Template is text with ${expr} interpolations, compiled.
type Template struct {
	Source string
	parts  []part
}

type part struct {
	lit  string
	prog *expr.Program
}

// span is an interpolation's CEL source and where it starts in the text.
type span struct {
	start int
	src   string
}

// splitTemplate finds the ${…} interpolations of s. A "}" inside a CEL
// string literal or a nested brace does not end one.
func splitTemplate(s string) (lits []string, spans []span, err error) {
	i := 0
	for {
		j := strings.Index(s[i:], "${")
		if j < 0 {
			lits = append(lits, s[i:])
			return lits, spans, nil
		}
		j += i
		lits = append(lits, s[i:j])
		depth, k := 0, j+2
		var quote byte
		for ; k < len(s); k++ {
			c := s[k]
			if quote != 0 {
				if c == '\\' {
					k++
				} else if c == quote {
					quote = 0
				}
				continue
			}
			if c == '\'' || c == '"' {
				quote = c
			} else if c == '{' {
				depth++
			} else if c == '}' {
				if depth == 0 {
					break
				}
				depth--
			}
		}
		if k >= len(s) {
			return nil, nil, &posError{offset: j, msg: "unclosed ${ in template"}
		}
		spans = append(spans, span{start: j + 2, src: s[j+2 : k]})
		i = k + 1
	}
}

type posError struct {
	offset int
	msg    string
}

func (e *posError) Error() string { return e.msg }

// Render evaluates the template with vars.
func (t *Template) Render(vars any) (string, error) {
	if len(t.parts) == 1 && t.parts[0].prog == nil {
		return t.parts[0].lit, nil
	}
	var b strings.Builder
	for _, p := range t.parts {
		if p.prog == nil {
			b.WriteString(p.lit)
			continue
		}
		v, err := p.prog.Eval(vars)
		if err != nil {
			return "", fmt.Errorf("${%s}: %w", p.prog.Source, err)
		}
		s, err := Text(v)
		if err != nil {
			return "", fmt.Errorf("${%s}: %w", p.prog.Source, err)
		}
		b.WriteString(s)
	}
	return b.String(), nil
}

// IsStatic reports whether the template has no interpolation.
func (t *Template) IsStatic() bool {
	for _, p := range t.parts {
		if p.prog != nil {
			return false
		}
	}
	return true
}

// AccountVars is the account variable of specs' expressions: the
// account's id, its currency and timezone (null when not configured,
// so that coalesce() and has() read them alike) and its other values.
func AccountVars(id, currency string, extra map[string]string) map[string]any {
	out := make(map[string]any, len(extra)+3)
	out["timezone"] = nil
	for k, v := range extra {
		out[k] = v
	}
	out["id"] = id
	out["currency"] = nil
	if currency != "" {
		out["currency"] = currency
	}
	return out
}

// ResponseError is the message the spec's response.error finds in a
// response (vars: expr.ResponseVars), trimmed; "" when the spec has no
// response.error or the response reports no error.
func (sp *Spec) ResponseError(vars map[string]any) (string, error) {
	if sp.ErrorExpr == nil {
		return "", nil
	}
	v, err := sp.ErrorExpr.Eval(vars)
	if err != nil {
		return "", err
	}
	s, err := Text(v)
	return strings.TrimSpace(s), err
}

// Text renders a CEL value into a template: strings as they are, null as
// nothing, numbers and times in their usual text forms.
func Text(v ref.Val) (string, error) {
	switch x := v.(type) {
	case types.String:
		return string(x), nil
	case types.Null:
		return "", nil
	case types.Timestamp:
		return x.Time.UTC().Format("2006-01-02T15:04:05Z07:00"), nil
	case types.Int, types.Uint, types.Bool, types.Double, expr.Number, expr.Dec:
		s := x.ConvertToType(types.StringType)
		if types.IsError(s) {
			return "", fmt.Errorf("%v", s)
		}
		return string(s.(types.String)), nil
	}
	return "", fmt.Errorf("cannot put a %s into text", v.Type().TypeName())
}
