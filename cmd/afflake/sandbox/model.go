package sandbox

import (
	"hash/fnv"
	"sort"
	"strconv"
	"strings"
	"time"
)

// ---------------------------------------------------------------------------
// Deterministic randomness

// rng is a splitmix64 generator: tiny, fast and with a fixed output sequence,
// so a (seed, account, day) triple always yields the same transactions.
type rng struct{ s uint64 }

func (r *rng) next() uint64 {
	r.s += 0x9e3779b97f4a7c15
	z := r.s
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

func (r *rng) intn(n int) int          { return int(r.next() % uint64(n)) }
func (r *rng) int64n(n int64) int64    { return int64(r.next() % uint64(n)) }
func (r *rng) chance(percent int) bool { return r.intn(100) < percent }
func (r *rng) pick(xs []string) string { return xs[r.intn(len(xs))] }
func (r *rng) digits(n int) string     { return strconv.FormatInt(r.int64n(pow10(n)), 10) }
func (r *rng) between(lo, hi int) int  { return lo + r.intn(hi-lo+1) }
func (r *rng) secs(lo, hi int) time.Duration {
	return time.Duration(r.between(lo, hi)) * time.Second
}

func seedFor(seed int64, parts ...string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(strconv.FormatInt(seed, 10)))
	for _, p := range parts {
		h.Write([]byte{0})
		h.Write([]byte(p))
	}
	return h.Sum64()
}

func pow10(n int) int64 {
	p := int64(1)
	for ; n > 0; n-- {
		p *= 10
	}
	return p
}

// ---------------------------------------------------------------------------
// Exact decimal amounts

// amount is an exact decimal: units × 10^-scale, with the text the network
// sends. text may carry a binary-float artefact (Awin serialises doubles).
type amount struct {
	units int64
	scale int
	text  string
}

func fmtDec(units int64, scale int) string {
	neg := units < 0
	if neg {
		units = -units
	}
	s := strconv.FormatInt(units, 10)
	if scale > 0 {
		if len(s) <= scale {
			s = strings.Repeat("0", scale-len(s)+1) + s
		}
		s = s[:len(s)-scale] + "." + s[len(s)-scale:]
	}
	if neg {
		s = "-" + s
	}
	return s
}

func mkAmount(units int64, scale int) amount {
	return amount{units: units, scale: scale, text: fmtDec(units, scale)}
}

func (a amount) neg() amount {
	if a.units == 0 {
		return a
	}
	t := a.text
	if strings.HasPrefix(t, "-") {
		t = t[1:]
	} else {
		t = "-" + t
	}
	return amount{units: -a.units, scale: a.scale, text: t}
}

// rescale converts units from one scale to another after multiplying by
// num/den, rounding half away from zero.
func rescale(units int64, from, to int, num, den int64) int64 {
	n := units * num
	d := den
	if to >= from {
		n *= pow10(to - from)
	} else {
		d *= pow10(from - to)
	}
	neg := n < 0
	if neg {
		n = -n
	}
	q := (n + d/2) / d
	if neg {
		q = -q
	}
	return q
}

func pctOf(a amount, pct int64) amount {
	return mkAmount(rescale(a.units, a.scale, a.scale, pct, 100), a.scale)
}

func diff(newA, oldA amount) amount { return mkAmount(newA.units-oldA.units, newA.scale) }

// ---------------------------------------------------------------------------
// Accounts

type advertiser struct {
	id          int64
	name        string
	currency    string // Awin: currency the advertiser reports in
	country     string
	rateBP      int64 // commission rate in basis points
	automated   bool  // CJ: validated by rule, reported as AUTOMATED
	groupID     int64
	groupCode   string
	groupName   string
	trackerID   int64
	trackerName string
	actionType  string
	domain      string
}

type site struct {
	id   string
	name string
	url  string
}

type account struct {
	emu         *emulation
	network     string
	id          string
	secrets     map[string]string
	extra       map[string]string // non-secret settings (Account.Extra)
	currency    string
	loc         *time.Location // Impact: account time zone used in responses
	idBase      int64
	advertisers []advertiser
	sites       []site
	countries   []string
}

func mustLoad(name string) *time.Location {
	loc, err := time.LoadLocation(name)
	if err != nil {
		panic("sandbox: time zone " + name + ": " + err.Error())
	}
	return loc
}

// awinAccounts returns the Awin accounts the sandbox accepts.
func awinAccounts() []*account {
	utc := time.UTC
	return []*account{
		{
			network: NetworkAwin, id: "100001", currency: "GBP", loc: utc,
			secrets: map[string]string{"token": "6b0f5d2e-3c1a-4e8b-9f7d-2a4c6e8b0d11"},
			idBase:  500000000,
			advertisers: []advertiser{
				{id: 7052, name: "Harrow & Sons", currency: "GBP", country: "GB", rateBP: 800, groupID: 12345, groupCode: "DEFAULT", groupName: "Default Commission"},
				{id: 17874, name: "Müller-Café Versand", currency: "EUR", country: "DE", rateBP: 550, groupID: 297335, groupCode: "1", groupName: "Kaffee & Zubehör"},
				{id: 4032, name: "Northwind Outdoor", currency: "GBP", country: "GB", rateBP: 1000, groupID: 654321, groupCode: "SALE", groupName: "Sale"},
				{id: 25110, name: "Brooklyn Gadgets", currency: "USD", country: "US", rateBP: 300, groupID: 88120, groupCode: "NEW", groupName: "New customer"},
			},
			sites: []site{
				{id: "100001", name: "Deal Hunters UK", url: "https://www.dealhunters.example.co.uk/"},
				{id: "100001", name: "Müller-Café Blog", url: "https://mueller-cafe.example.de/"},
			},
			countries: []string{"GB", "GB", "GB", "IE", "DE", "FR"},
		},
		{
			network: NetworkAwin, id: "100002", currency: "EUR", loc: utc,
			secrets: map[string]string{"token": "0e9d8c7b-6a5f-4e3d-8c2b-1a0f9e8d7c6b"},
			idBase:  1500000000,
			advertisers: []advertiser{
				{id: 9120, name: "Les Bons Plans d'Élodie", currency: "EUR", country: "FR", rateBP: 700, groupID: 40001, groupCode: "DEFAULT", groupName: "Commission par défaut"},
				{id: 33001, name: "Svensk Design", currency: "SEK", country: "SE", rateBP: 650, groupID: 40002, groupCode: "DEFAULT", groupName: "Standard"},
				{id: 5121, name: "東京ストア", currency: "EUR", country: "DE", rateBP: 1200, groupID: 40003, groupCode: "VIP", groupName: "東京 VIP"},
			},
			sites: []site{
				{id: "100002", name: "東京 Deals", url: "https://tokyo-deals.example.jp/"},
				{id: "100002", name: "Bons Plans", url: "https://bonsplans.example.fr/"},
			},
			countries: []string{"FR", "FR", "DE", "NL", "SE", "JP"},
		},
	}
}

// impactAccounts returns the Impact accounts the sandbox accepts.
func impactAccounts() []*account {
	return []*account{
		{
			network: NetworkImpact, id: "IRq8Lm2Xv7Nc4Tz9Bw3Hk6Rf1Jd5Gs0PaE", currency: "USD",
			loc: mustLoad("America/Los_Angeles"),
			secrets: map[string]string{
				"account_sid": "IRq8Lm2Xv7Nc4Tz9Bw3Hk6Rf1Jd5Gs0PaE",
				"auth_token":  "tK7pQ2vX9mZ4cR8wL1nB6hF3jD5sG0aY",
			},
			advertisers: []advertiser{
				{id: 19816, name: "Acme Rockets", rateBP: 1250, trackerID: 4389, trackerName: "Online Sale", domain: "acme-rockets.example.com"},
				{id: 3641, name: "Rocket-Powered Products", rateBP: 800, trackerID: 9026, trackerName: "irt-17721", domain: "rocketpowered.example.com"},
				{id: 25619, name: "Café Olé Subscriptions", rateBP: 2000, trackerID: 47270, trackerName: "Purchase", domain: "cafe-ole.example.com"},
			},
			sites:     []site{{id: "1", name: "Gadget Reviews", url: "gadgetreviews.example.com"}},
			countries: []string{"US", "US", "US", "CA", "MX"},
		},
		{
			network: NetworkImpact, id: "IRz3Fh8Kc1Vq6Ws9Ln2Bt5Xm7Pd4Gr0JuY", currency: "GBP",
			loc: mustLoad("Europe/London"),
			secrets: map[string]string{
				"account_sid": "IRz3Fh8Kc1Vq6Ws9Ln2Bt5Xm7Pd4Gr0JuY",
				"auth_token":  "Hq3Wz8Nc5Lv1Xp7Rk2Jt9Fb4Mg6Sd0Ae",
			},
			advertisers: []advertiser{
				{id: 28763, name: "Adorama UK", rateBP: 400, trackerID: 11630, trackerName: "Sale", domain: "adorama.example.co.uk"},
				{id: 25666, name: "Crypto Cards", rateBP: 0, trackerID: 51120, trackerName: "Card opening", domain: "cryptocards.example.com"},
				{id: 41007, name: "Zürich Watches", rateBP: 900, trackerID: 51200, trackerName: "Online Sale", domain: "zuerich-watches.example.ch"},
			},
			sites:     []site{{id: "2", name: "Money Saving Tips", url: "moneysaving.example.co.uk"}},
			countries: []string{"GB", "GB", "IE", "DE"},
		},
	}
}

// cjAccounts returns the CJ accounts the sandbox accepts.
func cjAccounts() []*account {
	return []*account{
		{
			network: NetworkCJ, id: "5000001", currency: "USD", loc: time.UTC,
			secrets: map[string]string{"token": "4f9x2k7q1m8w3z6t0p5r2y9b7c"},
			idBase:  2000000000,
			advertisers: []advertiser{
				{id: 1718228, name: "Visit Canada", rateBP: 1000, trackerID: 382011, trackerName: "Advanced Sale Test", actionType: "advanced sale"},
				{id: 2151177, name: "Donut Depot", rateBP: 500, trackerID: 382012, trackerName: "Online Order", actionType: "sale", automated: true},
				{id: 4450021, name: "Insurance Quotes Inc", rateBP: 0, trackerID: 382013, trackerName: "Quote Lead", actionType: "lead"},
			},
			sites: []site{
				{id: "8877001", name: "Donuts and Denim"},
				{id: "8877002", name: "Travel Söderberg"},
			},
			countries: []string{"US", "US", "US", "CA", "GB"},
		},
		{
			network: NetworkCJ, id: "5000002", currency: "EUR", loc: time.UTC,
			secrets: map[string]string{"token": "8h3n6v1c9x4b7m2q5w0e8r3t6y"},
			idBase:  6000000000,
			advertisers: []advertiser{
				{id: 5530012, name: "Reisen & Meer GmbH", rateBP: 600, trackerID: 482001, trackerName: "Buchung", actionType: "advanced sale"},
				{id: 5530013, name: "Boulangerie Étoile", rateBP: 900, trackerID: 482002, trackerName: "Commande", actionType: "sale", automated: true},
			},
			sites: []site{
				{id: "9911001", name: "Reiseblog Weiß"},
			},
			countries: []string{"DE", "DE", "AT", "FR", "NL"},
		},
	}
}

// ---------------------------------------------------------------------------
// Transactions

type txn struct {
	acct *account
	day  int64
	idx  int
	adv  *advertiser
	site *site

	num      int64  // numeric id, defines the ordering
	id       string // network id as sent
	actionID string // CJ originalActionId

	clickAt, eventAt, postedAt time.Time
	decideAt                   time.Time // validation / locking
	paidAt                     time.Time // payment (Awin, Impact) / closing (CJ)
	extAt, origLockAt          time.Time // CJ: locking date extension

	declined bool
	adjusted bool // amended on validation
	extended bool
	special  bool

	sale, comm       amount
	newSale, newComm amount // after adjustment
	commUSD          amount // CJ

	// correction record (CJ) and its link back to the original
	correction       *txn
	original         *txn
	correctionReason string

	// descriptive fields
	orderRef      string
	orderRefNull  bool
	clickRefs     []string
	clickRefsMode int // 0 object, 1 null, 2 absent
	clickDevice   string
	txDevice      string
	country       string
	customer      int // 0 unknown, 1 new, 2 existing
	voucher       string
	ipHash        string
	declineReason string
	amendReason   string
	subIDs        [3]string
	sharedID      string
	promo         string
	city, region  string
	area          string
	adID          int64
	refType       string
	refDomain     string
	publisherURL  string

	// drawn by the networks added after the first three (emulation.extra)
	flavor int    // 0..99: selects rare raw statuses and value shapes
	lines  []line // basket lines (Rakuten SKU events, Daisycon parts, Partnerize items)
}

// line is one basket line of a transaction. Its amounts add up to the
// transaction's; a line is declined on its own when the order is amended.
type line struct {
	id       string
	sku      string
	name     string
	qty      int
	sale     amount
	comm     amount
	declined bool // returned when the transaction is amended (adjusted)
}

var (
	devices      = []string{"Windows", "iPhone", "Android Mobile", "Macintosh", "iPad", "Linux"}
	vouchers     = []string{"SUMMER10", "WINTER-20", "ÉTÉ15", "WELCOME5"}
	declineWhy   = []string{"Order cancelled", "Goods returned", "Duplicate transaction", "Fraudulent order"}
	cities       = []string{"New York", "Los Angeles", "London", "München", "Québec", "Zürich"}
	regions      = []string{"NY", "CA", "ENG", "BY", "QC", "ZH"}
	correctWhy   = []string{"RETURNED_MERCHANDISE", "ORDER_CANCELLED", "PARTIAL_RETURN", "INVALID_ORDER"}
	referDomains = []string{"www.referring.com", "blog.example.net", "m.facebook.com", ""}
)

// generateDay builds the transactions of one account for one UTC day. It is a
// pure function of (seed, account, day, perDay).
func generateDay(seed int64, perDay int, a *account, day int64) []*txn {
	r := &rng{s: seedFor(seed, a.network, a.id, strconv.FormatInt(day, 10))}
	secs := make([]int, perDay)
	for i := range secs {
		secs[i] = r.intn(86400)
	}
	sort.Ints(secs)
	out := make([]*txn, 0, perDay+perDay/5)
	for i, sec := range secs {
		t := &txn{acct: a, day: day, idx: i}
		t.adv = &a.advertisers[r.intn(len(a.advertisers))]
		t.site = &a.sites[r.intn(len(a.sites))]
		t.eventAt = time.Unix(day*86400+int64(sec), 0).UTC()
		var lapse time.Duration
		if r.chance(40) {
			lapse = r.secs(30, 3600)
		} else {
			lapse = r.secs(3600, 14*86400)
		}
		t.clickAt = t.eventAt.Add(-lapse)
		t.postedAt = t.eventAt.Add(r.secs(60, 40*60))
		t.decideAt = t.eventAt.Add(time.Duration(r.between(7, 30))*24*time.Hour + r.secs(0, 86399)).Truncate(time.Hour)
		t.paidAt = t.eventAt.Truncate(24 * time.Hour).Add(time.Duration(r.between(45, 60))*24*time.Hour + 9*time.Hour)
		t.declined = r.chance(10)
		t.adjusted = !t.declined && r.chance(8)
		if a.emu.extensions && r.chance(15) {
			t.extended = true
			t.origLockAt = t.decideAt.Add(-time.Duration(r.between(3, 6)) * 24 * time.Hour)
			t.extAt = t.origLockAt.Add(-12 * time.Hour)
		}
		genAmounts(r, t)
		if t.special {
			t.adjusted = false
		}
		t.newSale, t.newComm = t.sale, t.comm
		if t.adjusted {
			pct := int64(r.between(40, 90))
			t.newSale = pctOf(t.sale, pct)
			t.newComm = pctOf(t.comm, pct)
			t.amendReason = "Partial return"
		}
		if t.declined {
			t.declineReason = r.pick(declineWhy)
		}

		// descriptive fields
		n := r.digits(9)
		switch k := r.intn(100); {
		case k < 4:
			t.orderRef = "東京-" + n
		case k < 8:
			t.orderRef = "Müller-Café-" + n
		case k < 13:
			t.orderRefNull = true
		default:
			t.orderRef = "ORD-" + n
		}
		switch k := r.intn(100); {
		case k < 15:
			t.clickRefsMode = 1
		case k < 20:
			t.clickRefsMode = 2
		default:
			refs := []string{"sub" + r.digits(6)}
			if r.chance(30) {
				refs = append(refs, "email-"+r.pick([]string{"weekly", "daily", "promo"}))
				if r.chance(30) {
					refs = append(refs, "ü-"+r.digits(3))
				}
			}
			t.clickRefs = refs
		}
		t.clickDevice = r.pick(devices)
		t.txDevice = t.clickDevice
		if r.chance(15) {
			t.txDevice = r.pick(devices)
		}
		t.country = r.pick(a.countries)
		t.customer = r.intn(3)
		if r.chance(15) {
			t.voucher = r.pick(vouchers)
		}
		t.ipHash = strconv.FormatInt(int64(r.next()), 10)
		if len(t.clickRefs) > 0 {
			t.subIDs[0] = t.clickRefs[0]
		}
		if r.chance(30) {
			t.subIDs[1] = "cmp" + r.digits(4)
		}
		if r.chance(10) {
			t.sharedID = "shared-" + r.digits(5)
		}
		if t.voucher != "" {
			t.promo = t.voucher
		}
		ci := r.intn(len(cities))
		t.city, t.region = cities[ci], regions[ci]
		t.area = strconv.Itoa(r.between(200, 999))
		t.adID = int64(300000 + r.intn(100000))
		t.refType = "CLICK_COOKIE"
		if r.chance(10) {
			t.refType = "VANITY_URL"
		}
		t.refDomain = r.pick(referDomains)
		t.publisherURL = t.site.url + "deals/" + r.digits(4)

		a.emu.ids(t, day, i)
		out = append(out, t)

		if a.emu.corrections && (t.declined || t.adjusted) {
			c := *t
			c.original = t
			c.correction = nil
			c.num = t.num + 1
			c.id = strconv.FormatInt(c.num, 10)
			c.postedAt = t.decideAt.Add(r.secs(60, 3600))
			c.extended = false
			if t.declined {
				c.sale, c.comm, c.commUSD = t.sale.neg(), t.comm.neg(), t.commUSD.neg()
				c.correctionReason = r.pick(correctWhy[:2])
			} else {
				c.sale, c.comm = diff(t.newSale, t.sale), diff(t.newComm, t.comm)
				c.commUSD = usdOf(a, c.comm)
				c.correctionReason = correctWhy[2]
			}
			t.correction = &c
		}
		if a.emu.extra != nil {
			a.emu.extra(r, t)
		}
	}
	return out
}

func usdOf(a *account, c amount) amount {
	if a.currency == "USD" {
		return c
	}
	return mkAmount(rescale(c.units, c.scale, 3, 10832, 10000), 3)
}

// genAmounts draws sale and commission amounts in the precision each network
// reports, with a few deliberately awkward values.
func genAmounts(r *rng, t *txn) {
	rate := t.adv.rateBP
	saleCents := int64(r.between(500, 20000))
	if r.chance(10) {
		saleCents = int64(r.between(20000, 250000))
	}
	if t.adv.actionType == "lead" || rate == 0 {
		// leads and card openings pay a flat fee with no order value
		saleCents = 0
	}
	k := r.intn(100)
	t.acct.emu.amounts(r, t, saleCents, k)
}

// floatAmounts are the amounts of a network that serialises doubles: JSON
// numbers with the binary-float artefacts that come with them.
func floatAmounts(r *rng, t *txn, saleCents int64, k int) {
	if saleCents == 0 {
		// a lead or a flat fee: no order value
		t.sale, t.comm = mkAmount(0, 0), mkAmount(int64(r.between(1, 10))*500, 2)
		return
	}
	switch {
	case k == 0:
		t.sale, t.comm, t.special = amount{1, 1, "0.1"}, amount{1, 2, "0.01"}, true
	case k == 1:
		t.sale, t.comm, t.special = amount{1999, 2, "19.99"}, amount{2, 0, "2"}, true
	case k == 2:
		t.sale, t.comm, t.special = amount{497435, 2, "4974.35"}, amount{24871766639999998, 14, "248.71766639999998"}, true
	case k == 3:
		t.sale, t.comm, t.special = amount{1000, 0, "1000"}, amount{50, 0, "50"}, true
	default:
		t.sale = mkAmount(saleCents, 2)
		if t.adv.rateBP == 0 {
			t.comm = mkAmount(int64(r.between(1, 10))*500, 2)
		} else {
			t.comm = mkAmount(rescale(saleCents, 2, 2, t.adv.rateBP, 10000), 2)
		}
	}
}

// decimalAmounts are the amounts of a network that sends decimal text with
// a fixed number of fraction digits (commissions with scale digits).
func decimalAmounts(scale int) func(r *rng, t *txn, saleCents int64, k int) {
	return func(r *rng, t *txn, saleCents int64, k int) {
		if saleCents == 0 {
			// a lead or a flat fee: no order value
			t.sale = mkAmount(0, 2)
			t.comm = mkAmount(rescale(int64(r.between(1, 10))*500, 2, scale, 1, 1), scale)
			return
		}
		switch {
		case k == 0:
			t.sale, t.comm, t.special = mkAmount(10, 2), mkAmount(rescale(1, 2, scale, 1, 1), scale), true
		case k == 1:
			t.sale, t.comm, t.special = mkAmount(1999, 2), mkAmount(rescale(1999, 3, scale, 1, 1), scale), true
		default:
			t.sale = mkAmount(saleCents, 2)
			if t.adv.rateBP == 0 {
				t.comm = mkAmount(rescale(int64(r.between(1, 10))*500, 2, scale, 1, 1), scale)
			} else {
				t.comm = mkAmount(rescale(saleCents, 2, scale, t.adv.rateBP, 10000), scale)
			}
		}
	}
}

func awinGen(r *rng, t *txn, saleCents int64, k int) {
	rate := t.adv.rateBP
	switch {
	case k == 0:
		t.sale, t.comm, t.special = amount{1, 1, "0.1"}, amount{1, 2, "0.01"}, true
	case k == 1:
		t.sale, t.comm, t.special = amount{1999, 2, "19.99"}, amount{2, 0, "2"}, true
	case k == 2:
		t.sale, t.comm, t.special = amount{497435, 2, "4974.35"}, amount{24871766639999998, 14, "248.71766639999998"}, true
	case k == 3:
		t.sale, t.comm, t.special = amount{1000, 0, "1000"}, amount{50, 0, "50"}, true
	default:
		t.sale = mkAmount(saleCents, 2)
		t.comm = mkAmount(rescale(saleCents, 2, 2, rate, 10000), 2)
	}
}

func impactGen(r *rng, t *txn, saleCents int64, k int) {
	rate := t.adv.rateBP
	payScale := 2
	if r.chance(10) {
		payScale = 4
	}
	switch {
	case k == 0:
		t.sale, t.comm, t.special = mkAmount(10, 2), mkAmount(100, 4), true
	case k == 1:
		t.sale, t.comm, t.special = mkAmount(1999, 2), mkAmount(19990, 4), true
	default:
		t.sale = mkAmount(saleCents, 2)
		if rate == 0 {
			t.comm = mkAmount(int64(r.between(1, 10))*500, 2)
		} else {
			t.comm = mkAmount(rescale(saleCents, 2, payScale, rate, 10000), payScale)
		}
	}
}

func cjGen(r *rng, t *txn, saleCents int64, k int) {
	rate := t.adv.rateBP
	sScale, cScale := 2, 3
	if r.chance(30) {
		sScale = 3
	}
	switch {
	case k == 0:
		t.sale, t.comm, t.special = amount{1, 1, "0.1"}, amount{1, 2, "0.01"}, true
	case k == 1:
		t.sale, t.comm, t.special = mkAmount(1999, 2), mkAmount(1999, 3), true
	default:
		t.sale = mkAmount(rescale(saleCents, 2, sScale, 1, 1), sScale)
		if rate == 0 {
			t.comm = mkAmount(int64(r.between(2, 40))*250, 2)
		} else {
			t.comm = mkAmount(rescale(saleCents, 2, cScale, rate, 10000), cScale)
		}
	}
	t.commUSD = usdOf(t.acct, t.comm)
}

// ---------------------------------------------------------------------------
// Lifecycle at a given clock

type phase int

const (
	phasePending phase = iota
	phaseApproved
	phaseDeclined
)

func (t *txn) phase(clock time.Time) phase {
	if clock.Before(t.decideAt) {
		return phasePending
	}
	if t.declined {
		return phaseDeclined
	}
	return phaseApproved
}

func (t *txn) paid(clock time.Time) bool {
	return t.phase(clock) == phaseApproved && !clock.Before(t.paidAt)
}

// currentAmounts returns the sale and commission as the network reports them
// at clock (amended values once the amendment happened).
func (t *txn) currentAmounts(clock time.Time) (amount, amount) {
	if t.adjusted && !clock.Before(t.decideAt) {
		return t.newSale, t.newComm
	}
	return t.sale, t.comm
}

func (t *txn) visible(clock time.Time) bool { return !t.postedAt.After(clock) }

// CJ status of a record at clock.
func (t *txn) cjActionStatus(clock time.Time) string {
	if t.original != nil {
		if clock.Before(t.original.paidAt) {
			return "locked"
		}
		return "closed"
	}
	switch {
	case clock.Before(t.decideAt):
		if t.extended && !clock.Before(t.extAt) {
			return "extended"
		}
		return "new"
	case clock.Before(t.paidAt):
		return "locked"
	default:
		return "closed"
	}
}

func (t *txn) cjValidationStatus(clock time.Time) string {
	o := t
	if t.original != nil {
		o = t.original
	}
	switch o.phase(clock) {
	case phasePending:
		return "PENDING"
	case phaseDeclined:
		return "DECLINED"
	}
	if o.adv.automated {
		return "AUTOMATED"
	}
	return "ACCEPTED"
}

func (t *txn) cjLockingDate(clock time.Time) time.Time {
	if t.extended && clock.Before(t.extAt) {
		return t.origLockAt
	}
	return t.decideAt
}
