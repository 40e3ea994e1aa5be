package extract

import (
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/tidwall/gjson"

	"github.com/afflake/afflake/engine/spec"
)

// streamed reads body as a stream, Scan then Parts with parts of about
// size bytes, through a reader that gives at most chunk bytes a read
// (0: all it can), and returns the records of the parts read with Read,
// each part's first index checked against the records before it.
func streamed(t testing.TB, body []byte, resp spec.Response, size, chunk int) ([]string, *Plan, error) {
	t.Helper()
	reader := func() io.Reader {
		if chunk > 0 {
			return &chunkReader{r: bytes.NewReader(body), n: chunk}
		}
		return bytes.NewReader(body)
	}
	p, err := Scan(reader(), resp, size)
	if err != nil {
		return nil, nil, err
	}
	var recs []string
	err = p.Parts(reader(), resp, func(part []byte, first int) error {
		if first != len(recs) {
			return fmt.Errorf("part starts at record %d, after %d records", first, len(recs))
		}
		// A part is whole JSON, UTF-8 text: what Read of it finds,
		// Plan.Read finds without checking it again.
		resp := resp
		resp.Charset = ""
		if checked, err := Read(part, resp); err != nil {
			return fmt.Errorf("part %q: %v", part, err)
		} else if !checked.UTF8 && p.UTF8 {
			return fmt.Errorf("part %q is not UTF-8, the plan says the body is", part)
		}
		doc, err := p.Read(part, resp)
		if err != nil {
			return fmt.Errorf("part %q: %v", part, err)
		}
		arr, err := doc.Records()
		if err != nil {
			return fmt.Errorf("part %q: %v", part, err)
		}
		return Each(arr, func(_ int, rec gjson.Result) error {
			recs = append(recs, rec.Raw)
			return nil
		})
	})
	return recs, p, err
}

// chunkReader gives at most n bytes a read.
type chunkReader struct {
	r io.Reader
	n int
}

func (c *chunkReader) Read(p []byte) (int, error) { return c.r.Read(p[:min(len(p), c.n)]) }

// whole returns the records of body read whole, and whether it is UTF-8.
func whole(body []byte, resp spec.Response) ([]string, bool, error) {
	doc, err := Read(bytes.Clone(body), resp)
	if err != nil {
		return nil, false, err
	}
	arr, err := doc.Records()
	if err != nil {
		return nil, false, err
	}
	var recs []string
	_ = Each(arr, func(_ int, rec gjson.Result) error {
		recs = append(recs, rec.Raw)
		return nil
	})
	return recs, doc.UTF8, nil
}

func fixture(t testing.TB, network, file string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "testdata", network, file))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestStreamMatchesRead checks that a body read as a stream, in parts of
// any size and through reads of any length, gives the records reading it
// whole gives, in order, with the same UTF-8 verdict.
func TestStreamMatchesRead(t *testing.T) {
	awin := fixture(t, "awin", "transactions.json")
	var big bytes.Buffer // about 1 MB: more than one window of the stream
	big.WriteString("[\n")
	for i := 0; i < 800; i++ {
		if i > 0 {
			big.WriteString(" ,\n\t")
		}
		fmt.Fprintf(&big, `{"id":%d,"note":"%s","nested":{"a":[1,2,{"b":"]}\"["}]},"x":"é"}`, i, strings.Repeat("ab\\\"c", 200))
	}
	big.WriteString("\n]\n")
	cases := []struct {
		name string
		body []byte
		resp spec.Response
	}{
		{"awin", awin, spec.Response{}},
		{"impact", fixture(t, "impact", "actions.json"), spec.Response{Records: "Actions"}},
		{"cj", fixture(t, "cj", "commissions.json"), spec.Response{Records: "data.publisherCommissions.records"}},
		{"large", big.Bytes(), spec.Response{}},
		{"gzipped", gzipped(awin), spec.Response{}},
		{"byte-order mark", append([]byte("\xef\xbb\xbf"), awin...), spec.Response{}},
		{"empty", []byte(" [ ] "), spec.Response{}},
		{"scalars", []byte(`[1, "two" ,null,true,-3.5e2, [], {}]`), spec.Response{}},
		{"keys after", []byte(`{"a":{"x":[1,{"y":"}"}]},"b":{"c":[{"id":1},{"id":2}],"d":"[{"},"e":null}`), spec.Response{Records: "b.c"}},
		{"first of two keys", []byte(`{"r":[{"id":1}],"r":[{"id":2}]}`), spec.Response{Records: "r"}},
		{"not UTF-8", []byte("[{\"id\":1,\"s\":\"caf\xe9\"},{\"id\":2}]"), spec.Response{}},
		{"charset", []byte("[{\"id\":1,\"s\":\"caf\xe9\"}]"), spec.Response{Charset: "windows-1252"}},
		{"csv", []byte(csvBody), spec.Response{Format: "csv"}},
		{"csv, large", bigCSV(), spec.Response{Format: "csv"}},
		{"csv, gzipped", gzipped(bigCSV()), spec.Response{Format: "csv"}},
		{"csv, semicolons and a mark", []byte("\xef\xbb\xbfid;name\r\n1;a\r\n2;b;\r\n"), spec.Response{Format: "csv", Delimiter: ";"}},
		{"csv, latin-1", []byte("id,name\n1,Caf\xe9\n2,M\xfcller\n"), spec.Response{Format: "csv", Charset: "windows-1252"}},
		{"csv, not UTF-8", []byte("id,name\n1,Caf\xe9\n2,ok\n"), spec.Response{Format: "csv"}},
		{"csv, header not UTF-8", []byte("id,caf\xe9\n1,ok\n2,fine\n"), spec.Response{Format: "csv"}},
		{"csv, header only", []byte("id,name\n"), spec.Response{Format: "csv"}},
		{"csv, empty", []byte("\n\n"), spec.Response{Format: "csv"}},
		{"csv, white space only", []byte("  \n\u00a0 \n\t"), spec.Response{Format: "csv"}},
		{"csv, rows of spaces", []byte("   \n\n      \n0"), spec.Response{Format: "csv"}},
	}
	for _, tc := range cases {
		want, wantUTF8, err := whole(tc.body, tc.resp)
		if err != nil {
			t.Fatalf("%s: read whole: %v", tc.name, err)
		}
		for _, size := range []int{1, 300, 4 << 10, 64 << 20} {
			for _, chunk := range []int{0, 1, 7, 1000} {
				got, p, err := streamed(t, tc.body, tc.resp, size, chunk)
				if err != nil {
					t.Fatalf("%s, parts of %d, reads of %d: %v", tc.name, size, chunk, err)
				}
				if p.Records != len(want) || p.UTF8 != wantUTF8 {
					t.Errorf("%s: plan of %d records, UTF-8 %v; want %d, %v", tc.name, p.Records, p.UTF8, len(want), wantUTF8)
				}
				if strings.Join(got, "\n") != strings.Join(want, "\n") {
					t.Fatalf("%s, parts of %d, reads of %d: records\n%.300q\nwant\n%.300q", tc.name, size, chunk, got, want)
				}
			}
		}
	}
}

// csvBody has quoted fields spanning lines, blank lines, a short row, a
// trailing delimiter, a repeated and an empty header, and no final line
// end.
const csvBody = "id,name,,name\n1,\"a, b\",x,y\n\n2,\"multi\nline \"\"q\"\"\",,\n3,short\n4,é,z,w,\n5,last,,"

// gzipped is b gzipped.
func gzipped(b []byte) []byte {
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(b)
	zw.Close()
	return gz.Bytes()
}

// bigCSV is about 1 MB of rows: more than one window of a stream.
func bigCSV() []byte {
	var b bytes.Buffer
	b.WriteString("id,note,amount\r\n")
	for i := 0; i < 5000; i++ {
		fmt.Fprintf(&b, "%d,\"%s\",%d.99\r\n", i, strings.Repeat("ab \"\"c\"\",\n", 20), i)
	}
	return b.Bytes()
}

// TestStreamInvalid checks that a body that is not valid JSON is never
// read as a stream: Scan fails where reading it whole fails, at the same
// byte when the error is inside the records or before them.
func TestStreamInvalid(t *testing.T) {
	cases := []struct {
		body string
		path string
	}{
		{`[{"id":1},{"id":2]`, ""},
		{`[{"id":1} {"id":2}]`, ""},
		{`[{"id":1},]`, ""},
		{`[{"id":1},{"id":"2}]`, ""},
		{`[{"id":1},{"id":tru}]`, ""},
		{`[{"id":1},{"id":01}]`, ""},
		{`[{"id":1},{"id":"a\x01"}]`, ""},
		{`[{"id":1}`, ""},
		{`[{"id":1}] x`, ""},
		{`[{"id":1}]]`, ""},
		{`{"meta":{"n":1,},"r":[{"id":1}]}`, "r"},
		{`{"meta":"ok","r":[{"id":1}],"tail":[1,}`, "r"},
		{`{"meta":"ok","r":[{"id":1}]`, "r"},
		{`{"r":[{"id":1}], "s": 1} {}`, "r"},
		{`{"r" [1]}`, "r"},
		{`{"r":[{"id":"\u12"}]}`, "r"},
		{``, ""},
		{`   `, ""},
	}
	for _, tc := range cases {
		testInvalid(t, tc.body, spec.Response{Records: tc.path})
	}
	// A CSV row longer than its header, on line 4.
	testInvalid(t, "a,b\n1,2\n\n3,4,5\n6,7\n", spec.Response{Format: "csv"})
}

// testInvalid checks that body, which is not as resp says, is refused
// by a stream as reading it whole refuses it.
func testInvalid(t *testing.T, body string, resp spec.Response) {
	t.Helper()
	_, _, wholeErr := whole([]byte(body), resp)
	var wbe *BodyError
	if !errors.As(wholeErr, &wbe) {
		t.Fatalf("%q read whole: %v, want a body error", body, wholeErr)
	}
	// After the record array, the stream cannot tell the body's offset.
	after := strings.Contains(body, "tail") || strings.HasSuffix(body, "{}")
	for _, chunk := range []int{0, 1, 3} {
		_, _, err := streamed(t, []byte(body), resp, 1, chunk)
		var be *BodyError
		switch {
		case !errors.As(err, &be):
			t.Errorf("%q, reads of %d: %v, want a body error", body, chunk, err)
		case be.Offset != wbe.Offset && !after, be.Line != wbe.Line:
			t.Errorf("%q, reads of %d: %v, read whole: %v", body, chunk, err, wholeErr)
		}
	}
}

// TestNotStreamable checks the bodies and specs a stream leaves to a
// whole read, which gives the error or the records as it always does.
func TestNotStreamable(t *testing.T) {
	for _, resp := range []spec.Response{
		{Format: "csv", Records: "rows"}, {Format: "xml"}, {Unwind: "parts"}, {Records: "data.#.x"}, {Records: "a..b"}, {Records: `a\.b`},
	} {
		if Streamable(resp) {
			t.Errorf("%+v is streamable", resp)
		}
		if _, err := Scan(strings.NewReader(`[{"id":1}]`), resp, 1); !errors.Is(err, ErrNotStreamable) {
			t.Errorf("%+v: %v, want ErrNotStreamable", resp, err)
		}
	}
	for _, tc := range []struct{ body, path string }{
		{`{"data":null}`, "data.records"},
		{`{"data":{"records":{"a":1}}}`, "data.records"},
		{`{"data":{"other":[]}}`, "data.records"},
		{`[{"records":[]}]`, "records"},
		{`{"d\u0061ta":{"records":[]}}`, "data.records"},
		{`{"records":null}`, "records"},
	} {
		if _, err := Scan(strings.NewReader(tc.body), spec.Response{Records: tc.path}, 1); !errors.Is(err, ErrNotStreamable) {
			t.Errorf("%s at %q: %v, want ErrNotStreamable", tc.body, tc.path, err)
		}
	}
	// The text around the records is repeated in every part: a large one
	// is read whole.
	body := `{"meta":"` + strings.Repeat("x", maxEnvelope) + `","r":[1]}`
	if _, err := Scan(strings.NewReader(body), spec.Response{Records: "r"}, 1); !errors.Is(err, ErrNotStreamable) {
		t.Errorf("a large envelope: %v, want ErrNotStreamable", err)
	}
	if _, err := Scan(iotest.ErrReader(io.ErrUnexpectedEOF), spec.Response{}, 1); err == nil || errors.Is(err, ErrNotStreamable) {
		t.Errorf("a failing reader: %v, want an error of the body", err)
	}
	stuck := io.MultiReader(strings.NewReader(`[{"id":1},`), &chunkReader{r: strings.NewReader("{}]"), n: 0})
	if _, err := Scan(stuck, spec.Response{}, 1); err == nil || !strings.Contains(err.Error(), io.ErrNoProgress.Error()) {
		t.Errorf("a reader that gives nothing: %v, want %v", err, io.ErrNoProgress)
	}
}

// FuzzStream checks that a body Scan accepts is one Read accepts, with
// the same records, and that Scan accepts no body Read refuses as JSON.
func FuzzStream(f *testing.F) {
	f.Add([]byte(`[{"id":1},{"id":"two","n":[1,2]}]`), "", uint8(7))
	f.Add([]byte(`{"a":1,"r":[{"x":"]"}],"z":{}}`), "r", uint8(1))
	f.Add([]byte(`{"data":{"publisherCommissions":{"records":[{"commissionId":"1"}]}}}`), "data.publisherCommissions.records", uint8(3))
	f.Add(fixture(f, "awin", "transactions.json"), "", uint8(0))
	f.Fuzz(func(t *testing.T, body []byte, path string, chunk uint8) {
		resp := spec.Response{Records: path}
		if !Streamable(resp) {
			return
		}
		got, p, err := streamed(t, body, resp, 64, int(chunk))
		want, wantUTF8, wholeErr := whole(body, resp)
		if err != nil {
			var be *BodyError
			if !errors.Is(err, ErrNotStreamable) && !errors.As(err, &be) {
				t.Fatalf("%q: %v", body, err)
			}
			if be != nil && wholeErr == nil {
				t.Fatalf("%q at %q: the stream refuses it (%v), a whole read does not", body, path, err)
			}
			return
		}
		if wholeErr != nil {
			t.Fatalf("%q at %q: the stream reads it, a whole read refuses it: %v", body, path, wholeErr)
		}
		if p.UTF8 != wantUTF8 || strings.Join(got, "\x00") != strings.Join(want, "\x00") {
			t.Fatalf("%q at %q: stream %q (UTF-8 %v), whole %q (%v)", body, path, got, p.UTF8, want, wantUTF8)
		}
	})
}

// TestStreamLongRecord: a record longer than a stream reads at once is
// read whole instead of being refused; one that does not end is a body
// error.
func TestStreamLongRecord(t *testing.T) {
	defer func(n int) { maxRecord = n }(maxRecord)
	maxRecord = 1000
	long := `[{"id":1},{"note":"` + strings.Repeat("x", 3000) + `"},{"id":3}]`
	if _, err := Scan(&chunkReader{r: strings.NewReader(long), n: 100}, spec.Response{}, 1); !errors.Is(err, ErrNotStreamable) {
		t.Errorf("a long string: %v, want ErrNotStreamable", err)
	}
	deep := `[{"id":1},{"a":[` + strings.Repeat(`{"b":1},`, 500) + `{}]}]`
	if _, err := Scan(&chunkReader{r: strings.NewReader(deep), n: 100}, spec.Response{}, 1); !errors.Is(err, ErrNotStreamable) {
		t.Errorf("a long record: %v, want ErrNotStreamable", err)
	}
	var be *BodyError
	if _, err := Scan(&chunkReader{r: strings.NewReader(`[{"id":1},{"note":"xx`), n: 3}, spec.Response{}, 1); !errors.As(err, &be) {
		t.Errorf("a string that does not end: %v, want a body error", err)
	}
}

// FuzzStreamCSV is FuzzStream for CSV bodies.
func FuzzStreamCSV(f *testing.F) {
	f.Add([]byte(csvBody), false, uint8(0))
	f.Add([]byte("a;b\r\n1;\"x\ny\"\r\n\r\n2;3;\r\n"), true, uint8(2))
	f.Add([]byte("a,b\n1,2,3\n"), false, uint8(1))
	f.Fuzz(func(t *testing.T, body []byte, semicolons bool, chunk uint8) {
		resp := spec.Response{Format: "csv"}
		if semicolons {
			resp.Delimiter = ";"
		}
		got, p, err := streamed(t, body, resp, 16, int(chunk))
		want, wantUTF8, wholeErr := whole(body, resp)
		if err != nil {
			var be *BodyError
			if !errors.As(err, &be) {
				t.Fatalf("%q: %v", body, err)
			}
			if wholeErr == nil {
				t.Fatalf("%q: the stream refuses it (%v), a whole read does not", body, err)
			}
			return
		}
		if wholeErr != nil {
			t.Fatalf("%q: the stream reads it, a whole read refuses it: %v", body, wholeErr)
		}
		if p.UTF8 != wantUTF8 || strings.Join(got, "\x00") != strings.Join(want, "\x00") {
			t.Fatalf("%q: stream %q (UTF-8 %v), whole %q (%v)", body, got, p.UTF8, want, wantUTF8)
		}
	})
}
