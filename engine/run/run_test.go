package run

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/afflake/afflake/cmd/afflake/sandbox"
	"github.com/afflake/afflake/engine/fetch"
	"github.com/afflake/afflake/engine/spec"
	"github.com/afflake/afflake/engine/storage"
)

var clock = time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)

type env struct {
	sb    *sandbox.Server
	url   string
	specs map[string]*spec.Spec
	dir   string
	logs  *bytes.Buffer
}

// newEnv starts a sandbox and loads the repository's specs with fast
// limits (the sandbox's, not the real APIs').
func newEnv(t *testing.T, opts sandbox.Options) *env {
	t.Helper()
	set, errs := spec.Load(filepath.Join("..", "..", "specs"))
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	opts.Clock = clock
	if opts.Days == 0 {
		opts.Days = 40
	}
	if opts.PerDay == 0 {
		opts.PerDay = 5
	}
	sb := sandbox.New(opts)
	url, err := sb.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sb.Close)
	e := &env{sb: sb, url: url, specs: map[string]*spec.Spec{}, dir: t.TempDir(), logs: &bytes.Buffer{}}
	for name, sp := range set.Specs {
		fast := *sp
		fast.Limits.Rate, fast.Limits.Burst, fast.Limits.Retries = 40, 4, 5
		e.specs[name] = &fast
	}
	return e
}

func (e *env) accounts(networks ...string) []Account {
	var out []Account
	for _, a := range e.sb.Accounts() {
		for _, n := range networks {
			if a.Network == n {
				origins := map[string]string{}
				if sp := e.specs[n]; sp != nil {
					for _, o := range sp.Origins() {
						origins[o] = e.url + "/" + n
					}
				}
				out = append(out, Account{Network: n, Account: fetch.Account{
					ID: a.ID, Currency: a.Currency, Secrets: a.Secrets, Extra: a.Extra, BaseURL: e.url + "/" + n, Origins: origins}})
			}
		}
	}
	return out
}

func (e *env) run(t *testing.T, accts []Account, sleep func(context.Context, time.Duration) error) *Manifest {
	t.Helper()
	store, err := storage.Local(filepath.Join(e.dir, "lake"))
	if err != nil {
		t.Fatal(err)
	}
	logger := slog.New(slog.NewJSONHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	client := fetch.New(fetch.Options{Logger: logger, Sleep: sleep, HTTP: fetch.LocalOnly()})
	defer client.Close()
	m, err := Run(context.Background(), Options{
		Store: store, Specs: e.specs, Accounts: accts, From: clock.AddDate(0, 0, -35), To: clock, Now: clock,
		RunID: "r1", Fetch: client, Logger: logger, Workers: 2,
	})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func (e *env) truth(network, account string) int {
	n := 0
	for _, tx := range e.sb.Transactions(network, account) {
		if !tx.TransactionAt.Before(clock.AddDate(0, 0, -35)) {
			n++
		}
	}
	return n
}

func account(m *Manifest, network, id string) AccountResult {
	for _, n := range m.Networks {
		if n.Network == network {
			for _, a := range n.Accounts {
				if a.Account == id {
					return a
				}
			}
		}
	}
	return AccountResult{}
}

// TestRunAllNetworks runs every network that has a spec and a sandbox
// emulation end to end: every body fetched, every record mapped, nothing
// quarantined, no secret anywhere in the lake or the logs.
func TestRunAllNetworks(t *testing.T) {
	e := newEnv(t, sandbox.Options{})
	var nets []string
	for _, n := range sandbox.Networks() {
		if e.specs[n] != nil {
			nets = append(nets, n)
		}
	}
	if len(nets) < 15 {
		t.Fatalf("only %d networks have both a spec and a sandbox emulation: %v", len(nets), nets)
	}
	m := e.run(t, e.accounts(nets...), nil)
	for _, n := range m.Networks {
		tot := n.Totals()
		if len(tot.Errors) > 0 || tot.Quarantined != 0 || tot.Rows == 0 || tot.Rows != tot.Records {
			t.Errorf("%s: %d records, %d rows, %d quarantined, errors %q", n.Network, tot.Records, tot.Rows, tot.Quarantined, tot.Errors)
		}
		if n.Versions != tot.Rows-n.Unchanged {
			t.Errorf("%s: %d versions + %d unchanged != %d rows", n.Network, n.Versions, n.Unchanged, tot.Rows)
		}
	}
	for _, a := range e.accounts("awin", "impact") {
		// one record per transaction on these two
		got := account(m, a.Network, a.ID)
		if want := e.truth(a.Network, a.ID); int(got.Rows) < want-2 || int(got.Rows) > want {
			t.Errorf("%s %s: %d rows, sandbox holds %d transactions in the range", a.Network, a.ID, got.Rows, want)
		}
	}
	// The manifest is in the lake and says the same.
	b, err := os.ReadFile(filepath.Join(e.dir, "lake", "_runs", "r1.json"))
	if err != nil {
		t.Fatal(err)
	}
	var back Manifest
	if err := json.Unmarshal(b, &back); err != nil || len(back.Networks) != len(nets) {
		t.Errorf("manifest: %v, %d networks", err, len(back.Networks))
	}
	e.assertNoSecrets(t, nets...)
}

// assertNoSecrets greps the lake (raw bodies gunzipped) and the logs for
// every credential the sandbox accepts.
func (e *env) assertNoSecrets(t *testing.T, networks ...string) {
	t.Helper()
	run := map[string]bool{}
	for _, n := range networks {
		run[n] = true
	}
	var secrets []string
	for _, a := range e.sb.Accounts() {
		if !run[a.Network] {
			continue
		}
		for _, v := range a.Secrets {
			secrets = append(secrets, v)
		}
	}
	check := func(where string, data []byte) {
		for _, s := range secrets {
			if bytes.Contains(data, []byte(s)) {
				t.Errorf("secret %.4s… found in %s", s, where)
			}
		}
	}
	check("the logs", e.logs.Bytes())
	n := 0
	_ = filepath.WalkDir(filepath.Join(e.dir, "lake"), func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, _ := os.ReadFile(p)
		if strings.HasSuffix(p, ".gz") {
			zr, err := gzip.NewReader(bytes.NewReader(data))
			if err != nil {
				t.Errorf("%s: %v", p, err)
				return nil
			}
			data, _ = io.ReadAll(zr)
		}
		check(p, data)
		n++
		return nil
	})
	if n < 5 {
		t.Errorf("only %d files in the lake", n)
	}
}

func noSleep(context.Context, time.Duration) error { return nil }

func TestRunFaults(t *testing.T) {
	tests := []struct {
		name     string
		faults   sandbox.Faults
		rate     float64
		networks []string
		check    func(t *testing.T, e *env, m *Manifest)
	}{
		{"5xx then success", sandbox.Faults{Burst5xx: 3}, 0, []string{"awin"}, func(t *testing.T, e *env, m *Manifest) {
			if m.Failed() {
				t.Fatalf("run failed: %+v", m.Networks)
			}
			if e.sb.Stats()["awin"].Status5xx != 3 {
				t.Errorf("sandbox sent %d 5xx, want 3", e.sb.Stats()["awin"].Status5xx)
			}
		}},
		{"429 storm", sandbox.Faults{}, 2, []string{"impact"}, func(t *testing.T, e *env, m *Manifest) {
			if m.Failed() {
				t.Fatalf("run failed: %+v", m.Networks)
			}
		}},
		{"truncated body", sandbox.Faults{TruncateBody: 1}, 0, []string{"impact"}, func(t *testing.T, e *env, m *Manifest) {
			errs := m.Networks[0].Totals().Errors
			if len(errs) == 0 || !strings.Contains(strings.Join(errs, "\n"), "window 2026-09-27..2026-11-01 page 1: ") {
				t.Errorf("errors %q do not name the network, account, window and page", errs)
			}
			// The broken body is in the raw zone all the same.
			raws, _ := filepath.Glob(filepath.Join(e.dir, "lake", "raw", "network=impact", "*", "*", "r1", "*.json.gz"))
			if len(raws) < 2 {
				t.Errorf("%d raw bodies kept, want every page incl. the broken one", len(raws))
			}
		}},
		{"invalid JSON", sandbox.Faults{InvalidJSON: 1}, 0, []string{"awin"}, func(t *testing.T, e *env, m *Manifest) {
			errs := strings.Join(m.Networks[0].Totals().Errors, "\n")
			if !strings.Contains(errs, "awin account ") || !strings.Contains(errs, "page 1: not valid JSON at byte") {
				t.Errorf("errors %q", errs)
			}
		}},
		{"repeating cursor", sandbox.Faults{RepeatCursor: true}, 0, []string{"cj"}, func(t *testing.T, e *env, m *Manifest) {
			errs := strings.Join(m.Networks[0].Totals().Errors, "\n")
			if !strings.Contains(errs, "pagination loop") {
				t.Errorf("errors %q, want a pagination loop", errs)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := sandbox.Options{Faults: tt.faults}
			if tt.rate > 0 {
				opts.RateLimit = map[string]float64{tt.networks[0]: tt.rate}
			}
			e := newEnv(t, opts)
			m := e.run(t, e.accounts(tt.networks...), nil)
			tt.check(t, e, m)
			e.assertNoSecrets(t, tt.networks...)
		})
	}
}

func TestRunWrongCredentials(t *testing.T) {
	e := newEnv(t, sandbox.Options{})
	accts := e.accounts("awin")
	for i := range accts {
		accts[i].Secrets = map[string]string{"token": "wrong-token-" + accts[i].ID}
	}
	m := e.run(t, accts, noSleep)
	if !m.Failed() {
		t.Fatal("run with wrong credentials did not fail")
	}
	for _, a := range m.Networks[0].Accounts {
		if len(a.Errors) != 1 || !strings.Contains(a.Errors[0], "401") || a.Pages != 0 {
			t.Errorf("account %s: errors %q, pages %d; want one 401 error", a.Account, a.Errors, a.Pages)
		}
	}
	if got := e.sb.Stats()["awin"].Requests; got != 2 {
		t.Errorf("sandbox got %d requests, want 2 (one per account, no retry storm)", got)
	}
}
