package row

import (
	"testing"
	"time"
)

func TestHashIgnoresLineage(t *testing.T) {
	ref := "r-1"
	base := Unified{Network: "awin", AccountID: "1", TransactionID: "9", OrderRef: &ref, Status: "pending",
		StatusRaw: "pending", SaleAmount: 19_990000, CommissionAmount: 1_000000, Currency: "EUR",
		TransactionAt: time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC), ClickRefs: map[string]string{"a": "1", "b": "2"}}
	h := base.Hash()
	lineage := base
	lineage.RunID, lineage.RawRef, lineage.SpecHash, lineage.FetchedAt = "run2", "x#1", "spec2", time.Now()
	if lineage.Hash() != h {
		t.Errorf("lineage changed the hash")
	}
	changes := map[string]func(u *Unified){
		"status":       func(u *Unified) { u.Status = "approved" },
		"amount":       func(u *Unified) { u.CommissionAmount++ },
		"order_ref":    func(u *Unified) { u.OrderRef = nil },
		"empty ref":    func(u *Unified) { e := ""; u.OrderRef = &e },
		"click_refs":   func(u *Unified) { u.ClickRefs = map[string]string{"a": "1"} },
		"validated_at": func(u *Unified) { t := u.TransactionAt; u.ValidatedAt = &t },
	}
	for name, change := range changes {
		u := base
		u.ClickRefs = map[string]string{"a": "1", "b": "2"}
		change(&u)
		if u.Hash() == h {
			t.Errorf("%s: hash did not change", name)
		}
	}
}

// TestHashIsStable pins the hash of one row: change detection compares a
// transaction's hash with the one an earlier run stored, so a change of
// how it is computed would make every transaction a new version.
func TestHashIsStable(t *testing.T) {
	ref := "r-1"
	refs := map[string]string{"clickRef2": "b", "clickRef": "a", "sub": ""}
	for i := 0; i < 20; i++ {
		refs[string(rune('z'-i))] = string(rune('A' + i))
	}
	u := Unified{Network: "awin", AccountID: "1", TransactionID: "9", OrderRef: &ref, Status: "pending",
		StatusRaw: "pending", SaleAmount: 19_990000, CommissionAmount: 1_000000, Currency: "EUR",
		TransactionAt: time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC)}
	for _, tc := range []struct {
		refs map[string]string
		want string
	}{
		{map[string]string{"clickRef2": "b", "clickRef": "a"}, "1ac3e83dcd9796a7f66fb58c5b3e54ce"},
		{refs, "fed832c058b229c95062fcf28cfc8ee7"},
	} {
		u.ClickRefs = tc.refs
		if got := u.Hash(); got != tc.want {
			t.Errorf("Hash() with %d refs = %s, want %s", len(tc.refs), got, tc.want)
		}
	}
}
