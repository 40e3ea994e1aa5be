package spec

import (
	"encoding/xml"
	"fmt"
	"maps"
	"os"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"cuelang.org/go/cue"
	"cuelang.org/go/cue/token"
	"github.com/google/cel-go/cel"
	"github.com/google/cel-go/common/types"
	"github.com/google/cel-go/common/types/ref"
	"golang.org/x/text/encoding/htmlindex"

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

	// Request side: the main request (see MainCall).
	Path        *Template
	Query       []Param
	Headers     []Param
	Body        BodyTemplate
	AuthParams  map[string]*Template // auth templates by field name (token, username, value, …)
	AuthHeaders []Param              // hmac headers
	TokenParams []Param              // oauth2 params: more token request fields
	Next        *expr.Program        // pagination next (next_url, cursor)
	Done        *expr.Program        // pagination done (cursor)
	TotalPages  *expr.Program        // pagination total_pages (page)
	Total       *expr.Program        // pagination total (offset)
	ErrorExpr   *expr.Program        // response.error
	ErrorStatus map[int]bool         // response.error_status

	// Session auth: the login request, the expression reading the
	// session value from its response, and the one telling an expired
	// session from a response.
	Login        *Call
	SessionToken *expr.Program
	Expired      *expr.Program
	LoginFormat  string // json, xml or text

	// Job is the report job, when the spec has one.
	Job *Job

	columnOrder []string
}

// Call is a compiled request: the main request, the session login or a
// step of a report job.
type Call struct {
	Site    string // where it is declared: "request", "auth.login", "report.poll"
	Method  string
	Path    *Template
	Query   []Param
	Headers []Param
	Body    BodyTemplate
}

// MainCall returns the main request.
func (sp *Spec) MainCall() Call {
	return Call{Site: "request", Method: sp.Request.Method, Path: sp.Path, Query: sp.Query, Headers: sp.Headers, Body: sp.Body}
}

// Job is a compiled report job: create, poll every Every until Ready
// (at most Timeout), download.
type Job struct {
	Create, Poll, Download Call
	JobID, Ready, Failed   *expr.Program
	Every, Timeout         time.Duration
	Format                 string // of the create and poll responses: json or xml
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
	// List holds the templates of a query parameter given as a list,
	// sent as repeated keys in order; T is then the first (nil for an
	// empty list).
	List []*Template
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
	spec   *Spec
	value  cue.Value
	set    *Set
	root   string
	errs   Errors
	envs   map[expr.Scope]*cel.Env
	jobEnv *cel.Env // request scope plus job, for report.poll and report.download
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
	c.checkResponse()
	c.envs = map[expr.Scope]*cel.Env{}
	for _, s := range []expr.Scope{expr.RecordScope, expr.RequestScope, expr.ResponseScope} {
		env, err := expr.NewEnv(s, sp.Zone)
		if err == nil && s == expr.RequestScope {
			env, err = env.Extend(requestFuncs())
		}
		if err != nil {
			c.fail("", err.Error())
			return c.errs
		}
		c.envs[s] = env
	}
	if c.jobEnv, err = c.envs[expr.RequestScope].Extend(cel.Variable("job", cel.MapType(cel.StringType, cel.DynType))); err != nil {
		c.fail("", err.Error())
		return c.errs
	}
	c.compileRecord()
	c.compileRequest()
	c.compileReport()
	return c.errs
}

// checkResponse checks what the schema cannot: the CSV delimiter, the
// XML element path, the charset and the unwind path.
func (c *compiler) checkResponse() {
	r := c.spec.Response
	switch r.Format {
	case "csv":
		if r.Delimiter != "" && !validDelimiter(r.Delimiter) {
			c.fail("response.delimiter", fmt.Sprintf("delimiter %q is not one character other than a quote or a line break", r.Delimiter))
		}
	case "xml":
		for _, name := range strings.Split(r.Element, ".") {
			if name == "" || strings.ContainsAny(name, ": \t\n/") {
				c.fail("response.element", fmt.Sprintf("element %q is not a dot-separated path of element names without namespace prefixes, e.g. \"Envelope.Body.getTransactionsResponse.return.item\"", r.Element))
				break
			}
		}
	}
	if r.Charset != "" {
		if r.Format == "xml" {
			c.fail("response.charset", "an XML document declares its own encoding (<?xml … encoding=\"…\"?>): charset is for JSON and CSV bodies")
		} else if _, err := htmlindex.Get(r.Charset); err != nil {
			c.fail("response.charset", fmt.Sprintf("unknown encoding %q: use a WHATWG name such as \"windows-1252\" or \"iso-8859-15\"", r.Charset))
		}
	}
	if r.Unwind != "" {
		if _, ok := plainGJSON(r.Unwind); !ok {
			c.fail("response.unwind", fmt.Sprintf("unwind %q is not a dot-separated path of field names", r.Unwind))
		}
	}
	sp := c.spec
	sp.ErrorStatus = map[int]bool{}
	for i, code := range r.ErrorStatus {
		if code < 300 || code > 599 {
			c.fail(fmt.Sprintf("response.error_status[%d]", i), fmt.Sprintf("%d is not an error status (300 to 599)", code))
		}
		sp.ErrorStatus[code] = true
	}
	if len(r.ErrorStatus) > 0 && r.Error == "" {
		c.fail("response.error_status[0]", "error_status needs response.error to read the error from the body")
	}
}

// validDelimiter reports whether d can separate CSV fields (one
// character, not a quote or a line break).
func validDelimiter(d string) bool {
	rs := []rune(d)
	return len(rs) == 1 && rs[0] != '"' && rs[0] != '\r' && rs[0] != '\n' && rs[0] != utf8.RuneError
}

// requestFuncs are the functions of request templates beyond the
// afflake library.
func requestFuncs() cel.EnvOption {
	return cel.Function("xmlEscape", cel.Overload("xml_escape_dyn", []*cel.Type{cel.DynType}, cel.StringType,
		cel.UnaryBinding(func(v ref.Val) ref.Val {
			s, err := Text(v)
			if err != nil {
				return types.NewErr("xmlEscape: %v", err)
			}
			var b strings.Builder
			_ = xml.EscapeText(&b, []byte(s))
			return types.String(b.String())
		})))
}

func (c *compiler) compileRecord() {
	sp := c.spec
	sp.Record = expr.NewPrograms(c.envs[expr.RecordScope], sp.Zone)
	sp.Record.Tables = map[string]bool{}
	for name := range sp.Tables {
		sp.Record.Tables[name] = true
	}
	reserved := map[string]bool{}
	for _, l := range Lineage {
		reserved[l] = true
	}
	for _, name := range sp.columnOrder {
		col, ok := sp.Columns[name]
		if !ok {
			continue // it did not decode: the schema's errors say why
		}
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
		allowed, enum := row.Enums[f.Name]
		if enum && (p.Output.IsExactType(cel.IntType) || p.Output.IsExactType(expr.NumberType)) {
			// A string column takes a number (ids), but a number is
			// never one of a closed set's words.
			c.failAt(site, 0, fmt.Sprintf("expression yields %s, %s is one of %s", p.Output, f.Name, strings.Join(allowed, ", ")))
			continue
		}
		fp.Prog = p
		sp.Fields = append(sp.Fields, fp)
		if enum {
			c.checkValues(site, f.Name, src, allowed)
		}
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

// checkValues reports the values the expression src of the unified
// column at site can give that are not allowed there: a string literal it
// returns, at its place, and a value of a table it looks up, at the table's
// entry. Such a value would send every record that meets it to
// quarantine.
func (c *compiler) checkValues(site, column, src string, allowed []string) {
	res, err := expr.ResultsOf(c.envs[expr.RecordScope], src)
	if err != nil {
		return // reported when the expression was compiled
	}
	want := fmt.Sprintf("want one of %s", strings.Join(allowed, ", "))
	var bad []expr.Issue
	for _, l := range res.Literals {
		if !slices.Contains(allowed, l.Value) {
			bad = append(bad, expr.Issue{Line: l.Line, Column: l.Column, Message: fmt.Sprintf("%q is not a %s: %s", l.Value, column, want)})
		}
	}
	if len(bad) > 0 {
		c.celError(site, 0, &expr.CompileError{Issues: bad})
	}
	for _, name := range res.Tables {
		keys := slices.Sorted(maps.Keys(c.spec.Tables[name]))
		for _, k := range keys {
			if v := c.spec.Tables[name][k]; !slices.Contains(allowed, v) {
				c.fail("tables."+quote(name)+"."+quote(k), fmt.Sprintf("%q is not a %s: %s (%s returns this table's values)", v, column, want, site))
			}
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
	switch {
	case n.Report == nil && !c.lookup("request").Exists():
		c.fail("", "a spec needs request (or report, for report-job APIs)")
	case n.Report != nil && n.Request.Path != "":
		c.fail("request.path", "request is not sent by a report spec: report.create, poll and download are")
	}
	main := c.call("request", n.Request, c.envs[expr.RequestScope])
	sp.Path, sp.Query, sp.Headers, sp.Body = main.Path, main.Query, main.Headers, main.Body
	a := n.Auth
	sp.AuthParams = map[string]*Template{}
	for name, val := range map[string]string{
		"value": a.Value, "token": a.Token, "username": a.Username, "password": a.Password,
		"token_url": a.TokenURL, "client_id": a.ClientID, "client_secret": a.ClientSecret,
		"refresh_token": a.RefreshToken, "scope": a.Scope,
	} {
		if val != "" && !(name == "token" && a.Kind == "session") {
			sp.AuthParams[name] = c.template("auth."+name, val)
		}
	}
	sp.AuthHeaders = c.params("auth.headers", a.Headers)
	sp.TokenParams = c.params("auth.params", a.Params)
	if a.Kind == "session" {
		if a.Login == nil {
			c.fail("auth.login", "session auth needs a login request")
		} else {
			login := c.call("auth.login", *a.Login, c.envs[expr.RequestScope])
			sp.Login = &login
			if a.Login.Path == "" {
				c.fail("auth.login.path", "the login request needs a path")
			}
		}
		sp.SessionToken = c.program(expr.ResponseScope, "auth.token", a.Token)
		sp.Expired = c.program(expr.ResponseScope, "auth.expired", a.Expired)
		sp.LoginFormat = a.LoginFormat
		if sp.LoginFormat == "" {
			sp.LoginFormat = "json"
			if n.Response.Format == "xml" {
				sp.LoginFormat = "xml"
			}
		}
	}
	pg := n.Pagination
	sp.Next = c.program(expr.ResponseScope, "pagination.next", pg.Next)
	sp.Done = c.program(expr.ResponseScope, "pagination.done", pg.Done)
	sp.TotalPages = c.program(expr.ResponseScope, "pagination.total_pages", pg.TotalPages)
	sp.Total = c.program(expr.ResponseScope, "pagination.total", pg.Total)
	sp.ErrorExpr = c.program(expr.ResponseScope, "response.error", n.Response.Error)
}

// call compiles one request's templates in env.
func (c *compiler) call(site string, r Request, env *cel.Env) Call {
	cl := Call{Site: site, Method: r.Method}
	cl.Path = c.templateIn(env, site+".path", r.Path)
	cl.Query = c.queryParams(env, site+".query", r.Query)
	cl.Headers = c.paramsIn(env, site+".headers", r.Headers)
	b := r.Body
	cl.Body = BodyTemplate{Kind: b.Kind, ContentType: b.ContentType}
	switch b.Kind {
	case "json":
		cl.Body.JSON = c.programIn(env, site+".body.json", b.JSON)
	case "form":
		cl.Body.Form = c.paramsIn(env, site+".body.form", b.Form)
	case "graphql":
		cl.Body.Query = c.templateIn(env, site+".body.query", b.Query)
		cl.Body.Variables = map[string]*expr.Program{}
		for k, v := range b.Variables {
			cl.Body.Variables[k] = c.programIn(env, site+".body.variables."+quote(k), v)
		}
	case "text":
		cl.Body.Text = c.templateIn(env, site+".body.text", b.Text)
	}
	return cl
}

func (c *compiler) compileReport() {
	n := &c.spec.Network
	r := n.Report
	if r == nil {
		return
	}
	if k := n.Pagination.Kind; k != "" && k != "none" {
		c.fail("pagination.kind", fmt.Sprintf("pagination %q does not apply to a report spec: its download is one page", k))
	}
	job := &Job{Format: r.Format}
	if job.Format == "" {
		job.Format = "json"
	}
	job.Create = c.call("report.create", r.Create, c.envs[expr.RequestScope])
	job.Poll = c.call("report.poll", r.Poll, c.jobEnv)
	job.Download = c.call("report.download", r.Download, c.jobEnv)
	job.JobID = c.program(expr.ResponseScope, "report.job_id", r.JobID)
	job.Ready = c.program(expr.ResponseScope, "report.ready", r.Ready)
	job.Failed = c.program(expr.ResponseScope, "report.failed", r.Failed)
	for _, d := range []struct {
		path, val, def string
		dst            *time.Duration
	}{
		{"report.every", r.Every, "10s", &job.Every},
		{"report.timeout", r.Timeout, "30m", &job.Timeout},
	} {
		v := d.val
		if v == "" {
			v = d.def
		}
		var err error
		if *d.dst, err = ParseDuration(v); err != nil {
			c.fail(d.path, err.Error())
		} else if *d.dst <= 0 {
			c.fail(d.path, "must be more than zero")
		}
	}
	c.spec.Job = job
}

func quote(k string) string {
	if plainKey.MatchString(k) {
		return k
	}
	return strconv.Quote(k)
}

func (c *compiler) params(site string, m map[string]string) []Param {
	return c.paramsIn(c.envs[expr.RequestScope], site, m)
}

func (c *compiler) paramsIn(env *cel.Env, site string, m map[string]string) []Param {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var out []Param
	for _, k := range keys {
		if t := c.templateIn(env, site+"."+quote(k), m[k]); t != nil {
			out = append(out, Param{Name: k, T: t})
		}
	}
	return out
}

// queryParams compiles query parameters, each a template or a list of
// templates.
func (c *compiler) queryParams(env *cel.Env, site string, m map[string]Values) []Param {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var out []Param
	for _, k := range keys {
		vs := m[k]
		ksite := site + "." + quote(k)
		if len(vs) == 1 && c.lookup(ksite).Kind() != cue.ListKind {
			if t := c.templateIn(env, ksite, vs[0]); t != nil {
				out = append(out, Param{Name: k, T: t})
			}
			continue
		}
		p := Param{Name: k, List: []*Template{}}
		ok := true
		for i, v := range vs {
			t := c.templateIn(env, fmt.Sprintf("%s[%d]", ksite, i), v)
			if t == nil {
				ok = false
				continue
			}
			p.List = append(p.List, t)
		}
		if !ok {
			continue
		}
		if len(p.List) > 0 {
			p.T = p.List[0]
		}
		out = append(out, p)
	}
	return out
}

func (c *compiler) program(scope expr.Scope, site, src string) *expr.Program {
	return c.programIn(c.envs[scope], site, src)
}

func (c *compiler) programIn(env *cel.Env, site, src string) *expr.Program {
	if src == "" {
		return nil
	}
	p, err := expr.CompileProgram(env, src)
	if err != nil {
		c.celError(site, 0, err)
		return nil
	}
	return p
}

func (c *compiler) template(site, src string) *Template {
	return c.templateIn(c.envs[expr.RequestScope], site, src)
}

func (c *compiler) templateIn(env *cel.Env, site, src string) *Template {
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
			p, err := expr.CompileProgram(env, spans[i].src)
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
	if d, ok := v.Default(); ok && (!pos.IsValid() || inSchemas(pos)) {
		if dp := d.Pos(); dp.IsValid() {
			pos = dp
		}
	}
	if pos.IsValid() && inSchemas(pos) {
		// A value unified with a schema's: point at the spec's part.
		if op, parts := v.Expr(); op == cue.AndOp {
			for _, p := range parts {
				if pp := p.Pos(); pp.IsValid() && !inSchemas(pp) {
					pos = pp
					break
				}
			}
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

// Origins lists the origins (scheme://host[:port]) the spec sends
// requests to: base_url's, and others as far as its templates
// name them literally: auth.token_url, the session login's path and the
// report requests' paths when they are absolute URLs. A sandbox serving
// every host of a network maps each of them (fetch.Account.Origins).
func (sp *Spec) Origins() []string {
	var srcs []string
	for _, t := range []*Template{sp.AuthParams["token_url"]} {
		if t != nil {
			srcs = append(srcs, t.Source)
		}
	}
	if sp.Login != nil && sp.Login.Path != nil {
		srcs = append(srcs, sp.Login.Path.Source)
	}
	if sp.Job != nil {
		for _, c := range []Call{sp.Job.Create, sp.Job.Poll, sp.Job.Download} {
			if c.Path != nil {
				srcs = append(srcs, c.Path.Source)
			}
		}
	}
	seen := map[string]bool{}
	var out []string
	for _, s := range append([]string{sp.BaseURL}, srcs...) {
		if o := literalOrigin(s); o != "" && !seen[o] {
			seen[o] = true
			out = append(out, o)
		}
	}
	sort.Strings(out)
	return out
}

// literalOrigin returns the origin an absolute URL written in a template
// starts with, or "" when there is none or an interpolation is part of it.
func literalOrigin(s string) string {
	scheme, rest, ok := strings.Cut(s, "://")
	scheme = strings.ToLower(scheme)
	if !ok || (scheme != "http" && scheme != "https") {
		return ""
	}
	host := rest
	if i := strings.IndexAny(rest, "/?#"); i >= 0 {
		host = rest[:i]
	}
	if host == "" || strings.Contains(host, "${") || strings.Contains(host, "@") {
		return ""
	}
	return Origin(scheme, host)
}

// Origin is the origin of a URL with scheme and host: lower case, without
// the scheme's default port. The origins a spec lists and those a fetch
// looks up are both made by it, so that they compare equal.
func Origin(scheme, host string) string {
	scheme, host = strings.ToLower(scheme), strings.ToLower(host)
	switch {
	case scheme == "https" && strings.HasSuffix(host, ":443"):
		host = strings.TrimSuffix(host, ":443")
	case scheme == "http" && strings.HasSuffix(host, ":80"):
		host = strings.TrimSuffix(host, ":80")
	}
	return scheme + "://" + host
}
