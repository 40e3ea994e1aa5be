// Reads Parquet files with DuckDB and prints what it sees as one JSON
// object: the column types DuckDB gives each file (DESCRIBE) and the
// results of the queries given, with every value as text so that decimals
// stay exact.
//
//   node check.mjs '{"files": {"u": "/path/u.parquet"}, "queries": {"sum": "SELECT SUM(sale_amount)::VARCHAR AS v FROM u"}}'
//
// Each file is visible to the queries as a view of its name.
import { DuckDBInstance } from '@duckdb/node-api';

const spec = JSON.parse(process.argv[2]);
const instance = await DuckDBInstance.create(':memory:');
const con = await instance.connect();
const out = { version: '', describe: {}, queries: {} };
out.version = (await con.runAndReadAll('SELECT version() AS v')).getRowObjectsJson()[0].v;
for (const [name, path] of Object.entries(spec.files)) {
  const quoted = "'" + path.replaceAll("'", "''") + "'";
  await con.run(`CREATE VIEW "${name}" AS SELECT * FROM read_parquet(${quoted})`);
  const rows = (await con.runAndReadAll(`DESCRIBE "${name}"`)).getRowObjectsJson();
  out.describe[name] = rows.map((r) => [r.column_name, r.column_type]);
}
for (const [name, sql] of Object.entries(spec.queries ?? {})) {
  out.queries[name] = (await con.runAndReadAll(sql)).getRowObjectsJson();
}
console.log(JSON.stringify(out));
