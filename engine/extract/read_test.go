package extract

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/tidwall/gjson"

	"github.com/afflake/afflake/engine/mapping"
	"github.com/afflake/afflake/engine/row"
	"github.com/afflake/afflake/engine/spec"
)

// raws returns the records of doc, as JSON.
func raws(t *testing.T, doc Doc) []string {
	t.Helper()
	arr, err := doc.Records()
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	_ = Each(arr, func(_ int, rec gjson.Result) error {
		out = append(out, rec.Raw)
		return nil
	})
	return out
}

func TestRead(t *testing.T) {
	tests := []struct {
		name string
		body string
		resp spec.Response
		want []string
		root string // a path in Root and its value
	}{
		{"json", `{"data":[{"id":1}],"next":"x"}`, spec.Response{Format: "json", Records: "data"}, []string{`{"id":1}`}, "next=x"},
		{"csv", "id;n\n1;a\n", spec.Response{Format: "csv", Delimiter: ";"}, []string{`{"id":"1","n":"a"}`}, "0.n=a"},
		{"xml element is the records path", `<r><total>1</total><item><id>1</id></item></r>`,
			spec.Response{Format: "xml", Element: "r.item"}, []string{`{"id":"1"}`}, "r.total=1"},
		{"xml with its own records path", `<r><list><item><id>1</id></item></list></r>`,
			spec.Response{Format: "xml", Element: "r.list.item", Records: "r.list.item"}, []string{`{"id":"1"}`}, "r.list.item.0.id=1"},
		// A body in a declared encoding other than UTF-8 is read as it says.
		{"csv in windows-1252", "id,name\n1,M\xfcller \x80\n", spec.Response{Format: "csv", Charset: "windows-1252"}, []string{`{"id":"1","name":"Müller €"}`}, "0.name=Müller €"},
		{"json in iso-8859-1", "[{\"n\":\"Caf\xe9\"}]", spec.Response{Charset: "iso-8859-1"}, []string{`{"n":"Café"}`}, "0.n=Café"},
		{"json declared utf-8", `[{"n":"Café"}]`, spec.Response{Charset: "utf-8"}, []string{`{"n":"Café"}`}, "0.n=Café"},
		// A byte order mark before a body is not part of it.
		{"json after a byte order mark", "\ufeff[{\"id\":1}]", spec.Response{}, []string{`{"id":1}`}, "0.id=1"},
		{"csv after a byte order mark", "\ufeffid,n\n1,a\n", spec.Response{Format: "csv"}, []string{`{"id":"1","n":"a"}`}, "0.id=1"},
		{"xml after a byte order mark", "\ufeff<?xml version=\"1.0\"?>\n<r><item><id>1</id></item></r>",
			spec.Response{Format: "xml", Element: "r.item"}, []string{`{"id":"1"}`}, "r.item.0.id=1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc, err := Read([]byte(tt.body), tt.resp)
			if err != nil {
				t.Fatal(err)
			}
			if got := raws(t, doc); strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("records %v, want %v", got, tt.want)
			}
			path, want, _ := strings.Cut(tt.root, "=")
			if got := doc.Root.Get(path).String(); got != want {
				t.Errorf("Root %s = %q, want %q", path, got, want)
			}
		})
	}
	if _, err := Read([]byte("<r>"), spec.Response{Format: "xml", Element: "r.item"}); err == nil || err.Error() != "not valid XML at line 1: unexpected EOF" {
		t.Errorf("got %v, want the XML error", err)
	}
}

// TestReadGzipped reads bodies gzipped without a word of it, whatever
// their format, and names a gzip stream that is cut short.
func TestReadGzipped(t *testing.T) {
	gz := func(s string) []byte {
		var b bytes.Buffer
		zw := gzip.NewWriter(&b)
		zw.Write([]byte(s))
		zw.Close()
		return b.Bytes()
	}
	for _, tc := range []struct {
		body string
		resp spec.Response
		want string
	}{
		{`[{"id":1}]`, spec.Response{}, `{"id":1}`},
		{"\ufeffid,n\n1,a\n", spec.Response{Format: "csv"}, `{"id":"1","n":"a"}`},
		{`<r><item><id>1</id></item></r>`, spec.Response{Format: "xml", Element: "r.item"}, `{"id":"1"}`},
	} {
		doc, err := Read(gz(tc.body), tc.resp)
		if err != nil {
			t.Fatalf("%s: %v", tc.body, err)
		}
		if got := raws(t, doc); len(got) != 1 || got[0] != tc.want {
			t.Errorf("%s: records %v, want %s", tc.body, got, tc.want)
		}
	}
	cut := gz(`[{"id":1},{"id":2}]`)
	_, err := Read(cut[:len(cut)-6], spec.Response{})
	if !errors.Is(err, ErrBody) || !strings.Contains(err.Error(), "the body is gzipped but cannot be read: unexpected EOF") {
		t.Errorf("cut gzip stream: %v", err)
	}
}

func TestUnwind(t *testing.T) {
	body := `[
		{"id":"o1","parts":[{"id":"p1"},{"id":"p2"}],"n":1},
		{"id":"o2","parts":{"id":"p3"}},
		{"id":"o3","parts":[]},
		{"id":"o4"},
		{"id":"o5","x":{"parts":[{"id":"p4"}]}},
		7
	]`
	tests := []struct {
		path string
		want []string
	}{
		{"parts", []string{
			`{"id":"o1","parts":{"id":"p1"},"n":1}`,
			`{"id":"o1","parts":{"id":"p2"},"n":1}`,
			`{"id":"o2","parts":{"id":"p3"}}`,
			`{"id":"o3","parts":null}`,
			`{"id":"o4","parts":null}`,
			`{"id":"o5","x":{"parts":[{"id":"p4"}]},"parts":null}`,
			`7`,
		}},
		{"x.parts", []string{
			`{"id":"o1","parts":[{"id":"p1"},{"id":"p2"}],"n":1,"x":{"parts":null}}`,
			`{"id":"o2","parts":{"id":"p3"},"x":{"parts":null}}`,
			`{"id":"o3","parts":[],"x":{"parts":null}}`,
			`{"id":"o4","x":{"parts":null}}`,
			`{"id":"o5","x":{"parts":{"id":"p4"}}}`,
			`7`,
		}},
	}
	for _, tt := range tests {
		doc, err := Read([]byte(body), spec.Response{Format: "json", Unwind: tt.path})
		if err != nil {
			t.Fatal(err)
		}
		got := raws(t, doc)
		for i := range got {
			if !json.Valid([]byte(got[i])) {
				t.Errorf("unwind %s: record %d is not valid JSON: %s", tt.path, i, got[i])
			}
		}
		if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
			t.Errorf("unwind %s:\ngot  %s\nwant %s", tt.path, strings.Join(got, "\n     "), strings.Join(tt.want, "\n     "))
		}
	}
}

// TestReadAndMap reads CSV, XML and unwound JSON bodies as the
// transform does and maps them: line-level records, times in the
// network's zone, decimal commas, attributes and corrections.
func TestReadAndMap(t *testing.T) {
	set, errs := spec.Load("testdata/specs")
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	tests := []struct {
		network string
		body    string
		want    []string // transaction_id order_ref parent at sale commission currency click_ref
	}{
		{"pipes", "\ufeffOrder ID|SKU|Process Date|Sales|Commission|Currency\r\n" +
			"A-1|SKU-9|11/03/2026 09:14:02 PM|1.204,50|60,22|\r\n" +
			"A-1|SKU-10|11/03/2026 09:14:02 PM|-20,00|-1,00|USD\r\n", []string{
			"A-1:SKU-9 A-1 - 2026-11-04T02:14:02Z 1204.5 60.22 EUR -",
			"A-1:SKU-10 A-1 - 2026-11-04T02:14:02Z -20 -1 USD -",
		}},
		{"soapish", `<?xml version="1.0" encoding="UTF-8"?>
<SOAP-ENV:Envelope xmlns:SOAP-ENV="http://schemas.xmlsoap.org/soap/envelope/" xmlns:ns1="urn:ws" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
<SOAP-ENV:Body><ns1:getTransactionsResponse><return>
<item><ID>1001</ID><registrationDate>2026-10-05T14:22:11</registrationDate><orderAmount>99.90</orderAmount><commission currency="EUR">4.20</commission><reference>sub-1</reference><tag>a</tag><tag>b</tag></item>
<item><ID>1002</ID><originalID>1001</originalID><registrationDate>2026-10-20T09:00:00+02:00</registrationDate><orderAmount>-99.90</orderAmount><commission currency="EUR">-4.20</commission><reference xsi:nil="true"/></item>
</return></ns1:getTransactionsResponse></SOAP-ENV:Body></SOAP-ENV:Envelope>`, []string{
			"1001 - - 2026-10-05T12:22:11Z 99.9 4.2 EUR sub-1",
			"1002 - 1001 2026-10-20T07:00:00Z -99.9 -4.2 EUR -",
		}},
		{"lines", `{"data":[{"id":"T1","date":"2026-10-01T10:00:00Z","currency":"EUR","parts":[
			{"id":"T1-a","status":"open","revenue":"10.00","commission":"1.00"},
			{"id":"T1-b","status":"open","revenue":"5.50","commission":"0.55"}]}]}`, []string{
			"T1-a T1 - 2026-10-01T10:00:00Z 10 1 EUR -",
			"T1-b T1 - 2026-10-01T10:00:00Z 5.5 0.55 EUR -",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.network, func(t *testing.T) {
			sp := set.Specs[tt.network]
			doc, err := Read([]byte(tt.body), sp.Response)
			if err != nil {
				t.Fatal(err)
			}
			arr, err := doc.Records()
			if err != nil {
				t.Fatal(err)
			}
			m := mapping.New(sp, mapping.Account{ID: "a1", Currency: "EUR"})
			names := mapping.TableColumns(sp)
			var got []string
			err = Each(arr, func(i int, rec gjson.Result) error {
				var u row.Unified
				vals := make([]any, len(names))
				if err := m.Map(rec, mapping.Lineage{RunID: "t", FetchedAt: time.Unix(0, 0)}, &u, vals); err != nil {
					t.Fatalf("record %d: %v", i, err)
				}
				opt := func(s *string) string {
					if s == nil {
						return "-"
					}
					return *s
				}
				got = append(got, strings.Join([]string{u.TransactionID, opt(u.OrderRef), opt(u.ParentTransactionID),
					u.TransactionAt.UTC().Format(time.RFC3339), u.Sale().Compact(), u.Commission().Compact(), u.Currency, opt(u.ClickRef)}, " "))
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("got\n  %s\nwant\n  %s", strings.Join(got, "\n  "), strings.Join(tt.want, "\n  "))
			}
		})
	}
}
