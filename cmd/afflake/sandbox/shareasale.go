package sandbox

import (
	"bytes"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"encoding/xml"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// ShareASale affiliate API (closed; kept for its signed-header auth):
//
//	GET /shareasale/x.cfm?action=activity&affiliateId=…&token=…&version=2.3&dateStart=MM/DD/YYYY&dateEnd=MM/DD/YYYY
//
// Every request is signed: x-ShareASale-Date is the request time (RFC 1123,
// GMT) and x-ShareASale-Authentication is
// hex(SHA256(token + ":" + date + ":" + action + ":" + secret)), either
// case. A bad signature, a date more than shareasaleSkew from the wall
// clock, or a token that does not belong to affiliateId is refused. The
// activity report covers dateStart..dateEnd (inclusive US Eastern days), no
// pagination. The default output is pipe-delimited text with a header row,
// format=csv gives comma-separated CSV and XMLFormat=1 XML
// (<activitydetailsreport><activitydetailsreportrecord>…). Dates are
// "MM/DD/YYYY HH:MM:SS AM" in US Eastern time, amounts decimal text with
// two decimals in USD. A transaction has no status field but flags: voided
// ("1" once reversed, with reversaldate), locked ("1" once validated, with
// lockdate) and paiddate once paid. Errors are plain text
// "Error Code NNNN - …".
//
// Not found in ShareASale's published material, chosen here: the error
// texts and their HTTP statuses (401 and 400), the allowed clock skew, the
// date formats of the records, the time zone, and no monthly quota.
// Truth.Status is derived from the flags: pending, locked, paid or voided.

const (
	shareasaleLayout = "01/02/2006 03:04:05 PM"
	shareasaleSkew   = 5 * time.Minute
)

var shareasaleZone = mustLoad("America/New_York")

var shareasaleColumns = []string{"transid", "userid", "merchantid", "transdate", "transamount", "commission", "comment",
	"voided", "pendingdate", "locked", "affcomment", "bannerpage", "reversaldate", "clickdate", "clicktime", "bannerid",
	"skulist", "quantitylist", "lockdate", "paiddate", "merchantorganization", "merchantwebsite", "transtype", "merchantdefinedtype"}

func shareasaleEmulation() *emulation {
	return &emulation{
		name:     NetworkShareASale,
		accounts: shareasaleAccounts,
		serve:    (*Server).serveShareASale,
		amounts:  decimalAmounts(2),
		ids:      sequentialIDs,
		extra: func(r *rng, t *txn) {
			drawFlavor(r, t)
			splitLines(r, t, "")
		},
		truth: func(_ *Server, a *account, t *txn, clock time.Time) []Truth {
			sale, comm := t.currentAmounts(clock)
			return []Truth{{ID: t.id, Status: shareasaleStatus(t, clock), Sale: sale.text, Commission: comm.text,
				Currency: a.currency, TransactionAt: t.eventAt}}
		},
	}
}

func shareasaleAccounts() []*account {
	return []*account{
		{
			network: NetworkShareASale, id: "1187342", currency: "USD", idBase: 9500000000,
			secrets: map[string]string{"token": "NQc5aLk2Vx8pHd3R", "secret": "XFb4Tp9Wm2Lk7Qz1Hs6Jd8Nc3Rv5Yg0E"},
			advertisers: []advertiser{
				{id: 47, name: "Reebok", rateBP: 700, domain: "www.reebok.example.com"},
				{id: 14410, name: "Crème Brûlée Kitchenware", rateBP: 1000, domain: "www.cremebrulee.example.com"},
				{id: 88420, name: "Lead Gen Solar", rateBP: 0, actionType: "lead", domain: "www.solar.example.com"},
			},
			sites:     []site{{id: "1187342", name: "Gear Guide"}},
			countries: []string{"US"},
		},
		{
			network: NetworkShareASale, id: "1290551", currency: "USD", idBase: 9600000000,
			secrets: map[string]string{"token": "Zr3Kt8Bw1Mx6Ps4C", "secret": "Jh2Nf7Qd4Wv9Lc1Xt6Ry3Bm8Kp5Gs0Az"},
			advertisers: []advertiser{
				{id: 51112, name: "Etsy Sellers Coop", rateBP: 500, domain: "www.etsycoop.example.com"},
				{id: 60021, name: "Wine Club", rateBP: 1200, domain: "www.wineclub.example.com"},
			},
			sites:     []site{{id: "1290551", name: "Gift Finder"}},
			countries: []string{"US"},
		},
	}
}

func shareasaleStatus(t *txn, clock time.Time) string {
	switch t.phase(clock) {
	case phaseDeclined:
		return "voided"
	case phaseApproved:
		if t.paid(clock) {
			return "paid"
		}
		return "locked"
	}
	return "pending"
}

func shareasaleError(status int, code int, msg string) *response {
	return &response{status: status, ctype: "text/plain", body: []byte("Error Code " + strconv.Itoa(code) + " - " + msg + "\r\n")}
}

// shareasaleSignature is the x-ShareASale-Authentication value.
func shareasaleSignature(token, date, action, secret string) string {
	sum := sha256.Sum256([]byte(token + ":" + date + ":" + action + ":" + secret))
	return hex.EncodeToString(sum[:])
}

func (s *Server) serveShareASale(r *http.Request, rest string) *response {
	if strings.TrimSuffix(rest, "/") != "/x.cfm" {
		return shareasaleError(http.StatusNotFound, 4040, "Unknown resource")
	}
	if r.Method != http.MethodGet {
		return shareasaleError(http.StatusMethodNotAllowed, 4050, "Method not allowed")
	}
	q := r.URL.Query()
	action := q.Get("action")
	token := q.Get("token")
	var a *account
	for _, x := range s.accountsOf(NetworkShareASale) {
		if token != "" && x.secrets["token"] == token {
			a = x
		}
	}
	if a == nil {
		return shareasaleError(http.StatusUnauthorized, 4002, "Authentication Error: invalid token")
	}
	if q.Get("affiliateId") != a.id {
		return shareasaleError(http.StatusUnauthorized, 4003, "Authentication Error: token does not belong to affiliate "+q.Get("affiliateId"))
	}
	date := r.Header.Get("x-ShareASale-Date")
	sig := r.Header.Get("x-ShareASale-Authentication")
	at, err := time.Parse(time.RFC1123, date)
	if err != nil {
		return shareasaleError(http.StatusUnauthorized, 4031, "Authentication Error: missing or malformed x-ShareASale-Date")
	}
	if d := s.now().Sub(at); d > shareasaleSkew || d < -shareasaleSkew {
		return shareasaleError(http.StatusUnauthorized, 4032, "Authentication Error: x-ShareASale-Date is too far from the current time")
	}
	if !strings.EqualFold(sig, shareasaleSignature(token, date, action, a.secrets["secret"])) {
		return shareasaleError(http.StatusUnauthorized, 4033, "Authentication Error: signature mismatch")
	}
	if resp := s.throttle(NetworkShareASale, token, func() *response {
		return shareasaleError(http.StatusTooManyRequests, 4029, "Request rate exceeded")
	}); resp != nil {
		return resp
	}
	if action != "activity" {
		return shareasaleError(http.StatusBadRequest, 4010, "Unsupported action '"+action+"'")
	}
	if v := q.Get("version"); v != "" && v != "2.3" {
		return shareasaleError(http.StatusBadRequest, 4011, "Unsupported version '"+v+"'")
	}
	start, err1 := time.ParseInLocation("01/02/2006", q.Get("dateStart"), shareasaleZone)
	last, err2 := time.ParseInLocation("01/02/2006", q.Get("dateEnd"), shareasaleZone)
	if err1 != nil || err2 != nil {
		return shareasaleError(http.StatusBadRequest, 4012, "dateStart and dateEnd must be MM/DD/YYYY")
	}
	if last.Before(start) {
		return shareasaleError(http.StatusBadRequest, 4013, "dateEnd must not be before dateStart")
	}
	end := last.AddDate(0, 0, 1)
	clock := s.Clock()
	var rows [][]string
	for _, t := range s.visible(a, clock, start, end) {
		if inWindow(t.eventAt, start, end) {
			rows = append(rows, shareasaleRow(t, a, clock))
		}
	}
	switch {
	case q.Get("XMLFormat") == "1":
		return data("text/xml", shareasaleXML(rows))
	case strings.EqualFold(q.Get("format"), "csv"):
		return data("text/csv", shareasaleDelimited(rows, ','))
	case q.Get("format") == "" || strings.EqualFold(q.Get("format"), "pipe"):
		return data("text/plain", shareasaleDelimited(rows, '|'))
	}
	return shareasaleError(http.StatusBadRequest, 4014, "Unsupported format '"+q.Get("format")+"'")
}

func shareasaleRow(t *txn, a *account, clock time.Time) []string {
	f := func(x time.Time) string { return x.In(shareasaleZone).Format(shareasaleLayout) }
	sale, comm := t.currentAmounts(clock)
	status := shareasaleStatus(t, clock)
	voided, locked, reversal, lockdate, paiddate, comment := "", "0", "", "", "", ""
	if status == "voided" {
		voided, reversal, comment = "1", f(t.decideAt), t.declineReason
	}
	if status == "locked" || status == "paid" {
		locked, lockdate = "1", t.decideAt.In(shareasaleZone).Format("01/02/2006")
	}
	if status == "paid" {
		paiddate = t.paidAt.In(shareasaleZone).Format("01/02/2006")
	}
	aff := ""
	if len(t.clickRefs) > 0 {
		aff = t.clickRefs[0]
	}
	var skus, qtys []string
	for _, l := range t.lines {
		skus = append(skus, l.sku)
		qtys = append(qtys, strconv.Itoa(l.qty))
	}
	typ := "Sale"
	if t.adv.actionType == "lead" {
		typ = "Lead"
	}
	click := t.clickAt.In(shareasaleZone)
	return []string{
		t.id, a.id, strconv.FormatInt(t.adv.id, 10), f(t.eventAt), sale.text, comm.text, comment,
		voided, "", locked, aff, t.publisherURL, reversal, click.Format("01/02/2006"), click.Format("03:04:05 PM"),
		strconv.FormatInt(t.adID, 10), strings.Join(skus, ","), strings.Join(qtys, ","), lockdate, paiddate,
		t.adv.name, t.adv.domain, typ, "",
	}
}

func shareasaleDelimited(rows [][]string, sep rune) []byte {
	var b bytes.Buffer
	w := csv.NewWriter(&b)
	w.Comma = sep
	w.UseCRLF = true
	_ = w.Write(shareasaleColumns)
	_ = w.WriteAll(rows)
	return b.Bytes()
}

func shareasaleXML(rows [][]string) []byte {
	var b bytes.Buffer
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?>` + "\n<activitydetailsreport>")
	for _, row := range rows {
		b.WriteString("<activitydetailsreportrecord>")
		for i, c := range shareasaleColumns {
			b.WriteString("<" + c + ">")
			_ = xml.EscapeText(&b, []byte(row[i]))
			b.WriteString("</" + c + ">")
		}
		b.WriteString("</activitydetailsreportrecord>")
	}
	b.WriteString("</activitydetailsreport>\n")
	return b.Bytes()
}
