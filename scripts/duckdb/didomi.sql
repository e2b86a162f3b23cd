-- DuckDB doing the job of `vendorlake didomi` on users and events, for the
-- peer column of scripts/bench (issue 15): read every users file of a
-- Didomi export tree, write the users (one row per line) and the flattened
-- events (one row per element of "events", with the user's id) as
-- ZSTD-compressed Parquet, Hive-partitioned by export_id and date, on two
-- threads. No validation, no rejects, no proof archives: that is the part
-- of vendorlake's work DuckDB skips.
--
-- scripts/bench substitutes @INPUT@ (the export root, holding
-- export-id=ID/date=YYYY-MM-DD/users/*.json.gz) and @OUTPUT@ (a fresh
-- folder; users/ and events/ are written under it) and runs it with
--   node scripts/duckdb/query.mjs "$(sed ... scripts/duckdb/didomi.sql)"
-- @MEMORY_LIMIT@ is DuckDB's memory_limit (scripts/bench --duckdb-memory):
-- beyond it DuckDB spills to @OUTPUT@/duckdb_tmp.
-- The lines are read once into a temporary table, then written twice: on
-- 16 and 64 MiB of gzip (2026-11-30, load 3) that took 4.9 and 10.6 s and
-- 0.52 and 1.56 GB, where reading the files once per table took 6.7 and
-- 20.1 s and 0.56 and 1.27 GB. The table grows with the input, hence the
-- memory limit.
SET threads TO 2;
SET memory_limit TO '@MEMORY_LIMIT@';
SET temp_directory TO '@OUTPUT@/duckdb_tmp';
SET preserve_insertion_order TO false;
CREATE TEMP TABLE didomi_lines AS
  SELECT "export-id" AS export_id, "date" AS "date", "user" AS u, events
  FROM read_json('@INPUT@/export-id=*/date=*/users/*.json.gz',
                 format = 'newline_delimited', hive_partitioning = true);
COPY (SELECT export_id, "date", u.* FROM didomi_lines)
  TO '@OUTPUT@/users' (FORMAT parquet, COMPRESSION zstd, PARTITION_BY (export_id, "date"));
COPY (SELECT export_id, "date", user_id, e.*
      FROM (SELECT export_id, "date", u.id AS user_id, unnest(events) AS e FROM didomi_lines))
  TO '@OUTPUT@/events' (FORMAT parquet, COMPRESSION zstd, PARTITION_BY (export_id, "date"));
SELECT (SELECT count(*) FROM didomi_lines) AS users,
       (SELECT count(*) FROM (SELECT unnest(events) FROM didomi_lines)) AS events;
