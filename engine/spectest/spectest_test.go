package spectest

import (
	"slices"
	"testing"
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
			if d := Diff(tc.got, tc.want); !slices.Equal(d, tc.diffs) {
				t.Errorf("Diff:\n got %q\nwant %q", d, tc.diffs)
			}
		})
	}
}
