// The baseline `make bench` compares afflake transform with: DuckDB
// mapping the same Awin-shaped pages, as a SQL user would write it, into
// one of the two tables afflake writes at once (COPY to Parquet, zstd):
//
//   node mapping.mjs unified PAGES_DIR OUT.parquet
//     the unified table: read_json, the awin spec's mapping as casts and
//     CASEs, a row hash of a few fields
//   node mapping.mjs table PAGES_DIR OUT.parquet
//     the network table: every field of a transaction as a typed column
//     (json_transform, one parse a record) and the record's JSON text
//
// It prints "duckdb: N records read", the line afflake-bench run counts.
import { DuckDBInstance } from '@duckdb/node-api';

const [mode, dir, out] = process.argv.slice(2);
const quote = (s) => "'" + s.replaceAll("'", "''") + "'";
const instance = await DuckDBInstance.create(':memory:', { threads: '2' });
const con = await instance.connect();
const unified = `COPY (
  SELECT 'awin' AS network, '189069' AS account_id,
    id::VARCHAR AS transaction_id,
    NULLIF(orderRef::VARCHAR, '') AS order_ref,
    advertiserId::VARCHAR AS advertiser_id,
    NULLIF(clickRefs.clickRef::VARCHAR, '') AS click_ref,
    clickDate::TIMESTAMP AS click_at,
    transactionDate::TIMESTAMP AS transaction_at,
    validationDate::TIMESTAMP AS validated_at,
    CASE WHEN paidToPublisher AND commissionStatus = 'approved' THEN 'paid'
         WHEN commissionStatus = 'deleted' THEN 'declined'
         ELSE commissionStatus END AS status,
    commissionStatus AS status_raw,
    saleAmount.amount::DECIMAL(18,6) AS sale_amount,
    commissionAmount.amount::DECIMAL(18,6) AS commission_amount,
    upper(coalesce(commissionAmount.currency, saleAmount.currency)) AS currency,
    CASE upper(customerAcquisition) WHEN 'NEW' THEN 'new' WHEN 'EXISTING' THEN 'existing' END AS customer_type,
    lower(coalesce(clickDevice, transactionDevice)) AS device,
    upper(customerCountry) AS country,
    NULLIF(voucherCode::VARCHAR, '') AS voucher_code,
    NULLIF(declineReason::VARCHAR, '') AS decline_reason,
    now()::TIMESTAMP AS fetched_at, 'bench' AS run_id, filename AS raw_ref,
    md5(concat_ws('|', id, commissionStatus, saleAmount.amount, commissionAmount.amount, validationDate)) AS row_hash
  FROM read_json(${quote(dir + '/*.json')}, format = 'array', filename = true, maximum_object_size = 1073741824)
) TO ${quote(out)} (FORMAT parquet, COMPRESSION zstd)`;
// Awin's transaction fields, typed as the awin spec's columns.
const fields = {};
for (const f of ['id', 'url', 'advertiserId', 'publisherId', 'commissionSharingPublisherId',
  'commissionSharingSelectedRatePublisherId', 'campaign', 'siteName', 'commissionStatus', 'ipHash',
  'customerCountry', 'type', 'declineReason', 'voucherCode', 'amendReason', 'clickDevice',
  'transactionDevice', 'customerAcquisition', 'publisherUrl', 'advertiserCountry', 'orderRef',
  'paymentId', 'transactionQueryId']) {
  fields[f] = 'VARCHAR';
}
for (const f of ['clickDate', 'transactionDate', 'validationDate']) fields[f] = 'TIMESTAMP';
for (const f of ['voucherCodeUsed', 'amended', 'paidToPublisher']) fields[f] = 'BOOLEAN';
for (const f of ['clickRefs', 'customParameters', 'transactionParts', 'basketProducts']) fields[f] = 'JSON';
fields.lapseTime = 'BIGINT';
for (const f of ['commissionAmount', 'saleAmount']) fields[f] = { amount: 'DECIMAL(18,6)', currency: 'VARCHAR' };
for (const f of ['oldSaleAmount', 'oldCommissionAmount']) fields[f] = { amount: 'DECIMAL(18,6)' };
const table = `COPY (
  SELECT unnest(json_transform(json, ${quote(JSON.stringify(fields))})), json AS raw_record
  FROM read_json_objects(${quote(dir + '/*.json')}, format = 'array', maximum_object_size = 1073741824)
) TO ${quote(out)} (FORMAT parquet, COMPRESSION zstd)`;

const sql = { unified, table }[mode];
if (!sql) {
  console.error('usage: node mapping.mjs unified|table PAGES_DIR OUT.parquet');
  process.exit(2);
}
const result = await con.runAndReadAll(sql);
console.log(`duckdb: ${result.getRows()[0][0]} records read`);
