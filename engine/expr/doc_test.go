package expr

import (
	"encoding/json"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/cel-go/common/types"
	"github.com/google/cel-go/common/types/ref"
	"github.com/google/cel-go/common/types/traits"
	"github.com/tidwall/gjson"
)

var blockRe = regexp.MustCompile("(?s)```(json record|cel-example)\n(.*?)```")

// TestDocExamples runs every example of docs/cel.md.
func TestDocExamples(t *testing.T) {
	doc, err := os.ReadFile("../../docs/cel.md")
	if err != nil {
		t.Fatal(err)
	}
	var record string
	type example struct{ src, want string }
	var examples []example
	for _, m := range blockRe.FindAllStringSubmatch(string(doc), -1) {
		if m[1] == "json record" {
			record = m[2]
			continue
		}
		for _, line := range strings.Split(m[2], "\n") {
			src, want, ok := strings.Cut(line, "==>")
			if !ok {
				continue
			}
			examples = append(examples, example{strings.TrimSpace(src), strings.TrimSpace(want)})
		}
	}
	if record == "" || len(examples) < 40 {
		t.Fatalf("found the record: %v, %d examples: the doc's blocks changed shape", record != "", len(examples))
	}
	london, _ := time.LoadLocation("Europe/London")
	env, err := NewEnv(RecordScope, london)
	if err != nil {
		t.Fatal(err)
	}
	ps := NewPrograms(env, london)
	progs := make([]*Program, len(examples))
	for i, ex := range examples {
		if progs[i], err = ps.Add(ex.src); err != nil {
			t.Fatalf("%s: %v", ex.src, err)
		}
	}
	if err := ps.Build(); err != nil {
		t.Fatal(err)
	}
	rec := ps.Tree().NewRecord(Vars(map[string]any{
		"account": map[string]any{"id": "189069", "currency": "GBP"},
		"tables":  map[string]any{"status": map[string]string{"pending": "pending", "deleted": "declined"}},
	}))
	rec.Reset(gjson.Parse(record))
	for i, ex := range examples {
		var got string
		if p := progs[i]; p.Path() != nil {
			got = render(FromJSON(*rec.Field(p.Slot())))
		} else if v, err := p.Eval(rec); err != nil {
			got = "error"
		} else {
			got = render(v)
		}
		if got != ex.want {
			t.Errorf("%s ==> %s, doc says %s", ex.src, got, ex.want)
		}
	}
}

func render(v ref.Val) string {
	switch x := v.(type) {
	case Dec:
		return x.D.Compact()
	case Number:
		return string(x)
	case types.Int:
		return x.ConvertToType(types.StringType).Value().(string)
	case types.String:
		b, _ := json.Marshal(string(x))
		return string(b)
	case types.Bool:
		if x {
			return "true"
		}
		return "false"
	case types.Null:
		return "null"
	case types.Timestamp:
		return x.Time.UTC().Format(time.RFC3339)
	case traits.Mapper:
		var parts []string
		it := x.Iterator()
		for it.HasNext() == types.True {
			k := it.Next()
			parts = append(parts, render(k)+": "+render(x.Get(k)))
		}
		return "{" + strings.Join(parts, ", ") + "}"
	}
	if types.IsError(v) {
		return "error"
	}
	return v.Type().TypeName()
}
