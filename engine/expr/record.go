package expr

import (
	"strings"
	"time"
	"unsafe"

	"github.com/google/cel-go/common/types"
	"github.com/google/cel-go/common/types/ref"
	"github.com/google/cel-go/interpreter"
	"github.com/tidwall/gjson"
)

// PathTree is the set of record fields a spec reads, as a tree of keys,
// so that one walk over a record finds all of them.
type PathTree struct {
	root  *pathNode
	names map[string]int
	slots int
	nodes int // pathNodes with children
	// programs and consts size a record view's per-record values.
	programs, consts, temps int
}

type pathNode struct {
	slot     int // -1 when no expression reads this exact path
	children map[string]*pathNode
	id       int // index of the node's key order in a Record, if it has children
}

func newPathTree(paths map[string]int) *PathTree {
	t := &PathTree{root: &pathNode{slot: -1}, names: paths, slots: len(paths)}
	t.root.id = 0
	t.nodes = 1
	for name, slot := range paths {
		n := t.root
		for _, seg := range strings.Split(strings.TrimPrefix(name, "r."), ".") {
			if n.children == nil {
				n.children = map[string]*pathNode{}
			}
			c := n.children[seg]
			if c == nil {
				c = &pathNode{slot: -1, id: -1}
				n.children[seg] = c
			}
			if n.id < 0 {
				n.id = t.nodes
				t.nodes++
			}
			n = c
		}
		n.slot = slot
	}
	return t
}

// Record is the view of one record that record programs evaluate
// against. It is reused from record to record and belongs to one
// goroutine.
type Record struct {
	tree   *PathTree
	slots  []gjson.Result
	root   gjson.Result
	vars   map[string]ref.Val
	cached map[string]ref.Val
	// orders holds, per node with children, the keys of the object last
	// read there in their order, with their nodes: records of one
	// response mostly share a key order, so a key is found by comparing
	// it with the key at the same place in the last record.
	orders [][]keyNode

	// gen counts the records seen; results[i] holds the value of program
	// i for this record when resultGen[i] == gen.
	gen       uint32
	results   []ref.Val
	resultGen []uint32
	// scalars[i] holds the typed value of program i when scalarGen[i]
	// == gen.
	scalars   []Scalar
	scalarGen []uint32
	// temps holds the temporary values of typed programs.
	temps []Scalar
	// tables holds the spec tables typed programs read, as Go maps (nil
	// for one that is not a table of strings).
	tables map[string]map[string]string
	// consts holds the account and tables values fast programs read.
	consts []ref.Val
	// args is the stack of function arguments of fast programs.
	args []ref.Val
}

type keyNode struct {
	key  string
	node *pathNode // nil for a key no expression reads
}

var _ interpreter.Activation = (*Record)(nil)

// NewRecord returns a reusable record view for programs built with t.
// vars are the other variables (account, tables).
func (t *PathTree) NewRecord(vars map[string]ref.Val) *Record {
	return &Record{
		tree: t, slots: make([]gjson.Result, t.slots), vars: vars, orders: make([][]keyNode, t.nodes),
		results: make([]ref.Val, t.programs), resultGen: make([]uint32, t.programs), gen: 1,
		scalars: make([]Scalar, t.programs), scalarGen: make([]uint32, t.programs), temps: make([]Scalar, t.temps),
		consts: make([]ref.Val, t.consts),
	}
}

// ResponseVars are the variables of the response scope: the body, its
// headers and the page's state.
func ResponseVars(body gjson.Result, headers map[string]string, page map[string]any) map[string]any {
	out := map[string]any{}
	for k, v := range Vars(map[string]any{"headers": headers, "page": page}) {
		out[k] = v
	}
	out["body"] = FromJSON(body)
	return out
}

// SetFetchedAt sets fetched_at, when the record's body was received.
// Values of programs evaluated before are forgotten; the fields stay.
func (rv *Record) SetFetchedAt(t time.Time) {
	rv.vars["fetched_at"] = types.Timestamp{Time: t.UTC()}
	rv.newGen()
}

// newGen starts a generation of program values: those of the last one
// are no longer read.
func (rv *Record) newGen() {
	rv.gen++
	if rv.gen == 0 {
		clear(rv.resultGen)
		clear(rv.scalarGen)
		rv.gen = 1
	}
}

// Reset points the view at the next record and collects every field the
// programs read in one pass over it.
func (rv *Record) Reset(rec gjson.Result) {
	rv.forget()
	rv.root = rec
	if rec.IsObject() {
		if rec.Type == gjson.JSON && rec.Indexes == nil {
			if end, ok := rv.scan(rv.tree.root, rec.Raw, rec.Index); ok && end == len(rec.Raw) {
				return
			}
		}
		clear(rv.slots)
		rv.walk(rv.tree.root, rec)
	}
}

// ResetNext is Reset for the JSON object at the start of text, a part
// of a document at index base: it finds where the object ends as it
// collects its fields, and returns the object. ok is false, with nothing
// read, when text does not start with an object this view reads in one
// pass; Reset then reads it.
func (rv *Record) ResetNext(text string, base int) (rec gjson.Result, ok bool) {
	if len(text) == 0 || text[0] != '{' {
		return gjson.Result{}, false
	}
	rv.forget()
	end, ok := rv.scan(rv.tree.root, text, base)
	if !ok {
		clear(rv.slots)
		rv.root = gjson.Result{}
		return gjson.Result{}, false
	}
	rv.root = gjson.Result{Type: gjson.JSON, Raw: text[:end], Index: base}
	return rv.root, true
}

// forget drops what the view holds of its last record: its fields and
// the values of programs evaluated over it.
func (rv *Record) forget() {
	rv.newGen()
	clear(rv.slots)
	if rv.cached != nil {
		clear(rv.cached)
	}
}

// Holds reports whether the view was last reset to rec.
func (rv *Record) Holds(rec gjson.Result) bool {
	return rec.Type == rv.root.Type && rec.Index == rv.root.Index && len(rec.Raw) == len(rv.root.Raw) &&
		unsafe.StringData(rec.Raw) == unsafe.StringData(rv.root.Raw)
}

// scan is walk over the text of obj, a JSON object at index base of its
// document. It reads each value as Result.ForEach does, but finds where a
// value ends without building the values nobody reads. It returns false,
// having perhaps filled some slots, for anything it does not read as
// well-formed JSON (or for escaped keys), and walk is then used instead.
// On success it returns the end of the object in obj.
func (rv *Record) scan(n *pathNode, obj string, base int) (int, bool) {
	i := skipSpace(obj, 0)
	if i >= len(obj) || obj[i] != '{' {
		return 0, false
	}
	i = skipSpace(obj, i+1)
	if i < len(obj) && obj[i] == '}' {
		return i + 1, true
	}
	order := rv.orders[n.id]
	for k := 0; ; k++ {
		if i >= len(obj) || obj[i] != '"' {
			return 0, false
		}
		// Records of a response mostly have their keys in the same
		// order: the key the last record had here is tried first. Its
		// bytes then a quote are the whole key, unescaped.
		var c *pathNode
		ke, known := 0, false
		if k < len(order) {
			want := order[k].key
			if e := i + 1 + len(want); e < len(obj) && obj[e] == '"' && obj[i+1:e] == want {
				ke, known, c = e, true, order[k].node
			}
		}
		if !known {
			q := strings.IndexByte(obj[i+1:], '"')
			if q < 0 {
				return 0, false
			}
			ke = i + 1 + q
			if strings.IndexByte(obj[i+1:ke], '\\') >= 0 {
				return 0, false
			}
		}
		key := obj[i+1 : ke] // read below only when not known
		i = skipSpace(obj, ke+1)
		if i >= len(obj) || obj[i] != ':' {
			return 0, false
		}
		i = skipSpace(obj, i+1)
		vs := i
		ve, ok := skipValue(obj, i)
		if !ok {
			return 0, false
		}
		if !known {
			c = n.children[key]
			// A copy of the key: the record's text is not kept.
			if k < len(order) {
				order[k] = keyNode{strings.Clone(key), c}
			} else if k == len(order) {
				order = append(order, keyNode{strings.Clone(key), c})
				rv.orders[n.id] = order
			}
		}
		if c != nil {
			raw := obj[vs:ve]
			if c.slot >= 0 {
				// Filled in place: a slot is larger than it is
				// worth copying.
				if !scalarInto(&rv.slots[c.slot], raw, vs+base) {
					return 0, false
				}
			}
			if c.children != nil && obj[vs] == '{' {
				if _, ok := rv.scan(c, raw, vs+base); !ok {
					return 0, false
				}
			}
		}
		i = skipSpace(obj, ve)
		if i >= len(obj) {
			return 0, false
		}
		switch obj[i] {
		case ',':
			i = skipSpace(obj, i+1)
		case '}':
			return i + 1, true
		default:
			return 0, false
		}
	}
}

func skipSpace(s string, i int) int {
	for i < len(s) && s[i] <= ' ' {
		i++
	}
	return i
}

// skipValue returns the end of the JSON value starting at s[i].
func skipValue(s string, i int) (int, bool) {
	if i >= len(s) {
		return i, false
	}
	switch c := s[i]; c {
	case '"':
		return stringEnd(s, i)
	case '{', '[':
		depth := 0
		for j := i; j < len(s); j++ {
			switch s[j] {
			case '"':
				e, ok := stringEnd(s, j)
				if !ok {
					return i, false
				}
				j = e - 1
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return j + 1, true
				}
			}
		}
		return i, false
	default:
		j := i
		for j < len(s) {
			c := s[j]
			if c <= ' ' || c == ',' || c == '}' || c == ']' {
				break
			}
			j++
		}
		return j, j > i
	}
}

// stringEnd returns the end of the JSON string whose opening quote is at
// s[i].
func stringEnd(s string, i int) (int, bool) {
	j := i + 1
	for {
		k := strings.IndexByte(s[j:], '"')
		if k < 0 {
			return i, false
		}
		q := j + k
		// The quote ends the string unless an odd number of
		// backslashes escapes it.
		n := 0
		for b := q - 1; b > i && s[b] == '\\'; b-- {
			n++
		}
		if n%2 == 0 {
			return q + 1, true
		}
		j = q + 1
	}
}

// scalar reads one JSON value as Result.ForEach gives it, but for Index
// and Num: a number's float value is not computed (numbers are read from
// their text, Raw, and nothing reads Num).
func scalar(raw string) (gjson.Result, bool) {
	var res gjson.Result
	ok := scalarInto(&res, raw, 0)
	return res, ok
}

// scalarInto is scalar into *res, with index as its Index; false for a
// literal it misspells.
func scalarInto(res *gjson.Result, raw string, index int) bool {
	typ := gjson.Null
	str := ""
	ok := true
	switch raw[0] {
	case '"':
		body := raw[1 : len(raw)-1]
		if strings.IndexByte(body, '\\') >= 0 {
			*res = gjson.Parse(raw)
			res.Index = index
			return true
		}
		typ, str = gjson.String, body
	case '{', '[':
		typ = gjson.JSON
	case 't':
		typ, ok = gjson.True, raw == "true"
	case 'f':
		typ, ok = gjson.False, raw == "false"
	case 'n':
		ok = raw == "null"
	case '-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9':
		typ = gjson.Number
	default:
		return false
	}
	res.Type, res.Raw, res.Str, res.Num, res.Index, res.Indexes = typ, raw, str, 0, index, nil
	return ok
}

func (rv *Record) walk(n *pathNode, obj gjson.Result) {
	obj.ForEach(func(k, v gjson.Result) bool {
		c := n.children[k.Str]
		if c == nil {
			return true
		}
		if c.slot >= 0 {
			rv.slots[c.slot] = v
		}
		if c.children != nil && v.IsObject() {
			rv.walk(c, v)
		}
		return true
	})
}

// Field returns the value of a collected slot, which belongs to the view
// until its next record. Its Num is 0 when a scan read the record: read
// a number from its text (Raw).
func (rv *Record) Field(slot int) *gjson.Result { return &rv.slots[slot] }

// Raw returns the record itself.
func (rv *Record) Raw() gjson.Result { return rv.root }

// ResolveName implements interpreter.Activation: collected fields first
// (a missing field reads as null), then the whole record r, then the
// other variables.
func (rv *Record) ResolveName(name string) (any, bool) {
	if i, ok := rv.tree.names[name]; ok {
		return FromJSON(rv.slots[i]), true
	}
	if name == "r" {
		if v, ok := rv.cached["r"]; ok {
			return v, true
		}
		v := FromJSON(rv.root)
		if rv.cached == nil {
			rv.cached = map[string]ref.Val{}
		}
		rv.cached["r"] = v
		return v, true
	}
	if v, ok := rv.vars[name]; ok {
		return v, true
	}
	return nil, false
}

// Parent implements interpreter.Activation.
func (rv *Record) Parent() interpreter.Activation { return nil }

// Vars converts plain Go values to CEL values for NewRecord and Eval.
func Vars(m map[string]any) map[string]ref.Val {
	out := make(map[string]ref.Val, len(m))
	for k, v := range m {
		out[k] = types.DefaultTypeAdapter.NativeToValue(v)
	}
	return out
}
