package spectest

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/afflake/afflake/engine/mapping"
	"github.com/afflake/afflake/engine/spec"
)

func lines(s ...string) [][]byte {
	out := make([][]byte, len(s))
	for i, l := range s {
		out[i] = []byte(l)
	}
	return out
}

func TestDiff(t *testing.T) {
	for _, tc := range []struct {
		name      string
		got, want [][]byte
		diffs     []string
	}{
		{"same", lines(`{"record":0,"a":"1.50"}`), lines(`{"record":0, "a": "1.50"}`), nil},
		{"changed field",
			lines(`{"record":0,"a":"1","b":"x"}`, `{"record":1,"a":"2","b":"y"}`),
			lines(`{"record":0,"a":"1","b":"x"}`, `{"record":1,"a":"3","b":"y"}`),
			[]string{`record 1: a: got "2", want "3"`}},
		{"column added and removed",
			lines(`{"record":0,"a":"1","c":null}`), lines(`{"record":0,"a":"1","b":true}`),
			[]string{`record 0: b: missing, want true`, `record 0: c: got null, not in golden`}},
		{"now quarantined",
			lines(`{"record":0,"quarantined":"transaction.status: unknown"}`), lines(`{"record":0,"a":"1","b":"x"}`),
			[]string{`record 0: quarantined: "transaction.status: unknown"; the golden row maps it`}},
		{"now mapped",
			lines(`{"record":0,"a":"1","b":"x"}`), lines(`{"record":0,"quarantined":"transaction.status: unknown"}`),
			[]string{`record 0: mapped, where the golden quarantines it ("transaction.status: unknown"): {"record":0,"a":"1","b":"x"}`}},
		{"quarantined for another reason",
			lines(`{"record":0,"quarantined":"b"}`), lines(`{"record":0,"quarantined":"a"}`),
			[]string{`record 0: quarantined: got "b", want "a"`}},
		{"record added", lines(`{"record":0}`, `{"record":1}`), lines(`{"record":0}`),
			[]string{`record 1: unexpected {"record":1}`}},
		{"record gone", lines(`{"record":0}`), lines(`{"record":0}`, `{"record":1}`),
			[]string{`record 1: missing, want {"record":1}`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var texts []string
			for _, d := range Diff(tc.got, tc.want) {
				texts = append(texts, d.Text)
				// Each difference names its record.
				if want := fmt.Sprintf("record %d: ", d.Record); !strings.HasPrefix(d.Text, want) {
					t.Errorf("%q: Record %d", d.Text, d.Record)
				}
			}
			if !slices.Equal(texts, tc.diffs) {
				t.Errorf("Diff:\n got %q\nwant %q", texts, tc.diffs)
			}
		})
	}
}

// TestMapQuarantinesWhatTheLakeCannotHold checks that a fixture's record
// holding a string that is not UTF-8 is quarantined, as a transform
// quarantines it, with the column named: the analyst's loop and the lake
// agree.
func TestMapQuarantinesWhatTheLakeCannotHold(t *testing.T) {
	set, errs := spec.Load(filepath.Join("..", "..", "specs"))
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	good := `{"id":1,"commissionStatus":"pending","commissionAmount":{"amount":1,"currency":"GBP"},"saleAmount":{"amount":10,"currency":"GBP"},"transactionDate":"2026-10-01T10:00:00"`
	body := "[" + good + "}," + good + ",\"siteName\":\"Caf\xe9\"}," + good + ",\"note\":\"\xff\"}]"
	file := filepath.Join(t.TempDir(), "t.json")
	if err := os.WriteFile(file, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	unified, table, err := Map(set.Specs["awin"], mapping.Account{ID: "1", Currency: "GBP"}, file)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		`{"record":1,"quarantined":"columns.site_name: string is not valid UTF-8 (a body in another encoding needs response.charset)"}`,
		`{"record":2,"quarantined":"raw_record: string is not valid UTF-8 (a body in another encoding needs response.charset)"}`,
	}
	for _, lines := range [][][]byte{unified, table} {
		if len(lines) != 3 || !strings.HasPrefix(string(lines[0]), `{"record":0,`) || strings.Contains(string(lines[0]), "quarantined") ||
			string(lines[1]) != want[0] || string(lines[2]) != want[1] {
			t.Errorf("golden lines:\n%s\nwant record 0 mapped, then:\n%s", bytes.Join(lines, []byte("\n")), strings.Join(want, "\n"))
		}
	}
}
