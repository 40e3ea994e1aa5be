package spec

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"cuelang.org/go/cue"
	"cuelang.org/go/cue/token"
	"github.com/google/cel-go/cel"

	"github.com/afflake/afflake/engine/expr"
	"github.com/afflake/afflake/engine/row"
)

// Spec is a network's spec, checked and compiled: what the engine runs.
type Spec struct {
	Network
	File string // the spec file
	Hash string // identifies this version of the spec (spec_hash)

	Zone       *time.Location // where record times without an offset are read
	WindowZone *time.Location // where window parameters are expressed
	MaxSpan    time.Duration
	Lookback   time.Duration
	Initial    time.Duration
	Timeout    time.Duration
	RetryCap   time.Duration

	// Record programs: the network's own columns and the unified mapping.
	Record *expr.Programs
	Cols   []Col
	Fields []FieldProg // one per row.Fields entry; Prog nil when unmapped

	// Request side.
	Path        *Template
	Query       []Param
	Headers     []Param
	Body        BodyTemplate
	AuthParams  map[string]*Template // auth templates by field name (token, username, value, …)
	AuthHeaders []Param              // hmac headers
	Next        *expr.Program        // pagination next (next_url, cursor)
	Done        *expr.Program        // pagination done (cursor)
	TotalPages  *expr.Program        // pagination total_pages (page)
	Total       *expr.Program        // pagination total (offset)
	ErrorExpr   *expr.Program        // response.error

	columnOrder []string
}

// Col is a compiled column of the network's own table.
type Col struct {
	Name string
	Type string
	// Exactly one of these is set: a plain field path read by slot, a
	// gjson path with modifiers read per record, or a CEL program.
	Slot  int
	GJSON string
	Prog  *expr.Program
}

// FieldProg is the compiled mapping of one unified column.
type FieldProg struct {
	row.Field
	Prog *expr.Program
}

// Param is a named template (query parameter, header, form field).
type Param struct {
	Name string
	T    *Template
}

// BodyTemplate is the compiled request body.
type BodyTemplate struct {
	Kind        string
	JSON        *expr.Program // kind json: a map
	Form        []Param
	Query       *Template // graphql document
	Variables   map[string]*expr.Program
	Text        *Template
	ContentType string
}

// Lineage columns the engine adds to every network table; a spec may not
// declare columns with these names.
var Lineage = []string{"account_id", "raw_record", "run_id", "raw_ref", "fetched_at", "spec_hash"}

type compiler struct {
	spec  *Spec
	value cue.Value
	set   *Set
	root  string
	errs  Errors
	envs  map[expr.Scope]*cel.Env
}

var durRe = regexp.MustCompile(`^([0-9]+)(ms|s|m|h|d)$`)

// ParseDuration reads spec durations: 90m, 12h, 31d, 60s, 500ms.
func ParseDuration(s string) (time.Duration, error) {
	m := durRe.FindStringSubmatch(s)
	if m == nil {
		return 0, fmt.Errorf("bad duration %q", s)
	}
	n, _ := strconv.Atoi(m[1])
	unit := map[string]time.Duration{"ms": time.Millisecond, "s": time.Second, "m": time.Minute, "h": time.Hour, "d": 24 * time.Hour}[m[2]]
	return time.Duration(n) * unit, nil
}

func (c *compiler) compile() Errors {
	sp := c.spec
	n := &sp.Network
	var err error
	if sp.Zone, err = time.LoadLocation(n.Timezone); err != nil {
		c.fail("timezone", fmt.Sprintf("unknown timezone %q", n.Timezone))
		sp.Zone = time.UTC
	}
	if sp.WindowZone, err = time.LoadLocation(n.Window.Timezone); err != nil {
		c.fail("window.timezone", fmt.Sprintf("unknown timezone %q", n.Window.Timezone))
		sp.WindowZone = time.UTC
	}
	for _, d := range []struct {
		path string
		val  string
		dst  *time.Duration
	}{
		{"window.max_span", n.Window.MaxSpan, &sp.MaxSpan},
		{"window.lookback", n.Window.Lookback, &sp.Lookback},
		{"window.initial", n.Window.Initial, &sp.Initial},
		{"limits.timeout", n.Limits.Timeout, &sp.Timeout},
		{"limits.max_retry_after", n.Limits.MaxRetryAfter, &sp.RetryCap},
	} {
		if d.val == "" {
			continue // not concrete: reported by the schema check
		}
		if *d.dst, err = ParseDuration(d.val); err != nil {
			c.fail(d.path, err.Error())
		}
	}
	if n.Report != nil {
		c.fail("report", "report-job APIs are declared by the schema but not run by this engine yet")
	}
	if n.Response.Format != "json" {
		c.fail("response.format", fmt.Sprintf("%s responses are declared by the schema but not read by this engine yet", n.Response.Format))
	}
	c.envs = map[expr.Scope]*cel.Env{}
	for _, s := range []expr.Scope{expr.RecordScope, expr.RequestScope, expr.ResponseScope} {
		env, err := expr.NewEnv(s, sp.Zone)
		if err != nil {
			c.fail("", err.Error())
			return c.errs
		}
		c.envs[s] = env
	}
	c.compileRecord()
	c.compileRequest()
	return c.errs
}

func (c *compiler) compileRecord() {
	sp := c.spec
	sp.Record = expr.NewPrograms(c.envs[expr.RecordScope], sp.Zone)
	reserved := map[string]bool{}
	for _, l := range Lineage {
		reserved[l] = true
	}
	for _, name := range sp.columnOrder {
		col := sp.Columns[name]
		site := "columns." + name
		if reserved[name] {
			c.fail(site, fmt.Sprintf("column name %q is reserved for the engine's lineage columns (%s)", name, strings.Join(Lineage, ", ")))
			continue
		}
		cc := Col{Name: name, Type: col.Type, Slot: -1}
		switch {
		case col.Path != "" && col.Expr != "":
			c.fail(site, "a column has either path or expr, not both")
			continue
		case col.Path != "":
			if segs, ok := plainGJSON(col.Path); ok {
				cc.Slot = sp.Record.AddPath(segs)
			} else {
				cc.GJSON = col.Path
			}
		case col.Expr != "":
			p, err := sp.Record.Add(col.Expr)
			if err != nil {
				c.celError(site+".expr", 0, err)
				continue
			}
			if !expr.Assignable(p.Output, col.Type) {
				c.failAt(site+".expr", 0, fmt.Sprintf("expression yields %s, column is %s", p.Output, col.Type))
				continue
			}
			cc.Prog = p
		default:
			c.fail(site, "a column needs path or expr")
			continue
		}
		sp.Cols = append(sp.Cols, cc)
	}
	known := map[string]bool{}
	for _, f := range row.Fields {
		known[f.Name] = true
		src, ok := sp.Transaction[f.Name]
		fp := FieldProg{Field: f}
		if !ok {
			sp.Fields = append(sp.Fields, fp)
			continue
		}
		site := "transaction." + f.Name
		p, err := sp.Record.Add(src)
		if err != nil {
			c.celError(site, 0, err)
			continue
		}
		if !expr.Assignable(p.Output, f.Kind) {
			c.failAt(site, 0, fmt.Sprintf("expression yields %s, %s is %s", p.Output, f.Name, f.Kind))
			continue
		}
		fp.Prog = p
		sp.Fields = append(sp.Fields, fp)
	}
	for name := range sp.Transaction {
		if !known[name] {
			c.fail("transaction."+name, fmt.Sprintf("no unified column %q", name))
		}
	}
	if len(c.errs) == 0 {
		if err := sp.Record.Build(); err != nil {
			c.fail("", err.Error())
		}
	}
}

var plainKey = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

func plainGJSON(p string) ([]string, bool) {
	segs := strings.Split(p, ".")
	for _, s := range segs {
		if !plainKey.MatchString(s) {
			return nil, false
		}
	}
	return segs, true
}

func (c *compiler) compileRequest() {
	sp := c.spec
	n := &sp.Network
	sp.Path = c.template("request.path", n.Request.Path)
	sp.Query = c.params("request.query", n.Request.Query)
	sp.Headers = c.params("request.headers", n.Request.Headers)
	b := n.Request.Body
	sp.Body = BodyTemplate{Kind: b.Kind, ContentType: b.ContentType}
	switch b.Kind {
	case "json":
		sp.Body.JSON = c.program(expr.RequestScope, "request.body.json", b.JSON)
	case "form":
		sp.Body.Form = c.params("request.body.form", b.Form)
	case "graphql":
		sp.Body.Query = c.template("request.body.query", b.Query)
		sp.Body.Variables = map[string]*expr.Program{}
		for k, v := range b.Variables {
			sp.Body.Variables[k] = c.program(expr.RequestScope, "request.body.variables."+quote(k), v)
		}
	case "text":
		sp.Body.Text = c.template("request.body.text", b.Text)
	}
	a := n.Auth
	sp.AuthParams = map[string]*Template{}
	for name, val := range map[string]string{
		"value": a.Value, "token": a.Token, "username": a.Username, "password": a.Password,
		"token_url": a.TokenURL, "client_id": a.ClientID, "client_secret": a.ClientSecret,
		"refresh_token": a.RefreshToken, "scope": a.Scope,
	} {
		if val != "" {
			sp.AuthParams[name] = c.template("auth."+name, val)
		}
	}
	sp.AuthHeaders = c.params("auth.headers", a.Headers)
	if a.Kind == "session" {
		c.fail("auth", "session auth is declared by the schema but not run by this engine yet")
	}
	pg := n.Pagination
	sp.Next = c.program(expr.ResponseScope, "pagination.next", pg.Next)
	sp.Done = c.program(expr.ResponseScope, "pagination.done", pg.Done)
	sp.TotalPages = c.program(expr.ResponseScope, "pagination.total_pages", pg.TotalPages)
	sp.Total = c.program(expr.ResponseScope, "pagination.total", pg.Total)
	sp.ErrorExpr = c.program(expr.ResponseScope, "response.error", n.Response.Error)
}

func quote(k string) string {
	if plainKey.MatchString(k) {
		return k
	}
	return strconv.Quote(k)
}

func (c *compiler) params(site string, m map[string]string) []Param {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var out []Param
	for _, k := range keys {
		if t := c.template(site+"."+quote(k), m[k]); t != nil {
			out = append(out, Param{Name: k, T: t})
		}
	}
	return out
}

func (c *compiler) program(scope expr.Scope, site, src string) *expr.Program {
	if src == "" {
		return nil
	}
	p, err := expr.CompileProgram(c.envs[scope], src)
	if err != nil {
		c.celError(site, 0, err)
		return nil
	}
	return p
}

func (c *compiler) template(site, src string) *Template {
	lits, spans, err := splitTemplate(src)
	if err != nil {
		c.failAt(site, err.(*posError).offset, err.Error())
		return nil
	}
	t := &Template{Source: src}
	ok := true
	for i, l := range lits {
		if l != "" {
			t.parts = append(t.parts, part{lit: l})
		}
		if i < len(spans) {
			p, err := expr.CompileProgram(c.envs[expr.RequestScope], spans[i].src)
			if err != nil {
				c.celError(site, spans[i].start, err)
				ok = false
				continue
			}
			t.parts = append(t.parts, part{prog: p})
		}
	}
	if len(t.parts) == 0 {
		t.parts = []part{{lit: ""}}
	}
	if !ok {
		return nil
	}
	return t
}

func (c *compiler) fail(site, msg string) {
	c.failAt(site, -1, msg)
}

// celError reports each CEL issue at its place in the spec file; start
// is where the expression begins inside the string.
func (c *compiler) celError(site string, start int, err error) {
	ce, ok := err.(*expr.CompileError)
	if !ok {
		c.failAt(site, start, err.Error())
		return
	}
	src := c.stringAt(site)
	for _, is := range ce.Issues {
		off := start + offsetIn(src[min(start, len(src)):], is.Line, is.Column)
		c.failAt(site, off, is.Message)
	}
}

// offsetIn converts a CEL line (1-based) and column (0-based, in code
// points) to a byte offset in src.
func offsetIn(src string, line, col int) int {
	off := 0
	for l := 1; l < line; l++ {
		i := strings.IndexByte(src[off:], '\n')
		if i < 0 {
			break
		}
		off += i + 1
	}
	for n := 0; n < col && off < len(src); n++ {
		_, size := decodeRune(src[off:])
		off += size
	}
	return off
}

func decodeRune(s string) (rune, int) {
	for i, r := range s {
		if i == 0 {
			next := len(string(r))
			return r, next
		}
	}
	return 0, 1
}

func (c *compiler) stringAt(site string) string {
	v := c.lookup(site)
	s, _ := v.String()
	return s
}

func (c *compiler) lookup(site string) cue.Value {
	if site == "" {
		return c.value
	}
	return c.value.LookupPath(cue.ParsePath(site))
}

// failAt records an error at byte offset off inside the string at site
// (off < 0: at the field itself).
func (c *compiler) failAt(site string, off int, msg string) {
	path := "networks." + c.spec.Name
	if site != "" {
		path += "." + site
	}
	e := &Error{Path: path, Msg: msg, File: c.spec.File}
	v := c.lookup(site)
	pos := v.Pos()
	if d, ok := v.Default(); ok && (!pos.IsValid() || strings.Contains(filepath.ToSlash(pos.Filename()), "/schemas/")) {
		if dp := d.Pos(); dp.IsValid() {
			pos = dp
		}
	}
	if pos.IsValid() {
		e.File, e.abs = relPath(c.root, pos.Filename()), pos.Filename()
		e.Line, e.Col = pos.Line(), pos.Column()
		if off >= 0 {
			e.Line, e.Col = c.contentPos(pos, v, off)
		}
	}
	c.errs = append(c.errs, e)
}

// contentPos maps byte offset off inside the string literal at pos to a
// line and column of the file.
func (c *compiler) contentPos(pos token.Pos, v cue.Value, off int) (int, int) {
	src, ok := c.set.files[pos.Filename()]
	if !ok {
		b, err := os.ReadFile(pos.Filename())
		if err != nil {
			return pos.Line(), pos.Column()
		}
		src = b
		c.set.files[pos.Filename()] = b
	}
	i := pos.Offset()
	if i < 0 || i >= len(src) {
		return pos.Line(), pos.Column()
	}
	hashes := 0
	for i+hashes < len(src) && src[i+hashes] == '#' {
		hashes++
	}
	q := i + hashes
	if strings.HasPrefix(string(src[q:min(q+3, len(src))]), `"""`) {
		// Multi-line string: content lines follow the opening quotes,
		// indented like the closing quotes.
		content, _ := v.String()
		li, ci := 0, 0
		for k := 0; k < off && k < len(content); k++ {
			if content[k] == '\n' {
				li++
				ci = 0
			} else {
				ci++
			}
		}
		indent := closingIndent(src, q+3)
		return pos.Line() + 1 + li, indent + ci + 1
	}
	// Single-line string: walk the literal, an escape counting as one
	// content byte.
	k := q + 1
	for n := 0; n < off && k < len(src) && src[k] != '\n'; n++ {
		if src[k] == '\\' && hasHashes(src[k+1:], hashes) {
			k += 1 + hashes
			if k < len(src) && src[k] == 'u' {
				k += 4
			}
		}
		k++
	}
	return pos.Line(), pos.Column() + (k - i)
}

func hasHashes(b []byte, n int) bool {
	for j := 0; j < n; j++ {
		if j >= len(b) || b[j] != '#' {
			return false
		}
	}
	return true
}

// closingIndent returns the indentation of the line holding the closing
// """ of a multi-line string whose content starts at from.
func closingIndent(src []byte, from int) int {
	lines := strings.Split(string(src[from:]), "\n")
	for _, l := range lines[1:] {
		t := strings.TrimLeft(l, " \t")
		if strings.HasPrefix(t, `"""`) {
			return len(l) - len(t)
		}
	}
	return 0
}
