// Package run is the scheduled batch job: for every network and account,
// plan the windows, fetch every page, keep each body in the raw zone
// before parsing it, map the records into the lake, and write the run
// manifest. A network or account that fails does not stop the others.
package run

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/afflake/afflake/engine/fetch"
	"github.com/afflake/afflake/engine/history"
	"github.com/afflake/afflake/engine/lake"
	"github.com/afflake/afflake/engine/mapping"
	"github.com/afflake/afflake/engine/plan"
	"github.com/afflake/afflake/engine/spec"
	"github.com/afflake/afflake/engine/storage"
	"github.com/afflake/afflake/engine/transform"
)

// Account is one account of one network, its secrets resolved.
type Account struct {
	Network string
	fetch.Account
}

// Options configure a run.
type Options struct {
	Store    storage.Store
	Specs    map[string]*spec.Spec
	Accounts []Account
	// From and To bound the run; when zero, each network covers its
	// spec's initial span up to Now.
	From, To time.Time
	Now      time.Time
	RunID    string
	Fetch    *fetch.Client
	Logger   *slog.Logger
	// Workers map bodies in parallel per account; 0 means one per CPU.
	Workers  int
	Progress *Progress
	// Stage, when set, is called as the run passes each stage ("raw"
	// after a body is stored, "parquet" before the files are published,
	// "commit" before versions are committed, "manifest" before the
	// manifest is written); an error stops the run there as a crash
	// would. Tests use it to check that a re-run loses and duplicates
	// nothing.
	Stage func(stage string) error

	crashed *atomic.Bool
}

// stage passes a stage; after a failed stage every later one fails too,
// as after a crash.
func (o *Options) stage(name string) error {
	if o.Stage == nil {
		return nil
	}
	if o.crashed.Load() {
		return errCrashed
	}
	if err := o.Stage(name); err != nil {
		o.crashed.Store(true)
		return err
	}
	return nil
}

var errCrashed = errors.New("stopped at an earlier stage")

// Manifest is the record of one run, written to _runs/<run_id>.json.
type Manifest struct {
	RunID    string          `json:"run_id"`
	Lake     string          `json:"lake"`
	Started  time.Time       `json:"started_at"`
	Finished time.Time       `json:"finished_at"`
	Status   string          `json:"status"` // ok or failed
	Networks []NetworkResult `json:"networks"`
}

// NetworkResult is what a run did for one network.
type NetworkResult struct {
	Network  string  `json:"network"`
	SpecHash string  `json:"spec_hash"`
	Seconds  float64 `json:"seconds"`
	// Versions are the rows that were new versions of their transaction;
	// Unchanged the rows equal to the latest known version.
	Versions  int64           `json:"versions"`
	Unchanged int64           `json:"unchanged"`
	Accounts  []AccountResult `json:"accounts"`
	Files     []lake.Output   `json:"files"`
	Errors    []string        `json:"errors,omitempty"`
}

// AccountResult is what a run did for one account.
type AccountResult struct {
	Account string `json:"account"`
	// From, To and Windows are the span fetched; a transform of stored
	// bodies has none.
	From        time.Time `json:"from,omitzero"`
	To          time.Time `json:"to,omitzero"`
	Windows     []string  `json:"windows,omitempty"`
	Requests    int64     `json:"requests"`
	Pages       int64     `json:"pages"`
	Bytes       int64     `json:"bytes"`
	Records     int64     `json:"records"`
	Rows        int64     `json:"rows"`
	Quarantined int64     `json:"quarantined"`
	// QuarantineReasons are the reasons that quarantined the most
	// records, most first (the quarantine files have every record).
	QuarantineReasons []transform.Reason `json:"quarantine_reasons,omitempty"`
	Rounded           int64              `json:"amounts_rounded"`
	Errors            []string           `json:"errors,omitempty"`
}

// topReasons is how many quarantine reasons an account's result keeps.
const topReasons = 5

// SetCounts sets what the transform of the account's bodies did: its
// record counts, the reasons that quarantined the most, and the bodies
// that could not be read.
func (a *AccountResult) SetCounts(st *transform.Stats) {
	a.Records, a.Rows, a.Quarantined, a.Rounded = st.Records, st.Rows, st.Quarantined, st.Rounded
	a.QuarantineReasons = st.TopReasons(topReasons)
	for _, e := range st.Errors {
		a.Errors = append(a.Errors, e.Error())
	}
}

// Totals adds up the accounts of a network.
func (n *NetworkResult) Totals() AccountResult {
	var t AccountResult
	for _, a := range n.Accounts {
		t.Requests += a.Requests
		t.Pages += a.Pages
		t.Bytes += a.Bytes
		t.Records += a.Records
		t.Rows += a.Rows
		t.Quarantined += a.Quarantined
		t.Rounded += a.Rounded
		t.Errors = append(t.Errors, a.Errors...)
	}
	t.Errors = append(t.Errors, n.Errors...)
	return t
}

// Failed reports whether anything in the run failed: an error, or a
// record sent to quarantine.
func (m *Manifest) Failed() bool { return m.Status != "ok" }

// Finish sets when the run finished and its status: failed when a
// network has an error or sent a record to quarantine, else ok.
func (m *Manifest) Finish() {
	m.Finished = time.Now().UTC()
	m.Status = "ok"
	for i := range m.Networks {
		if t := m.Networks[i].Totals(); len(t.Errors) > 0 || t.Quarantined > 0 {
			m.Status = "failed"
		}
	}
}

// Write stores the manifest in the lake, at ManifestKey. It is written
// even when ctx is done: a stopped run's manifest says what it did.
func (m *Manifest) Write(ctx context.Context, store storage.Store) error {
	b, _ := json.MarshalIndent(m, "", "  ")
	return store.Put(context.WithoutCancel(ctx), ManifestKey(m.RunID), b)
}

// ManifestKey is where a run's manifest lives in the lake.
func ManifestKey(runID string) string { return "_runs/" + runID + ".json" }

// Run runs every account of o.Accounts. The returned error is for what
// stops the whole run (the manifest could not be written); failures of
// networks, accounts, pages and records are in the manifest.
func Run(ctx context.Context, o Options) (*Manifest, error) {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now.IsZero() {
		o.Now = time.Now().UTC()
	}
	o.crashed = new(atomic.Bool)
	m := &Manifest{RunID: o.RunID, Lake: o.Store.String(), Started: time.Now().UTC()}
	byNet := map[string][]Account{}
	for _, a := range o.Accounts {
		byNet[a.Network] = append(byNet[a.Network], a)
	}
	nets := make([]string, 0, len(byNet))
	for n := range byNet {
		nets = append(nets, n)
	}
	sort.Strings(nets)
	m.Networks = make([]NetworkResult, len(nets))
	var wg sync.WaitGroup
	for i, name := range nets {
		wg.Add(1)
		go func() {
			defer wg.Done()
			m.Networks[i] = runNetwork(ctx, o, name, byNet[name])
		}()
	}
	wg.Wait()
	m.Finish()
	if o.crashed.Load() {
		return m, errCrashed
	}
	if err := o.stage("manifest"); err != nil {
		return m, err
	}
	if err := m.Write(ctx, o.Store); err != nil {
		return m, fmt.Errorf("writing the run manifest: %w", err)
	}
	return m, nil
}

func runNetwork(ctx context.Context, o Options, name string, accts []Account) NetworkResult {
	start := time.Now()
	res := NetworkResult{Network: name}
	fail := func(err error) NetworkResult {
		res.Errors = append(res.Errors, fmt.Sprintf("%s: %v", name, err))
		res.Seconds = time.Since(start).Seconds()
		return res
	}
	sp, ok := o.Specs[name]
	if !ok {
		return fail(errors.New("no spec for this network"))
	}
	res.SpecHash = sp.Hash
	hist, spool, release, err := openHistory(ctx, o.Store, name, o.RunID)
	if err != nil {
		return fail(err)
	}
	defer release()
	marks, err := hist.Watermarks(ctx)
	if err != nil {
		return fail(err)
	}
	sink := lake.NewSink(o.Store, name, o.RunID, o.Now, mapping.TableColumns(sp), lake.Options{Parts: lake.PartTables | lake.PartQuarantine})
	res.Accounts = make([]AccountResult, len(accts))
	var wg sync.WaitGroup
	for i, a := range accts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res.Accounts[i] = runAccount(ctx, o, sp, a, sink, spool, marks[a.ID])
		}()
	}
	wg.Wait()
	if err := o.stage("parquet"); err != nil {
		sink.Abort()
		return fail(err)
	}
	if o.crashed.Load() {
		sink.Abort()
		return fail(errCrashed)
	}
	if err := sink.CloseContext(context.WithoutCancel(ctx)); err != nil {
		return fail(err)
	}
	res.Files = sink.Outputs()
	if err := o.stage("commit"); err != nil {
		return fail(err)
	}
	cs, err := hist.Commit(context.WithoutCancel(ctx), o.RunID, o.Now, spool, history.Latest)
	if err != nil {
		return fail(err)
	}
	res.Versions, res.Unchanged = cs.Versions, cs.Unchanged
	done := map[string]time.Time{}
	for _, a := range res.Accounts {
		if len(a.Errors) == 0 && !a.To.IsZero() {
			done[a.Account] = a.To
		}
	}
	if err := hist.SetWatermarks(context.WithoutCancel(ctx), done); err != nil {
		return fail(err)
	}
	res.Seconds = time.Since(start).Seconds()
	return res
}

// openHistory takes the network's lock, completes any interrupted commit
// and starts a spool for the run's rows; done releases both.
func openHistory(ctx context.Context, store storage.Store, network, runID string) (*history.History, *history.Spool, func(), error) {
	hist := history.Open(store, network)
	unlock, err := hist.Lock(ctx, runID, time.Now())
	if err != nil {
		return nil, nil, nil, err
	}
	if err := hist.Recover(ctx); err != nil {
		unlock()
		return nil, nil, nil, err
	}
	spool, err := history.NewSpool(store.TempDir())
	if err != nil {
		unlock()
		return nil, nil, nil, err
	}
	return hist, spool, func() { spool.Remove(); unlock() }, nil
}

// Span is the range a run covers for an account: --from/--to when given;
// else from the watermark minus the spec's lookback, or, on a first run,
// the spec's initial span; up to now.
func Span(sp *spec.Spec, from, to, now, watermark time.Time) (time.Time, time.Time) {
	if from.IsZero() {
		if watermark.IsZero() {
			from = now.Add(-sp.Initial)
		} else {
			from = watermark.Add(-sp.Lookback)
		}
	}
	if to.IsZero() {
		to = now
	}
	return from, to
}

func runAccount(ctx context.Context, o Options, sp *spec.Spec, a Account, sink *lake.Sink, rows transform.RowWriter, watermark time.Time) AccountResult {
	res := AccountResult{Account: a.ID}
	log := o.Logger.With("network", sp.Name, "account", a.ID)
	from, to := Span(sp, o.From, o.To, o.Now, watermark)
	res.From, res.To = from, to
	windows, err := plan.Windows(sp, from, to)
	if err != nil {
		res.Errors = append(res.Errors, fmt.Sprintf("%s account %s: %v", sp.Name, a.ID, err))
		return res
	}
	for _, w := range windows {
		res.Windows = append(res.Windows, w.String())
	}
	o.Progress.plan(sp.Name, len(windows))

	in := make(chan transform.Input, 2)
	statsc := make(chan transform.Stats, 1)
	errc := make(chan error, 1)
	go func() {
		st, err := transform.Stream(ctx, transform.Job{
			Spec: sp, Account: mapping.Account{ID: a.ID, Currency: a.Currency, Extra: a.Extra},
			Sink: sink, Rows: rows, RunID: o.RunID, FetchedAt: o.Now, Workers: o.Workers,
		}, in)
		statsc <- st
		errc <- err
	}()

	acctMeta := map[string]string{"id": a.ID}
	if a.Currency != "" {
		acctMeta["currency"] = a.Currency
	}
	for k, v := range a.Extra {
		acctMeta[k] = v
	}
	var seq atomic.Int64
	for _, w := range windows {
		log.Debug("window", "window", w.String())
		err := o.Fetch.Fetch(ctx, sp, a.Account, w, func(p fetch.Page) error {
			n := int(seq.Add(1))
			key := lake.RawKey(sp.Name, a.ID, o.Now, o.RunID, n, sp.Response.Format)
			meta := lake.RawMeta{
				Network: sp.Name, AccountID: a.ID, Account: acctMeta, RunID: o.RunID, Window: w.String(), Page: p.Seq,
				Method: p.Method, URL: p.URL, ReqHeader: p.RequestHeaders, ReqBody: string(p.RequestBody),
				Status: p.Status, Header: p.Header, Started: p.Started, Duration: p.Duration.Seconds(),
				Attempts: p.Attempts, SpecHash: sp.Hash,
			}
			if err := lake.PutRaw(ctx, o.Store, key, p.Body, meta); err != nil {
				return err
			}
			if err := o.stage("raw"); err != nil {
				return err
			}
			res.Requests += int64(p.Attempts)
			res.Pages++
			res.Bytes += int64(len(p.Body))
			o.Progress.page(sp.Name)
			body := p.Body
			in <- transform.Input{
				Ref:   key,
				Where: fmt.Sprintf("%s account %s window %s page %d", sp.Name, a.ID, w, p.Seq),
				Read:  func() ([]byte, error) { return body, nil },
				// A large page is mapped in parts, on every core.
				Open:      func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil },
				Size:      int64(len(body)),
				FetchedAt: p.Started.Add(p.Duration),
			}
			return nil
		})
		o.Progress.window(sp.Name)
		if err != nil {
			log.Error("fetch failed", "window", w.String(), "error", err.Error())
			res.Errors = append(res.Errors, err.Error())
			if errors.Is(err, fetch.ErrAuth) || ctx.Err() != nil {
				break // the next windows would fail the same way
			}
		}
	}
	close(in)
	st := <-statsc
	if err := <-errc; err != nil {
		res.Errors = append(res.Errors, fmt.Sprintf("%s account %s: %v", sp.Name, a.ID, err))
	}
	res.SetCounts(&st)
	o.Progress.records(sp.Name, st.Records)
	log.Info("account done", "pages", res.Pages, "records", res.Records, "rows", res.Rows,
		"quarantined", res.Quarantined, "errors", len(res.Errors))
	return res
}
