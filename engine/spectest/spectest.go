// Package spectest runs a spec's fixtures, stored response bodies under
// testdata/<network>/, through its mapping and compares the unified rows
// and the network's own table rows with golden JSON Lines files: the
// analyst's loop after editing a spec.
package spectest

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/tidwall/gjson"

	"github.com/afflake/afflake/engine/decimal"
	"github.com/afflake/afflake/engine/extract"
	"github.com/afflake/afflake/engine/lake"
	"github.com/afflake/afflake/engine/mapping"
	"github.com/afflake/afflake/engine/row"
	"github.com/afflake/afflake/engine/spec"
)

// GoldenSuffix ends the name of a fixture's golden file of unified rows,
// TableGoldenSuffix that of its golden network-table rows.
const (
	GoldenSuffix      = ".golden.jsonl"
	TableGoldenSuffix = ".table.golden.jsonl"
)

// Result is the outcome of one fixture.
type Result struct {
	Fixture string // the body file
	// Goldens are its golden files: of unified rows (GoldenSuffix),
	// then of network-table rows (TableGoldenSuffix).
	Goldens []GoldenFile
	Records int   // records in the body
	Updated bool  // the golden files were (re)written
	Err     error // the fixture could not be run
}

// GoldenFile is one golden file of a fixture and how the rows mapped
// now differ from it.
type GoldenFile struct {
	Path  string
	Diffs []Difference // one per field; empty when the rows match
}

// Difference is one field of one record that is not as its golden row
// says, or a record that is there on one side only.
type Difference struct {
	Record int    // the record's index in the body
	Line   int    // its golden row's line in the golden file; 0 when it has none
	Text   string // "record 3: status: got \"pending\", want \"declined\""
}

// Passed reports whether the fixture matched its golden files.
func (r *Result) Passed() bool {
	if r.Err != nil {
		return false
	}
	for _, g := range r.Goldens {
		if len(g.Diffs) > 0 {
			return false
		}
	}
	return true
}

// AccountFile is the file of a fixtures directory that names the account
// its bodies belong to: {"id": "42", "currency": "EUR", …}, other keys
// being the account's configuration (timezone).
const AccountFile = "account.json"

// Account reads dir's AccountFile; without one the account is "fixture"
// with no currency.
func Account(dir string) (mapping.Account, error) {
	acct, _, err := ReadAccount(dir)
	if acct.ID == "" {
		acct.ID = "fixture"
	}
	return acct, err
}

// ReadAccount reads dir's AccountFile; ok is false when dir has none.
func ReadAccount(dir string) (acct mapping.Account, ok bool, err error) {
	path := filepath.Join(dir, AccountFile)
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return acct, false, nil
	}
	if err != nil {
		return acct, false, err
	}
	var raw map[string]string
	if err := json.Unmarshal(b, &raw); err != nil {
		return acct, false, fmt.Errorf("%s: %w", path, err)
	}
	return mapping.AccountOf(raw["id"], raw), true, nil
}

// Fixtures lists the body files in dir: *.json, *.csv and *.xml, other
// than AccountFile.
func Fixtures(dir string) ([]string, error) {
	var out []string
	for _, ext := range []string{"json", "csv", "xml", "txt"} {
		m, err := filepath.Glob(filepath.Join(dir, "*."+ext))
		if err != nil {
			return nil, err
		}
		for _, f := range m {
			if filepath.Base(f) != AccountFile {
				out = append(out, f)
			}
		}
	}
	sort.Strings(out)
	return out, nil
}

// Run maps every fixture of sp in dir and compares it with its golden
// file, or rewrites the golden files when update is set.
func Run(sp *spec.Spec, dir string, update bool) ([]Result, error) {
	acct, err := Account(dir)
	if err != nil {
		return nil, err
	}
	files, err := Fixtures(dir)
	if err != nil {
		return nil, err
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("no fixtures in %s", dir)
	}
	var out []Result
	for _, f := range files {
		out = append(out, runOne(sp, acct, f, update))
	}
	return out, nil
}

func runOne(sp *spec.Spec, acct mapping.Account, file string, update bool) Result {
	res := Result{Fixture: file, Updated: update}
	got, gotTable, err := Map(sp, acct, file)
	if err != nil {
		res.Err = err
		return res
	}
	res.Records = len(got)
	base := strings.TrimSuffix(file, filepath.Ext(file))
	suffixes := [...]string{GoldenSuffix, TableGoldenSuffix}
	for k, lines := range [...][][]byte{got, gotTable} {
		g := GoldenFile{Path: base + suffixes[k]}
		if update {
			var b bytes.Buffer
			for _, l := range lines {
				b.Write(l)
				b.WriteByte('\n')
			}
			if err := os.WriteFile(g.Path, b.Bytes(), 0o644); err != nil {
				res.Err = err
				return res
			}
		} else {
			want, at, err := readLines(g.Path)
			if err != nil {
				res.Err = fmt.Errorf("%w (run with --update to create it)", err)
				return res
			}
			g.Diffs = Diff(lines, want)
			for i, d := range g.Diffs {
				if d.Record < len(at) {
					g.Diffs[i].Line = at[d.Record]
				}
			}
		}
		res.Goldens = append(res.Goldens, g)
	}
	return res
}

// FetchedAt is when a fixture's bodies count as received (fetched_at in
// mappings): after every fixture's dates but the ones meant to be in
// the future.
var FetchedAt = time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)

// Map maps every record of a fixture and returns one golden line each,
// of its unified row and of its network-table row.
func Map(sp *spec.Spec, acct mapping.Account, file string) (unified, table [][]byte, err error) {
	body, err := os.ReadFile(file)
	if err != nil {
		return nil, nil, err
	}
	doc, err := extract.Read(body, sp.Response)
	if err != nil {
		return nil, nil, err
	}
	arr, err := doc.Records()
	if err != nil {
		return nil, nil, err
	}
	m := mapping.New(sp, acct)
	cols := mapping.TableColumns(sp)
	vals := make([]any, len(cols))
	lin := mapping.Lineage{RunID: "test", FetchedAt: FetchedAt}
	err = extract.Each(arr, func(i int, rec gjson.Result) error {
		var u row.Unified
		err := m.Map(rec, lin, &u, vals)
		if err == nil {
			// What the lake could not hold is quarantined, as by a transform.
			err = m.WriteError(lake.ValidateUnified([]row.Unified{u}), true)
		}
		if err == nil {
			err = m.WriteError(lake.ValidateTableRow(cols, vals), false)
		}
		if err != nil {
			line, _ := json.Marshal(struct {
				Record      int    `json:"record"`
				Quarantined string `json:"quarantined"`
			}{i, err.Error()})
			unified, table = append(unified, line), append(table, line)
			return nil
		}
		unified = append(unified, Golden(i, &u))
		table = append(table, TableGolden(i, cols[:len(sp.Cols)], vals))
		return nil
	})
	return unified, table, err
}

// TableGolden renders the declared columns of a network-table row as a
// golden line, in the spec's order: decimals as exact text, times in
// RFC 3339 UTC, JSON columns as the JSON they hold. The lineage columns
// (account, raw record, run) are left out.
func TableGolden(record int, cols []lake.Column, vals []any) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, `{"record":%d`, record)
	for i, c := range cols {
		var j []byte
		switch v := vals[i].(type) {
		case nil:
			j = []byte("null")
		case time.Time:
			j, _ = json.Marshal(v.UTC().Format(time.RFC3339Nano))
		case decimal.Decimal:
			j, _ = json.Marshal(v.String())
		case string:
			var buf bytes.Buffer
			if c.Type == "json" && json.Compact(&buf, []byte(v)) == nil {
				j = buf.Bytes()
				break
			}
			j, _ = json.Marshal(v)
		default:
			j, _ = json.Marshal(v)
		}
		fmt.Fprintf(&b, `,%q:%s`, c.Name, j)
	}
	b.WriteByte('}')
	return b.Bytes()
}

// Golden renders a unified row as a golden line: the contract's columns
// in order, amounts as exact decimal text, times in RFC 3339 UTC; the
// lineage columns, which change from run to run, are left out.
func Golden(record int, u *row.Unified) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, `{"record":%d`, record)
	field := func(name string, v any) {
		j, _ := json.Marshal(v)
		fmt.Fprintf(&b, `,%q:%s`, name, j)
	}
	tm := func(t *time.Time) any {
		if t == nil {
			return nil
		}
		return t.UTC().Format(time.RFC3339Nano)
	}
	field("network", u.Network)
	field("account_id", u.AccountID)
	field("transaction_id", u.TransactionID)
	field("parent_transaction_id", u.ParentTransactionID)
	field("order_ref", u.OrderRef)
	field("advertiser_id", u.AdvertiserID)
	field("advertiser_name", u.AdvertiserName)
	field("click_ref", u.ClickRef)
	field("click_refs", u.ClickRefs)
	field("click_at", tm(u.ClickAt))
	field("transaction_at", tm(&u.TransactionAt))
	field("updated_at", tm(u.UpdatedAt))
	field("validated_at", tm(u.ValidatedAt))
	field("paid_at", tm(u.PaidAt))
	field("status", u.Status)
	field("status_raw", u.StatusRaw)
	field("sale_amount", u.Sale().String())
	field("commission_amount", u.Commission().String())
	field("currency", u.Currency)
	field("customer_type", u.CustomerType)
	field("device", u.Device)
	field("country", u.Country)
	field("voucher_code", u.VoucherCode)
	field("decline_reason", u.DeclineReason)
	b.WriteByte('}')
	return b.Bytes()
}

func readLines(path string) (lines [][]byte, at []int, err error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	for n := 1; sc.Scan(); n++ {
		if len(bytes.TrimSpace(sc.Bytes())) > 0 {
			lines = append(lines, append([]byte(nil), sc.Bytes()...))
			at = append(at, n)
		}
	}
	return lines, at, sc.Err()
}

// Diff compares golden lines record by record and field by field.
func Diff(got, want [][]byte) []Difference {
	var out []Difference
	add := func(i int, format string, args ...any) {
		out = append(out, Difference{Record: i, Text: fmt.Sprintf("record %d: ", i) + fmt.Sprintf(format, args...)})
	}
	n := max(len(got), len(want))
	for i := 0; i < n; i++ {
		switch {
		case i >= len(got):
			add(i, "missing, want %s", want[i])
			continue
		case i >= len(want):
			add(i, "unexpected %s", got[i])
			continue
		}
		var g, w map[string]json.RawMessage
		if err := json.Unmarshal(got[i], &g); err != nil {
			add(i, "%v", err)
			continue
		}
		if err := json.Unmarshal(want[i], &w); err != nil {
			add(i, "golden line is not JSON: %v", err)
			continue
		}
		// A record that went from mapped to quarantined, or back, is one
		// line, not a line per column.
		gq, gQuar := g["quarantined"]
		wq, wQuar := w["quarantined"]
		switch {
		case gQuar && !wQuar:
			add(i, "quarantined: %s; the golden row maps it", gq)
			continue
		case !gQuar && wQuar:
			add(i, "mapped, where the golden quarantines it (%s): %s", wq, got[i])
			continue
		}
		keys := map[string]bool{}
		for k := range g {
			keys[k] = true
		}
		for k := range w {
			keys[k] = true
		}
		sorted := make([]string, 0, len(keys))
		for k := range keys {
			sorted = append(sorted, k)
		}
		sort.Strings(sorted)
		for _, k := range sorted {
			gv, gok := g[k]
			wv, wok := w[k]
			switch {
			case !wok:
				add(i, "%s: got %s, not in golden", k, gv)
			case !gok:
				add(i, "%s: missing, want %s", k, wv)
			case !jsonEqual(gv, wv):
				add(i, "%s: got %s, want %s", k, gv, wv)
			}
		}
	}
	return out
}

func jsonEqual(a, b json.RawMessage) bool {
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return bytes.Equal(a, b)
	}
	xa, _ := json.Marshal(x)
	ya, _ := json.Marshal(y)
	return bytes.Equal(xa, ya)
}
