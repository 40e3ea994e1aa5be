package expr

import (
	"fmt"
	"strings"
	"testing"

	"github.com/tidwall/gjson"
)

// scanTree reads the fields the scan tests compare.
func scanTree() *PathTree {
	return newPathTree(map[string]int{"r.a": 0, "r.b.c": 1, "r.b": 2, "r.d": 3, "r.e.f.g": 4, "r.h": 5, "r.q\"k": 6})
}

// walked is rec read by gjson's walk alone.
func walked(tree *PathTree, rec gjson.Result) *Record {
	w := tree.NewRecord(nil)
	w.root = rec
	w.walk(tree.root, rec)
	return w
}

// sameSlots reports each slot in which got differs from want, comparing
// Index too when index is set. Num is not compared: a scan leaves it 0.
func sameSlots(t *testing.T, what, src string, got, want *Record, index bool) {
	t.Helper()
	for i := range got.slots {
		g, w := got.slots[i], want.slots[i]
		if g.Type != w.Type || g.Raw != w.Raw || g.Str != w.Str || (index && g.Index != w.Index) {
			t.Errorf("%s slot %d: %s %#v, want %#v", src, i, what, g, w)
		}
	}
}

// TestScanMatchesWalk checks that the one-pass scan of a record collects
// the same fields as the gjson walk, for the shapes JSON allows.
func TestScanMatchesWalk(t *testing.T) {
	tree := scanTree()
	recs := []string{
		`{"a":1,"b":{"c":"x"},"d":null}`,
		`{ "a" : "s\"q\\\\" , "b" : { "c" : [1,{"x":"]"}] , "z":"}" } , "d" : true }`,
		`{"a":"\u00e9\ud83d\ude00","b":"not an object","d":false,"e":{"f":{"g":-1.5e3}}}`,
		`{"x":[{"a":1}],"a":{"nested":"{\"a\":2}"},"b":{"c":"\\"},"d":"\\\\\""}`,
		`{"a":1,"a":2,"b":{"c":1},"b":{"d":2}}`,
		`{}`,
		`{"h":"tab\there","e":{"f":[]},"d":12345678901234567890}`,
		"{\n\t\"a\"\r\n:\n0.1,\"d\":\"\xe2\x82\xac\"}",
		`{"q\"k":1,"a":2}`,
		`{"a":tru}`,
		`{"a":1,}`,
		`{"a":"unterminated}`,
		`{"a" 1}`,
		// Keys that start as, or are escapes of, the keys the record
		// before had in their place.
		`{"ab":1,"b":{"cc":2,"c":3}}`,
		`{"\u0061":5,"b":{"c":"\u0063"}}`,
		`{"a":6,"b":{"c\"":7,"c":8}}`,
	}
	shared := tree.NewRecord(nil)
	for _, src := range append(recs, recs...) {
		rec := gjson.Parse(src)
		scanned := tree.NewRecord(nil)
		scanned.Reset(rec)
		shared.Reset(rec)
		sameSlots(t, "scan", src, scanned, walked(tree, rec), true)
		sameSlots(t, "scan with a reused view", src, shared, scanned, true)
	}
}

// TestScanStrMap checks that strMap reads an object in one pass as it
// does with gjson's ForEach.
func TestScanStrMap(t *testing.T) {
	objs := []string{
		`{}`, ` { } `, `{"a":"x","b":""}`, `{"a":null,"b":{},"c":[]}`,
		`{"n":1,"f":1.50,"e":1e3,"neg":-0,"big":12345678901234567890}`,
		`{"t":true,"f":false}`, `{"a":"1","a":"2"}`, `{"a":null,"a":"2"}`,
		`{"esc":"x\"y\\z\u00e9"}`, `{"k\"q":"v","a":"b"}`, `{"a" : "b" , "c":{"d":"}"}}`,
		`{"a":1,}`, `{"a":tru}`,
	}
	for _, src := range objs {
		o := object{gjson.Parse(src).Raw}
		got, want := strMapOfObject(o), strMapForEach(o)
		if fmt.Sprintf("%T %v", got, got.Value()) != fmt.Sprintf("%T %v", want, want.Value()) {
			t.Errorf("%s: scan %v, ForEach %v", src, got.Value(), want.Value())
		}
	}
}

// FuzzScanMatchesWalk is TestScanMatchesWalk over any JSON object: the
// one-pass scan of a record collects the same fields as the gjson walk,
// whether it is given the record (Reset) or a text that starts with it,
// as an element of a record array (ResetNext).
func FuzzScanMatchesWalk(f *testing.F) {
	for _, src := range []string{
		`{"a":1,"b":{"c":"x"},"d":null}`,
		`{ "a" : "s\"q\\\\" , "b" : { "c" : [1,{"x":"]"}] , "z":"}" } , "d" : true }`,
		`{"a":"\u00e9\ud83d\ude00","b":"not an object","d":false,"e":{"f":{"g":-1.5e3}}}`,
		`{"a":1,"a":2,"b":{"c":1},"b":{"d":2}}`,
		`{"h":"tab\there","e":{"f":[]},"d":12345678901234567890}`,
		`{"q\"k":1,"a":2}`,
	} {
		f.Add(src)
	}
	tree := scanTree()
	shared, next := tree.NewRecord(nil), tree.NewRecord(nil)
	f.Fuzz(func(t *testing.T, src string) {
		if !gjson.Valid(src) {
			return
		}
		rec := gjson.Parse(src)
		if !rec.IsObject() {
			return
		}
		shared.Reset(rec)
		want := walked(tree, rec)
		sameSlots(t, "scan", src, shared, want, true)
		// The text of an array's element starts where the trimmed
		// source does, so Index is not compared.
		text := strings.TrimSpace(src)
		if r, ok := next.ResetNext(text+`, {"a":0}]`, 0); ok {
			if r.Raw != text {
				t.Fatalf("%s: ResetNext read %q", src, r.Raw)
			}
			sameSlots(t, "ResetNext", src, next, want, false)
		}
	})
}
