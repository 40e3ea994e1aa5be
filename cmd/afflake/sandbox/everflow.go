package sandbox

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Everflow affiliate API, conversions report:
//
//	POST /everflow/v1/affiliates/reporting/conversions?page=N&page_size=M
//
// The API key is the X-Eflow-API-Key header. The JSON body carries from and
// to ("YYYY-MM-DD", whole days, or "YYYY-MM-DD HH:MM:SS") read in the time
// zone timezone_id names, at most 365 days back from now. page (from 1) and
// page_size (default 50, at most 2000) are query parameters. The answer is
// {"conversions": [...], "paging": {"page", "page_size", "total_count"}};
// timestamps are Unix seconds (conversion_unix_timestamp,
// click_unix_timestamp), amounts JSON numbers (revenue is the affiliate's
// earning, in currency_id), country a full country name. Errors are
// {"Error": ...}.
//
// Everflow's affiliate responses carry no status field (a captured
// response has none; the reference pages disagree), so none is sent here:
// conversions the network rejects disappear from the affiliate report, and
// an amended sale changes revenue and sale_amount in place. Also chosen
// here: the error body, the default page size, and the time zone ids
// (timezone_id 67 is America/New_York, 80 Europe/London, 90 UTC; absent is
// UTC).

var everflowZones = map[int]string{67: "America/New_York", 80: "Europe/London", 90: "UTC"}

func everflowEmulation() *emulation {
	return &emulation{
		name:     NetworkEverflow,
		accounts: everflowAccounts,
		serve:    (*Server).serveEverflow,
		amounts:  everflowGen,
		ids: func(t *txn, day int64, i int) {
			t.num = day*1000 + int64(i)
			t.id = hexID(t.acct.id, "conversion", strconv.FormatInt(t.num, 10))
		},
		extra: drawFlavor,
		truth: func(_ *Server, _ *account, t *txn, clock time.Time) []Truth {
			if t.phase(clock) == phaseDeclined {
				return nil
			}
			sale, comm := t.currentAmounts(clock)
			return []Truth{{ID: t.id, Sale: floatText(sale), Commission: floatText(comm),
				Currency: t.adv.currency, TransactionAt: t.eventAt}}
		},
	}
}

// everflowGen: revenue with three decimals (CPS percentages of a price).
func everflowGen(r *rng, t *txn, saleCents int64, k int) {
	if k < 4 || saleCents == 0 {
		floatAmounts(r, t, saleCents, k)
		return
	}
	t.sale = mkAmount(saleCents, 2)
	t.comm = mkAmount(rescale(saleCents, 2, 3, t.adv.rateBP, 10000), 3)
}

func everflowAccounts() []*account {
	return []*account{
		{
			network: NetworkEverflow, id: "7", currency: "USD",
			secrets: map[string]string{"api_key": "ef_Xk2Lp9Qz4Mv7Rn1Tb8Wc"},
			advertisers: []advertiser{
				{id: 1, groupID: 2069, name: "PhenGold", currency: "USD", rateBP: 4000, domain: "phengold.example.com"},
				{id: 2, groupID: 2069, name: "PrimeShred", currency: "USD", rateBP: 4000, domain: "primeshred.example.com"},
				{id: 5, groupID: 2069, name: "Café Crème Club", currency: "USD", rateBP: 2500, domain: "cafecreme.example.com"},
			},
			sites:     []site{{id: "7", name: "Health Reviews"}},
			countries: []string{"US", "US", "US", "CA", "GB"},
		},
		{
			network: NetworkEverflow, id: "112", currency: "EUR",
			secrets: map[string]string{"api_key": "ef_Hd6Fs3Jq0Yw5Ke8Gu2Ni"},
			advertisers: []advertiser{
				{id: 14, groupID: 3310, name: "Zahnbürste Pro", currency: "EUR", rateBP: 3000, domain: "zahnbuerste.example.de"},
				{id: 21, groupID: 3310, name: "Lead Finance NL", currency: "EUR", rateBP: 0, actionType: "lead", domain: "leadfinance.example.nl"},
			},
			sites:     []site{{id: "112", name: "Vergleich Portal"}},
			countries: []string{"DE", "DE", "AT", "NL", "BR"},
		},
	}
}

var countryNames = map[string]string{
	"US": "United States", "CA": "Canada", "GB": "United Kingdom", "DE": "Germany", "AT": "Austria",
	"NL": "Netherlands", "BR": "Brazil", "AU": "Australia", "NZ": "New Zealand", "FR": "France",
}

func everflowError(status int, msg string) *response {
	return jsonResp(status, obj{{"Error", msg}})
}

func (s *Server) serveEverflow(r *http.Request, rest string) *response {
	if strings.TrimSuffix(rest, "/") != "/v1/affiliates/reporting/conversions" {
		return everflowError(http.StatusNotFound, "Not Found")
	}
	if r.Method != http.MethodPost {
		return everflowError(http.StatusMethodNotAllowed, "Method Not Allowed")
	}
	key := r.Header.Get("X-Eflow-API-Key")
	var a *account
	for _, x := range s.accountsOf(NetworkEverflow) {
		if key != "" && x.secrets["api_key"] == key {
			a = x
		}
	}
	if a == nil {
		return everflowError(http.StatusUnauthorized, "Unauthorized: invalid or missing X-Eflow-API-Key")
	}
	if resp := s.throttle(NetworkEverflow, key, func() *response {
		return everflowError(http.StatusTooManyRequests, "Too Many Requests: rate limit of 30 requests per second exceeded")
	}); resp != nil {
		return resp
	}
	var body struct {
		From       string      `json:"from"`
		To         string      `json:"to"`
		TimezoneID json.Number `json:"timezone_id"`
	}
	if err := readJSON(r, &body); err != nil {
		return everflowError(http.StatusBadRequest, "Invalid JSON body")
	}
	zone := "UTC"
	if body.TimezoneID != "" {
		id, err := body.TimezoneID.Int64()
		z, ok := everflowZones[int(id)]
		if err != nil || !ok {
			return everflowError(http.StatusBadRequest, "Invalid timezone_id "+body.TimezoneID.String())
		}
		zone = z
	}
	loc := mustLoad(zone)
	parse := func(v string, end bool) (time.Time, bool) {
		if t, err := time.ParseInLocation("2006-01-02 15:04:05", v, loc); err == nil {
			return t, true
		}
		t, err := time.ParseInLocation("2006-01-02", v, loc)
		if err != nil {
			return time.Time{}, false
		}
		if end {
			t = t.AddDate(0, 0, 1)
		}
		return t, true
	}
	if body.From == "" || body.To == "" {
		return everflowError(http.StatusBadRequest, "from and to are required")
	}
	from, ok1 := parse(body.From, false)
	to, ok2 := parse(body.To, true)
	if !ok1 || !ok2 {
		return everflowError(http.StatusBadRequest, "Invalid date format: use YYYY-MM-DD or YYYY-MM-DD HH:MM:SS")
	}
	if to.Before(from) {
		return everflowError(http.StatusBadRequest, "to must not be before from")
	}
	clock := s.Clock()
	if from.Before(clock.AddDate(0, 0, -365)) {
		return everflowError(http.StatusBadRequest, "Invalid date range: from is limited to the prior 365 days")
	}
	q := r.URL.Query()
	page, ok := intParam(q, "page", 1, 1, 1<<30)
	if !ok {
		return everflowError(http.StatusBadRequest, "Invalid page")
	}
	size, ok := intParam(q, "page_size", 50, 1, 2000)
	if !ok {
		return everflowError(http.StatusBadRequest, "Invalid page_size: must be between 1 and 2000")
	}
	var matched []*txn
	for _, t := range s.visible(a, clock, from, to) {
		if inWindow(t.eventAt, from, to) && t.phase(clock) != phaseDeclined {
			matched = append(matched, t)
		}
	}
	if s.repeatCursor() {
		page = 1
	}
	convs := []any{}
	for _, t := range window(matched, (page-1)*size, size) {
		convs = append(convs, everflowRecord(t, a, clock))
	}
	return data("application/json", encodeJSON(obj{
		{"conversions", convs},
		{"paging", obj{{"page", page}, {"page_size", size}, {"total_count", len(matched)}}},
	}))
}

func everflowRecord(t *txn, a *account, clock time.Time) obj {
	sale, comm := t.currentAmounts(clock)
	sub := func(i int) string {
		if i < len(t.clickRefs) {
			return t.clickRefs[i]
		}
		return ""
	}
	platform, devType, brand, osv := "Windows", "Desktop", "Microsoft", "10"
	switch t.txDevice {
	case "iPhone":
		platform, devType, brand, osv = "iOS", "Mobile", "Apple", "17.4"
	case "iPad":
		platform, devType, brand, osv = "iOS", "Tablet", "Apple", "17.4"
	case "Android Mobile":
		platform, devType, brand, osv = "Android", "Mobile", "Samsung", "14"
	case "Macintosh":
		platform, devType, brand, osv = "Mac OS X", "Desktop", "Apple", "14.4"
	case "Linux":
		platform, devType, brand, osv = "Linux", "Desktop", "", ""
	}
	revType, event := "CPS", "Purchase"
	if t.adv.actionType == "lead" {
		revType, event = "CPA", "Base"
	}
	country := countryNames[t.country]
	if country == "" {
		country = t.country
	}
	ip := "203.0.113." + strconv.FormatInt(t.num%250+1, 10)
	return obj{
		{"conversion_id", t.id},
		{"conversion_unix_timestamp", t.eventAt.Unix()},
		{"sub1", sub(0)},
		{"sub2", sub(1)},
		{"sub3", sub(2)},
		{"sub4", ""},
		{"sub5", t.publisherURL},
		{"source_id", ""},
		{"revenue_type", revType},
		{"revenue", rawNum(floatText(comm))},
		{"session_user_ip", ip},
		{"conversion_user_ip", ip},
		{"country", country},
		{"region", t.region},
		{"city", t.city},
		{"dma", 500 + t.num%300},
		{"carrier", ""},
		{"platform", platform},
		{"os_version", osv},
		{"device_type", devType},
		{"brand", brand},
		{"browser", "Chrome"},
		{"language", "en"},
		{"http_user_agent", "Mozilla/5.0 (" + platform + ") AppleWebKit/605.1.15 (KHTML, like Gecko)"},
		{"is_event", false},
		{"event", event},
		{"transaction_id", hexID(a.id, "click", strconv.FormatInt(t.num, 10))},
		{"click_unix_timestamp", t.clickAt.Unix()},
		{"isp", "example broadband"},
		{"referer", t.adv.domain},
		{"app_id", ""},
		{"idfa", ""},
		{"google_ad_id", ""},
		{"currency_id", t.adv.currency},
		{"is_view_through", false},
		{"order_id", orderRefOr(t, "")},
		{"coupon_code", t.voucher},
		{"adv1", ""},
		{"adv2", ""},
		{"adv3", ""},
		{"adv4", ""},
		{"adv5", ""},
		{"relationship", obj{
			{"offer", obj{
				{"network_offer_id", t.adv.id},
				{"network_id", t.adv.groupID},
				{"name", t.adv.name},
				{"offer_status", "active"},
				{"network_tracking_domain_id", 6859},
			}},
			{"events_count", 0},
		}},
		{"sale_amount", rawNum(floatText(sale))},
	}
}
