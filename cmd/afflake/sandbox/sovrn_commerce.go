package sandbox

import (
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Sovrn Commerce (VigLink) real-time reports, transactions:
//
//	GET /sovrn_commerce/reports/transactions
//
// The prefix stands for the published server https://viglink.io/v1; the
// path is also answered under /sovrn_commerce/v1/.
//
// The site's secret key is sent as Authorization: secret <KEY>. Exactly one
// of clickDate, commissionDate or updateDate (yyyy-mm-dd, a UTC day) selects
// the day: one day per request, no pagination. The real API allows one
// request per 60 seconds per key; the sandbox keeps its fast default (set
// Options.RateLimit to 1.0/60 for the real pace). The answer is
// {"transactions": [...]}; dates are ISO-8601 UTC with a Z, amounts JSON
// numbers in USD (publisherRevenue is the publisher's share, four
// decimals). Records carry no status: a reversed commission stays with
// publisherRevenue 0 and a new updateDate; a partial return lowers the
// amounts in place. Errors are {"timestamp", "status", "error", "message"}.
//
// Not found in Sovrn's published material, chosen here: the host (taken
// from the published definition's server), the date format of the records,
// the currency (USD), reversals kept with zero revenue, and the error body.

const sovrnLayout = "2006-01-02T15:04:05Z"

func sovrnEmulation() *emulation {
	return &emulation{
		name:     NetworkSovrnCommerce,
		accounts: sovrnAccounts,
		serve:    (*Server).serveSovrn,
		amounts:  sovrnGen,
		ids:      sequentialIDs,
		extra: func(r *rng, t *txn) {
			drawFlavor(r, t)
			splitLines(r, t, "")
		},
		truth: func(_ *Server, a *account, t *txn, clock time.Time) []Truth {
			sale, rev := sovrnAmounts(t, clock)
			return []Truth{{ID: t.id, Sale: floatText(sale), Commission: floatText(rev), Currency: a.currency, TransactionAt: t.eventAt}}
		},
	}
}

// sovrnGen: the publisher's share of a commission, four decimals.
func sovrnGen(r *rng, t *txn, saleCents int64, k int) {
	if k < 4 || saleCents == 0 {
		floatAmounts(r, t, saleCents, k)
		return
	}
	t.sale = mkAmount(saleCents, 2)
	t.comm = mkAmount(rescale(saleCents, 2, 4, t.adv.rateBP*75, 1000000), 4)
}

func sovrnAmounts(t *txn, clock time.Time) (amount, amount) {
	sale, rev := t.currentAmounts(clock)
	if t.phase(clock) == phaseDeclined {
		rev = mkAmount(0, 0)
	}
	return sale, rev
}

func sovrnAccounts() []*account {
	return []*account{
		{
			network: NetworkSovrnCommerce, id: "1582207", currency: "USD", idBase: 7700000000,
			secrets: map[string]string{"secret_key": "sk_5d2e8a1f7b4c9e3a6d0f2b8c1e7a4d9f"},
			advertisers: []advertiser{
				{id: 2008371, name: "Target", rateBP: 500, domain: "target.com"},
				{id: 2012459, name: "Wayfair", rateBP: 700, domain: "wayfair.com"},
				{id: 2011002, name: "Crate & Barrel", rateBP: 600, domain: "crateandbarrel.com"},
			},
			sites:     []site{{id: "1582207", name: "Home Décor Blog", url: "https://homedecor.example.com/"}},
			countries: []string{"US", "US", "US", "CA", "GB"},
		},
		{
			network: NetworkSovrnCommerce, id: "1602934", currency: "USD", idBase: 7800000000,
			secrets: map[string]string{"secret_key": "sk_9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d"},
			advertisers: []advertiser{
				{id: 2020118, name: "REI Co-op", rateBP: 500, domain: "rei.com"},
				{id: 2020777, name: "Backcountry", rateBP: 800, domain: "backcountry.com"},
			},
			sites:     []site{{id: "1602934", name: "Trail Notes", url: "https://trailnotes.example.org/"}},
			countries: []string{"US", "US", "CA"},
		},
	}
}

func (s *Server) sovrnError(status int, msg string) *response {
	return jsonResp(status, obj{
		{"timestamp", s.Clock().Format("2006-01-02T15:04:05.000Z")},
		{"status", status},
		{"error", http.StatusText(status)},
		{"message", msg},
	})
}

func (s *Server) serveSovrn(r *http.Request, rest string) *response {
	if p := strings.TrimSuffix(rest, "/"); p != "/reports/transactions" && p != "/v1/reports/transactions" {
		return s.sovrnError(http.StatusNotFound, "No endpoint "+r.URL.Path)
	}
	if r.Method != http.MethodGet {
		return s.sovrnError(http.StatusMethodNotAllowed, "Request method '"+r.Method+"' not supported")
	}
	h := r.Header.Get("Authorization")
	key := ""
	if len(h) > 7 && strings.EqualFold(h[:7], "secret ") {
		key = strings.TrimSpace(h[7:])
	}
	var a *account
	for _, x := range s.accountsOf(NetworkSovrnCommerce) {
		if key != "" && x.secrets["secret_key"] == key {
			a = x
		}
	}
	if a == nil {
		return s.sovrnError(http.StatusUnauthorized, "Authorization information is missing or invalid: expected 'Authorization: secret <SECRET_KEY>'")
	}
	if resp := s.throttle(NetworkSovrnCommerce, key, func() *response {
		return s.sovrnError(http.StatusTooManyRequests, "Rate limit exceeded: 1 request per 60 seconds")
	}); resp != nil {
		return resp
	}
	q := r.URL.Query()
	clock := s.Clock()
	var name, val string
	for _, n := range []string{"clickDate", "commissionDate", "updateDate"} {
		if v := q.Get(n); v != "" {
			if name != "" {
				return s.sovrnError(http.StatusBadRequest, "Only one of clickDate, commissionDate or updateDate may be given: one day per request")
			}
			name, val = n, v
		}
	}
	if name == "" {
		return s.sovrnError(http.StatusBadRequest, "One of clickDate, commissionDate or updateDate is required")
	}
	if len(q[name]) > 1 {
		return s.sovrnError(http.StatusBadRequest, name+" takes a single day: one day per request")
	}
	day, err := time.ParseInLocation("2006-01-02", val, time.UTC)
	if err != nil {
		return s.sovrnError(http.StatusBadRequest, "Invalid "+name+" '"+val+"': expected yyyy-mm-dd")
	}
	next := day.AddDate(0, 0, 1)
	var dateOf func(*txn) time.Time
	var from, to time.Time
	switch name {
	case "clickDate":
		dateOf = func(t *txn) time.Time { return t.clickAt }
		from, to = day, next.AddDate(0, 0, 15) // clicks lead purchases by at most 14 days
	case "commissionDate":
		dateOf, from, to = func(t *txn) time.Time { return t.eventAt }, day, next
	default:
		dateOf = func(t *txn) time.Time { return t.changedAt(clock, false) }
	}
	recs := []any{}
	for _, t := range s.visible(a, clock, from, to) {
		if inWindow(dateOf(t), day, next) {
			recs = append(recs, sovrnRecord(t, a, clock))
		}
	}
	return data("application/json", encodeJSON(obj{{"transactions", recs}}))
}

func sovrnRecord(t *txn, a *account, clock time.Time) obj {
	f := func(x time.Time) string { return x.UTC().Format(sovrnLayout) }
	sale, rev := sovrnAmounts(t, clock)
	var cuid any
	if len(t.clickRefs) > 0 {
		cuid = t.clickRefs[0]
	}
	dev := "DSK"
	switch cjDevice(t.clickDevice) {
	case "MOBILE":
		dev = "MBL"
	case "TABLET":
		dev = "TBL"
	}
	merch := []any{}
	for i := range t.lines {
		l := &t.lines[i]
		merch = append(merch, obj{{"productId", l.sku}, {"productName", l.name}, {"price", rawNum(floatText(l.sale))}, {"quantity", l.qty}})
	}
	accountID, _ := strconv.ParseInt(a.id, 10, 64)
	utm := obj{{"utmSource", "newsletter"}, {"utmMedium", "email"}, {"utmCampaign", nil}, {"utmTerm", nil}, {"utmContent", nil}}
	if t.flavor >= 30 {
		utm = obj{{"utmSource", nil}, {"utmMedium", nil}, {"utmCampaign", nil}, {"utmTerm", nil}, {"utmContent", nil}}
	}
	return obj{
		{"revenueId", t.num},
		{"clickSid", hexID(a.id, "click", t.id)},
		{"accountId", accountID},
		{"commissionId", "C" + t.id},
		{"merchantGroupId", t.adv.id},
		{"merchantGroupName", t.adv.name},
		{"campaignId", accountID},
		{"campaignName", t.site.name},
		{"clickDate", f(t.clickAt)},
		{"commissionDate", f(t.eventAt)},
		{"updateDate", f(t.changedAt(clock, false))},
		{"publisherRevenue", rawNum(floatText(rev))},
		{"orderValue", rawNum(floatText(sale))},
		{"cuid", cuid},
		{"linkUtmInfo", utm},
		{"pageUtmInfo", utm},
		{"destinationUrl", "https://www." + t.adv.domain + "/p/" + strconv.FormatInt(t.adID, 10)},
		{"pageUrl", t.publisherURL},
		{"affProduct", "TXT"},
		{"affProductSubType", nil},
		{"programType", "CPA"},
		{"networkName", "Impact"},
		{"country", t.country},
		{"deviceType", dev},
		{"merchandise", merch},
	}
}
