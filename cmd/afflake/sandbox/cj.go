package sandbox

import (
	"encoding/json"
	"io"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"
)

// CJ Commission Detail API: POST /query (GraphQL).
//
// The body is {"query": ..., "variables": {...}} or the bare query text.
// publisherCommissions(forPublishers: [CID], since…/before… dates) returns at
// most CJPageLimit records ordered by commissionId; payloadComplete is false
// while more remain and maxCommissionId is passed back as sinceCommissionId.
// since… is inclusive, before… exclusive, dates are UTC ISO-8601 with "Z".
// Amounts are decimal strings in the publisher's currency (no currency field).
// Corrections are separate records (original: false) carrying the
// originalActionId of the record they correct and negative amounts.
// Errors use the GraphQL shape {"errors": [{"message": ...}], "data": null}.

const cjLayout = "2006-01-02T15:04:05Z"

func cjEmulation() *emulation {
	return &emulation{
		name:     NetworkCJ,
		accounts: cjAccounts,
		serve:    (*Server).serveCJ,
		amounts:  cjGen,
		ids: func(t *txn, day int64, i int) {
			t.num = t.acct.idBase + day*20000 + int64(2*i)
			t.id = strconv.FormatInt(t.num, 10)
			t.actionID = strconv.FormatInt(1000000000+day*10000+int64(i), 10)
		},
		truth: func(_ *Server, a *account, t *txn, clock time.Time) []Truth {
			return []Truth{{ID: t.id, Status: t.cjActionStatus(clock), Sale: t.sale.text, Commission: t.comm.text,
				Currency: a.currency, TransactionAt: t.eventAt}}
		},
		extensions:  true,
		corrections: true,
	}
}

// cjMaxWindow is the widest since…/before… range accepted.
const cjMaxWindow = 31 * 24 * time.Hour

var cjCommissionArgs = map[string]string{
	"forPublishers":      "[String!]!",
	"sincePostingDate":   "String",
	"beforePostingDate":  "String",
	"sinceEventDate":     "String",
	"beforeEventDate":    "String",
	"sinceLockingDate":   "String",
	"beforeLockingDate":  "String",
	"sinceCommissionId":  "String",
	"actionStatuses":     "[String!]",
	"validationStatuses": "[String!]",
	"actionTypes":        "[String!]",
	"advertiserIds":      "[String!]",
	"websiteIds":         "[String!]",
	"commissionIds":      "[String!]",
}

var cjSchema = gqlSchema{
	"Query": {
		"publisherCommissions": {typ: "PublisherCommissions", args: cjCommissionArgs},
	},
	"PublisherCommissions": {
		"count": {}, "limit": {}, "payloadComplete": {}, "maxCommissionId": {},
		"records": {typ: "PublisherCommission"},
	},
	// Every field of the live schema's PublisherCommission.
	"PublisherCommission": {
		"actionStatus": {}, "actionTrackerId": {}, "actionTrackerName": {}, "actionType": {},
		"advertiserId": {}, "advertiserName": {}, "aid": {}, "clickDate": {}, "clickReferringURL": {},
		"commissionId": {}, "concludingBrowser": {}, "concludingDeviceName": {},
		"concludingDeviceType": {}, "correctionReason": {}, "country": {}, "coupon": {},
		"eventDate": {}, "initiatingBrowser": {}, "initiatingDeviceName": {}, "initiatingDeviceType": {},
		"isCrossDevice": {}, "lockingDate": {}, "lockingMethod": {},
		"orderDiscountAdvCurrency": {}, "orderDiscountOrigCurrency": {}, "orderDiscountPubCurrency": {},
		"orderDiscountUsd": {}, "orderId": {}, "original": {}, "originalActionId": {}, "postingDate": {},
		"pubCommissionAmountPubCurrency": {}, "pubCommissionAmountUsd": {}, "publisherId": {},
		"publisherName": {}, "reviewedStatus": {}, "saleAmountAdvCurrency": {}, "saleAmountPubCurrency": {},
		"saleAmountUsd": {}, "shopperId": {}, "sid": {}, "siteToStoreOffer": {}, "situations": {},
		"source": {}, "validationStatus": {}, "websiteId": {}, "websiteName": {},
		"verticalAttributes": {typ: "VerticalAttributes"},
		"customPixel":        {typ: "VerticalAttributes"},
		"situationDetails":   {typ: "Situation"},
		"items":              {typ: "PublisherItem"},
	},
	"VerticalAttributes": cjVerticalAttributes(),
	"Situation":          {"id": {}, "name": {}},
	"PublisherItem": {
		"commissionItemId": {}, "discountAdvCurrency": {}, "discountPubCurrency": {}, "discountUsd": {},
		"itemListId": {}, "perItemSaleAmountAdvCurrency": {}, "perItemSaleAmountPubCurrency": {},
		"perItemSaleAmountUsd": {}, "quantity": {}, "sku": {}, "situations": {},
		"totalCommissionAdvCurrency": {}, "totalCommissionPubCurrency": {}, "totalCommissionUsd": {},
		"situationDetails": {typ: "Situation"},
	},
}

// cjVerticalAttributes is the live schema's PublisherVerticalAttributes:
// advertiser-supplied strings, of which the emulator fills custStatus
// and custCountry.
func cjVerticalAttributes() map[string]gqlFieldDef {
	m := map[string]gqlFieldDef{}
	for _, f := range strings.Fields(`age annualFee applicationStatus apr aprTransfer aprTransferTime
		bookingDate bookingStatus bookingValuePostTax bookingValuePreTax brand brandId businessUnit
		campaignId campaignName cardCategory carOptions cashAdvanceFee category city class
		confirmationNumber contractLength contractType countryCode couponDiscount couponType
		creditLine creditQuality creditReport cruiseType custCountry custPostCode custSegment
		custStatus custType customerLocation delivery description destCity destCountry destState
		destinationId domestic dropoffIata dropoffId duration endDateTime flightFareType
		flightOptions flightType flyerMiles fundedAmount fundedCurrency genre guests iata
		introductoryApr introductoryAprTime itemId itemName itemType itineraryId lifestage location
		loyaltyEarned loyaltyFirstTimeSignup loyaltyLevel loyaltyRedeemed loyaltyStatus minBalance
		minDeposit minStayDuration noCancellation orCity orCountry orState paidAtBookingPostTax
		paidAtBookingPreTax paymentMethod paymentModel pickupIata pickupId platformId pointOfSale
		port preorder prepaid prequalify promotion promotionAmount promotionConditionThreshold
		promotionConditionType promotionEnds promotionStarts promotionType quantity rating rooms
		roomType serviceType shipName startDateTime state subscriptionFee subscriptionLength
		taxAmount taxType transferFee travelType tripType upsell`) {
		m[f] = gqlFieldDef{}
	}
	return m
}

func cjError(status int, msg string) *response {
	return jsonResp(status, gqlErrorBody(&gqlError{msg: msg}))
}

func (s *Server) serveCJ(r *http.Request, rest string) *response {
	if strings.TrimSuffix(rest, "/") != "/query" {
		return cjError(http.StatusNotFound, "Not Found")
	}
	if r.Method != http.MethodPost {
		return cjError(http.StatusMethodNotAllowed, "Method Not Allowed: use POST")
	}
	token := bearer(r)
	var owned []*account
	for _, a := range s.accounts {
		if a.network == NetworkCJ && token != "" && a.secrets["token"] == token {
			owned = append(owned, a)
		}
	}
	if len(owned) == 0 {
		return cjError(http.StatusUnauthorized, "Not Authorized: missing or invalid personal access token")
	}
	if wait := s.admit(NetworkCJ, token); wait > 0 {
		resp := cjError(http.StatusTooManyRequests, "Too Many Requests")
		resp.header = map[string]string{"Retry-After": strconv.Itoa(wait)}
		return resp
	}

	raw, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		return cjError(http.StatusBadRequest, "Could not read request body")
	}
	query := string(raw)
	var vars map[string]any
	var envelope struct {
		Query     string         `json:"query"`
		Variables map[string]any `json:"variables"`
	}
	if json.Unmarshal(raw, &envelope) == nil && envelope.Query != "" {
		query, vars = envelope.Query, envelope.Variables
	}
	if strings.TrimSpace(query) == "" {
		return cjError(http.StatusBadRequest, "Must provide query string.")
	}
	doc, gerr := parseGraphQL(query)
	if gerr == nil {
		gerr = cjSchema.validate("Query", doc.sel)
	}
	if gerr != nil {
		return jsonResp(http.StatusBadRequest, gqlErrorBody(gerr))
	}

	clock := s.Clock()
	repeat := s.repeatCursor()
	data := obj{}
	for _, f := range doc.sel {
		if f.name == "__typename" {
			data = append(data, kv{f.key(), "Query"})
			continue
		}
		res, gerr := s.cjCommissions(f, doc, vars, owned, clock, repeat)
		if gerr != nil {
			return jsonResp(http.StatusOK, gqlErrorBody(gerr))
		}
		data = append(data, kv{f.key(), res})
	}
	return &response{status: http.StatusOK, ctype: "application/json", body: encodeJSON(obj{{"data", data}}), data: true}
}

type cjDateFilter struct {
	since, before time.Time
	dateOf        func(*txn) time.Time
}

func (s *Server) cjCommissions(f *gqlField, doc *gqlDoc, vars map[string]any, owned []*account, clock time.Time, repeat bool) (obj, *gqlError) {
	args := map[string]argValue{}
	for _, a := range f.args {
		v, err := resolveArg(a, doc, vars)
		if err != nil {
			return nil, err
		}
		want := cjCommissionArgs[a.name]
		if v.isNull {
			continue
		}
		if strings.HasPrefix(want, "[") && !v.isList {
			v = argValue{isList: true, list: []string{v.str}}
		}
		if !strings.HasPrefix(want, "[") && v.isList {
			return nil, &gqlError{msg: "String cannot represent a non string value: [" + strings.Join(v.list, ", ") + "]", line: a.val.line, col: a.val.col}
		}
		args[a.name] = v
	}
	fail := func(msg string) *gqlError { return &gqlError{msg: msg, line: f.line, col: f.col} }

	pubs, ok := args["forPublishers"]
	if !ok || len(pubs.list) == 0 {
		return nil, fail("forPublishers must contain at least one publisher id")
	}
	var accts []*account
	for _, cid := range pubs.list {
		var found *account
		for _, a := range owned {
			if a.id == cid {
				found = a
			}
		}
		if found == nil {
			return nil, fail("Not authorized to access commissions of publisher " + cid)
		}
		accts = append(accts, found)
	}

	var filters []cjDateFilter
	for _, p := range []struct {
		name   string
		dateOf func(*txn) time.Time
	}{
		{"PostingDate", func(t *txn) time.Time { return t.postedAt }},
		{"EventDate", func(t *txn) time.Time { return t.eventAt }},
		{"LockingDate", func(t *txn) time.Time { return t.cjLockingDate(clock) }},
	} {
		sv, hasSince := args["since"+p.name]
		bv, hasBefore := args["before"+p.name]
		if !hasSince && !hasBefore {
			continue
		}
		if !hasSince {
			return nil, fail("before" + p.name + " requires since" + p.name)
		}
		since, err := time.Parse(time.RFC3339, sv.str)
		if err != nil {
			return nil, fail("Invalid since" + p.name + " '" + sv.str + "': expected UTC ISO 8601, e.g. 1999-12-31T11:59:59Z")
		}
		before := clock
		if hasBefore {
			before, err = time.Parse(time.RFC3339, bv.str)
			if err != nil {
				return nil, fail("Invalid before" + p.name + " '" + bv.str + "': expected UTC ISO 8601, e.g. 1999-12-31T11:59:59Z")
			}
		}
		if before.Before(since) {
			return nil, fail("before" + p.name + " must not be earlier than since" + p.name)
		}
		if before.Sub(since) > cjMaxWindow {
			return nil, fail("The date range between since" + p.name + " and before" + p.name + " must not exceed 31 days")
		}
		filters = append(filters, cjDateFilter{since, before, p.dateOf})
	}
	if len(filters) == 0 {
		return nil, fail("One of sincePostingDate, sinceEventDate or sinceLockingDate is required")
	}

	var sinceID int64 = -1
	if v, ok := args["sinceCommissionId"]; ok && v.str != "" {
		n, err := strconv.ParseInt(v.str, 10, 64)
		if err != nil {
			return nil, fail("Invalid sinceCommissionId '" + v.str + "'")
		}
		sinceID = n
	}
	sets := map[string]map[string]bool{}
	for _, n := range []string{"actionStatuses", "validationStatuses", "actionTypes", "advertiserIds", "websiteIds", "commissionIds"} {
		if v, ok := args[n]; ok && len(v.list) > 0 {
			sets[n] = map[string]bool{}
			for _, e := range v.list {
				sets[n][e] = true
			}
		}
	}
	in := func(set string, v string) bool { return sets[set] == nil || sets[set][v] }

	var all []*txn
	for _, a := range accts {
		for _, t := range s.visible(a, clock, time.Time{}, time.Time{}) {
			keep := in("actionStatuses", t.cjActionStatus(clock)) &&
				in("validationStatuses", t.cjValidationStatus(clock)) &&
				in("actionTypes", t.adv.actionType) &&
				in("advertiserIds", strconv.FormatInt(t.adv.id, 10)) &&
				in("websiteIds", t.site.id) &&
				in("commissionIds", t.id)
			for _, df := range filters {
				d := df.dateOf(t)
				if d.Before(df.since) || !d.Before(df.before) {
					keep = false
				}
			}
			if keep {
				all = append(all, t)
			}
		}
	}
	sort.Slice(all, func(i, j int) bool { return all[i].num < all[j].num })

	firstMax := ""
	if len(all) > 0 {
		firstMax = all[min(CJPageLimit, len(all))-1].id
	}
	rest := all
	if sinceID >= 0 {
		i := sort.Search(len(all), func(i int) bool { return all[i].num > sinceID })
		rest = all[i:]
	}
	page := rest[:min(CJPageLimit, len(rest))]
	complete := len(rest) <= CJPageLimit
	var maxID any
	if len(page) > 0 {
		maxID = page[len(page)-1].id
	}
	if repeat && len(all) > 0 {
		complete, maxID = false, firstMax
	}

	out := obj{}
	for _, sf := range f.sel {
		var v any
		switch sf.name {
		case "__typename":
			v = "PublisherCommissions"
		case "count":
			v = len(page)
		case "limit":
			v = CJPageLimit
		case "payloadComplete":
			v = complete
		case "maxCommissionId":
			v = maxID
		case "records":
			recs := make([]any, 0, len(page))
			for _, t := range page {
				recs = append(recs, cjRecord(t, clock, sf.sel))
			}
			v = recs
		}
		out = append(out, kv{sf.key(), v})
	}
	return out, nil
}

func cjDevice(d string) string {
	switch d {
	case "iPhone", "Android Mobile":
		return "MOBILE"
	case "iPad":
		return "TABLET"
	}
	return "DESKTOP"
}

func cjRecord(t *txn, clock time.Time, sel []*gqlField) obj {
	root := t
	if t.original != nil {
		root = t.original
	}
	z := func(x time.Time) string { return x.UTC().Format(cjLayout) }
	out := make(obj, 0, len(sel))
	for _, f := range sel {
		var v any
		switch f.name {
		case "__typename":
			v = "PublisherCommission"
		case "actionStatus":
			v = t.cjActionStatus(clock)
		case "actionTrackerId":
			v = strconv.FormatInt(t.adv.trackerID, 10)
		case "actionTrackerName":
			v = t.adv.trackerName
		case "actionType":
			v = t.adv.actionType
		case "advertiserId":
			v = strconv.FormatInt(t.adv.id, 10)
		case "advertiserName":
			v = t.adv.name
		case "aid":
			v = strconv.FormatInt(t.adID, 10)
		case "clickDate":
			v = z(t.clickAt)
		case "clickReferringURL":
			v = t.site.url
		case "commissionId":
			v = t.id
		case "concludingDeviceType":
			v = cjDevice(t.txDevice)
		case "initiatingDeviceType":
			v = cjDevice(t.clickDevice)
		case "concludingDeviceName":
			v = t.txDevice
		case "initiatingDeviceName":
			v = t.clickDevice
		case "isCrossDevice":
			v = t.clickDevice != t.txDevice
		case "lockingMethod":
			// Locking on the 10th of the next month is FIXED_DATE.
			v = "FIXED_DATE"
		case "publisherId":
			v = t.acct.id
		case "publisherName":
			v = "Sandbox publisher " + t.acct.id
		case "saleAmountUsd":
			v = usdOf(t.acct, t.sale).text
		case "sid":
			// deprecated for shopperId, and the same value
			if t.subIDs[0] != "" {
				v = t.subIDs[0]
			}
		case "situations", "situationDetails":
			v = []any{}
		case "correctionReason":
			if t.correctionReason != "" {
				v = t.correctionReason
			}
		case "country":
			v = t.country
		case "eventDate":
			v = z(t.eventAt)
		case "lockingDate":
			v = z(t.cjLockingDate(clock))
		case "orderId":
			if !t.orderRefNull {
				v = t.orderRef
			}
		case "original":
			v = t.original == nil
		case "originalActionId":
			v = root.actionID
		case "postingDate":
			v = z(t.postedAt)
		case "pubCommissionAmountPubCurrency":
			v = t.comm.text
		case "pubCommissionAmountUsd":
			v = t.commUSD.text
		case "saleAmountPubCurrency":
			v = t.sale.text
		case "shopperId":
			if t.subIDs[0] != "" {
				v = t.subIDs[0]
			}
		case "coupon":
			// String, null when no code was used (the schema's
			// PublisherCommission.coupon).
			if t.voucher != "" {
				v = t.voucher
			}
		case "validationStatus":
			v = t.cjValidationStatus(clock)
		case "websiteId":
			v = t.site.id
		case "websiteName":
			v = t.site.name
		case "verticalAttributes", "customPixel":
			va := obj{}
			for _, sf := range f.sel {
				var x any
				switch sf.name {
				case "__typename":
					x = "VerticalAttributes"
				case "custStatus":
					switch t.customer {
					case 1:
						x = "New"
					case 2:
						x = "Returning"
					}
				case "custCountry":
					// advertiser-supplied, and only by some advertisers
					if t.customer != 0 {
						x = t.country
					}
				}
				va = append(va, kv{sf.key(), x})
			}
			v = va
		case "items":
			it := obj{}
			for _, sf := range f.sel {
				var x any
				switch sf.name {
				case "__typename":
					x = "PublisherItem"
				case "quantity":
					x = 1
				case "perItemSaleAmountPubCurrency":
					x = t.sale.text
				case "totalCommissionPubCurrency", "totalCommissionAdvCurrency":
					x = t.comm.text
				case "perItemSaleAmountAdvCurrency":
					x = t.sale.text
				case "perItemSaleAmountUsd":
					x = usdOf(t.acct, t.sale).text
				case "totalCommissionUsd":
					x = t.commUSD.text
				case "commissionItemId":
					x = t.id + "1"
				case "situations", "situationDetails":
					x = []any{}
				case "sku":
					x = "SKU-" + strconv.FormatInt(t.adID, 10)
				}
				it = append(it, kv{sf.key(), x})
			}
			v = []any{it}
		}
		out = append(out, kv{f.key(), v})
	}
	return out
}
