package cli

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/parquet-go/parquet-go"

	"github.com/afflake/afflake/engine/decimal"
	"github.com/afflake/afflake/engine/lake/duckdb"
	"github.com/afflake/afflake/engine/mapping"
	"github.com/afflake/afflake/engine/row"
	"github.com/afflake/afflake/engine/run"
	"github.com/afflake/afflake/engine/spec"
	"github.com/afflake/afflake/engine/spectest"
	"github.com/afflake/afflake/engine/storage"
	"github.com/afflake/afflake/engine/storage/s3test"
	"github.com/afflake/afflake/engine/transform"
)

// TestTransformFixturesReadByDuckDB maps every network's fixtures with
// afflake transform and reads the Parquet back with DuckDB: the contract's
// types, the row count and the exact sums of the golden rows. The
// fixtures' account.json is their account, as afflake test reads it, and
// is not a body.
func TestTransformFixturesReadByDuckDB(t *testing.T) {
	root := filepath.Join("..", "..", "..")
	for _, network := range []string{"awin", "impact", "cj"} {
		t.Run(network, func(t *testing.T) {
			dir := filepath.Join(root, "testdata", network)
			acct, ok, err := spectest.ReadAccount(dir)
			if !ok || err != nil {
				t.Fatalf("%s: no account (%v)", dir, err)
			}
			out := t.TempDir()
			var stdout, stderr bytes.Buffer
			st := Run([]string{"transform", "--specs", filepath.Join(root, "specs"), "--network", network,
				"--in", dir, "--out", out, "--run-id", "t1"}, &stdout, &stderr)
			if st != ExitFailed { // the fixtures hold records meant for quarantine
				t.Fatalf("exit %d, want %d\n%s%s", st, ExitFailed, stdout.String(), stderr.String())
			}
			if !strings.Contains(stdout.String(), " (0 unreadable), ") || stderr.Len() > 0 {
				t.Errorf("a body was unreadable:\n%s%s", stdout.String(), stderr.String())
			}
			rows, sale, comm := goldenSums(t, dir)
			res := duckdb.Run(t, map[string]string{
				"u": filepath.Join(out, "transactions", "network="+network, "*", "t1-*.parquet"),
				"n": filepath.Join(out, "tables", network, "*", "t1-*.parquet"),
			}, map[string]string{
				"sums": "SELECT COUNT(*)::VARCHAR AS n, SUM(sale_amount)::VARCHAR AS sale, SUM(commission_amount)::VARCHAR AS comm FROM u",
				"tbl":  "SELECT COUNT(*)::VARCHAR AS n FROM n",
				"acct": "SELECT DISTINCT account_id FROM u",
				"cur":  "SELECT DISTINCT currency FROM u",
			})
			got := res.Queries["sums"][0]
			if got["n"] != itoa(rows) || got["sale"] != sale.String() || got["comm"] != comm.String() {
				t.Errorf("DuckDB read %v, want n=%d sale=%s comm=%s", got, rows, sale, comm)
			}
			if a := res.Queries["acct"]; len(a) != 1 || a[0]["account_id"] != acct.ID {
				t.Errorf("accounts %v, want %s", a, acct.ID)
			}
			// CJ's records carry no currency: every row has the account's.
			if c := res.Queries["cur"]; network == "cj" && (len(c) != 1 || c[0]["currency"] != acct.Currency) {
				t.Errorf("currencies %v, want %s", c, acct.Currency)
			}
			if res.Queries["tbl"][0]["n"] != itoa(rows) {
				t.Errorf("network table has %s rows, want %d", res.Queries["tbl"][0]["n"], rows)
			}
			types := map[string]string{}
			for _, c := range res.Describe["u"] {
				types[c[0]] = c[1]
			}
			for col, want := range map[string]string{
				"sale_amount": "DECIMAL(18,6)", "commission_amount": "DECIMAL(18,6)",
				"transaction_at": "TIMESTAMP WITH TIME ZONE", "click_at": "TIMESTAMP WITH TIME ZONE",
				"click_refs": "MAP(VARCHAR, VARCHAR)", "transaction_id": "VARCHAR", "status": "VARCHAR",
			} {
				if types[col] != want {
					t.Errorf("column %s is %s, want %s", col, types[col], want)
				}
			}
		})
	}
}

// goldenSums adds up the golden rows of a network's fixtures.
func goldenSums(t *testing.T, dir string) (int, decimal.Decimal, decimal.Decimal) {
	t.Helper()
	fixtures, err := spectest.Fixtures(dir)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	var sale, comm decimal.Decimal
	for _, f := range fixtures {
		fh, err := os.Open(strings.TrimSuffix(f, filepath.Ext(f)) + spectest.GoldenSuffix)
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(fh)
		for sc.Scan() {
			var g struct {
				Quarantined *string
				Sale        string `json:"sale_amount"`
				Comm        string `json:"commission_amount"`
			}
			if err := json.Unmarshal(sc.Bytes(), &g); err != nil {
				t.Fatal(err)
			}
			if g.Quarantined != nil {
				continue
			}
			n++
			sale, _ = sale.Add(decimal.MustParse(g.Sale))
			comm, _ = comm.Add(decimal.MustParse(g.Comm))
		}
		fh.Close()
	}
	return n, sale, comm
}

func itoa(n int) string { return decimal.Decimal{Unscaled: int64(n) * 1_000_000}.Compact() }

// TestTransformTimezone maps TUNE's fixture, whose times carry no offset
// and are in the network's own zone: with --timezone, transaction_at is
// the golden rows' (made with the fixture account's timezone); without
// it, the times are read as UTC, hours away.
func TestTransformTimezone(t *testing.T) {
	root := filepath.Join("..", "..", "..")
	dir := filepath.Join(root, "testdata", "tune")
	want := map[string]bool{}
	golden, err := os.ReadFile(filepath.Join(dir, "conversions.golden.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(golden)), "\n") {
		var g struct {
			TransactionAt *string `json:"transaction_at"`
		}
		if err := json.Unmarshal([]byte(line), &g); err != nil {
			t.Fatal(err)
		}
		if g.TransactionAt != nil {
			want[*g.TransactionAt] = true
		}
	}
	for _, tc := range []struct {
		flags []string
		match bool
	}{{[]string{"--timezone", "America/New_York"}, true}, {nil, false}} {
		out := t.TempDir()
		var stdout, stderr bytes.Buffer
		args := append([]string{"transform", "--specs", filepath.Join(root, "specs"), "--network", "tune",
			"--in", filepath.Join(dir, "conversions.json"), "--out", out, "--account", "30812", "--currency", "USD", "--run-id", "t1"}, tc.flags...)
		if st := Run(args, &stdout, &stderr); st != ExitOK && st != ExitFailed {
			t.Fatalf("%v: exit %d\n%s", tc.flags, st, stderr.String())
		}
		res := duckdb.Run(t, map[string]string{"u": filepath.Join(out, "transactions", "network=tune", "*", "t1-*.parquet")},
			map[string]string{"at": "SELECT strftime(transaction_at AT TIME ZONE 'UTC', '%Y-%m-%dT%H:%M:%SZ') AS at FROM u"})
		rows := res.Queries["at"]
		if len(rows) == 0 {
			t.Fatalf("%v: no rows", tc.flags)
		}
		for _, r := range rows {
			if want[r["at"]] != tc.match {
				t.Errorf("%v: transaction_at %s, golden has it: %v, want %v", tc.flags, r["at"], want[r["at"]], tc.match)
			}
		}
	}
}

// TestTransformProgressLine checks the line a terminal shows while a
// transform runs, and that stopping the display clears it.
func TestTransformProgressLine(t *testing.T) {
	p := &transformProgress{network: "awin", bodies: 500, start: time.Now().Add(-2 * time.Second)}
	p.update(transform.Stats{Bodies: 120, Records: 240000, Rows: 239990, Quarantined: 10})
	line := p.line()
	for _, want := range []string{"awin: 120 of 500 bodies, 240000 records (", "/s), 10 quarantined"} {
		if !strings.Contains(line, want) {
			t.Errorf("line %q lacks %q", line, want)
		}
	}
	if strings.Contains(line, "unreadable") {
		t.Errorf("line %q counts unreadable bodies, there are none", line)
	}
	p.update(transform.Stats{Bodies: 3, BodiesFailed: 1})
	if line := p.line(); !strings.HasPrefix(line, "awin: 3 of 500 bodies, 0 records") || !strings.HasSuffix(line, ", 1 unreadable") {
		t.Errorf("line %q", line)
	}
	var out bytes.Buffer
	showProgress(&out, p.line)()
	if !strings.HasSuffix(out.String(), "\r\033[K") {
		t.Errorf("stopping the display wrote %q, want it to end clearing the line", out.String())
	}
}

// TestTransformRawZoneBody maps bodies laid out as the raw zone keeps
// them, gzipped beside their .meta.json: fetched_at is when each body was
// received, as its meta says; a body without a meta gets the transform's
// time; a meta that cannot be read stops the transform before it starts.
func TestTransformRawZoneBody(t *testing.T) {
	root := filepath.Join("..", "..", "..")
	body, err := os.ReadFile(filepath.Join(root, "testdata", "awin", "transactions.json"))
	if err != nil {
		t.Fatal(err)
	}
	in := t.TempDir()
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(body)
	zw.Close()
	if err := os.WriteFile(filepath.Join(in, "000001.json.gz"), gz.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	meta := `{"network":"awin","account_id":"189069","started_at":"2026-10-31T23:59:59.75+01:00","duration_seconds":0.5}`
	if err := os.WriteFile(filepath.Join(in, "000001.json.meta.json"), []byte(meta), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(in, "000002.json"), body, 0o644); err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	var stdout, stderr bytes.Buffer
	args := []string{"transform", "--specs", filepath.Join(root, "specs"), "--network", "awin",
		"--in", in, "--out", out, "--account", "189069", "--currency", "GBP", "--run-id", "t1"}
	if st := Run(args, &stdout, &stderr); st != ExitFailed { // the fixture holds records meant for quarantine
		t.Fatalf("exit %d\n%s%s", st, stdout.String(), stderr.String())
	}
	res := duckdb.Run(t, map[string]string{"u": filepath.Join(out, "transactions", "network=awin", "*", "t1-*.parquet")},
		map[string]string{"at": "SELECT split_part(raw_ref, '#', 1) AS body, strftime(min(fetched_at AT TIME ZONE 'UTC'), '%Y-%m-%dT%H:%M:%S.%fZ') AS lo, " +
			"strftime(max(fetched_at AT TIME ZONE 'UTC'), '%Y-%m-%dT%H:%M:%S.%fZ') AS hi FROM u GROUP BY 1 ORDER BY 1"})
	rows := res.Queries["at"]
	if len(rows) != 2 {
		t.Fatalf("rows %v, want one group a body", rows)
	}
	if r := rows[0]; !strings.HasSuffix(r["body"], "000001.json.gz") || r["lo"] != "2026-10-31T23:00:00.250000Z" || r["hi"] != r["lo"] {
		t.Errorf("body with a meta: %v, want fetched_at 2026-10-31T23:00:00.250000Z", r)
	}
	if r := rows[1]; !strings.HasSuffix(r["body"], "000002.json") || r["lo"] == "2026-10-31T23:00:00.250000Z" || r["hi"] != r["lo"] {
		t.Errorf("body without a meta: %v, want the transform's time", r)
	}

	if err := os.WriteFile(filepath.Join(in, "000002.json.meta.json"), []byte("{"), 0o644); err != nil {
		t.Fatal(err)
	}
	stdout.Reset()
	stderr.Reset()
	args[len(args)-1] = "t2"
	if st := Run(args, &stdout, &stderr); st != ExitUsage || !strings.Contains(stderr.String(), "000002.json.meta.json") {
		t.Errorf("a broken meta: exit %d, stderr %q; want %d naming the meta", st, stderr.String(), ExitUsage)
	}
}

// TestTransformRawZoneAccounts maps CJ bodies of two accounts as the raw
// zone keeps them: without --account, each body is mapped as its meta's
// account, with that account's currency (CJ records carry none); with
// --account and --currency, those win.
func TestTransformRawZoneAccounts(t *testing.T) {
	root := filepath.Join("..", "..", "..")
	body, err := os.ReadFile(filepath.Join(root, "testdata", "cj", "commissions.json"))
	if err != nil {
		t.Fatal(err)
	}
	in := t.TempDir()
	for i, acct := range []string{`"id":"5000001","currency":"USD"`, `"id":"5000002","currency":"EUR"`} {
		dir := filepath.Join(in, fmt.Sprintf("account=%d", 5000001+i))
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		meta := fmt.Sprintf(`{"network":"cj","account_id":"%d","account":{%s},"started_at":"2026-11-01T00:00:00Z"}`, 5000001+i, acct)
		if err := os.WriteFile(filepath.Join(dir, "000001.json.meta.json"), []byte(meta), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "000001.json"), body, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	query := map[string]string{"acct": "SELECT account_id, currency, count(*)::VARCHAR AS n FROM u GROUP BY ALL ORDER BY ALL"}
	for _, tc := range []struct {
		flags []string
		want  string
	}{
		{nil, "5000001 USD,5000002 EUR"},
		{[]string{"--account", "42", "--currency", "GBP"}, "42 GBP"},
	} {
		out := t.TempDir()
		var stdout, stderr bytes.Buffer
		args := append([]string{"transform", "--specs", filepath.Join(root, "specs"), "--network", "cj",
			"--in", in, "--out", out, "--run-id", "t1"}, tc.flags...)
		if st := Run(args, &stdout, &stderr); st != ExitOK && st != ExitFailed {
			t.Fatalf("%v: exit %d\n%s%s", tc.flags, st, stdout.String(), stderr.String())
		}
		res := duckdb.Run(t, map[string]string{"u": filepath.Join(out, "transactions", "network=cj", "*", "t1-*.parquet")}, query)
		var got []string
		n := ""
		for _, r := range res.Queries["acct"] {
			got = append(got, r["account_id"]+" "+r["currency"])
			if n != "" && r["n"] != n {
				t.Errorf("%v: accounts with %s and %s rows, want the same", tc.flags, n, r["n"])
			}
			n = r["n"]
		}
		if strings.Join(got, ",") != tc.want {
			t.Errorf("%v: accounts %v, want %s\n%s", tc.flags, got, tc.want, stdout.String())
		}
	}
}

// TestTransformsInOneSecond runs three transforms of the fixture into one
// lake, as a shell loop does, all within a second or two: each keeps its
// own files, because default run IDs differ.
func TestTransformsInOneSecond(t *testing.T) {
	root := filepath.Join("..", "..", "..")
	out := t.TempDir()
	for range 3 {
		var stdout, stderr bytes.Buffer
		st := Run([]string{"transform", "--specs", filepath.Join(root, "specs"), "--network", "awin",
			"--in", filepath.Join(root, "testdata", "awin", "transactions.json"), "--out", out, "--account", "189069"}, &stdout, &stderr)
		if st != ExitFailed { // the fixture holds records meant for quarantine
			t.Fatalf("exit %d, want %d\n%s%s", st, ExitFailed, stdout.String(), stderr.String())
		}
	}
	for _, pattern := range []string{
		"transactions/network=awin/*/transform-*-0.parquet",
		"tables/awin/*/transform-*-0.parquet",
		"quarantine/network=awin/*/transform-*.jsonl",
	} {
		files, err := filepath.Glob(filepath.Join(out, pattern))
		if err != nil {
			t.Fatal(err)
		}
		if len(files) != 3 {
			t.Errorf("%s: %d files, want 3: %v", pattern, len(files), files)
		}
	}
}

func TestNewRunID(t *testing.T) {
	now := time.Date(2026, 11, 27, 19, 0, 5, 0, time.FixedZone("CET", 3600))
	a, b := newRunID("transform-", now), newRunID("transform-", now)
	if a == b {
		t.Errorf("two run IDs of one second are both %s", a)
	}
	for _, id := range []string{a, b} {
		rest, ok := strings.CutPrefix(id, "transform-20261127T180005Z-")
		if !ok || len(rest) != 6 || strings.Trim(rest, "0123456789abcdef") != "" {
			t.Errorf("run ID %s, want transform-20261127T180005Z- and six hex digits", id)
		}
	}
}

// TestTransformProgressOfGroups maps the fixture as two accounts' bodies
// with a progress callback, as a terminal does: the progress counts go on
// across the groups, and the summary's reasons still add up to the
// records quarantined.
func TestTransformProgressOfGroups(t *testing.T) {
	root := filepath.Join("..", "..", "..")
	set, errs := spec.LoadNetworks(filepath.Join(root, "specs"), "awin")
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	file := filepath.Join(root, "testdata", "awin", "transactions.json")
	in := transform.Input{Ref: file, Read: func() ([]byte, error) { return os.ReadFile(file) }}
	var groups []accountGroup
	for _, id := range []string{"1", "2"} {
		groups = append(groups, accountGroup{acct: mapping.Account{ID: id, Currency: "GBP", Extra: map[string]string{}}, inputs: []transform.Input{in}})
	}
	store, err := storage.Local(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	var last transform.Stats
	job := transform.Job{Spec: set.Specs["awin"], RunID: "t", FetchedAt: time.Now(), Workers: 1,
		Progress: func(s transform.Stats) { last = s }}
	st, _, err := transformBodies(context.Background(), store, job, groups, func(string, error) {})
	if err != nil {
		t.Fatal(err)
	}
	var reasons int64
	for _, n := range st.Reasons {
		reasons += n
	}
	if st.Records != 16 || st.Quarantined != 6 || reasons != st.Quarantined {
		t.Errorf("%d records, %d quarantined, reasons for %d; want 16, 6, 6", st.Records, st.Quarantined, reasons)
	}
	if last.Records != 16 || last.Quarantined != 6 || last.Bodies != 2 {
		t.Errorf("last progress: %d bodies, %d records, %d quarantined; want 2, 16, 6", last.Bodies, last.Records, last.Quarantined)
	}
}

// TestTransformToS3 writes a transform into an S3 lake (versitygw): the
// same files and manifest as in a directory, named by their s3:// place,
// and rows with the golden sums.
func TestTransformToS3(t *testing.T) {
	s3test.Lake(t, "lake")
	ctx := context.Background()
	root := filepath.Join("..", "..", "..")
	dir := filepath.Join(root, "testdata", "cj")
	var stdout, stderr bytes.Buffer
	st := Run([]string{"transform", "--specs", filepath.Join(root, "specs"), "--network", "cj",
		"--in", dir, "--out", "s3://lake/t/", "--run-id", "s1"}, &stdout, &stderr)
	if st != ExitFailed { // one record of the fixture is meant for quarantine
		t.Fatalf("exit %d, want %d\n%s%s", st, ExitFailed, stdout.String(), stderr.String())
	}
	for _, want := range []string{
		"\n  wrote s3://lake/t/transactions/network=cj/ingest_date=",
		"\n  wrote s3://lake/t/tables/cj/ingest_date=",
		"\n  wrote s3://lake/t/_runs/s1.json\n",
	} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("stdout lacks %q:\n%s", want, stdout.String())
		}
	}
	store, err := storage.Open("s3://lake/t")
	if err != nil {
		t.Fatal(err)
	}
	keys, err := store.List(ctx, "transactions/")
	if err != nil || len(keys) != 1 {
		t.Fatalf("transactions/: %v, %v", keys, err)
	}
	data, err := store.Get(ctx, keys[0])
	if err != nil {
		t.Fatal(err)
	}
	rows, err := parquet.Read[row.Unified](bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	n, sale, _ := goldenSums(t, dir)
	var got decimal.Decimal
	for _, u := range rows {
		got, _ = got.Add(decimal.Decimal{Unscaled: u.SaleAmount})
	}
	if len(rows) != n || got != sale {
		t.Errorf("%d rows, sale %s; want %d, %s", len(rows), got, n, sale)
	}
	b, err := store.Get(ctx, "_runs/s1.json")
	if err != nil {
		t.Fatal(err)
	}
	var m run.Manifest
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	if a := m.Networks[0].Accounts; m.Status != "failed" || len(a) != 1 || a[0].Rows != int64(n) || a[0].Quarantined != 1 {
		t.Errorf("manifest %+v", m)
	}
}
