package sandbox

import (
	"bytes"
	"encoding/xml"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Impact partner API: GET /Mediapartners/{AccountSID}/Actions
//
// HTTP Basic auth AccountSID:AuthToken. JSON with Accept: application/json
// (or the .json suffix), XML otherwise. Date filters are ISO-8601 pairs of
// at most 45 days: ActionDateStart/End (event date), StartDate/EndDate (last
// update; state transitions alone do not count) and LockingDateStart/End;
// start inclusive, end exclusive. Without any filter the last 7 days of
// events are returned. Pages are PageSize (default 20000) actions; the
// envelope carries every number as a string and @nextpageuri relative to the
// API root, empty on the last page. Every record value is a string; dates
// carry the account's UTC offset. Errors are {"Status":"ERROR","Message":...}.

const impactLayout = "2006-01-02T15:04:05-07:00"

func impactEmulation() *emulation {
	return &emulation{
		name:     NetworkImpact,
		accounts: impactAccounts,
		serve:    (*Server).serveImpact,
		amounts:  impactGen,
		ids: func(t *txn, day int64, i int) {
			t.num = day*10000 + int64(i)
			t.id = strconv.FormatInt(t.adv.id, 10) + "." + strconv.FormatInt(t.adv.trackerID%10000, 10) + "." + strconv.FormatInt(t.num, 10)
		},
		truth: func(_ *Server, a *account, t *txn, clock time.Time) []Truth {
			v := impactAmounts(t, clock)
			return []Truth{{ID: t.id, Status: impactState(t, clock), Sale: v.amount.text, Commission: v.payout.text,
				Currency: a.currency, TransactionAt: t.eventAt}}
		},
	}
}

type impactFmt int

const (
	impactJSON impactFmt = iota
	impactXMLFmt
)

func impactError(f impactFmt, status int, msg string) *response {
	if f == impactXMLFmt {
		var b bytes.Buffer
		b.WriteString(xml.Header)
		b.WriteString("<ImpactRadiusResponse><Status>ERROR</Status><Message>")
		_ = xml.EscapeText(&b, []byte(msg))
		b.WriteString("</Message></ImpactRadiusResponse>")
		return &response{status: status, ctype: "application/xml", body: b.Bytes()}
	}
	return jsonResp(status, obj{{"Status", "ERROR"}, {"Message", msg}})
}

func impactState(t *txn, clock time.Time) string {
	switch t.phase(clock) {
	case phaseApproved:
		return "APPROVED"
	case phaseDeclined:
		return "REVERSED"
	}
	return "PENDING"
}

type impactMoney struct {
	payout, deltaPayout, intendedPayout amount
	amount, deltaAmount, intendedAmount amount
}

// impactAmounts: Payout/Amount are current values, Intended* the values as
// first tracked and Delta* the change made by the last modification.
func impactAmounts(t *txn, clock time.Time) impactMoney {
	m := impactMoney{
		payout: t.comm, deltaPayout: t.comm, intendedPayout: t.comm,
		amount: t.sale, deltaAmount: t.sale, intendedAmount: t.sale,
	}
	switch t.phase(clock) {
	case phaseDeclined:
		m.payout, m.deltaPayout = mkAmount(0, t.comm.scale), t.comm.neg()
		m.amount, m.deltaAmount = mkAmount(0, t.sale.scale), t.sale.neg()
	case phaseApproved:
		if t.adjusted {
			m.payout, m.deltaPayout = t.newComm, diff(t.newComm, t.comm)
			m.amount, m.deltaAmount = t.newSale, diff(t.newSale, t.sale)
		}
	}
	return m
}

func impactUpdated(t *txn, clock time.Time) time.Time {
	if (t.declined || t.adjusted) && !clock.Before(t.decideAt) {
		return t.decideAt
	}
	return t.postedAt
}

func parseImpactTime(v string, loc *time.Location) (time.Time, bool) {
	v = strings.TrimSpace(v)
	// an unencoded "+" in a query string arrives as a space
	if i := strings.LastIndexByte(v, ' '); i > 10 {
		v = v[:i] + "+" + v[i+1:]
	}
	if t, err := time.Parse(time.RFC3339, v); err == nil {
		return t, true
	}
	for _, layout := range []string{"2006-01-02T15:04:05", "2006-01-02T15:04", "2006-01-02"} {
		if t, err := time.ParseInLocation(layout, v, loc); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

func (s *Server) serveImpact(r *http.Request, rest string) *response {
	parts := strings.Split(strings.Trim(rest, "/"), "/")
	f := impactXMLFmt
	if strings.Contains(r.Header.Get("Accept"), "application/json") {
		f = impactJSON
	}
	if len(parts) == 3 {
		switch parts[2] {
		case "Actions.json":
			f = impactJSON
		case "Actions.xml":
			f = impactXMLFmt
		}
	}
	if len(parts) != 3 || parts[0] != "Mediapartners" ||
		(parts[2] != "Actions" && parts[2] != "Actions.json" && parts[2] != "Actions.xml") {
		return impactError(f, http.StatusNotFound, "Resource not found: "+r.URL.Path)
	}
	if r.Method != http.MethodGet {
		return impactError(f, http.StatusMethodNotAllowed, "Method "+r.Method+" is not allowed for this resource")
	}
	user, pass, ok := r.BasicAuth()
	var acct *account
	for _, a := range s.accounts {
		if ok && a.network == NetworkImpact && a.secrets["account_sid"] == user && a.secrets["auth_token"] == pass {
			acct = a
		}
	}
	if acct == nil {
		return impactError(f, http.StatusUnauthorized, "Invalid Account SID or Auth Token")
	}
	sid := parts[1]
	if sid != acct.id {
		return impactError(f, http.StatusForbidden, "Access denied to account "+sid)
	}
	if wait := s.admit(NetworkImpact, user); wait > 0 {
		resp := impactError(f, http.StatusTooManyRequests, "Too many requests. Rate limit exceeded")
		resp.header = map[string]string{"Retry-After": strconv.Itoa(wait)}
		return resp
	}

	query := r.URL.Query()
	param := func(name string) string {
		for k, v := range query {
			if strings.EqualFold(k, name) && len(v) > 0 {
				return v[0]
			}
		}
		return ""
	}
	clock := s.Clock()
	loc := acct.loc

	type window struct {
		start, end time.Time
		dateOf     func(*txn) time.Time
		byEvent    bool
	}
	var windows []window
	pairs := []struct {
		from, to string
		dateOf   func(*txn) time.Time
	}{
		{"ActionDateStart", "ActionDateEnd", func(t *txn) time.Time { return t.eventAt }},
		{"StartDate", "EndDate", func(t *txn) time.Time { return impactUpdated(t, clock) }},
		{"LockingDateStart", "LockingDateEnd", func(t *txn) time.Time { return t.decideAt }},
	}
	for _, p := range pairs {
		sv, ev := param(p.from), param(p.to)
		if sv == "" && ev == "" {
			continue
		}
		if sv == "" || ev == "" {
			return impactError(f, http.StatusBadRequest, p.from+" and "+p.to+" must be provided together")
		}
		st, ok1 := parseImpactTime(sv, loc)
		en, ok2 := parseImpactTime(ev, loc)
		if !ok1 || !ok2 {
			return impactError(f, http.StatusBadRequest, "Invalid date format for "+p.from+"/"+p.to+"; use ISO 8601")
		}
		if en.Before(st) {
			return impactError(f, http.StatusBadRequest, p.to+" must be after "+p.from)
		}
		if en.Sub(st) > 45*24*time.Hour {
			return impactError(f, http.StatusBadRequest, "The date range between "+p.from+" and "+p.to+" cannot exceed 45 days")
		}
		windows = append(windows, window{st, en, p.dateOf, p.from == "ActionDateStart"})
	}
	if len(windows) == 0 {
		windows = append(windows, window{clock.Add(-7 * 24 * time.Hour), clock, pairs[0].dateOf, true})
	}

	pageSize := 20000
	if v := param("PageSize"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 20000 {
			return impactError(f, http.StatusBadRequest, "PageSize must be a number between 1 and 20000")
		}
		pageSize = n
	}
	page := 1
	if v := param("Page"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return impactError(f, http.StatusBadRequest, "Page must be a positive number")
		}
		page = n
	}
	campaign := param("CampaignId")

	// only event-date windows bound the generated days to scan
	var from, to time.Time
	for _, w := range windows {
		if w.byEvent {
			from, to = w.start, w.end
		}
	}
	var matched []*txn
	for _, t := range s.visible(acct, clock, from, to) {
		okAll := campaign == "" || campaign == strconv.FormatInt(t.adv.id, 10)
		for _, w := range windows {
			d := w.dateOf(t)
			if d.Before(w.start) || !d.Before(w.end) {
				okAll = false
			}
		}
		if okAll {
			matched = append(matched, t)
		}
	}

	pageTx, meta := s.mediapartnersPage("/Mediapartners/"+sid+"/"+parts[2], query, matched, page, pageSize)
	actions := make([]obj, 0, len(pageTx))
	for _, t := range pageTx {
		actions = append(actions, impactRecord(t, acct, clock))
	}
	var body []byte
	ctype := "application/json"
	if f == impactXMLFmt {
		body, ctype = impactXMLBody(meta, actions), "application/xml"
	} else {
		body = encodeJSON(append(meta, kv{"Actions", actions}))
	}
	return &response{status: http.StatusOK, ctype: ctype, body: body, data: true}
}

func impactRecord(t *txn, a *account, clock time.Time) obj {
	fmtT := func(x time.Time) string { return x.In(a.loc).Format(impactLayout) }
	m := impactAmounts(t, clock)
	cleared := ""
	if t.paid(clock) {
		cleared = fmtT(t.paidAt)
	}
	custStatus := ""
	switch t.customer {
	case 1:
		custStatus = "New"
	case 2:
		custStatus = "Returning"
	}
	return obj{
		{"Id", t.id},
		{"CampaignId", strconv.FormatInt(t.adv.id, 10)},
		{"CampaignName", t.adv.name},
		{"ActionTrackerId", strconv.FormatInt(t.adv.trackerID, 10)},
		{"ActionTrackerName", t.adv.trackerName},
		{"EventCode", ""},
		{"State", impactState(t, clock)},
		{"AdId", strconv.FormatInt(t.adID, 10)},
		{"Payout", m.payout.text},
		{"DeltaPayout", m.deltaPayout.text},
		{"IntendedPayout", m.intendedPayout.text},
		{"Amount", m.amount.text},
		{"DeltaAmount", m.deltaAmount.text},
		{"IntendedAmount", m.intendedAmount.text},
		{"Currency", a.currency},
		{"ReferringDate", fmtT(t.clickAt)},
		{"EventDate", fmtT(t.eventAt)},
		{"CreationDate", fmtT(t.postedAt)},
		{"LockingDate", fmtT(t.decideAt)},
		{"ClearedDate", cleared},
		{"ReferringType", t.refType},
		{"ReferringDomain", t.refDomain},
		{"PromoCode", t.promo},
		{"Oid", t.orderRef},
		{"CustomerArea", t.area},
		{"CustomerCity", t.city},
		{"CustomerRegion", t.region},
		{"CustomerCountry", t.country},
		{"CustomerStatus", custStatus},
		{"SubId1", t.subIDs[0]},
		{"SubId2", t.subIDs[1]},
		{"SubId3", t.subIDs[2]},
		{"SharedId", t.sharedID},
		{"Uri", "/Mediapartners/" + a.id + "/Actions/" + t.id},
	}
}

func impactXMLBody(meta obj, actions []obj) []byte {
	var b bytes.Buffer
	b.WriteString(xml.Header)
	b.WriteString("<ImpactRadiusResponse><Actions")
	for _, e := range meta {
		b.WriteString(" " + strings.TrimPrefix(e.k, "@") + `="`)
		_ = xml.EscapeText(&b, []byte(e.v.(string)))
		b.WriteString(`"`)
	}
	b.WriteString(">")
	for _, a := range actions {
		b.WriteString("<Action>")
		for _, e := range a {
			b.WriteString("<" + e.k + ">")
			_ = xml.EscapeText(&b, []byte(e.v.(string)))
			b.WriteString("</" + e.k + ">")
		}
		b.WriteString("</Action>")
	}
	b.WriteString("</Actions></ImpactRadiusResponse>")
	return b.Bytes()
}

// mediapartnersPage returns page (from 1) of matched, pages of size, and
// the page envelope Impact's platform puts before the records: the
// counts, and the URIs of base with the query's Page replaced.
func (s *Server) mediapartnersPage(base string, query url.Values, matched []*txn, page, size int) ([]*txn, obj) {
	total := len(matched)
	numPages := pages(total, size)
	start := (page - 1) * size
	pageTx := window(matched, start, size)
	uriFor := func(p int) string {
		v := url.Values{}
		for k, vals := range query {
			if !strings.EqualFold(k, "Page") {
				v[k] = vals
			}
		}
		v.Set("Page", strconv.Itoa(p))
		return base + "?" + v.Encode()
	}
	prev, next := "", ""
	if page > 1 {
		prev = uriFor(min(page-1, numPages))
	}
	if page < numPages {
		next = uriFor(page + 1)
	}
	if s.repeatCursor() {
		next = uriFor(2)
	}
	return pageTx, obj{
		{"@page", strconv.Itoa(page)},
		{"@numpages", strconv.Itoa(numPages)},
		{"@pagesize", strconv.Itoa(size)},
		{"@total", strconv.Itoa(total)},
		{"@start", strconv.Itoa(start)},
		{"@end", strconv.Itoa(start + len(pageTx) - 1)},
		{"@uri", uriFor(page)},
		{"@firstpageuri", uriFor(1)},
		{"@previouspageuri", prev},
		{"@nextpageuri", next},
		{"@lastpageuri", uriFor(numPages)},
	}
}
