package sandbox

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Adtraction partner API:
//
//	POST /adtraction/v2/affiliate/transactions?token=<key>
//
// The API key is the token query parameter. The JSON body carries fromDate
// and toDate (ISO-8601 with an offset, e.g. 2026-10-01T00:00:00+0200; start
// inclusive, end exclusive), optionally transactionStatus (1, 2, 4 or 5; 0
// or absent for all) and programId. The whole window comes back as one
// top-level array (no pagination). Dates are ISO-8601 with a +hhmm offset in
// Stockholm time, amounts JSON numbers in the record's currency;
// transactionStatus is 1 (approved), 2 (pending), 4 (pending with an open
// claim) or 5 (rejected). Errors are {"status": ..., "message": ...}.
//
// Not found in Adtraction's published material, chosen here: the end date
// being exclusive, the error body, the record fields beyond those public
// clients read, and no maximum date range.

const adtractionLayout = "2006-01-02T15:04:05-0700"

var adtractionZone = mustLoad("Europe/Stockholm")

func adtractionEmulation() *emulation {
	return &emulation{
		name:     NetworkAdtraction,
		accounts: adtractionAccounts,
		serve:    (*Server).serveAdtraction,
		amounts:  floatAmounts,
		ids:      sequentialIDs,
		extra:    drawFlavor,
		truth: func(_ *Server, _ *account, t *txn, clock time.Time) []Truth {
			sale, comm := t.currentAmounts(clock)
			return []Truth{{ID: t.id, Status: strconv.Itoa(adtractionStatus(t, clock)), Sale: floatText(sale), Commission: floatText(comm),
				Currency: t.adv.currency, TransactionAt: t.eventAt}}
		},
	}
}

func adtractionAccounts() []*account {
	return []*account{
		{
			network: NetworkAdtraction, id: "1062345", currency: "SEK", idBase: 3300000000,
			secrets: map[string]string{"token": "ADT4f8e2c9b1a7d3e6f0c5b8a2d9e4f1c7b"},
			advertisers: []advertiser{
				{id: 1104891, name: "Lyko", currency: "SEK", rateBP: 800},
				{id: 1187720, name: "Nordic Nest", currency: "EUR", rateBP: 600},
				{id: 1201188, name: "Skånska Fönster", currency: "SEK", rateBP: 0, actionType: "lead"},
			},
			sites:     []site{{id: "1473201", name: "Rabattkoder.se"}},
			countries: []string{"SE", "SE", "NO", "DK", "FI"},
		},
		{
			network: NetworkAdtraction, id: "1099871", currency: "NOK", idBase: 3400000000,
			secrets: map[string]string{"token": "ADT0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e"},
			advertisers: []advertiser{
				{id: 1150023, name: "Komplett.no", currency: "NOK", rateBP: 300},
				{id: 1150077, name: "Ærlig Kaffe", currency: "NOK", rateBP: 1200},
			},
			sites:     []site{{id: "1500442", name: "Tilbudsjakt"}},
			countries: []string{"NO", "NO", "SE"},
		},
	}
}

func adtractionStatus(t *txn, clock time.Time) int {
	switch t.phase(clock) {
	case phaseApproved:
		return 1
	case phaseDeclined:
		return 5
	}
	if t.flavor < 6 {
		return 4
	}
	return 2
}

func adtractionError(status int, msg string) *response {
	return jsonResp(status, obj{{"status", status}, {"message", msg}})
}

func parseAdtractionTime(v string) (time.Time, bool) {
	for _, layout := range []string{adtractionLayout, time.RFC3339, "2006-01-02T15:04:05.000-0700"} {
		if t, err := time.Parse(layout, v); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

func (s *Server) serveAdtraction(r *http.Request, rest string) *response {
	if strings.TrimSuffix(rest, "/") != "/v2/affiliate/transactions" {
		return adtractionError(http.StatusNotFound, "Not Found")
	}
	if r.Method != http.MethodPost {
		return adtractionError(http.StatusMethodNotAllowed, "Method Not Allowed")
	}
	key := r.URL.Query().Get("token")
	var a *account
	for _, x := range s.accountsOf(NetworkAdtraction) {
		if key != "" && x.secrets["token"] == key {
			a = x
		}
	}
	if a == nil {
		return adtractionError(http.StatusUnauthorized, "Invalid or missing token")
	}
	if resp := s.throttle(NetworkAdtraction, key, func() *response {
		return adtractionError(http.StatusTooManyRequests, "Too many requests")
	}); resp != nil {
		return resp
	}
	var body struct {
		FromDate          string      `json:"fromDate"`
		ToDate            string      `json:"toDate"`
		TransactionStatus json.Number `json:"transactionStatus"`
		ProgramID         json.Number `json:"programId"`
	}
	if err := readJSON(r, &body); err != nil {
		return adtractionError(http.StatusBadRequest, "Malformed JSON request body")
	}
	if body.FromDate == "" || body.ToDate == "" {
		return adtractionError(http.StatusBadRequest, "fromDate and toDate are required")
	}
	from, ok1 := parseAdtractionTime(body.FromDate)
	to, ok2 := parseAdtractionTime(body.ToDate)
	if !ok1 || !ok2 {
		return adtractionError(http.StatusBadRequest, "fromDate and toDate must be ISO 8601 with an offset, e.g. 2026-10-01T00:00:00+0200")
	}
	if to.Before(from) {
		return adtractionError(http.StatusBadRequest, "toDate must not be before fromDate")
	}
	status := 0
	if body.TransactionStatus != "" {
		n, err := body.TransactionStatus.Int64()
		if err != nil || (n != 0 && n != 1 && n != 2 && n != 4 && n != 5) {
			return adtractionError(http.StatusBadRequest, "transactionStatus must be 1, 2, 4 or 5")
		}
		status = int(n)
	}
	var program int64
	if body.ProgramID != "" {
		n, err := body.ProgramID.Int64()
		if err != nil {
			return adtractionError(http.StatusBadRequest, "programId must be a number")
		}
		program = n
	}
	clock := s.Clock()
	recs := []any{}
	for _, t := range s.visible(a, clock, from, to) {
		if !inWindow(t.eventAt, from, to) || (status != 0 && adtractionStatus(t, clock) != status) || (program != 0 && t.adv.id != program) {
			continue
		}
		recs = append(recs, adtractionRecord(t, a, clock))
	}
	return data("application/json", encodeJSON(recs))
}

func adtractionRecord(t *txn, a *account, clock time.Time) obj {
	f := func(x time.Time) string { return x.In(adtractionZone).Format(adtractionLayout) }
	sale, comm := t.currentAmounts(clock)
	var epi any
	if len(t.clickRefs) > 0 {
		epi = t.clickRefs[0]
	}
	typ, name := 3, "Sale"
	if t.adv.actionType == "lead" {
		typ, name = 1, "Lead"
	}
	channelID, _ := strconv.ParseInt(t.site.id, 10, 64)
	rec := obj{
		{"uniqueId", t.num},
		{"programId", t.adv.id},
		{"programName", t.adv.name},
		{"channelId", channelID},
		{"channelName", t.site.name},
		{"transactionType", typ},
		{"commissionName", name},
		{"orderId", orderRefOr(t, "")},
		{"transactionDate", f(t.eventAt)},
		{"lastUpdated", f(t.changedAt(clock, false))},
		{"transactionStatus", adtractionStatus(t, clock)},
		{"orderValue", rawNum(floatText(sale))},
		{"commission", rawNum(floatText(comm))},
		{"currency", t.adv.currency},
		{"click", obj{
			{"clickDate", f(t.clickAt)},
			{"epi", epi},
			{"programId", t.adv.id},
			{"channelId", channelID},
		}},
	}
	if t.phase(clock) == phaseDeclined {
		rec = append(rec, kv{"rejectReason", t.declineReason})
	}
	return rec
}
