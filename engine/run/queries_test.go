package run

import (
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/afflake/afflake/cmd/afflake/sandbox"
	"github.com/afflake/afflake/engine/decimal"
	"github.com/afflake/afflake/engine/lake/duckdb"
	"github.com/afflake/afflake/engine/row"
)

var sqlBlock = regexp.MustCompile("(?s)```sql ([a-z-]+)\n(.*?)```")

// TestLifecycleQueries runs the queries of docs/queries.md with DuckDB
// over a lake the sandbox produced (two runs, a week apart) and checks
// their answers against the lake's rows read directly.
func TestLifecycleQueries(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join("..", "..", "docs", "queries.md"))
	if err != nil {
		t.Fatal(err)
	}
	queries := map[string]string{}
	for _, m := range sqlBlock.FindAllStringSubmatch(string(doc), -1) {
		queries[m[1]] = strings.TrimSuffix(strings.TrimSpace(m[2]), ";")
	}
	if len(queries) != 3 {
		t.Fatalf("found %d named queries in docs/queries.md, want 3", len(queries))
	}
	e := newEnv(t, sandbox.Options{})
	accts := e.accounts("awin", "impact")
	if _, err := e.runWith(t, accts, "r1", nil); err != nil {
		t.Fatal(err)
	}
	e.sb.SetClock(clock.AddDate(0, 0, 7))
	if _, err := e.runWith(t, accts, "r2", nil); err != nil {
		t.Fatal(err)
	}
	vs := versions(t, e.dir)
	cur := currentRows(t, e.dir)
	// The doc's example transaction must have a history in this lake.
	var example string
	for k, v := range vs {
		if strings.HasPrefix(k, "100001/") && len(v) > 1 {
			example = strings.TrimPrefix(k, "100001/")
			break
		}
	}
	if example == "" {
		t.Fatal("no transaction changed between the runs")
	}
	queries["status-history"] = strings.Replace(queries["status-history"], "'500000049'", "'"+example+"'", 1)

	lakeDir := filepath.Join(e.dir, "lake")
	res := duckdb.Run(t, map[string]string{
		"transactions":         filepath.Join(lakeDir, "transactions", "*", "*", "*.parquet"),
		"current_transactions": filepath.Join(lakeDir, "current", "*", "*", "*.parquet"),
	}, castAll(queries))

	// Status history: the versions of the example, oldest first.
	hist := res.Queries["status-history"]
	want := vs["100001/"+example]
	sort.Slice(want, func(i, j int) bool { return want[i].FetchedAt.Before(want[j].FetchedAt) })
	if len(hist) != len(want) {
		t.Fatalf("status history has %d rows, the lake %d versions", len(hist), len(want))
	}
	for i := range want {
		if hist[i]["status"] != want[i].Status || hist[i]["run_id"] != want[i].RunID {
			t.Errorf("history row %d: %v, want %s from %s", i, hist[i], want[i].Status, want[i].RunID)
		}
	}

	// Days to approval: count per network.
	approved := map[string]int{}
	for _, v := range vs {
		for _, u := range v {
			if u.Status == "approved" || u.Status == "paid" {
				approved[u.Network]++
				break
			}
		}
	}
	for _, r := range res.Queries["days-to-approval"] {
		if r["approved_transactions"] != strconv.Itoa(approved[r["network"]]) {
			t.Errorf("%s: %s approved transactions, the lake has %d", r["network"], r["approved_transactions"], approved[r["network"]])
		}
		if d, _ := strconv.ParseFloat(r["avg_days_to_approval"], 64); d < 1 || d > 90 {
			t.Errorf("%s: average of %s days to approval", r["network"], r["avg_days_to_approval"])
		}
	}
	if len(res.Queries["days-to-approval"]) != 2 {
		t.Errorf("days to approval: %v", res.Queries["days-to-approval"])
	}

	// Pending by age: sums per network and currency, exact.
	sums := map[string]decimal.Decimal{}
	counts := map[string]int{}
	now := time.Now()
	for _, u := range cur {
		if u.Status != "pending" {
			continue
		}
		k := u.Network + "/" + u.Currency + "/" + ageBand(u, now)
		sums[k], _ = sums[k].Add(u.Commission())
		counts[k]++
	}
	got := res.Queries["pending-by-age"]
	if len(got) != len(sums) {
		t.Errorf("pending by age has %d groups, the lake %d", len(got), len(sums))
	}
	for _, r := range got {
		k := r["network"] + "/" + r["currency"] + "/" + r["age"]
		if r["pending_commission"] != sums[k].String() || r["transactions"] != strconv.Itoa(counts[k]) {
			t.Errorf("%s: %s / %s, lake has %s / %d", k, r["transactions"], r["pending_commission"], sums[k], counts[k])
		}
	}
}

func ageBand(u row.Unified, now time.Time) string {
	// date_diff('day', …) counts calendar-day boundaries crossed.
	a := time.Date(u.TransactionAt.Year(), u.TransactionAt.Month(), u.TransactionAt.Day(), 0, 0, 0, 0, time.UTC)
	n := now.UTC()
	b := time.Date(n.Year(), n.Month(), n.Day(), 0, 0, 0, 0, time.UTC)
	d := int(b.Sub(a).Hours() / 24)
	switch {
	case d < 30:
		return "0-29 days"
	case d < 60:
		return "30-59 days"
	case d < 90:
		return "60-89 days"
	}
	return "90+ days"
}

// castAll wraps each query so every column comes back as text (decimals
// exact).
func castAll(q map[string]string) map[string]string {
	out := map[string]string{}
	for name, sql := range q {
		out[name] = "SELECT COLUMNS(*)::VARCHAR FROM (" + sql + ")"
	}
	return out
}
