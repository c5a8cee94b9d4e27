--
-- setup: the extension, a server on the fake Comet, the key, the schema.
-- Later suites use what this one creates.
--
\getenv comet_url COMET_URL
\getenv comet_key COMET_TEST_KEY
\set ECHO none
-- the key never appears in the expected output, even in echoed commands
CREATE EXTENSION comet_fdw;
-- cache_ttl_s 0: only within one statement, so request counts are exact
CREATE SERVER comet FOREIGN DATA WRAPPER comet_fdw
    OPTIONS (url :'comet_url', cache_ttl_s '0');
CREATE USER MAPPING FOR CURRENT_USER SERVER comet OPTIONS (api_key :'comet_key');
\set ECHO all
CREATE SCHEMA comet;
IMPORT FOREIGN SCHEMA comet FROM SERVER comet INTO comet;
SELECT comet_fdw_create_views('comet');

-- the library answers
SELECT comet_fdw_version() ~ '^comet_fdw 1\.1, libcurl/\S+ .*JSON: built-in parser' AS version_ok;

-- the foreign tables of the contract, with their endpoints
SELECT c.relname, ft.ftoptions
  FROM pg_foreign_table ft JOIN pg_class c ON c.oid = ft.ftrelid
 WHERE c.relnamespace = 'comet'::regnamespace
 ORDER BY 1;

-- the views, all security_invoker
SELECT c.relname, c.reloptions
  FROM pg_class c
 WHERE c.relnamespace = 'comet'::regnamespace AND c.relkind = 'v'
 ORDER BY 1;

-- every table, column and view carries a comment (Metabase and \d+ show them)
SELECT c.relname, a.attname
  FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid
 WHERE c.relnamespace = 'comet'::regnamespace AND a.attnum > 0
   AND c.relkind = 'f'
   AND col_description(c.oid, a.attnum) IS NULL;
SELECT relname FROM pg_class
 WHERE relnamespace = 'comet'::regnamespace AND obj_description(oid, 'pg_class') IS NULL;

\d+ comet.experiments
