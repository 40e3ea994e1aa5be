package sandbox

import (
	"net/http"
	"strconv"
	"strings"
	"time"
)

// eBay Partner Network transaction detail report (Impact platform):
//
//	GET /ebay_partner_network/Mediapartners/{AccountSID}/Reports/ebay_partner_transaction_detail.json
//
// HTTP Basic auth AccountSID:AuthToken. START_DATE and END_DATE are
// yyyy-mm-dd, inclusive days in America/Denver time; date_type=event_date
// (default) or update_date selects the date they filter; STATUS=ALL,
// APPROVED, PENDING or REVERSED. Pages are PageSize records (default and
// maximum 20000), Page from 1; the envelope carries every number as a
// string and @nextpageuri relative to the API root, empty on the last page.
// Records are Records[], every value a string: dates "YYYY-MM-DD HH:MM:SS"
// in America/Denver time without an offset, amounts with two decimals in
// the account's currency. Status is Approved, Pending or Reversed; a
// reversed transaction keeps its row with Sales and Earnings 0 and the
// change in DeltaSales/DeltaEarnings, as does a partial return. Errors are
// {"Status": "ERROR", "Message": ...}.
//
// Not found in eBay's published material, chosen here: the page size
// limits, no maximum date range (none is documented), and the in-place
// reversal (Impact's model for actions).

const (
	epnLayout = "2006-01-02 15:04:05"
	epnReport = "ebay_partner_transaction_detail.json"
)

var epnZone = mustLoad("America/Denver")

func epnEmulation() *emulation {
	return &emulation{
		name:     NetworkEbayPartnerNetwork,
		accounts: epnAccounts,
		serve:    (*Server).serveEPN,
		amounts:  decimalAmounts(2),
		ids:      sequentialIDs,
		extra:    drawFlavor,
		truth: func(_ *Server, a *account, t *txn, clock time.Time) []Truth {
			m := impactAmounts(t, clock)
			return []Truth{{ID: t.id, Status: epnStatus(t, clock), Sale: m.amount.text, Commission: m.payout.text,
				Currency: a.currency, TransactionAt: t.eventAt}}
		},
	}
}

func epnAccounts() []*account {
	return []*account{
		{
			network: NetworkEbayPartnerNetwork, id: "IRe4Kt9Wm2Qx7Zc5Vb8Nl1Hg3Jf6Ds0PyA", currency: "USD", idBase: 5300000000,
			secrets: map[string]string{"account_sid": "IRe4Kt9Wm2Qx7Zc5Vb8Nl1Hg3Jf6Ds0PyA", "auth_token": "eP9xL2mQ7vR4tK8wZ1nB5hF3jD6sG0aY"},
			advertisers: []advertiser{
				{id: 5338380555, name: "EBAY-US", rateBP: 300, trackerID: 0, domain: "ebay.com"},
				{id: 5338380556, name: "EBAY-MOTOR", rateBP: 250, trackerID: 100, domain: "ebay.com/motors"},
			},
			sites:     []site{{id: "5338380555", name: "Collectibles Blog"}},
			countries: []string{"US", "US", "US", "CA"},
		},
		{
			network: NetworkEbayPartnerNetwork, id: "IRg7Ps1Xn4Bv8Lq2Mk6Rt9Wz3Yc5Hd0JeF", currency: "GBP", idBase: 5700000000,
			secrets: map[string]string{"account_sid": "IRg7Ps1Xn4Bv8Lq2Mk6Rt9Wz3Yc5Hd0JeF", "auth_token": "uK3cV8nM1qW6eR9tY2iO5pA7sD4fG0hJ"},
			advertisers: []advertiser{
				{id: 5338403211, name: "EBAY-GB", rateBP: 350, trackerID: 3, domain: "ebay.co.uk"},
				{id: 5338403212, name: "EBAY-DE", rateBP: 300, trackerID: 77, domain: "ebay.de"},
			},
			sites:     []site{{id: "5338403211", name: "Vintage Finds UK"}},
			countries: []string{"GB", "GB", "DE", "IE"},
		},
	}
}

func epnStatus(t *txn, clock time.Time) string {
	switch t.phase(clock) {
	case phaseApproved:
		return "Approved"
	case phaseDeclined:
		return "Reversed"
	}
	return "Pending"
}

func epnError(status int, msg string) *response {
	return jsonResp(status, obj{{"Status", "ERROR"}, {"Message", msg}})
}

func (s *Server) serveEPN(r *http.Request, rest string) *response {
	parts := strings.Split(strings.Trim(rest, "/"), "/")
	if len(parts) != 4 || parts[0] != "Mediapartners" || parts[2] != "Reports" {
		return epnError(http.StatusNotFound, "Resource not found: "+r.URL.Path)
	}
	if r.Method != http.MethodGet {
		return epnError(http.StatusMethodNotAllowed, "Method "+r.Method+" is not allowed for this resource")
	}
	user, pass, ok := r.BasicAuth()
	var a *account
	for _, x := range s.accountsOf(NetworkEbayPartnerNetwork) {
		if ok && x.secrets["account_sid"] == user && x.secrets["auth_token"] == pass {
			a = x
		}
	}
	if a == nil {
		return epnError(http.StatusUnauthorized, "Invalid Account SID or Auth Token")
	}
	if parts[1] != a.id {
		return epnError(http.StatusForbidden, "Access denied to account "+parts[1])
	}
	if parts[3] != epnReport {
		return epnError(http.StatusNotFound, "Report "+strings.TrimSuffix(parts[3], ".json")+" not found")
	}
	if resp := s.throttle(NetworkEbayPartnerNetwork, user, func() *response {
		return epnError(http.StatusTooManyRequests, "Too many requests. Rate limit exceeded")
	}); resp != nil {
		return resp
	}
	q := r.URL.Query()
	param := func(name string) string {
		for k, v := range q {
			if strings.EqualFold(k, name) && len(v) > 0 {
				return v[0]
			}
		}
		return ""
	}
	sd, ed := param("START_DATE"), param("END_DATE")
	if sd == "" || ed == "" {
		return epnError(http.StatusBadRequest, "START_DATE and END_DATE are required")
	}
	start, err1 := time.ParseInLocation("2006-01-02", sd, epnZone)
	last, err2 := time.ParseInLocation("2006-01-02", ed, epnZone)
	if err1 != nil || err2 != nil {
		return epnError(http.StatusBadRequest, "Invalid date: START_DATE and END_DATE must be yyyy-mm-dd")
	}
	if last.Before(start) {
		return epnError(http.StatusBadRequest, "END_DATE must not be before START_DATE")
	}
	end := last.AddDate(0, 0, 1)
	clock := s.Clock()
	var dateOf func(*txn) time.Time
	var from, to time.Time
	switch dt := param("date_type"); dt {
	case "", "event_date":
		dateOf, from, to = func(t *txn) time.Time { return t.eventAt }, start, end
	case "update_date":
		dateOf = func(t *txn) time.Time { return t.changedAt(clock, false) }
	default:
		return epnError(http.StatusBadRequest, "Invalid date_type '"+dt+"': use event_date or update_date")
	}
	status := strings.ToUpper(param("STATUS"))
	switch status {
	case "", "ALL", "APPROVED", "PENDING", "REVERSED":
	default:
		return epnError(http.StatusBadRequest, "Invalid STATUS '"+param("STATUS")+"'")
	}
	size := 20000
	if v := param("PageSize"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 20000 {
			return epnError(http.StatusBadRequest, "PageSize must be a number between 1 and 20000")
		}
		size = n
	}
	page := 1
	if v := param("Page"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return epnError(http.StatusBadRequest, "Page must be a positive number")
		}
		page = n
	}
	var matched []*txn
	for _, t := range s.visible(a, clock, from, to) {
		if !inWindow(dateOf(t), start, end) {
			continue
		}
		if status != "" && status != "ALL" && strings.ToUpper(epnStatus(t, clock)) != status {
			continue
		}
		matched = append(matched, t)
	}
	pageTx, body := s.mediapartnersPage("/Mediapartners/"+a.id+"/Reports/"+epnReport, q, matched, page, size)
	recs := make([]obj, 0, len(pageTx))
	for _, t := range pageTx {
		recs = append(recs, epnRecord(t, a, clock))
	}
	body = append(body, obj{
		{"Name", "eBay Partner Transaction Detail"},
		{"Records", recs},
	}...)
	return data("application/json", encodeJSON(body))
}

func epnRecord(t *txn, a *account, clock time.Time) obj {
	f := func(x time.Time) string { return x.In(epnZone).Format(epnLayout) }
	m := impactAmounts(t, clock)
	custom := ""
	if len(t.clickRefs) > 0 {
		custom = t.clickRefs[0]
	}
	qty := "1"
	if t.flavor < 10 {
		qty = "2"
	}
	return obj{
		{"EpnTransactionId", t.id},
		{"EbayCheckoutTransactionId", strconv.FormatInt(2000000000000+t.num%1000000000000, 10)},
		{"ClickTimestamp", f(t.clickAt)},
		{"EventDate", f(t.eventAt)},
		{"UpdateDate", f(t.changedAt(clock, false))},
		{"Status", epnStatus(t, clock)},
		{"CampaignId", strconv.FormatInt(t.adv.id, 10)},
		{"CampaignName", t.site.name},
		{"ToolId", "10001"},
		{"CustomId", custom},
		{"CheckoutSite", t.adv.name},
		{"TrafficType", "Classic"},
		{"ItemId", strconv.FormatInt(100000000000+t.adID, 10)},
		{"ItemName", t.adv.name + " listing " + strconv.FormatInt(t.adID, 10)},
		{"Quantity", qty},
		{"MetaCategoryName", "Collectibles & Art"},
		{"Sales", m.amount.text},
		{"DeltaSales", m.deltaAmount.text},
		{"Earnings", m.payout.text},
		{"DeltaEarnings", m.deltaPayout.text},
		{"TransactionType", "Winning Bid (Revenue)"},
	}
}
