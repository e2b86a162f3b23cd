// time.mjs times read queries with DuckDB, for scripts/bench's query
// comparison of two lakes (issue 15).
//
//   node scripts/duckdb/time.mjs [--repeat=N] [--threads=T] "SQL" ["SQL" ...]
//
// Each query runs once untimed (a warm-up: the files enter the page cache),
// then N times (default 10) on one connection; it prints one JSON line per
// query: {"query": i, "rows": rows of its result, "ms_median": …,
// "ms_min": …}. Times are in-process wall times of runAndReadAll, without
// the start of node and DuckDB.
import { DuckDBInstance } from '@duckdb/node-api';

let repeat = 10;
let threads = 2;
const queries = [];
for (const a of process.argv.slice(2)) {
  if (a.startsWith('--repeat=')) repeat = Number(a.slice(9));
  else if (a.startsWith('--threads=')) threads = Number(a.slice(10));
  else queries.push(a);
}
if (!(repeat >= 1) || !(threads >= 1) || queries.length === 0) {
  process.stderr.write('usage: node scripts/duckdb/time.mjs [--repeat=N] [--threads=T] "SQL" ...\n');
  process.exit(2);
}
const instance = await DuckDBInstance.create(':memory:', { threads: String(threads) });
const conn = await instance.connect();
try {
  for (const [i, q] of queries.entries()) {
    const rows = (await conn.runAndReadAll(q)).getRows().length;
    const ms = [];
    for (let r = 0; r < repeat; r++) {
      const t0 = process.hrtime.bigint();
      await conn.runAndReadAll(q);
      ms.push(Number(process.hrtime.bigint() - t0) / 1e6);
    }
    ms.sort((a, b) => a - b);
    const median = ms.length % 2 ? ms[(ms.length - 1) / 2] : (ms[ms.length / 2 - 1] + ms[ms.length / 2]) / 2;
    process.stdout.write(JSON.stringify({ query: i, rows, ms_median: +median.toFixed(2), ms_min: +ms[0].toFixed(2) }) + '\n');
  }
} catch (e) {
  process.stderr.write(`duckdb: ${e.message}\n`);
  process.exitCode = 1;
} finally {
  conn.closeSync?.();
}
