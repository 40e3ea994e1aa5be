// Package row defines the unified transaction row, the contract every
// network's mapping produces, and the content hash used to tell a new
// version of a transaction from a repeat.
package row

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"slices"
	"strings"
	"time"

	"github.com/afflake/afflake/engine/decimal"
)

// Statuses are the normalised values of Unified.Status.
var Statuses = []string{"pending", "approved", "declined", "paid"}

// CustomerTypes are the values of Unified.CustomerType.
var CustomerTypes = []string{"new", "existing"}

// Enums are the values of the unified columns whose values are a closed
// set, by column.
var Enums = map[string][]string{"status": Statuses, "customer_type": CustomerTypes}

// Unified is one version of one transaction. Pointer fields are optional
// columns; nil is null. Amounts are decimal(18,6), times UTC.
type Unified struct {
	Network             string            `parquet:"network" json:"network"`
	AccountID           string            `parquet:"account_id" json:"account_id"`
	TransactionID       string            `parquet:"transaction_id" json:"transaction_id"`
	ParentTransactionID *string           `parquet:"parent_transaction_id,optional" json:"parent_transaction_id"`
	OrderRef            *string           `parquet:"order_ref,optional" json:"order_ref"`
	AdvertiserID        *string           `parquet:"advertiser_id,optional" json:"advertiser_id"`
	AdvertiserName      *string           `parquet:"advertiser_name,optional" json:"advertiser_name"`
	ClickRef            *string           `parquet:"click_ref,optional" json:"click_ref"`
	ClickRefs           map[string]string `parquet:"click_refs,optional" json:"click_refs"`
	ClickAt             *time.Time        `parquet:"click_at,optional,timestamp(microsecond)" json:"click_at"`
	TransactionAt       time.Time         `parquet:"transaction_at,timestamp(microsecond)" json:"transaction_at"`
	UpdatedAt           *time.Time        `parquet:"updated_at,optional,timestamp(microsecond)" json:"updated_at"`
	ValidatedAt         *time.Time        `parquet:"validated_at,optional,timestamp(microsecond)" json:"validated_at"`
	PaidAt              *time.Time        `parquet:"paid_at,optional,timestamp(microsecond)" json:"paid_at"`
	Status              string            `parquet:"status" json:"status"`
	StatusRaw           string            `parquet:"status_raw" json:"status_raw"`
	SaleAmount          int64             `parquet:"sale_amount,decimal(6:18)" json:"sale_amount_unscaled"`
	CommissionAmount    int64             `parquet:"commission_amount,decimal(6:18)" json:"commission_amount_unscaled"`
	Currency            string            `parquet:"currency" json:"currency"`
	CustomerType        *string           `parquet:"customer_type,optional" json:"customer_type"`
	Device              *string           `parquet:"device,optional" json:"device"`
	Country             *string           `parquet:"country,optional" json:"country"`
	VoucherCode         *string           `parquet:"voucher_code,optional" json:"voucher_code"`
	DeclineReason       *string           `parquet:"decline_reason,optional" json:"decline_reason"`
	FetchedAt           time.Time         `parquet:"fetched_at,timestamp(microsecond)" json:"fetched_at"`
	RunID               string            `parquet:"run_id" json:"run_id"`
	RawRef              string            `parquet:"raw_ref" json:"raw_ref"`
	SpecHash            string            `parquet:"spec_hash" json:"spec_hash"`
	RowHash             string            `parquet:"row_hash" json:"row_hash"`
}

// Sale returns the sale amount as a Decimal.
func (u *Unified) Sale() decimal.Decimal { return decimal.Decimal{Unscaled: u.SaleAmount} }

// Commission returns the commission amount as a Decimal.
func (u *Unified) Commission() decimal.Decimal {
	return decimal.Decimal{Unscaled: u.CommissionAmount}
}

// Hash returns the content hash of u: every column that describes the
// transaction, none of the lineage columns (fetched_at, run_id, raw_ref,
// spec_hash, row_hash). Two fetches of an unchanged transaction hash the
// same.
func (u *Unified) Hash() string {
	var arr [512]byte
	b := arr[:0]
	str := func(s string) {
		b = binary.LittleEndian.AppendUint64(b, uint64(len(s)))
		b = append(b, s...)
	}
	opt := func(s *string) {
		if s == nil {
			b = append(b, 0)
			return
		}
		b = append(b, 1)
		str(*s)
	}
	num := func(n int64) {
		b = binary.LittleEndian.AppendUint64(b, uint64(n))
	}
	tm := func(t *time.Time) {
		if t == nil {
			b = append(b, 0)
			return
		}
		b = append(b, 1)
		num(t.UnixMicro())
	}
	str(u.Network)
	str(u.AccountID)
	str(u.TransactionID)
	opt(u.ParentTransactionID)
	opt(u.OrderRef)
	opt(u.AdvertiserID)
	opt(u.AdvertiserName)
	opt(u.ClickRef)
	if u.ClickRefs == nil {
		b = append(b, 0)
	} else {
		b = append(b, 1)
		var buf [8]Ref
		refs := SortedRefs(u.ClickRefs, buf[:0])
		num(int64(len(refs)))
		for _, r := range refs {
			str(r.Key)
			str(r.Value)
		}
	}
	tm(u.ClickAt)
	tm(&u.TransactionAt)
	tm(u.UpdatedAt)
	tm(u.ValidatedAt)
	tm(u.PaidAt)
	str(u.Status)
	str(u.StatusRaw)
	num(u.SaleAmount)
	num(u.CommissionAmount)
	str(u.Currency)
	opt(u.CustomerType)
	opt(u.Device)
	opt(u.Country)
	opt(u.VoucherCode)
	opt(u.DeclineReason)
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:16])
}

// Ref is one entry of a map column such as click_refs.
type Ref struct{ Key, Value string }

// SortedRefs appends the entries of m to buf in key order, the order of
// the row hash and of the Parquet map.
func SortedRefs(m map[string]string, buf []Ref) []Ref {
	for k, v := range m {
		buf = append(buf, Ref{k, v})
	}
	if len(buf) > 16 {
		slices.SortFunc(buf, func(a, b Ref) int { return strings.Compare(a.Key, b.Key) })
		return buf
	}
	// Sub-ids are a handful: an insertion sort.
	for i := 1; i < len(buf); i++ {
		for j := i; j > 0 && buf[j].Key < buf[j-1].Key; j-- {
			buf[j], buf[j-1] = buf[j-1], buf[j]
		}
	}
	return buf
}

// Field describes a unified column a spec's transaction mapping fills.
type Field struct {
	Name     string
	Kind     string // string, decimal, timestamp or map
	Required bool
}

// Fields are the mapped columns of Unified, in contract order. network,
// account_id, fetched_at and the lineage columns are filled by the engine.
var Fields = []Field{
	{"transaction_id", "string", true},
	{"parent_transaction_id", "string", false},
	{"order_ref", "string", false},
	{"advertiser_id", "string", false},
	{"advertiser_name", "string", false},
	{"click_ref", "string", false},
	{"click_refs", "map", false},
	{"click_at", "timestamp", false},
	{"transaction_at", "timestamp", true},
	{"updated_at", "timestamp", false},
	{"validated_at", "timestamp", false},
	{"paid_at", "timestamp", false},
	{"status", "string", true},
	{"status_raw", "string", true},
	{"sale_amount", "decimal", true},
	{"commission_amount", "decimal", true},
	{"currency", "string", true},
	{"customer_type", "string", false},
	{"device", "string", false},
	{"country", "string", false},
	{"voucher_code", "string", false},
	{"decline_reason", "string", false},
}
