package extract

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"io"
	"testing"
	"unicode/utf8"
)

func TestCSV(t *testing.T) {
	tests := []struct {
		name  string
		body  string
		delim rune
		want  string
	}{
		{"plain", "id,amount\n1,12.50\n2,3\n", ',', `[{"id":"1","amount":"12.50"},{"id":"2","amount":"3"}]`},
		{"bom and CRLF", "\ufeffid;name\r\n7;Müller\r\n", ';', `[{"id":"7","name":"Müller"}]`},
		{"quoted fields", "id,comment\n1,\"a, b\"\n2,\"say \"\"hi\"\"\"\n3,\"two\r\nlines\"\n", ',',
			`[{"id":"1","comment":"a, b"},{"id":"2","comment":"say \"hi\""},{"id":"3","comment":"two\nlines"}]`},
		{"pipes with a bare quote", "id|product\n1|12\" TV\n", '|', `[{"id":"1","product":"12\" TV"}]`},
		{"tabs", "a\tb\n1\t\n", '\t', `[{"a":"1","b":""}]`},
		{"header only", "id,amount\r\n", ',', `[]`},
		{"empty", "", ',', `[]`},
		{"blank lines skipped", "id\n\n1\n\n2\n", ',', `[{"id":"1"},{"id":"2"}]`},
		{"short row", "a,b,c\n1,2\n", ',', `[{"a":"1","b":"2"}]`},
		{"trailing delimiter", "a,b\n1,2,\n", ',', `[{"a":"1","b":"2"}]`},
		{"header names", " id ,,id,id_2\n1,2,3,4\n", ',', `[{"id":"1","column_2":"2","id_2":"3","id_2_2":"4"}]`},
		{"control characters", "a\n\"x\x01y\"\n", ',', `[{"a":"x\u0001y"}]`},
		// A byte that is not UTF-8 is kept in a value (its record is
		// then quarantined); a header name reads it as U+FFFD.
		{"invalid UTF-8", "a\xff\nx\xffy\n", ',', "[{\"a\ufffd\":\"x\xffy\"}]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := CSV([]byte(tt.body), tt.delim)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tt.want {
				t.Errorf("got %s\nwant %s", got, tt.want)
			}
			if !json.Valid(got) {
				t.Errorf("not valid JSON: %s", got)
			}
		})
	}
}

func TestCSVErrors(t *testing.T) {
	tests := []struct{ body, want string }{
		{"a,b\n1,2\n3,4,5\n", "not valid CSV at line 3: 3 fields, but the header has 2"},
	}
	for _, tt := range tests {
		_, err := CSV([]byte(tt.body), ',')
		if !errors.Is(err, ErrBody) || err.Error() != tt.want {
			t.Errorf("CSV(%q) = %v, want %s", tt.body, err, tt.want)
		}
	}
}

// FuzzCSV checks the conversion against encoding/csv: a body either
// fails with a CSV error or becomes valid JSON holding exactly the rows
// encoding/csv reads, each field as its string.
func FuzzCSV(f *testing.F) {
	f.Add([]byte("\ufefftransid|userid|merchantid|transdate|transamount|commission|comment\r\n"+
		"88117102|1017|47|11/03/2026 09:14:02 AM|129.99|6.50|sub \"a\"\r\n"+
		"88117103|1017|47|11/03/2026 10:01:55 AM|15.00|0.75|\r\n"), byte('|'))
	f.Add([]byte("Transaction ID,Order ID,SKU,Sales,Commissions,Process Date\n"+
		"9f1c,ORD-1,\"SKU, 12\",\"1,204.50\",12.04,2026-10-05 14:22:11\n"+
		"9f1c,ORD-1,SKU-13,-20.00,-0.20,2026-10-06 08:00:00\n"), byte(','))
	f.Add([]byte("a;b\n\"x\ny\";\"\"\"\"\n;;\n"), byte(';'))
	f.Add([]byte("a\tb\n1\t2\t3\n"), byte('\t'))
	f.Fuzz(func(t *testing.T, body []byte, d byte) {
		delim := rune(d)
		if delim == 0 || delim == '"' || delim == '\r' || delim == '\n' || delim >= utf8.RuneSelf {
			delim = ','
		}
		got, err := CSV(body, delim)
		if err != nil {
			var be *BodyError
			if !errors.As(err, &be) || be.Format != "CSV" {
				t.Fatalf("error %v is not a CSV BodyError", err)
			}
			return
		}
		if !json.Valid(got) {
			t.Fatalf("not valid JSON: %s", got)
		}
		var recs []map[string]string
		if err := json.Unmarshal(got, &recs); err != nil {
			t.Fatalf("not an array of string maps: %v", err)
		}
		r := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(body, bom)))
		r.Comma, r.LazyQuotes, r.FieldsPerRecord = delim, true, -1
		rows, rerr := r.ReadAll()
		if rerr != nil {
			if rerr != io.EOF {
				t.Fatalf("converted what encoding/csv refuses: %v", rerr)
			}
		}
		if len(rows) == 0 || len(bytes.TrimSpace(bytes.TrimPrefix(body, bom))) == 0 {
			if len(recs) != 0 {
				t.Fatalf("%d records from a body without rows", len(recs))
			}
			return
		}
		if len(recs) != len(rows)-1 {
			t.Fatalf("%d records, encoding/csv has %d rows after the header", len(recs), len(rows)-1)
		}
		keys := headerKeys(rows[0])
		for i, row := range rows[1:] {
			for j, v := range row {
				if j >= len(keys) {
					break
				}
				want := string([]rune(v)) // invalid UTF-8 reads as U+FFFD
				if got := recs[i][keys[j]]; got != want {
					t.Fatalf("record %d field %q = %q, want %q", i, keys[j], got, want)
				}
			}
		}
	})
}
