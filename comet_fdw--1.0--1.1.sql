/* comet_fdw--1.0--1.1.sql: every change to the SQL objects since 1.0.
 * comet_fdw--1.0.sql stays as released; CREATE EXTENSION comet_fdw (at 1.1) runs it and then
 * this script, exactly as ALTER EXTENSION comet_fdw UPDATE does on a 1.0 database.
 * test/suites/upgrade.sh checks that both paths end with identical objects. */

\echo Use "ALTER EXTENSION comet_fdw UPDATE" to load this file. \quit

-- the JSON parser is comet_fdw's own (src/jsonrow.c); json-c is only the fuzzer's reference
COMMENT ON FUNCTION comet_fdw_version() IS 'comet_fdw and libcurl versions, and the JSON parser';
