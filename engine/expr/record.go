package expr

import (
	"strings"

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
}

type pathNode struct {
	slot     int // -1 when no expression reads this exact path
	children map[string]*pathNode
}

func newPathTree(paths map[string]int) *PathTree {
	t := &PathTree{root: &pathNode{slot: -1}, names: paths, slots: len(paths)}
	for name, slot := range paths {
		n := t.root
		for _, seg := range strings.Split(strings.TrimPrefix(name, "r."), ".") {
			if n.children == nil {
				n.children = map[string]*pathNode{}
			}
			c := n.children[seg]
			if c == nil {
				c = &pathNode{slot: -1}
				n.children[seg] = c
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
}

var _ interpreter.Activation = (*Record)(nil)

// NewRecord returns a reusable record view for programs built with t.
// vars are the other variables (account, tables).
func (t *PathTree) NewRecord(vars map[string]ref.Val) *Record {
	return &Record{tree: t, slots: make([]gjson.Result, t.slots), vars: vars}
}

// Reset points the view at the next record and collects every field the
// programs read in one pass over it.
func (rv *Record) Reset(rec gjson.Result) {
	clear(rv.slots)
	rv.root = rec
	if rv.cached != nil {
		clear(rv.cached)
	}
	if rec.IsObject() {
		rv.walk(rv.tree.root, rec)
	}
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

// Field returns the raw value of a collected slot.
func (rv *Record) Field(slot int) gjson.Result { return rv.slots[slot] }

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
