package sandbox

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"
)

var testClock = time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)

func newTest(t *testing.T, o Options) *Server {
	t.Helper()
	if o.PerDay == 0 {
		o.PerDay = 6
	}
	if o.RateLimit == nil {
		o.RateLimit = fastOptions().RateLimit
	}
	return New(o)
}

type reply struct {
	status int
	header http.Header
	body   []byte
}

func call(s *Server, method, target string, hdr map[string]string, body string) reply {
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req := httptest.NewRequest(method, target, rd)
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	s.Handler().ServeHTTP(rec, req)
	return reply{rec.Code, rec.Header(), rec.Body.Bytes()}
}

func acctOf(t *testing.T, s *Server, network string, i int) Account {
	t.Helper()
	var got []Account
	for _, a := range s.Accounts() {
		if a.Network == network {
			got = append(got, a)
		}
	}
	if len(got) <= i {
		t.Fatalf("no account %d for %s", i, network)
	}
	return got[i]
}

func decode(t *testing.T, b []byte, v any) {
	t.Helper()
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	if err := d.Decode(v); err != nil {
		t.Fatalf("decode %q: %v", truncate(b), err)
	}
}

func truncate(b []byte) string {
	if len(b) > 300 {
		return string(b[:300]) + "…"
	}
	return string(b)
}

// --- per-network request helpers ---

func awinGet(s *Server, a Account, query string) reply {
	return call(s, "GET", "/awin/publishers/"+a.ID+"/transactions/?"+query,
		map[string]string{"Authorization": "Bearer " + a.Secrets["token"]}, "")
}

func awinWindow(start, end time.Time) string {
	return "startDate=" + url.QueryEscape(start.Format(awinLayout)) + "&endDate=" + url.QueryEscape(end.Format(awinLayout)) + "&timezone=UTC"
}

func impactGet(s *Server, a Account, pathAndQuery string) reply {
	req := map[string]string{"Accept": "application/json"}
	r := httptest.NewRequest("GET", "/impact"+pathAndQuery, nil)
	r.SetBasicAuth(a.ID, a.Secrets["auth_token"])
	req["Authorization"] = r.Header.Get("Authorization")
	return call(s, "GET", "/impact"+pathAndQuery, req, "")
}

func impactWindow(a Account, start, end time.Time, pageSize int) string {
	return "/Mediapartners/" + a.ID + "/Actions?ActionDateStart=" + url.QueryEscape(start.Format(time.RFC3339)) +
		"&ActionDateEnd=" + url.QueryEscape(end.Format(time.RFC3339)) + "&PageSize=" + strconv.Itoa(pageSize)
}

func cjPost(s *Server, a Account, query string) reply {
	body, _ := json.Marshal(map[string]string{"query": query})
	return call(s, "POST", "/cj/query", map[string]string{
		"Authorization": "Bearer " + a.Secrets["token"], "Content-Type": "application/json"}, string(body))
}

const cjFields = `count payloadComplete maxCommissionId records { commissionId actionStatus validationStatus original originalActionId correctionReason saleAmountPubCurrency pubCommissionAmountPubCurrency pubCommissionAmountUsd postingDate eventDate lockingDate verticalAttributes { custStatus } }`

func cjQuery(cid string, since, before time.Time, sinceID string) string {
	q := fmt.Sprintf(`{ publisherCommissions(forPublishers: ["%s"], sincePostingDate: "%s", beforePostingDate: "%s"`,
		cid, since.Format(cjLayout), before.Format(cjLayout))
	if sinceID != "" {
		q += fmt.Sprintf(`, sinceCommissionId: "%s"`, sinceID)
	}
	return q + `) { ` + cjFields + ` } }`
}

// --- walks returning every record seen, keyed by id ---

type seen struct {
	status, sale, comm string
	at                 time.Time
	rec                map[string]any
}

func walkAwin(t *testing.T, s *Server, a Account, from, to time.Time) map[string][]seen {
	t.Helper()
	out := map[string][]seen{}
	for start := from; start.Before(to); start = start.Add(31 * 24 * time.Hour) {
		end := start.Add(31*24*time.Hour - time.Second)
		r := awinGet(s, a, awinWindow(start, end))
		if r.status != 200 {
			t.Fatalf("awin %d %s", r.status, r.body)
		}
		var recs []map[string]any
		decode(t, r.body, &recs)
		for _, rec := range recs {
			id := rec["id"].(json.Number).String()
			at, err := time.ParseInLocation(awinLayout, rec["transactionDate"].(string), time.UTC)
			if err != nil {
				t.Fatal(err)
			}
			out[id] = append(out[id], seen{
				status: rec["commissionStatus"].(string),
				sale:   rec["saleAmount"].(map[string]any)["amount"].(json.Number).String(),
				comm:   rec["commissionAmount"].(map[string]any)["amount"].(json.Number).String(),
				at:     at, rec: rec,
			})
		}
	}
	return out
}

func walkImpact(t *testing.T, s *Server, a Account, from, to time.Time, pageSize int) (map[string][]seen, int) {
	t.Helper()
	out := map[string][]seen{}
	requests := 0
	for start := from; start.Before(to); start = start.Add(45 * 24 * time.Hour) {
		next := impactWindow(a, start, start.Add(45*24*time.Hour), pageSize)
		for next != "" {
			requests++
			if requests > 1000 {
				t.Fatal("impact pagination does not end")
			}
			r := impactGet(s, a, next)
			if r.status != 200 {
				t.Fatalf("impact %d %s", r.status, r.body)
			}
			var env map[string]any
			decode(t, r.body, &env)
			for _, k := range []string{"@page", "@numpages", "@pagesize", "@total", "@nextpageuri"} {
				if _, ok := env[k].(string); !ok {
					t.Fatalf("envelope %s is not a string: %v", k, env[k])
				}
			}
			for _, x := range env["Actions"].([]any) {
				rec := x.(map[string]any)
				at, err := time.Parse(time.RFC3339, rec["EventDate"].(string))
				if err != nil {
					t.Fatal(err)
				}
				out[rec["Id"].(string)] = append(out[rec["Id"].(string)], seen{
					status: rec["State"].(string), sale: rec["Amount"].(string), comm: rec["Payout"].(string), at: at, rec: rec,
				})
			}
			next = env["@nextpageuri"].(string)
		}
	}
	return out, requests
}

func walkCJ(t *testing.T, s *Server, a Account, from, to time.Time) (map[string][]seen, int) {
	t.Helper()
	out := map[string][]seen{}
	requests := 0
	for start := from; start.Before(to); start = start.Add(31 * 24 * time.Hour) {
		before := start.Add(31 * 24 * time.Hour)
		cursor := ""
		for {
			requests++
			if requests > 1000 {
				t.Fatal("cj pagination does not end")
			}
			r := cjPost(s, a, cjQuery(a.ID, start, before, cursor))
			if r.status != 200 {
				t.Fatalf("cj %d %s", r.status, r.body)
			}
			var env struct {
				Data struct {
					PC struct {
						Count           int              `json:"count"`
						PayloadComplete bool             `json:"payloadComplete"`
						MaxCommissionID *string          `json:"maxCommissionId"`
						Records         []map[string]any `json:"records"`
					} `json:"publisherCommissions"`
				} `json:"data"`
			}
			decode(t, r.body, &env)
			pc := env.Data.PC
			if pc.Count != len(pc.Records) || len(pc.Records) > CJPageLimit {
				t.Fatalf("count %d, records %d", pc.Count, len(pc.Records))
			}
			for _, rec := range pc.Records {
				at, err := time.Parse(time.RFC3339, rec["eventDate"].(string))
				if err != nil {
					t.Fatal(err)
				}
				id := rec["commissionId"].(string)
				out[id] = append(out[id], seen{
					status: rec["actionStatus"].(string), sale: rec["saleAmountPubCurrency"].(string),
					comm: rec["pubCommissionAmountPubCurrency"].(string), at: at, rec: rec,
				})
			}
			if pc.PayloadComplete {
				break
			}
			cursor = *pc.MaxCommissionID
		}
	}
	return out, requests
}

func compareTruth(t *testing.T, network string, truth []Truth, got map[string][]seen) {
	t.Helper()
	if len(truth) == 0 {
		t.Fatalf("%s: no truth", network)
	}
	want := map[string]Truth{}
	for _, tr := range truth {
		if _, dup := want[tr.ID]; dup {
			t.Fatalf("%s: duplicate truth id %s", network, tr.ID)
		}
		want[tr.ID] = tr
	}
	for id, v := range got {
		if len(v) != 1 {
			t.Errorf("%s: id %s seen %d times", network, id, len(v))
		}
		tr, ok := want[id]
		if !ok {
			t.Errorf("%s: id %s not in truth", network, id)
			continue
		}
		g := v[0]
		if g.status != tr.Status || g.sale != tr.Sale || g.comm != tr.Commission || !g.at.Equal(tr.TransactionAt) {
			t.Errorf("%s: id %s got %+v want %+v", network, id, g, tr)
		}
	}
	for id := range want {
		if _, ok := got[id]; !ok {
			t.Errorf("%s: truth id %s never returned", network, id)
		}
	}
}

// ---------------------------------------------------------------------------

func TestAccounts(t *testing.T) {
	s := newTest(t, Options{})
	if got := Networks(); len(got) < 3 || strings.Join(got[:3], ",") != "awin,impact,cj" {
		t.Fatalf("Networks() = %v", got)
	}
	count := map[string]int{}
	for _, a := range s.Accounts() {
		count[a.Network]++
		if a.Currency == "" {
			t.Errorf("%s %s has no currency", a.Network, a.ID)
		}
		switch a.Network {
		case "awin":
			if _, err := strconv.Atoi(a.ID); err != nil || a.Secrets["token"] == "" {
				t.Errorf("awin account %+v", a)
			}
		case "impact":
			if len(a.ID) != 34 || !strings.HasPrefix(a.ID, "IR") || a.Secrets["auth_token"] == "" {
				t.Errorf("impact account %+v (len %d)", a, len(a.ID))
			}
		case "cj":
			if _, err := strconv.Atoi(a.ID); err != nil || a.Secrets["token"] == "" {
				t.Errorf("cj account %+v", a)
			}
		}
	}
	if count["awin"] != 2 || count["impact"] != 2 || count["cj"] != 2 {
		t.Fatalf("accounts per network: %v", count)
	}
	ids := []string{acctOf(t, s, "awin", 0).ID, acctOf(t, s, "awin", 1).ID, acctOf(t, s, "cj", 0).ID, acctOf(t, s, "cj", 1).ID}
	if strings.Join(ids, ",") != "100001,100002,5000001,5000002" {
		t.Fatalf("account ids %v", ids)
	}
}

func TestAuthFailures(t *testing.T) {
	s := newTest(t, Options{})
	aw0, aw1 := acctOf(t, s, "awin", 0), acctOf(t, s, "awin", 1)
	win := awinWindow(testClock.Add(-48*time.Hour), testClock)

	r := call(s, "GET", "/awin/publishers/"+aw0.ID+"/transactions/?"+win, nil, "")
	if r.status != 401 || !bytes.Contains(r.body, []byte(`"error":"Unauthorized"`)) || !bytes.Contains(r.body, []byte(`"description"`)) {
		t.Errorf("awin no token: %d %s", r.status, r.body)
	}
	r = call(s, "GET", "/awin/publishers/"+aw0.ID+"/transactions/?"+win, map[string]string{"Authorization": "Bearer nope"}, "")
	if r.status != 401 {
		t.Errorf("awin wrong token: %d %s", r.status, r.body)
	}
	r = call(s, "GET", "/awin/publishers/"+aw1.ID+"/transactions/?"+win, map[string]string{"Authorization": "Bearer " + aw0.Secrets["token"]}, "")
	if r.status != 403 {
		t.Errorf("awin other publisher: %d %s", r.status, r.body)
	}
	r = call(s, "GET", "/awin/publishers/"+aw0.ID+"/transactions/?"+win+"&accessToken="+aw0.Secrets["token"], nil, "")
	if r.status != 200 {
		t.Errorf("awin accessToken: %d %s", r.status, r.body)
	}

	im0, im1 := acctOf(t, s, "impact", 0), acctOf(t, s, "impact", 1)
	bad := im0
	bad.Secrets = map[string]string{"account_sid": im0.ID, "auth_token": "wrong"}
	r = impactGet(s, bad, impactWindow(im0, testClock.Add(-24*time.Hour), testClock, 100))
	if r.status != 401 || !bytes.Contains(r.body, []byte(`"Status":"ERROR"`)) {
		t.Errorf("impact wrong token: %d %s", r.status, r.body)
	}
	r = impactGet(s, im0, impactWindow(im1, testClock.Add(-24*time.Hour), testClock, 100))
	if r.status != 403 {
		t.Errorf("impact other SID: %d %s", r.status, r.body)
	}
	r = call(s, "GET", "/impact"+impactWindow(im0, testClock.Add(-24*time.Hour), testClock, 100), map[string]string{"Accept": "application/json"}, "")
	if r.status != 401 {
		t.Errorf("impact no auth: %d %s", r.status, r.body)
	}

	cj0, cj1 := acctOf(t, s, "cj", 0), acctOf(t, s, "cj", 1)
	badCJ := cj0
	badCJ.Secrets = map[string]string{"token": "wrong"}
	q := cjQuery(cj0.ID, testClock.Add(-24*time.Hour), testClock, "")
	r = cjPost(s, badCJ, q)
	if r.status != 401 || !bytes.Contains(r.body, []byte(`"errors":[{"message":`)) {
		t.Errorf("cj wrong token: %d %s", r.status, r.body)
	}
	r = cjPost(s, cj0, cjQuery(cj1.ID, testClock.Add(-24*time.Hour), testClock, ""))
	if r.status != 200 || !bytes.Contains(r.body, []byte(`"errors"`)) || !bytes.HasSuffix(r.body, []byte(`"data":null}`)) {
		t.Errorf("cj other CID: %d %s", r.status, r.body)
	}
}

func TestWindowLimits(t *testing.T) {
	s := newTest(t, Options{})
	aw := acctOf(t, s, "awin", 0)
	end := testClock
	r := awinGet(s, aw, awinWindow(end.Add(-32*24*time.Hour), end))
	if r.status != 400 || !bytes.Contains(r.body, []byte("31 days")) {
		t.Errorf("awin 32 days: %d %s", r.status, r.body)
	}
	if r := awinGet(s, aw, awinWindow(end.Add(-31*24*time.Hour), end)); r.status != 200 {
		t.Errorf("awin 31 days: %d %s", r.status, r.body)
	}
	if r := awinGet(s, aw, "timezone=UTC"); r.status != 400 {
		t.Errorf("awin without dates: %d %s", r.status, r.body)
	}

	im := acctOf(t, s, "impact", 0)
	r = impactGet(s, im, impactWindow(im, end.Add(-46*24*time.Hour), end, 100))
	if r.status != 400 || !bytes.Contains(r.body, []byte("45 days")) {
		t.Errorf("impact 46 days: %d %s", r.status, r.body)
	}
	r = impactGet(s, im, "/Mediapartners/"+im.ID+"/Actions?ActionDateStart=2026-10-01T00:00:00Z")
	if r.status != 400 {
		t.Errorf("impact start without end: %d %s", r.status, r.body)
	}

	cj := acctOf(t, s, "cj", 0)
	r = cjPost(s, cj, cjQuery(cj.ID, end.Add(-32*24*time.Hour), end, ""))
	var env struct {
		Errors []struct{ Message string } `json:"errors"`
		Data   any                        `json:"data"`
	}
	decode(t, r.body, &env)
	if r.status != 200 || len(env.Errors) != 1 || env.Data != nil || !strings.Contains(env.Errors[0].Message, "31 days") {
		t.Errorf("cj 32 days: %d %s", r.status, r.body)
	}
}

func TestPaginationWalksCoverTruth(t *testing.T) {
	s := newTest(t, Options{})
	from := testClock.Add(-91 * 24 * time.Hour)
	to := testClock.Add(time.Second)
	for i := 0; i < 2; i++ {
		aw := acctOf(t, s, "awin", i)
		compareTruth(t, "awin", s.Transactions("awin", aw.ID), walkAwin(t, s, aw, from, to))

		im := acctOf(t, s, "impact", i)
		got, n := walkImpact(t, s, im, from, to, 97)
		if n < 5 {
			t.Errorf("impact walk used only %d requests", n)
		}
		compareTruth(t, "impact", s.Transactions("impact", im.ID), got)

		cj := acctOf(t, s, "cj", i)
		gotCJ, n := walkCJ(t, s, cj, from, to)
		if n < 5 {
			t.Errorf("cj walk used only %d requests", n)
		}
		compareTruth(t, "cj", s.Transactions("cj", cj.ID), gotCJ)

		// CJ corrections: separate records pointing to an earlier original
		originals := map[string]map[string]any{}
		corrections := 0
		for _, v := range gotCJ {
			if v[0].rec["original"] == true {
				originals[v[0].rec["originalActionId"].(string)] = v[0].rec
			}
		}
		for _, v := range gotCJ {
			rec := v[0].rec
			if rec["original"] == true {
				if rec["correctionReason"] != nil {
					t.Errorf("original with correctionReason: %v", rec)
				}
				continue
			}
			corrections++
			orig, ok := originals[rec["originalActionId"].(string)]
			if !ok || rec["correctionReason"] == nil || !strings.HasPrefix(rec["pubCommissionAmountPubCurrency"].(string), "-") {
				t.Errorf("bad correction %v (original %v)", rec, orig)
				continue
			}
			if orig["commissionId"].(string) >= rec["commissionId"].(string) || orig["postingDate"].(string) >= rec["postingDate"].(string) {
				t.Errorf("correction %v does not follow original %v", rec, orig)
			}
		}
		if corrections == 0 {
			t.Errorf("cj %s: no correction records", cj.ID)
		}
	}
}

func TestAwinTimezoneAndFields(t *testing.T) {
	s := newTest(t, Options{PerDay: 20})
	aw := acctOf(t, s, "awin", 0)
	truth := map[string]Truth{}
	for _, tr := range s.Transactions("awin", aw.ID) {
		truth[tr.ID] = tr
	}
	london, _ := time.LoadLocation("Europe/London")
	start := time.Date(2026, 10, 15, 0, 0, 0, 0, london)
	end := time.Date(2026, 10, 31, 23, 59, 59, 0, london) // crosses the end of BST
	r := awinGet(s, aw, "startDate="+start.Format(awinLayout)+"&endDate="+end.Format(awinLayout)+"&timezone=Europe/London")
	if r.status != 200 {
		t.Fatalf("%d %s", r.status, r.body)
	}
	var recs []map[string]any
	decode(t, r.body, &recs)
	if len(recs) < 100 {
		t.Fatalf("only %d records", len(recs))
	}
	for _, rec := range recs {
		tr := truth[rec["id"].(json.Number).String()]
		// local times without offset are ambiguous when clocks go back
		if rec["transactionDate"] != tr.TransactionAt.In(london).Format(awinLayout) {
			t.Fatalf("transactionDate %v in London != truth %v", rec["transactionDate"], tr.TransactionAt)
		}
		if at := tr.TransactionAt; at.Before(start) || at.After(end) {
			t.Fatalf("record %v outside window", rec["transactionDate"])
		}
		if rec["commissionAmount"].(map[string]any)["currency"] != tr.Currency {
			t.Fatalf("currency mismatch %v", rec)
		}
		switch rec["commissionStatus"] {
		case "pending":
			if rec["validationDate"] != nil || rec["paidToPublisher"] != false || rec["declineReason"] != nil {
				t.Fatalf("pending record inconsistent: %v", rec)
			}
		case "declined":
			if rec["validationDate"] == nil || rec["declineReason"] == nil || rec["paidToPublisher"] != false {
				t.Fatalf("declined record inconsistent: %v", rec)
			}
		case "approved":
			paid := rec["paidToPublisher"] == true
			pid := rec["paymentId"].(json.Number).String()
			if rec["validationDate"] == nil || paid != (pid != "0") {
				t.Fatalf("approved record inconsistent: %v", rec)
			}
		}
	}

	// awkward values over the whole history
	var all bytes.Buffer
	for st := testClock.Add(-90 * 24 * time.Hour); st.Before(testClock); st = st.Add(31 * 24 * time.Hour) {
		for i := 0; i < 2; i++ {
			all.Write(awinGet(s, acctOf(t, s, "awin", i), awinWindow(st, st.Add(31*24*time.Hour-time.Second))).body)
		}
	}
	for _, want := range []string{`"amount":248.71766639999998`, `"amount":0.1,`, `"amount":19.99,`, `"clickRefs":null`, "東京", "Müller-Café", `"paidToPublisher":true`, `"amended":true`, `"commissionStatus":"declined"`} {
		if !bytes.Contains(all.Bytes(), []byte(want)) {
			t.Errorf("awin history lacks %s", want)
		}
	}
	if strings.Count(all.String(), `"clickRefs"`) >= strings.Count(all.String(), `"commissionStatus"`) {
		t.Error("clickRefs is never absent")
	}
}

var firstThree = map[string]bool{NetworkAwin: true, NetworkImpact: true, NetworkCJ: true}

func TestLifecycleAcrossClocks(t *testing.T) {
	s := newTest(t, Options{})
	before := map[string]map[string]Truth{}
	for _, a := range s.Accounts() {
		before[a.ID] = map[string]Truth{}
		for _, tr := range s.Transactions(a.Network, a.ID) {
			before[a.ID][tr.ID] = tr
		}
	}
	s.SetClock(testClock.Add(7 * 24 * time.Hour))
	for _, a := range s.Accounts() {
		if !firstThree[a.Network] {
			continue // the later networks are covered by TestNetworksLifecycle
		}
		after := s.Transactions(a.Network, a.ID)
		added, changed := 0, 0
		for _, tr := range after {
			old, ok := before[a.ID][tr.ID]
			if !ok {
				added++
				if tr.TransactionAt.Before(testClock.Add(-time.Hour)) && a.Network != "cj" {
					t.Errorf("%s: old transaction %s appeared late", a.Network, tr.ID)
				}
				continue
			}
			if !old.TransactionAt.Equal(tr.TransactionAt) {
				t.Errorf("%s: %s moved in time", a.Network, tr.ID)
			}
			if old.Status != tr.Status {
				changed++
			}
		}
		if len(after) < len(before[a.ID]) {
			t.Errorf("%s %s: transactions disappeared", a.Network, a.ID)
		}
		if added < 6*7-6 || changed == 0 {
			t.Errorf("%s %s: added %d, changed %d", a.Network, a.ID, added, changed)
		}
	}

	// status vocabulary and rough proportions at the later clock
	statuses := map[string]map[string]int{}
	for _, a := range s.Accounts() {
		if statuses[a.Network] == nil {
			statuses[a.Network] = map[string]int{}
		}
		for _, tr := range s.Transactions(a.Network, a.ID) {
			statuses[a.Network][tr.Status]++
		}
	}
	expect := map[string][]string{
		"awin":   {"pending", "approved", "declined"},
		"impact": {"PENDING", "APPROVED", "REVERSED"},
		"cj":     {"new", "extended", "locked", "closed"},
	}
	for nw, want := range expect {
		for _, st := range want {
			if statuses[nw][st] == 0 {
				t.Errorf("%s: no %s transactions: %v", nw, st, statuses[nw])
			}
		}
	}
	declined := statuses["awin"]["declined"]
	decided := declined + statuses["awin"]["approved"]
	if declined*100 < decided*4 || declined*100 > decided*20 {
		t.Errorf("awin declined share %d/%d", declined, decided)
	}
}

func TestImpactRecordConsistency(t *testing.T) {
	s := newTest(t, Options{})
	im := acctOf(t, s, "impact", 0)
	got, _ := walkImpact(t, s, im, testClock.Add(-91*24*time.Hour), testClock.Add(time.Second), 5000)
	cleared := 0
	for _, v := range got {
		rec := v[0].rec
		lock, _ := time.Parse(time.RFC3339, rec["LockingDate"].(string))
		if !strings.HasSuffix(rec["EventDate"].(string), "-07:00") && !strings.HasSuffix(rec["EventDate"].(string), "-08:00") {
			t.Fatalf("EventDate not in account zone: %v", rec["EventDate"])
		}
		switch rec["State"] {
		case "PENDING":
			if !lock.After(testClock) || rec["ClearedDate"] != "" {
				t.Fatalf("pending inconsistent %v", rec)
			}
		case "REVERSED":
			if lock.After(testClock) || rec["ClearedDate"] != "" || !strings.HasPrefix(rec["DeltaPayout"].(string), "-") {
				t.Fatalf("reversed inconsistent %v", rec)
			}
		case "APPROVED":
			if lock.After(testClock) {
				t.Fatalf("approved before locking %v", rec)
			}
			if rec["ClearedDate"] != "" {
				cleared++
			}
		}
		if rec["Currency"] != im.Currency || rec["Uri"] != "/Mediapartners/"+im.ID+"/Actions/"+rec["Id"].(string) {
			t.Fatalf("record %v", rec)
		}
	}
	if cleared == 0 {
		t.Error("no cleared (paid) actions")
	}

	// without Accept: application/json the API answers in XML
	r := call(s, "GET", "/impact"+impactWindow(im, testClock.Add(-24*time.Hour), testClock, 10), map[string]string{"Authorization": impactAuth(im)}, "")
	if r.status != 200 || !strings.HasPrefix(r.header.Get("Content-Type"), "application/xml") || !bytes.Contains(r.body, []byte("<Action><Id>")) {
		t.Errorf("xml: %d %s", r.status, truncate(r.body))
	}
}

func impactAuth(a Account) string {
	r := httptest.NewRequest("GET", "/", nil)
	r.SetBasicAuth(a.ID, a.Secrets["auth_token"])
	return r.Header.Get("Authorization")
}

func TestCJQueryForms(t *testing.T) {
	s := newTest(t, Options{})
	cj := acctOf(t, s, "cj", 0)
	auth := map[string]string{"Authorization": "Bearer " + cj.Secrets["token"]}

	// the documented curl form: bare query text as the body
	raw := `{
  publisherCommissions(
    forPublishers: ["` + cj.ID + `"],
    sincePostingDate: "2026-10-20T00:00:00Z",
    beforePostingDate: "2026-10-21T00:00:00Z"
  ) {
    count
    payloadComplete
    records { actionTrackerName websiteName advertiserName postingDate pubCommissionAmountUsd items { quantity perItemSaleAmountPubCurrency totalCommissionPubCurrency } }
  }
}`
	r := call(s, "POST", "/cj/query", auth, raw)
	if r.status != 200 || !bytes.HasPrefix(r.body, []byte(`{"data":{"publisherCommissions":{"count":`)) || !bytes.Contains(r.body, []byte(`"items":[{"quantity":1,`)) {
		t.Fatalf("raw body: %d %s", r.status, truncate(r.body))
	}

	// variables, aliases and field order following the selection
	body, _ := json.Marshal(map[string]any{
		"query":     `query Q($cids: [String!]!, $since: String) { page: publisherCommissions(forPublishers: $cids, sinceEventDate: $since, beforeEventDate: "2026-10-02T00:00:00Z") { payloadComplete count records { id: commissionId original } } }`,
		"variables": map[string]any{"cids": []string{cj.ID}, "since": "2026-10-01T00:00:00Z"},
	})
	r = call(s, "POST", "/cj/query", auth, string(body))
	if r.status != 200 || !bytes.HasPrefix(r.body, []byte(`{"data":{"page":{"payloadComplete":true,"count":`)) || !bytes.Contains(r.body, []byte(`{"id":"`)) {
		t.Fatalf("variables: %d %s", r.status, truncate(r.body))
	}

	// unknown field
	r = cjPost(s, cj, `{ publisherCommissions(forPublishers: ["`+cj.ID+`"], sincePostingDate: "2026-10-01T00:00:00Z") { records { nope } } }`)
	if r.status != 400 || !bytes.Contains(r.body, []byte(`Cannot query field \"nope\" on type \"PublisherCommission\"`)) {
		t.Fatalf("unknown field: %d %s", r.status, r.body)
	}
	// syntax error
	r = cjPost(s, cj, `{ publisherCommissions(forPublishers: ["`+cj.ID+`"] { count }`)
	if r.status != 400 || !bytes.Contains(r.body, []byte(`Syntax Error`)) {
		t.Fatalf("syntax error: %d %s", r.status, r.body)
	}
	// amounts are strings, no currency field on records
	r = cjPost(s, cj, cjQuery(cj.ID, testClock.Add(-10*24*time.Hour), testClock, ""))
	if !bytes.Contains(r.body, []byte(`"saleAmountPubCurrency":"`)) {
		t.Fatalf("amounts: %s", truncate(r.body))
	}
	// coupon: the code when one was used, else null
	r = cjPost(s, cj, `{ publisherCommissions(forPublishers: ["`+cj.ID+`"], sincePostingDate: "2026-10-01T00:00:00Z", beforePostingDate: "2026-10-31T00:00:00Z") { records { commissionId coupon } } }`)
	var coupons struct {
		Data struct {
			PC struct {
				Records []struct {
					ID     string  `json:"commissionId"`
					Coupon *string `json:"coupon"`
				} `json:"records"`
			} `json:"publisherCommissions"`
		} `json:"data"`
	}
	decode(t, r.body, &coupons)
	used, none := 0, 0
	for _, rec := range coupons.Data.PC.Records {
		switch {
		case rec.Coupon == nil:
			none++
		case *rec.Coupon == "":
			t.Fatalf("record %s: empty coupon, want a code or null", rec.ID)
		default:
			used++
		}
	}
	if used == 0 || none == 0 {
		t.Fatalf("coupon: %d records with a code, %d without; want both", used, none)
	}
}

func TestDeterminism(t *testing.T) {
	fetchAll := func(s *Server) [][]byte {
		var out [][]byte
		aw, im, cj := acctOf(t, s, "awin", 1), acctOf(t, s, "impact", 1), acctOf(t, s, "cj", 1)
		out = append(out, awinGet(s, aw, awinWindow(testClock.Add(-31*24*time.Hour), testClock)).body)
		out = append(out, impactGet(s, im, impactWindow(im, testClock.Add(-45*24*time.Hour), testClock, 100)).body)
		out = append(out, cjPost(s, cj, cjQuery(cj.ID, testClock.Add(-31*24*time.Hour), testClock, "")).body)
		return out
	}
	a := fetchAll(newTest(t, Options{Seed: 7}))
	b := fetchAll(newTest(t, Options{Seed: 7}))
	c := fetchAll(newTest(t, Options{Seed: 8}))
	for i := range a {
		if !bytes.Equal(a[i], b[i]) {
			t.Errorf("response %d differs between identical servers", i)
		}
		if bytes.Equal(a[i], c[i]) {
			t.Errorf("response %d identical for different seeds", i)
		}
		if len(a[i]) < 1000 {
			t.Errorf("response %d suspiciously small: %s", i, a[i])
		}
	}
	// the same world seen at the same clock after moving the clock around
	s := newTest(t, Options{Seed: 7})
	s.SetClock(testClock.Add(20 * 24 * time.Hour))
	s.SetClock(testClock)
	d := fetchAll(s)
	for i := range a {
		if !bytes.Equal(a[i], d[i]) {
			t.Errorf("response %d differs after clock round trip", i)
		}
	}
}

func TestRateLimit(t *testing.T) {
	s := New(Options{PerDay: 2, RateLimit: map[string]float64{"awin": 2, "cj": 3}})
	aw := acctOf(t, s, "awin", 0)
	win := awinWindow(testClock.Add(-24*time.Hour), testClock)
	limited := 0
	for i := 0; i < 6; i++ {
		r := awinGet(s, aw, win)
		if r.status == 429 {
			limited++
			ra, err := strconv.Atoi(r.header.Get("Retry-After"))
			if err != nil || ra < 1 || !bytes.Contains(r.body, []byte(`"error":"Too Many Requests"`)) {
				t.Errorf("429 without proper Retry-After/body: %q %s", r.header.Get("Retry-After"), r.body)
			}
		} else if r.status != 200 {
			t.Errorf("status %d", r.status)
		}
	}
	if limited < 3 {
		t.Errorf("only %d of 6 requests limited at 2 req/s", limited)
	}
	cj := acctOf(t, s, "cj", 0)
	cjLimited := 0
	for i := 0; i < 6; i++ {
		if r := cjPost(s, cj, cjQuery(cj.ID, testClock.Add(-24*time.Hour), testClock, "")); r.status == 429 {
			cjLimited++
			if !bytes.Contains(r.body, []byte(`"errors"`)) {
				t.Errorf("cj 429 body %s", r.body)
			}
		}
	}
	st := s.Stats()
	if st["awin"].Status429 != limited || st["awin"].Requests != 6 || st["awin"].MaxObservedRate < 6 {
		t.Errorf("awin stats %+v", st["awin"])
	}
	if cjLimited == 0 || st["cj"].Status429 != cjLimited {
		t.Errorf("cj limited %d, stats %+v", cjLimited, st["cj"])
	}
	// another credential has its own budget
	if r := awinGet(s, acctOf(t, s, "awin", 1), win); r.status != 200 {
		t.Errorf("second credential limited: %d", r.status)
	}
	// the budget refills
	time.Sleep(600 * time.Millisecond)
	if r := awinGet(s, aw, win); r.status != 200 {
		t.Errorf("after waiting: %d", r.status)
	}
}

func TestFaults(t *testing.T) {
	s := newTest(t, Options{Faults: Faults{Burst5xx: 3}})
	im := acctOf(t, s, "impact", 0)
	target := impactWindow(im, testClock.Add(-10*24*time.Hour), testClock, 10)
	for i := 0; i < 3; i++ {
		r := impactGet(s, im, target)
		wantRA := ""
		if i%2 == 0 {
			wantRA = "1"
		}
		if r.status != 503 || r.header.Get("Retry-After") != wantRA {
			t.Errorf("burst request %d: %d Retry-After %q", i, r.status, r.header.Get("Retry-After"))
		}
	}
	if r := impactGet(s, im, target); r.status != 200 {
		t.Errorf("after burst: %d", r.status)
	}
	if st := s.Stats()["impact"]; st.Status5xx != 3 || st.Requests != 4 {
		t.Errorf("stats %+v", st)
	}
	// the burst is per network
	aw := acctOf(t, s, "awin", 0)
	s.SetFaults(Faults{TruncateBody: 1, InvalidJSON: 1})
	win := awinWindow(testClock.Add(-3*24*time.Hour), testClock)
	good := awinGet(s, aw, "startDate=2026-10-01T00:00:00&endDate=2026-10-01T00:00:01")
	if good.status != 200 {
		t.Fatalf("%d", good.status)
	}
	s.SetFaults(Faults{TruncateBody: 1, InvalidJSON: 1})
	r1, r2, r3 := awinGet(s, aw, win), awinGet(s, aw, win), awinGet(s, aw, win)
	if r1.status != 200 || json.Valid(r1.body) || len(r1.body)*2 > len(r3.body)+1 || !bytes.HasPrefix(r3.body, r1.body) {
		t.Errorf("truncated body: %d %d/%d", r1.status, len(r1.body), len(r3.body))
	}
	if r1.header.Get("Content-Length") != strconv.Itoa(len(r1.body)) {
		t.Errorf("Content-Length %s for %d bytes", r1.header.Get("Content-Length"), len(r1.body))
	}
	if r2.status != 200 || !bytes.HasPrefix(r2.body, []byte(`{"oops": `)) || json.Valid(r2.body) {
		t.Errorf("invalid json: %s", r2.body)
	}
	if !json.Valid(r3.body) {
		t.Error("third response still broken")
	}
	// error responses do not consume the body faults
	s.SetFaults(Faults{InvalidJSON: 1})
	if r := awinGet(s, aw, "timezone=UTC"); r.status != 400 || !json.Valid(r.body) {
		t.Errorf("error response mangled: %s", r.body)
	}
	if r := awinGet(s, aw, win); json.Valid(r.body) {
		t.Error("data response not mangled")
	}

	// latency
	s.SetFaults(Faults{Latency: 40 * time.Millisecond})
	t0 := time.Now()
	awinGet(s, aw, win)
	if d := time.Since(t0); d < 40*time.Millisecond {
		t.Errorf("latency %v", d)
	}

	// repeated cursors
	s.SetFaults(Faults{RepeatCursor: true})
	first := impactGet(s, im, impactWindow(im, testClock.Add(-40*24*time.Hour), testClock, 20))
	var e1, e2 map[string]any
	decode(t, first.body, &e1)
	next := e1["@nextpageuri"].(string)
	decode(t, impactGet(s, im, next).body, &e2)
	if next == "" || e2["@nextpageuri"] != next || e2["@page"] != "2" {
		t.Errorf("impact repeat: %q then %q", next, e2["@nextpageuri"])
	}
	last := impactGet(s, im, strings.Replace(next, "Page=2", "Page="+e1["@numpages"].(string), 1))
	var e3 map[string]any
	decode(t, last.body, &e3)
	if e3["@nextpageuri"] != next {
		t.Errorf("last page must still point to %q: %v", next, e3["@nextpageuri"])
	}
	cj := acctOf(t, s, "cj", 0)
	var c1, c2 struct {
		Data struct {
			PC struct {
				PayloadComplete bool   `json:"payloadComplete"`
				MaxCommissionID string `json:"maxCommissionId"`
			} `json:"publisherCommissions"`
		} `json:"data"`
	}
	decode(t, cjPost(s, cj, cjQuery(cj.ID, testClock.Add(-30*24*time.Hour), testClock, "")).body, &c1)
	decode(t, cjPost(s, cj, cjQuery(cj.ID, testClock.Add(-30*24*time.Hour), testClock, c1.Data.PC.MaxCommissionID)).body, &c2)
	if c1.Data.PC.PayloadComplete || c2.Data.PC.PayloadComplete || c2.Data.PC.MaxCommissionID != c1.Data.PC.MaxCommissionID || c1.Data.PC.MaxCommissionID == "" {
		t.Errorf("cj repeat: %+v then %+v", c1, c2)
	}
	s.SetFaults(Faults{})
	decode(t, cjPost(s, cj, cjQuery(cj.ID, testClock.Add(-30*24*time.Hour), testClock, c1.Data.PC.MaxCommissionID)).body, &c2)
	if c2.Data.PC.MaxCommissionID <= c1.Data.PC.MaxCommissionID {
		t.Errorf("cursor does not advance without the fault: %+v", c2)
	}
}

func TestStartClose(t *testing.T) {
	s := newTest(t, Options{})
	base, err := s.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if !strings.HasPrefix(base, "http://127.0.0.1:") {
		t.Fatalf("base URL %q", base)
	}
	aw := acctOf(t, s, "awin", 0)
	req, _ := http.NewRequest("GET", base+"/awin/publishers/"+aw.ID+"/transactions/?"+awinWindow(testClock.Add(-24*time.Hour), testClock), nil)
	req.Header.Set("Authorization", "Bearer "+aw.Secrets["token"])
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !json.Valid(body) || !bytes.HasPrefix(body, []byte("[{")) {
		t.Fatalf("%d %s", resp.StatusCode, truncate(body))
	}
	if resp.Header.Get("Content-Type") != "application/json; charset=utf-8" {
		t.Errorf("content type %q", resp.Header.Get("Content-Type"))
	}
	s.Close()
	if _, err := http.Get(base + "/awin/"); err == nil {
		t.Error("listener still open after Close")
	}
}

func TestConcurrentRequests(t *testing.T) {
	s := newTest(t, Options{})
	im := acctOf(t, s, "impact", 0)
	want := impactGet(s, im, impactWindow(im, testClock.Add(-30*24*time.Hour), testClock, 50)).body
	done := make(chan []byte)
	for i := 0; i < 8; i++ {
		go func() {
			done <- impactGet(s, im, impactWindow(im, testClock.Add(-30*24*time.Hour), testClock, 50)).body
		}()
	}
	for i := 0; i < 8; i++ {
		if got := <-done; !bytes.Equal(got, want) {
			t.Error("concurrent response differs")
		}
	}
}

func TestWindowBoundaries(t *testing.T) {
	s := newTest(t, Options{})
	aw, im, cj := acctOf(t, s, "awin", 0), acctOf(t, s, "impact", 0), acctOf(t, s, "cj", 0)

	at := s.Transactions("awin", aw.ID)[100]
	// Awin: both startDate and endDate are inclusive
	r := awinGet(s, aw, awinWindow(at.TransactionAt, at.TransactionAt))
	if !bytes.Contains(r.body, []byte(`"id":`+at.ID+`,`)) {
		t.Errorf("awin [T, T] misses %s: %s", at.ID, truncate(r.body))
	}
	r = awinGet(s, aw, awinWindow(at.TransactionAt.Add(time.Second), at.TransactionAt.Add(time.Hour)))
	if bytes.Contains(r.body, []byte(`"id":`+at.ID+`,`)) {
		t.Errorf("awin window after T returned %s", at.ID)
	}

	it := s.Transactions("impact", im.ID)[100]
	// Impact: ActionDateStart inclusive, ActionDateEnd exclusive
	r = impactGet(s, im, impactWindow(im, it.TransactionAt, it.TransactionAt.Add(time.Second), 100))
	if !bytes.Contains(r.body, []byte(`"Id":"`+it.ID+`"`)) {
		t.Errorf("impact [T, T+1s) misses %s", it.ID)
	}
	r = impactGet(s, im, impactWindow(im, it.TransactionAt.Add(-time.Hour), it.TransactionAt, 100))
	if bytes.Contains(r.body, []byte(`"Id":"`+it.ID+`"`)) {
		t.Errorf("impact [T-1h, T) returned %s", it.ID)
	}

	ct := s.Transactions("cj", cj.ID)[100]
	q := func(since, before time.Time) string {
		return fmt.Sprintf(`{ publisherCommissions(forPublishers: ["%s"], sinceEventDate: "%s", beforeEventDate: "%s") { records { commissionId } } }`,
			cj.ID, since.Format(cjLayout), before.Format(cjLayout))
	}
	if r := cjPost(s, cj, q(ct.TransactionAt, ct.TransactionAt.Add(time.Second))); !bytes.Contains(r.body, []byte(`"`+ct.ID+`"`)) {
		t.Errorf("cj [T, T+1s) misses %s: %s", ct.ID, r.body)
	}
	if r := cjPost(s, cj, q(ct.TransactionAt.Add(-time.Hour), ct.TransactionAt)); bytes.Contains(r.body, []byte(`"`+ct.ID+`"`)) {
		t.Errorf("cj [T-1h, T) returned %s", ct.ID)
	}
}

func TestAwinTimezones(t *testing.T) {
	s := newTest(t, Options{PerDay: 1})
	aw := acctOf(t, s, "awin", 0)
	for tz := range awinTimezones {
		r := awinGet(s, aw, "startDate=2026-10-01T00:00:00&endDate=2026-10-10T00:00:00&timezone="+url.QueryEscape(tz))
		if r.status != 200 {
			t.Errorf("timezone %s: %d %s", tz, r.status, r.body)
		}
	}
	if r := awinGet(s, aw, "startDate=2026-10-01T00:00:00&endDate=2026-10-10T00:00:00&timezone=Mars/Olympus"); r.status != 400 {
		t.Errorf("unknown timezone: %d", r.status)
	}
}
