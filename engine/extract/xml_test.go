package extract

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"errors"
	"strings"
	"testing"

	"github.com/tidwall/gjson"
)

// soapTwo is an rpc/encoded SOAP 1.1 response with two records.
const soapTwo = `<?xml version="1.0" encoding="UTF-8"?>
<SOAP-ENV:Envelope xmlns:SOAP-ENV="http://schemas.xmlsoap.org/soap/envelope/" xmlns:ns1="urn:ws" xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:SOAP-ENC="http://schemas.xmlsoap.org/soap/encoding/">
  <SOAP-ENV:Body>
    <ns1:getConversionTransactionsResponse>
      <return SOAP-ENC:arrayType="ns1:ConversionTransaction[2]" xsi:type="SOAP-ENC:Array">
        <item xsi:type="ns1:ConversionTransaction">
          <ID xsi:type="xsd:nonNegativeInteger">1001</ID>
          <campaign xsi:type="ns1:Campaign"><ID>7</ID><name>Shoes &amp; Co</name></campaign>
          <commission currency="EUR">4.20</commission>
          <reference xsi:nil="true"/>
          <comment></comment>
          <tag>a</tag><tag>b</tag>
        </item>
        <item xsi:type="ns1:ConversionTransaction">
          <ID>1002</ID>
          <description><![CDATA[<b>bold</b>]]></description>
        </item>
      </return>
    </ns1:getConversionTransactionsResponse>
  </SOAP-ENV:Body>
</SOAP-ENV:Envelope>`

var soapPath = []string{"Envelope", "Body", "getConversionTransactionsResponse", "return", "item"}

func TestXML(t *testing.T) {
	tests := []struct {
		name, body string
		element    []string
		want       string
	}{
		{"soap", soapTwo, soapPath,
			`{"Envelope":{"Body":{"getConversionTransactionsResponse":{"return":{"@arrayType":"ns1:ConversionTransaction[2]","item":[` +
				`{"ID":"1001","campaign":{"ID":"7","name":"Shoes & Co"},"commission":{"@currency":"EUR","#text":"4.20"},"reference":null,"comment":"","tag":["a","b"]},` +
				`{"ID":"1002","description":"<b>bold</b>"}]}}}}}`},
		{"one record is an array", `<r><item><id>1</id></item></r>`, []string{"r", "item"}, `{"r":{"item":[{"id":"1"}]}}`},
		{"no record is an empty array", `<r></r>`, []string{"r", "item"}, `{"r":{"item":[]}}`},
		{"record at the root", `<item a="1"/>`, []string{"item"}, `{"item":[{"@a":"1"}]}`},
		{"other repeats stay as they are", `<r><x>1</x><item/></r>`, []string{"r", "item"}, `{"r":{"x":"1","item":[""]}}`},
		{"text kept as written", "<r><a> 12.5 </a><b>x\ny</b></r>", nil, `{"r":{"a":" 12.5 ","b":"x\ny"}}`},
		{"mixed content trimmed", "<r>\n  hello <b>w</b>\n</r>", nil, `{"r":{"b":"w","#text":"hello"}}`},
		{"latin-1", "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><r><n>M\xfcller</n></r>", nil, `{"r":{"n":"Müller"}}`},
		{"default namespace", `<r xmlns="urn:x"><a>1</a></r>`, []string{"r", "a"}, `{"r":{"a":["1"]}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := XML([]byte(tt.body), tt.element)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tt.want {
				t.Errorf("got  %s\nwant %s", got, tt.want)
			}
		})
	}
}

func TestXMLErrors(t *testing.T) {
	tests := []struct{ body, want string }{
		{"<r><a>1</r>", "not valid XML at line 1: element <a> closed by </r>"},
		{"<r>\n<a>1</a>", "not valid XML at line 2: unexpected EOF"},
		{"", "not valid XML at byte 0: no element"},
		{"<html>&nbsp;</html>", "not valid XML at line 1: invalid character entity &nbsp;"},
		{`<?xml version="1.0" encoding="EBCDIC-X"?><r/>`, `not valid XML at byte 41: xml: opening charset "EBCDIC-X": unknown encoding "EBCDIC-X"`},
	}
	for _, tt := range tests {
		_, err := XML([]byte(tt.body), nil)
		if !errors.Is(err, ErrBody) || err.Error() != tt.want {
			t.Errorf("XML(%q) = %v, want %s", tt.body, err, tt.want)
		}
	}
}

// FuzzXML checks that a body either fails with an XML error or becomes
// valid JSON with exactly as many records as the body has record
// elements, each holding the same ID.
func FuzzXML(f *testing.F) {
	f.Add([]byte(soapTwo))
	f.Add([]byte(`<?xml version="1.0"?><activitydetails><activity><transid>88117102</transid><transamount>129.99</transamount><commission>6.50</commission><affcomment>sub a</affcomment></activity><activity><transid>88117103</transid></activity></activitydetails>`))
	f.Add([]byte(`<soapenv:Envelope xmlns:soapenv="http://www.w3.org/2003/05/soap-envelope"><soapenv:Body><soapenv:Fault><soapenv:Code><soapenv:Value>soapenv:Sender</soapenv:Value></soapenv:Code><soapenv:Reason><soapenv:Text xml:lang="en">Session expired</soapenv:Text></soapenv:Reason></soapenv:Fault></soapenv:Body></soapenv:Envelope>`))
	f.Add([]byte(`<r><item ID="1"/><item><ID>2</ID><ID>3</ID></item><!-- c --><?pi x?></r>`))
	f.Fuzz(func(t *testing.T, body []byte) {
		got, err := XML(body, soapPath)
		if err != nil {
			var be *BodyError
			if !errors.As(err, &be) || be.Format != "XML" {
				t.Fatalf("error %v is not an XML BodyError", err)
			}
			return
		}
		if !json.Valid(got) {
			t.Fatalf("not valid JSON: %s", got)
		}
		want := countElements(t, body, soapPath)
		recs := gjson.GetBytes(got, gjsonPath(soapPath))
		if want == 0 && !recs.Exists() {
			return
		}
		if !recs.IsArray() {
			t.Fatalf("records are %s, want an array", recs.Type)
		}
		if n := len(recs.Array()); n != want {
			t.Fatalf("%d records, the body has %d record elements", n, want)
		}
	})
}

// countElements counts the elements at path with encoding/xml's own
// token stream (namespaces dropped).
func countElements(t *testing.T, body []byte, path []string) int {
	d := xml.NewDecoder(bytes.NewReader(body))
	d.CharsetReader = charsetReader
	var stack []string
	n := 0
	for {
		tok, err := d.Token()
		if err != nil {
			return n
		}
		switch e := tok.(type) {
		case xml.StartElement:
			stack = append(stack, e.Name.Local)
			if strings.Join(stack, "\x00") == strings.Join(path, "\x00") {
				n++
			}
		case xml.EndElement:
			stack = stack[:len(stack)-1]
		}
	}
}
