package extract

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/tidwall/gjson"
)

func TestParseErrors(t *testing.T) {
	tests := []struct{ body, want string }{
		{`[{"a": 1},`, "not valid JSON at byte 10: unexpected end of JSON input"},
		{`{"a" 1}`, `not valid JSON at byte 6: invalid character '1' after object key`},
		{``, "not valid JSON at byte 0: unexpected end of JSON input"},
		{`<html>503</html>`, "not valid JSON at byte 1: invalid character '<' looking for beginning of value"},
		// Offsets count a byte order mark, which is not part of the JSON.
		{"\ufeff[{\"a\": 1},", "not valid JSON at byte 13: unexpected end of JSON input"},
		{"\ufeff", "not valid JSON at byte 0: unexpected end of JSON input"},
	}
	for _, tt := range tests {
		_, err := Parse([]byte(tt.body))
		if !errors.Is(err, ErrBody) || err.Error() != tt.want {
			t.Errorf("Parse(%q) = %v, want %s", tt.body, err, tt.want)
		}
	}
}

func TestRecords(t *testing.T) {
	tests := []struct {
		body, path string
		n          int
		err        string
	}{
		{`[{"id":1},{"id":2}]`, "", 2, ""},
		{`{"Actions":[{"Id":"1"}],"@page":"1"}`, "Actions", 1, ""},
		{`{"data":{"c":{"records":[]}}}`, "data.c.records", 0, ""},
		{`{"data":null,"errors":[{"message":"x"}]}`, "data.c.records", 0, `records path "data.c.records" holds nothing, not an array of records (data is null)`},
		{`{"Status":"ERROR","Message":"Forbidden"}`, "Actions", 0, `records path "Actions" holds nothing, not an array of records (the body has Status, Message)`},
		{`{"data":{"c":{}}}`, "data.c.records", 0, `records path "data.c.records" holds nothing, not an array of records (data.c is an empty object)`},
		{`{"data":{"c":{"rows":[]}}}`, "data.c.records", 0, `records path "data.c.records" holds nothing, not an array of records (data.c has rows)`},
		{`{"data":{"c":{"records":{"a":1}}}}`, "data.c.records", 0, `records path "data.c.records" holds an object, not an array of records (data.c.records has a)`},
		{`{"a":1,"b":2,"c":3,"d":4,"e":5,"f":6,"g":7,"h":8,"i":9}`, "x", 0, `records path "x" holds nothing, not an array of records (the body has a, b, c, d, e, f, g, h, …)`},
		{`{"error":"invalid_token","description":"x"}`, "", 0, "the body holds an object, not an array of records (the body has error, description)"},
		{`null`, "", 0, "the body holds null, not an array of records"},
		{`{"data":{"records":"none"}}`, "data.records", 0, `records path "data.records" holds a string, not an array of records`},
	}
	for _, tt := range tests {
		root, err := Parse([]byte(tt.body))
		if err != nil {
			t.Fatal(err)
		}
		arr, err := Records(root, tt.path)
		if tt.err != "" {
			if err == nil || err.Error() != tt.err {
				t.Errorf("%s: err = %v, want %s", tt.body, err, tt.err)
			}
			continue
		}
		n := 0
		if err := Each(arr, func(i int, rec gjson.Result) error {
			if i != n {
				t.Errorf("index %d, want %d", i, n)
			}
			n++
			return nil
		}); err != nil || n != tt.n {
			t.Errorf("%s: %d records, %v; want %d", tt.body, n, err, tt.n)
		}
	}
}

// FuzzExtract checks extraction against encoding/json: a body either
// fails with a positioned error, or yields exactly the records
// encoding/json finds, each the same JSON value.
func FuzzExtract(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("..", "..", "testdata", "*", "*.json"))
	for _, file := range files {
		if b, err := os.ReadFile(file); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte(`[{"a":"\u00e9"},{"b":[1,2,{"c":null}]}]`))
	f.Fuzz(func(t *testing.T, body []byte) {
		root, err := Parse(body)
		var want []json.RawMessage
		jerr := json.Unmarshal(body, &want)
		if err != nil {
			var be *BodyError
			if !errors.As(err, &be) {
				t.Fatalf("error %v is not a BodyError", err)
			}
			if json.Valid(body) {
				t.Fatalf("Parse refused valid JSON: %v", err)
			}
			return
		}
		arr, rerr := Records(root, "")
		if jerr != nil {
			if rerr == nil && json.Valid(body) {
				t.Fatalf("records found where encoding/json finds no array")
			}
			return
		}
		if rerr != nil {
			t.Fatalf("Records: %v", rerr)
		}
		var got []string
		_ = Each(arr, func(_ int, rec gjson.Result) error {
			got = append(got, rec.Raw)
			return nil
		})
		if len(got) != len(want) {
			t.Fatalf("%d records, encoding/json has %d", len(got), len(want))
		}
		for i := range got {
			var a, b any
			if json.Unmarshal([]byte(got[i]), &a) != nil || json.Unmarshal(want[i], &b) != nil {
				t.Fatalf("record %d does not parse", i)
			}
			ja, _ := json.Marshal(a)
			jb, _ := json.Marshal(b)
			if string(ja) != string(jb) {
				t.Fatalf("record %d: %s, want %s", i, ja, jb)
			}
		}
	})
}
