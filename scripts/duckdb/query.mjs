// query.mjs runs SQL with DuckDB (an engine independent of vendorlake) and
// prints the result as JSON lines, one object per row, so that shell and Go
// tests can compare the lake's contents with what they expect.
//
//   node scripts/duckdb/query.mjs "SELECT ..."        (or SQL on stdin)
//
// Several statements may be given; only the last one's rows are printed.
import { DuckDBInstance } from '@duckdb/node-api';
import { readFileSync } from 'node:fs';

const sql = process.argv[2] ?? readFileSync(0, 'utf8');
const instance = await DuckDBInstance.create(':memory:');
const conn = await instance.connect();
try {
  const statements = sql.split(/;\s*(?:\n|$)/).map((s) => s.trim()).filter(Boolean);
  let reader;
  for (const s of statements) {
    reader = await conn.runAndReadAll(s);
  }
  if (reader) {
    for (const row of reader.getRowObjectsJson()) {
      process.stdout.write(JSON.stringify(row) + '\n');
    }
  }
} catch (e) {
  process.stderr.write(`duckdb: ${e.message}\n`);
  process.exitCode = 1;
} finally {
  conn.closeSync?.();
}
