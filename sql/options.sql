--
-- options: what the validator accepts and rejects, for every catalog.
--
\getenv comet_url COMET_URL

-- server options: all of them, with valid values
CREATE SERVER opt_ok FOREIGN DATA WRAPPER comet_fdw OPTIONS (
    url 'https://comet.example.com/api/rest/v2', timeout_ms '5000',
    connect_timeout_ms '2000', max_retries '0', max_concurrency '4',
    cache_ttl_s '0', max_response_bytes '64MB', ca_file '/etc/ssl/certs/ca-certificates.crt',
    allow_key_file 'false');
ALTER SERVER opt_ok OPTIONS (SET max_response_bytes '1048576', SET allow_key_file 'on');
SELECT srvoptions FROM pg_foreign_server WHERE srvname = 'opt_ok';

-- only http and https, with a host
CREATE SERVER opt_bad FOREIGN DATA WRAPPER comet_fdw OPTIONS (url 'ftp://comet.example.com/');
CREATE SERVER opt_bad FOREIGN DATA WRAPPER comet_fdw OPTIONS (url 'file:///etc/passwd');
CREATE SERVER opt_bad FOREIGN DATA WRAPPER comet_fdw OPTIONS (url 'gopher://x');
CREATE SERVER opt_bad FOREIGN DATA WRAPPER comet_fdw OPTIONS (url 'www.comet.com/api/rest/v2');
CREATE SERVER opt_bad FOREIGN DATA WRAPPER comet_fdw OPTIONS (url 'https:///api');
CREATE SERVER opt_bad FOREIGN DATA WRAPPER comet_fdw OPTIONS (url 'https://comet.example.com/a b');

-- numbers
CREATE SERVER opt_bad FOREIGN DATA WRAPPER comet_fdw OPTIONS (timeout_ms '-1');
CREATE SERVER opt_bad FOREIGN DATA WRAPPER comet_fdw OPTIONS (timeout_ms '0');
CREATE SERVER opt_bad FOREIGN DATA WRAPPER comet_fdw OPTIONS (connect_timeout_ms 'soon');
CREATE SERVER opt_bad FOREIGN DATA WRAPPER comet_fdw OPTIONS (max_retries '21');
CREATE SERVER opt_bad FOREIGN DATA WRAPPER comet_fdw OPTIONS (max_concurrency '0');
CREATE SERVER opt_bad FOREIGN DATA WRAPPER comet_fdw OPTIONS (max_concurrency '65');
CREATE SERVER opt_bad FOREIGN DATA WRAPPER comet_fdw OPTIONS (cache_ttl_s '-5');
CREATE SERVER opt_bad FOREIGN DATA WRAPPER comet_fdw OPTIONS (max_response_bytes '0');
CREATE SERVER opt_bad FOREIGN DATA WRAPPER comet_fdw OPTIONS (max_response_bytes 'lots');
CREATE SERVER opt_bad FOREIGN DATA WRAPPER comet_fdw OPTIONS (allow_key_file 'maybe');
CREATE SERVER opt_bad FOREIGN DATA WRAPPER comet_fdw OPTIONS (ca_file '');

-- unknown, misplaced and repeated options
CREATE SERVER opt_bad FOREIGN DATA WRAPPER comet_fdw OPTIONS (uri 'https://x');
CREATE SERVER opt_bad FOREIGN DATA WRAPPER comet_fdw OPTIONS (api_key 'k');
CREATE SERVER opt_bad FOREIGN DATA WRAPPER comet_fdw OPTIONS (endpoint 'experiments');
ALTER SERVER opt_ok OPTIONS (ADD timeout_ms '1', ADD timeout_ms '2');
ALTER FOREIGN DATA WRAPPER comet_fdw OPTIONS (url 'https://x');
ALTER FOREIGN DATA WRAPPER comet_fdw OPTIONS (api_key 'k');

-- user mappings: api_key only, not empty, no control characters
CREATE USER MAPPING FOR CURRENT_USER SERVER opt_ok OPTIONS (api_key '');
CREATE USER MAPPING FOR CURRENT_USER SERVER opt_ok OPTIONS (api_key E'abc\r\nX-Evil: 1');
CREATE USER MAPPING FOR CURRENT_USER SERVER opt_ok OPTIONS (apikey 'k');
CREATE USER MAPPING FOR CURRENT_USER SERVER opt_ok OPTIONS (url 'https://x');
CREATE USER MAPPING FOR CURRENT_USER SERVER opt_ok OPTIONS (api_key 'some-key');

-- foreign tables: a known endpoint; columns: field
CREATE FOREIGN TABLE opt_t (experiment_key text, exp_name text OPTIONS (field 'experimentName'))
    SERVER opt_ok OPTIONS (endpoint 'experiments');
CREATE FOREIGN TABLE opt_bad_t (x text) SERVER opt_ok OPTIONS (endpoint 'experiment');
CREATE FOREIGN TABLE opt_bad_t (x text) SERVER opt_ok OPTIONS (endpoint 'tags', api_key 'k');
CREATE FOREIGN TABLE opt_bad_t (x text OPTIONS (json 'x')) SERVER opt_ok OPTIONS (endpoint 'tags');
CREATE FOREIGN TABLE opt_bad_t (x text OPTIONS (field '')) SERVER opt_ok OPTIONS (endpoint 'tags');
-- a table without endpoint reads the endpoint its name names, else says so
CREATE FOREIGN TABLE opt_noendpoint (x text) SERVER opt_ok;
SELECT * FROM opt_noendpoint;

-- superuser-only options, and api_key stays out of world-readable catalogs
CREATE ROLE regress_comet_owner NOSUPERUSER;
GRANT USAGE ON FOREIGN DATA WRAPPER comet_fdw TO regress_comet_owner;
SET ROLE regress_comet_owner;
CREATE SERVER opt_user FOREIGN DATA WRAPPER comet_fdw OPTIONS (url 'https://comet.example.com');
CREATE SERVER opt_user2 FOREIGN DATA WRAPPER comet_fdw OPTIONS (allow_key_file 'true');
ALTER SERVER opt_user OPTIONS (ADD allow_key_file 'false');
ALTER SERVER opt_user OPTIONS (ADD ca_file '/etc/passwd');
RESET ROLE;
DROP SERVER opt_user;
DROP OWNED BY regress_comet_owner;
DROP ROLE regress_comet_owner;

-- a self-hosted "clientlib" URL is normalized the way Comet's clients do
SELECT regexp_replace(:'comet_url', '/api/rest/v2$', '/clientlib/') AS clientlib_url \gset
\set ECHO none
\getenv comet_key COMET_TEST_KEY
CREATE SERVER opt_clientlib FOREIGN DATA WRAPPER comet_fdw OPTIONS (url :'clientlib_url');
CREATE USER MAPPING FOR CURRENT_USER SERVER opt_clientlib OPTIONS (api_key :'comet_key');
\set ECHO all
CREATE FOREIGN TABLE opt_ws (workspace_name text) SERVER opt_clientlib OPTIONS (endpoint 'workspaces');
SELECT count(*) > 0 AS reached FROM opt_ws;

DROP SERVER opt_ok CASCADE;
DROP SERVER opt_clientlib CASCADE;
