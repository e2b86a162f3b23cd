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
-- The lines are read once into a temporary table, then written twice.
SET threads TO 2;
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
