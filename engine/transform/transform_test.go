package transform

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/tidwall/gjson"

	"github.com/afflake/afflake/engine/mapping"
	"github.com/afflake/afflake/engine/spec"
)

// TestEachMatchesExtract checks that the workers' one-pass reading of a
// record array yields the records extract.Each yields.
func TestEachMatchesExtract(t *testing.T) {
	set, errs := spec.Load(filepath.Join("..", "..", "specs"))
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	var sp *spec.Spec
	for _, name := range set.Names() {
		sp = set.Specs[name]
		break
	}
	arrays := []string{
		`[]`,
		` [ ] `,
		`[{"a":1},{"b":{"c":[1,2,{"d":"}"}]}} , {"e":"\"]"}]`,
		`[{"a":1},2,"x",null,{"b":2},[1],{"c":3}]`,
		`[{"k\"ey":1},{"a":2}]`,
		"[\n\t{\"a\":1}\n,\n{\"a\":2}\n]",
		`[{},{"a":{}}]`,
	}
	for _, src := range arrays {
		if !gjson.Parse(src).IsArray() {
			t.Fatalf("%s is not an array", src)
		}
		checkEach(t, sp, src)
	}
}

// FuzzEachMatchesExtract: for any valid JSON array, seeded with the
// arrays above and the fixtures' bodies, the one-pass reading yields the
// records gjson does.
func FuzzEachMatchesExtract(f *testing.F) {
	set, errs := spec.Load(filepath.Join("..", "..", "specs"))
	if len(errs) > 0 {
		f.Fatal(errs)
	}
	sp := set.Specs["awin"]
	bodies, _ := filepath.Glob(filepath.Join("..", "..", "testdata", "*", "*.json"))
	for _, b := range bodies {
		if src, err := os.ReadFile(b); err == nil {
			f.Add(string(src))
		}
	}
	f.Add(`[{"a":1},{"b":{"c":[1,2,{"d":"}"}]}} , {"e":"\"]"}]`)
	f.Add(`[{"a":1},2,"x",null,{"b":2},[1],{"c":3}]`)
	f.Fuzz(func(t *testing.T, src string) {
		if !gjson.Valid(src) || !gjson.Parse(src).IsArray() {
			return
		}
		checkEach(t, sp, src)
	})
}

// checkEach compares the workers' reading of the array src with gjson's.
func checkEach(t *testing.T, sp *spec.Spec, src string) {
	t.Helper()
	arr := gjson.Parse(src)
	type got struct {
		i   int
		raw string
		typ gjson.Type
	}
	var want, have []got
	arr.ForEach(func(_, v gjson.Result) bool {
		want = append(want, got{len(want), v.Raw, v.Type})
		return true
	})
	w := &worker{m: mapping.New(sp, mapping.Account{ID: "a"})}
	if err := w.each(arr, func(i int, rec gjson.Result) error {
		have = append(have, got{i, rec.Raw, rec.Type})
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if len(have) != len(want) {
		t.Fatalf("%s: %d records, want %d", src, len(have), len(want))
	}
	for k := range want {
		if have[k] != want[k] {
			t.Errorf("%s: record %d is %+v, want %+v", src, k, have[k], want[k])
		}
	}
}
