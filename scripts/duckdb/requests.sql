-- DuckDB doing the job of `vendorlake audiencestudio requests`, for the
-- peer column of scripts/bench (issue 15): read every plain and gzip
-- request file (uploads/consent-data/YYYY-MM-DD/*.txt and *.txt.gz, lines
-- of seven fields separated by '^') with read_csv, and write them as
-- ZSTD-compressed Parquet, Hive-partitioned by the upload date of the
-- folder, on two threads. DuckDB reads no lzop, so scripts/bench gives both
-- tools a drop whose lzop file is recompressed with gzip. No validation, no
-- rejects table (lines of the wrong shape are dropped, ignore_errors) and
-- no parsed flags map: that is the part of vendorlake's work DuckDB skips.
--
-- scripts/bench substitutes @INPUT@ (the client folder) and @OUTPUT@ (a
-- fresh folder; requests/ is written under it) and @MEMORY_LIMIT@
-- (scripts/bench --duckdb-memory) and runs it with
--   node scripts/duckdb/query.mjs "$(sed ... scripts/duckdb/requests.sql)"
SET threads TO 2;
SET memory_limit TO '@MEMORY_LIMIT@';
SET temp_directory TO '@OUTPUT@/duckdb_tmp';
SET preserve_insertion_order TO false;
COPY (
  SELECT id_kind, id_type, id_value, action, policy_regime, flags_raw,
         make_timestamp(ts_us) AS requested_at,
         filename AS source_file,
         CAST(regexp_extract(filename, '/([0-9]{4}-[0-9]{2}-[0-9]{2})/[^/]*$', 1) AS DATE) AS upload_date
  FROM read_csv(['@INPUT@/uploads/consent-data/*/*.txt', '@INPUT@/uploads/consent-data/*/*.txt.gz'],
                delim = '^', quote = '', escape = '', header = false, filename = true,
                auto_detect = false, ignore_errors = true,
                columns = {'id_kind': 'VARCHAR', 'id_type': 'VARCHAR', 'id_value': 'VARCHAR',
                           'action': 'VARCHAR', 'policy_regime': 'VARCHAR', 'flags_raw': 'VARCHAR',
                           'ts_us': 'BIGINT'})
) TO '@OUTPUT@/requests' (FORMAT parquet, COMPRESSION zstd, PARTITION_BY (upload_date));
SELECT count(*) AS requests FROM read_parquet('@OUTPUT@/requests/*/*.parquet');
