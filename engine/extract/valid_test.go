package extract

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/tidwall/gjson"

	"github.com/afflake/afflake/cmd/afflake-bench/awinpages"
	"github.com/afflake/afflake/engine/spec"
)

var validTests = []struct {
	in         string
	ok, utf8ok bool
}{
	// Literals.
	{`true`, true, true},
	{`false`, true, true},
	{`null`, true, true},
	{`tru`, false, false},
	{`nul`, false, false},
	{`fals`, false, false},
	{`True`, false, false},
	{`nulll`, false, false},
	{`truefalse`, false, false},
	{`undefined`, false, false},
	{`NaN`, false, false},

	// Numbers.
	{`0`, true, true},
	{`-0`, true, true},
	{`7`, true, true},
	{`-123`, true, true},
	{`1.5`, true, true},
	{`-0.0`, true, true},
	{`1e5`, true, true},
	{`1E+2`, true, true},
	{`1e-2`, true, true},
	{`0e0`, true, true},
	{`-1.25E-007`, true, true},
	{`248.71766639999998`, true, true},
	{`-`, false, false},
	{`--1`, false, false},
	{`+1`, false, false},
	{`01`, false, false},
	{`-01`, false, false},
	{`00`, false, false},
	{`1.`, false, false},
	{`1.e5`, false, false},
	{`.5`, false, false},
	{`1e`, false, false},
	{`1e+`, false, false},
	{`1E-`, false, false},
	{`1e+-2`, false, false},
	{`1.5.5`, false, false},
	{`0x10`, false, false},
	{`1_000`, false, false},
	{`Infinity`, false, false},
	{`-Infinity`, false, false},
	{`[1.]`, false, false},
	{`[-]`, false, false},
	{`[01]`, false, false},
	{`{"a":1e}`, false, false},

	// Strings.
	{`""`, true, true},
	{`"abc"`, true, true},
	{`"\"\\\/\b\f\n\r\t"`, true, true},
	{`"\u0000\u12aF\uFFFF\ud800"`, true, true},
	{`"a long string of more than eight bytes, with \"escapes\" in it"`, true, true},
	{`"\u12G4"`, false, false},
	{`"\u12"`, false, false},
	{`"\u"`, false, false},
	{`"\U0041"`, false, false},
	{`"\x41"`, false, false},
	{`"\a"`, false, false},
	{`"\'"`, false, false},
	{`"\0"`, false, false},
	{`"\`, false, false},
	{`"\"`, false, false},
	{`"abc`, false, false},
	{`"`, false, false},
	{`'abc'`, false, false},
	{"\"a\tb\"", false, false},
	{"\"a\nb\"", false, false},
	{"\"\x00\"", false, false},
	{"\"\x1f\"", false, false},
	{"\"\x7f\"", true, true},
	{"\"abcdefgh\x01ijklmnop\"", false, false},

	// UTF-8: invalid bytes in a string are valid JSON but not UTF-8;
	// outside a string they are not JSON at all.
	{`"héllo wörld, 日本語, 🙂"`, true, true},
	{"\"\xef\xbf\xbd\"", true, true}, // U+FFFD itself
	{"\"\xff\"", true, false},
	{"\"abc\x80def\"", true, false},
	{"\"\xc3\"", true, false},             // truncated sequence
	{"\"\xc3(\"", true, false},            // bad continuation
	{"\"\xc0\xaf\"", true, false},         // overlong
	{"\"\xed\xa0\x80\"", true, false},     // surrogate
	{"\"\xf4\x90\x80\x80\"", true, false}, // beyond U+10FFFF
	{"\"\xe6\x97\xa5\xe6\x9c\"", true, false},
	{"[\"\xff\", \"ok\", \"\xc3\xa9\"]", true, false},
	{"{\"k\xff\": 1}", true, false},
	{"\xff", false, false},
	{"[1]\xff", false, false},
	{"\"\xff", false, false},
	{"\"\xff\\q\"", false, false},

	// Whitespace.
	{``, false, false},
	{` `, false, false},
	{" \t\r\n", false, false},
	{" \t\r\n1 \t\r\n", true, true},
	{" [ 1 , { \"a\" : \"b\" } ] ", true, true},
	{"\f1", false, false},
	{"1\v", false, false},
	{"[1,\u00a02]", false, false},
	{"\ufeff1", false, false}, // byte order mark
	{"\ufeff{}", false, false},

	// Trailing data.
	{`1 2`, false, false},
	{`{}{}`, false, false},
	{`[]]`, false, false},
	{`{}}`, false, false},
	{`"a""b"`, false, false},
	{`nullx`, false, false},
	{`[1]x`, false, false},
	{`0 0`, false, false},

	// Arrays and objects.
	{`[]`, true, true},
	{`{}`, true, true},
	{`[ ]`, true, true},
	{`{ }`, true, true},
	{`[1,"a",true,false,null,{},[]]`, true, true},
	{`{"a":1,"b":[2,{"c":null}],"d":{"e":"f"}}`, true, true},
	{`[[[[[[[[[[]]]]]]]]]]`, true, true},
	{`[{"a":[{"b":[{}]}]}]`, true, true},
	{`{"a":[1,{"b":2}],"c":[],"d":{}}`, true, true},
	{`[{},[],{"a":{}},[[]],0]`, true, true},
	{`{"a":[1}]`, false, false},
	{`[{"a":1]}`, false, false},
	{`{"a":{"b":1}]`, false, false},
	{`[[1],[2}]`, false, false},
	{`{"":""}`, true, true},
	{`{"a":1,"a":2}`, true, true},
	{`[`, false, false},
	{`{`, false, false},
	{`[1`, false, false},
	{`[1,`, false, false},
	{`{"a"`, false, false},
	{`{"a":`, false, false},
	{`{"a":1`, false, false},
	{`{"a":1,`, false, false},
	{`[[]`, false, false},
	{`[}`, false, false},
	{`{]`, false, false},
	{`[1}`, false, false},
	{`{"a":1]`, false, false},
	{`[{]}`, false, false},
	{`]`, false, false},
	{`}`, false, false},
	{`[1,]`, false, false},
	{`{"a":1,}`, false, false},
	{`[,1]`, false, false},
	{`[,]`, false, false},
	{`[1 2]`, false, false},
	{`[1,,2]`, false, false},
	{`{,}`, false, false},
	{`{"a" 1}`, false, false},
	{`{"a"::1}`, false, false},
	{`{"a":1 "b":2}`, false, false},
	{`{a:1}`, false, false},
	{`{1:1}`, false, false},
	{`{null:1}`, false, false},
	{`{"a"}`, false, false},
	{`{"a":}`, false, false},
	{`{:1}`, false, false},
	{`<html>503</html>`, false, false},
}

func TestValid(t *testing.T) {
	for _, tt := range validTests {
		ok, utf8ok := Valid([]byte(tt.in))
		if ok != tt.ok || utf8ok != tt.utf8ok {
			t.Errorf("Valid(%q) = %v, %v; want %v, %v", tt.in, ok, utf8ok, tt.ok, tt.utf8ok)
		}
		// The table itself must agree with the standard library.
		if want := json.Valid([]byte(tt.in)); want != tt.ok {
			t.Errorf("json.Valid(%q) = %v; the table says %v", tt.in, want, tt.ok)
		}
		if tt.ok && utf8.ValidString(tt.in) != tt.utf8ok {
			t.Errorf("utf8.ValidString(%q) = %v; the table says %v", tt.in, !tt.utf8ok, tt.utf8ok)
		}
	}
}

// TestValidStringBytes puts every byte value at every offset of a string
// longer than a word, so each lane of the word-at-a-time scan meets it.
func TestValidStringBytes(t *testing.T) {
	plain := []byte(`"abcdefghijklmnopq"`)
	for pos := 1; pos < len(plain)-1; pos++ {
		for c := range 256 {
			b := bytes.Clone(plain)
			b[pos] = byte(c)
			check(t, b)
			// Also right before the closing quote, an escape and a
			// multi-byte sequence, alone and in an array.
			for _, tail := range []string{`"`, `\n"`, `é"`} {
				s := append(bytes.Clone(b[:pos+1]), tail...)
				check(t, s)
				check(t, append(append([]byte("["), s...), ']'))
			}
		}
	}
}

func TestValidDepth(t *testing.T) {
	for _, tt := range []struct {
		depth int
		ok    bool
	}{
		{1, true},
		{maxDepth - 1, true},
		{maxDepth, true},
		{maxDepth + 1, false},
	} {
		for _, open := range []string{"[", `{"a":`} {
			end := "]"
			if open != "[" {
				end = "}"
			}
			b := []byte(strings.Repeat(open, tt.depth) + "0" + strings.Repeat(end, tt.depth))
			if ok, _ := Valid(b); ok != tt.ok {
				t.Errorf("Valid(%s...) at depth %d = %v; want %v", open, tt.depth, ok, tt.ok)
			}
			if want := json.Valid(b); want != tt.ok {
				t.Errorf("json.Valid(%s...) at depth %d = %v; the test says %v", open, tt.depth, want, tt.ok)
			}
		}
	}
}

// TestValidDeep checks that very deep input neither crashes Valid nor
// passes.
func TestValidDeep(t *testing.T) {
	for _, open := range []string{"[", `{"a":`, `[{"a":`} {
		b := bytes.Repeat([]byte(open), 1_000_000)
		if ok, utf8ok := Valid(b); ok || utf8ok {
			t.Errorf("Valid of 1,000,000 %q = %v, %v; want false, false", open, ok, utf8ok)
		}
	}
}

func TestValidAllocs(t *testing.T) {
	page := awinpages.New(1).Page(20)
	n := testing.AllocsPerRun(10, func() {
		if ok, _ := Valid(page); !ok {
			t.Fatal("page not valid")
		}
	})
	if n != 0 {
		t.Errorf("Valid allocates %v times per call; want 0", n)
	}
}

func TestReadUTF8(t *testing.T) {
	for _, tt := range []struct {
		format, body string
		utf8         bool
	}{
		{"json", `[{"a":"é"}]`, true},
		{"json", "[{\"a\":\"\xff\"}]", false},
		{"", "[{\"a\":\"\xff\"}]", false},
		{"csv", "a,b\nx,é\n", true},
		// A CSV value keeps a byte that is not UTF-8: its record is
		// quarantined, not changed.
		{"csv", "a,b\n\xff,é\n", false},
		{"xml", "<r><i><a>é</a></i></r>", true},
	} {
		doc, err := Read([]byte(tt.body), spec.Response{Format: tt.format, Element: "r.i"})
		if err != nil {
			t.Errorf("Read(%q, %q): %v", tt.format, tt.body, err)
			continue
		}
		if doc.UTF8 != tt.utf8 {
			t.Errorf("Read(%q, %q).UTF8 = %v; want %v", tt.format, tt.body, doc.UTF8, tt.utf8)
		}
		if doc.UTF8 && !utf8.ValidString(doc.Root.Raw) {
			t.Errorf("Read(%q, %q).UTF8 is true for %q", tt.format, tt.body, doc.Root.Raw)
		}
	}
}

// check compares Valid with encoding/json and unicode/utf8.
func check(t *testing.T, b []byte) {
	t.Helper()
	ok, utf8ok := Valid(b)
	want := json.Valid(b)
	wantUTF8 := want && utf8.Valid(b)
	if ok != want || utf8ok != wantUTF8 {
		t.Fatalf("Valid(%q) = %v, %v; want %v, %v", b, ok, utf8ok, want, wantUTF8)
	}
}

func FuzzValid(f *testing.F) {
	files, err := filepath.Glob("../../testdata/*/*.json")
	if err != nil {
		f.Fatal(err)
	}
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	for _, tt := range validTests {
		f.Add([]byte(tt.in))
	}
	f.Add(awinpages.New(1).Page(2))
	f.Fuzz(check)
}

func benchPage(b *testing.B) []byte {
	page := awinpages.New(1).Page(2000)
	b.SetBytes(int64(len(page)))
	return page
}

func BenchmarkValid(b *testing.B) {
	page := benchPage(b)
	for b.Loop() {
		if ok, utf8ok := Valid(page); !ok || !utf8ok {
			b.Fatal("page not valid")
		}
	}
}

func BenchmarkGjsonValid(b *testing.B) {
	page := benchPage(b)
	for b.Loop() {
		if !gjson.ValidBytes(page) {
			b.Fatal("page not valid")
		}
	}
}
