// Package awinpages generates Awin-shaped transaction pages: the real
// field names and nesting of Awin's transactions response, with varied
// ids, amounts, dates and statuses, for benchmarks.
package awinpages

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"
)

// Generator writes pages of distinct transactions; the same seed gives
// the same pages.
type Generator struct {
	rng *rand.Rand
	id  int
	// Basket adds basketProducts to each transaction, one to three
	// products, as Awin returns them to a request with
	// showBasketProducts=true.
	Basket bool
}

// New returns a generator seeded with seed.
func New(seed uint64) *Generator {
	return &Generator{rng: rand.New(rand.NewPCG(seed, 2)), id: 900000000}
}

var (
	statuses = []string{"pending", "approved", "declined", "deleted"}
	devices  = []string{"Desktop", "Mobile", "Tablet"}
	base     = time.Date(2026, 9, 1, 0, 0, 0, 0, time.UTC)
)

// Page returns one response body: a JSON array of n transactions.
func (g *Generator) Page(n int) []byte {
	rng := g.rng
	var b strings.Builder
	b.WriteString("[")
	for i := 0; i < n; i++ {
		if i > 0 {
			b.WriteString(",")
		}
		g.id++
		id := g.id
		st := statuses[rng.IntN(len(statuses))]
		tx := base.Add(time.Duration(rng.IntN(60*24*3600)) * time.Second)
		click := tx.Add(-time.Duration(rng.IntN(7*24*3600)) * time.Second)
		sale := fmt.Sprintf("%d.%02d", rng.IntN(500), rng.IntN(100))
		comm := fmt.Sprintf("%d.%02d", rng.IntN(50), rng.IntN(100))
		if rng.IntN(50) == 0 {
			sale = "248.71766639999998"
		}
		validation := "null"
		if st != "pending" {
			validation = strconv.Quote(tx.Add(20 * 24 * time.Hour).Format("2006-01-02T15:04:05"))
		}
		decline := "null"
		if st == "declined" {
			decline = `"Order cancelled"`
		}
		dev := devices[rng.IntN(len(devices))]
		fmt.Fprintf(&b, `{"id":%d,"url":"https://www.example-publisher.co.uk/p/%d","advertiserId":%d,"publisherId":189069,`+
			`"commissionSharingPublisherId":null,"commissionSharingSelectedRatePublisherId":null,"campaign":null,`+
			`"siteName":"Example Publisher","commissionStatus":"%s","commissionAmount":{"amount":%s,"currency":"GBP"},`+
			`"saleAmount":{"amount":%s,"currency":"GBP"},"ipHash":"-%d","customerCountry":"GB",`+
			`"clickRefs":{"clickRef":"ref-%d","clickRef2":"sub-%d"},"clickDate":"%s","transactionDate":"%s",`+
			`"validationDate":%s,"type":"Commission group transaction","declineReason":%s,"voucherCodeUsed":false,`+
			`"voucherCode":null,"lapseTime":%d,"amended":false,"amendReason":null,"oldSaleAmount":null,`+
			`"oldCommissionAmount":null,"clickDevice":"%s","transactionDevice":"%s","customerAcquisition":"%s",`+
			`"publisherUrl":"https://www.example-publisher.co.uk","advertiserCountry":"GB","orderRef":"ORD-%d",`+
			`"customParameters":[{"key":"c","value":"%d"}],"transactionParts":[{"commissionGroupId":%d,"amount":%s,`+
			`"commissionAmount":%s,"commissionGroupCode":"DEFAULT","commissionGroupName":"Default Commission"}],`+
			`"paidToPublisher":%v,"paymentId":%d,"transactionQueryId":0,"originalSaleAmount":null`,
			id, id, 1000+rng.IntN(500), st, comm, sale, rng.Int64(), rng.IntN(1000), rng.IntN(10),
			click.Format("2006-01-02T15:04:05"), tx.Format("2006-01-02T15:04:05"), validation, decline,
			rng.IntN(100000), dev, dev, []string{"NEW", "EXISTING"}[rng.IntN(2)], id, rng.IntN(9),
			rng.IntN(1000), sale, comm, st == "approved" && rng.IntN(3) == 0, rng.IntN(100000))
		if g.Basket {
			b.WriteString(`,"basketProducts":[`)
			for p, n := 0, 1+rng.IntN(3); p < n; p++ {
				if p > 0 {
					b.WriteString(",")
				}
				sku := rng.IntN(1_000_000)
				fmt.Fprintf(&b, `{"productId":"%d","productName":"Product %d","unitPrice":%d.%02d,"quantity":%d,`+
					`"skuCode":"SKU-%06d","commissionGroupCode":"DEFAULT","category":"%s"}`,
					sku, sku, rng.IntN(200), rng.IntN(100), 1+rng.IntN(3), sku,
					[]string{"Clothing", "Electronics", "Home & Garden", "Beauty"}[rng.IntN(4)])
			}
			b.WriteString("]")
		}
		b.WriteString("}")
	}
	b.WriteString("]")
	return []byte(b.String())
}
