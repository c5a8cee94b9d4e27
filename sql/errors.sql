--
-- errors: every failure is an error with a fitting SQLSTATE, never an
-- empty result, and no message, detail, hint or context shows the key.
--
\getenv comet_url COMET_URL
\set ECHO none
\getenv comet_key COMET_TEST_KEY
CREATE TEMP TABLE secrets AS SELECT :'comet_key'::text AS k
    UNION ALL SELECT 'regress-WRONG-key-0815';
\set ECHO all
SET comet_fdw.retry_base_ms = 10;

\set ds `curl -s "$COMET_FAKE/_fake/dataset"`
SELECT e->>'experimentKey' AS k1 FROM jsonb_array_elements((:'ds'::jsonb)->'experiments') e
 WHERE e->>'projectName' = 'mnist' ORDER BY e->>'startTimeMillis' LIMIT 1 \gset
SELECT p->>'projectId' AS mnist_id FROM jsonb_array_elements((:'ds'::jsonb)->'projects') p
 WHERE p->>'projectName' = 'mnist' \gset
\unset ds

-- runs a statement; reports its outcome and whether a key leaked into it
CREATE FUNCTION pg_temp.try(q text)
RETURNS TABLE (sqlstate text, message text, detail text, hint text, key_shown boolean)
LANGUAGE plpgsql AS $$
DECLARE
    st text; m text; d text; h text; c text;
BEGIN
    EXECUTE q;
    RETURN QUERY SELECT '00000'::text, 'ok'::text, NULL::text, NULL::text, false;
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, m = MESSAGE_TEXT,
        d = PG_EXCEPTION_DETAIL, h = PG_EXCEPTION_HINT, c = PG_EXCEPTION_CONTEXT;
    -- ports of the fake server change from run to run
    RETURN QUERY SELECT st, m,
        regexp_replace(d, '(127\.0\.0\.\d+):\d+', '\1:PORT', 'g'), h,
        EXISTS (SELECT 1 FROM secrets WHERE strpos(concat_ws(' ', m, d, h, c), k) > 0);
END
$$;
\x on

-- 401: a key Comet does not know
CREATE SERVER err_badkey FOREIGN DATA WRAPPER comet_fdw OPTIONS (url :'comet_url');
CREATE USER MAPPING FOR CURRENT_USER SERVER err_badkey OPTIONS (api_key 'regress-WRONG-key-0815');
CREATE FOREIGN TABLE err_ws (workspace_name text) SERVER err_badkey OPTIONS (endpoint 'workspaces');
SELECT * FROM pg_temp.try('SELECT * FROM err_ws');

-- unknown workspace, project and experiment: Comet's 400 and 404
SELECT * FROM pg_temp.try($$SELECT * FROM comet.projects WHERE workspace_name = 'no-such-ws'$$);
SELECT * FROM pg_temp.try($$SELECT * FROM comet.experiments WHERE project_id = '00000000000000000000000000000000' AND NOT archived$$);
SELECT * FROM pg_temp.try($$SELECT name FROM comet.raw_params WHERE experiment_key = 'ffffffffffffffffffffffffffffffff'$$);

-- nothing listening: a connection error, after the retries
CREATE SERVER err_dead FOREIGN DATA WRAPPER comet_fdw
    OPTIONS (url 'http://127.0.0.1:1/api/rest/v2', max_retries '1');
\set ECHO none
CREATE USER MAPPING FOR CURRENT_USER SERVER err_dead OPTIONS (api_key :'comet_key');
\set ECHO all
CREATE FOREIGN TABLE err_dead_ws (workspace_name text) SERVER err_dead OPTIONS (endpoint 'workspaces');
SELECT sqlstate, message, detail ~ '^GET workspaces failed after 2 attempts: ' AS detail_ok, hint, key_shown
  FROM pg_temp.try('SELECT * FROM err_dead_ws');

-- a response over max_response_bytes is an error, never a truncation
CREATE SERVER err_small FOREIGN DATA WRAPPER comet_fdw
    OPTIONS (url :'comet_url', max_response_bytes '200');
\set ECHO none
CREATE USER MAPPING FOR CURRENT_USER SERVER err_small OPTIONS (api_key :'comet_key');
\set ECHO all
CREATE FOREIGN TABLE err_small_p (project_id text, workspace_name text) SERVER err_small OPTIONS (endpoint 'projects');
SELECT * FROM pg_temp.try($$SELECT * FROM err_small_p WHERE workspace_name = 'fake-user'$$);
\set x `curl -s "$COMET_FAKE/_fake/fault?path=experiment/tags&kind=oversize&bytes=300000"`
SELECT * FROM pg_temp.try(format('SELECT * FROM comet.tags WHERE experiment_key = %L', :'k1'));
ALTER SERVER comet OPTIONS (ADD max_response_bytes '100kB');
SELECT * FROM pg_temp.try(format('SELECT * FROM comet.tags WHERE experiment_key = %L', :'k1'));
ALTER SERVER comet OPTIONS (DROP max_response_bytes);
\set x `curl -s "$COMET_FAKE/_fake/faults/clear"`

-- malformed and incomplete JSON
\set x `curl -s "$COMET_FAKE/_fake/fault?path=experiment/tags&kind=malformed"`
SELECT * FROM pg_temp.try(format('SELECT tag FROM comet.tags WHERE experiment_key = %L', :'k1'));
\set x `curl -s "$COMET_FAKE/_fake/faults/clear"`
-- a body cut short is retried; when every attempt is cut, an error
\set x `curl -s "$COMET_FAKE/_fake/fault?path=experiment/tags&kind=truncated&times=1"`
SELECT * FROM pg_temp.try(format('SELECT tag FROM comet.tags WHERE experiment_key = %L', :'k1'));
\set x `curl -s "$COMET_FAKE/_fake/fault?path=experiment/tags&kind=truncated"`
SELECT * FROM pg_temp.try(format('SELECT tag FROM comet.tags WHERE experiment_key = %L', :'k1'));
\set x `curl -s "$COMET_FAKE/_fake/faults/clear"`

-- 429 with Retry-After, and 500 then 200: recovered, the same rows
\set x `curl -s "$COMET_FAKE/_fake/reset"`
\set x `curl -s "$COMET_FAKE/_fake/fault?path=experiment/tags&kind=status&status=429&retry_after=1&times=1"`
SELECT count(*) AS tags FROM comet.tags WHERE experiment_key = :'k1';
\set x `curl -s "$COMET_FAKE/_fake/fault?path=experiment/tags&kind=status&status=500&times=2"`
SELECT count(*) AS tags FROM comet.tags WHERE experiment_key = :'k1';
\set log `curl -s "$COMET_FAKE/_fake/requests"`
SELECT r->>'path' AS path, (r->>'status')::int AS status FROM jsonb_array_elements(:'log'::jsonb) r;
-- retries spent: the error says what happened
\set x `curl -s "$COMET_FAKE/_fake/fault?path=experiment/tags&kind=status&status=503&retry_after=0"`
SELECT * FROM pg_temp.try(format('SELECT tag FROM comet.tags WHERE experiment_key = %L', :'k1'));
\set x `curl -s "$COMET_FAKE/_fake/faults/clear"`
-- a Retry-After longer than we may wait fails at once
\set x `curl -s "$COMET_FAKE/_fake/fault?path=experiment/tags&kind=status&status=429&retry_after=3600"`
SELECT * FROM pg_temp.try(format('SELECT tag FROM comet.tags WHERE experiment_key = %L', :'k1'));
\set x `curl -s "$COMET_FAKE/_fake/faults/clear"`
-- Retry-After as an HTTP date: one in the past means "now" ...
\set x `curl -s "$COMET_FAKE/_fake/fault?path=experiment/tags&kind=status&status=503&times=1&retry_after=Wed,%2021%20Oct%202015%2007:28:00%20GMT"`
SELECT count(*) AS tags FROM comet.tags WHERE experiment_key = :'k1';
-- ... and one in 2099 is read as far too long to wait
\set x `curl -s "$COMET_FAKE/_fake/fault?path=experiment/tags&kind=status&status=503&retry_after=Thu,%2001%20Jan%202099%2000:00:00%20GMT"`
SELECT sqlstate, message ~ '^Comet asked to retry after \d+ s, longer than comet_fdw.retry_max_wait_ms$' AS says_so
  FROM pg_temp.try(format('SELECT tag FROM comet.tags WHERE experiment_key = %L', :'k1'));
\set x `curl -s "$COMET_FAKE/_fake/faults/clear"`
-- a proxy's HTML error page
\set x `curl -s "$COMET_FAKE/_fake/fault?path=experiment/tags&kind=html_error&status=403"`
SELECT * FROM pg_temp.try(format('SELECT tag FROM comet.tags WHERE experiment_key = %L', :'k1'));
\set x `curl -s "$COMET_FAKE/_fake/faults/clear"`
-- a redirect is never followed (it would carry the key elsewhere)
\set x `curl -s "$COMET_FAKE/_fake/fault?path=experiment/tags&kind=redirect"`
SELECT * FROM pg_temp.try(format('SELECT tag FROM comet.tags WHERE experiment_key = %L', :'k1'));
\set x `curl -s "$COMET_FAKE/_fake/faults/clear"`

-- a failure in one branch of a fan-out fails the query: no partial result
\set x `curl -s "$COMET_FAKE/_fake/fault?path=experiment/parameters&experimentKey=:k1&kind=status&status=404"`
SELECT * FROM pg_temp.try(format('SELECT * FROM comet.raw_params WHERE project_id = %L', :'mnist_id'));
\set x `curl -s "$COMET_FAKE/_fake/faults/clear"`
-- a 200 without the list it should hold
\set x `curl -s "$COMET_FAKE/_fake/fault?path=experiment/parameters&kind=status&status=200"`
SELECT * FROM pg_temp.try(format('SELECT * FROM comet.raw_params WHERE experiment_key = %L', :'k1'));
\set x `curl -s "$COMET_FAKE/_fake/faults/clear"`
\x off

-- cancel: statement_timeout stops a request to a server that never
-- answers, and one whose body trickles in, within a second
CREATE FUNCTION pg_temp.timed(q text) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    t0 timestamptz := clock_timestamp();
BEGIN
    EXECUTE q;
    RETURN 'finished';
EXCEPTION WHEN query_canceled THEN
    RETURN CASE WHEN clock_timestamp() - t0 < interval '1.5 s'
                THEN 'canceled in time' ELSE 'canceled late: ' || (clock_timestamp() - t0) END;
END
$$;
\set x `curl -s "$COMET_FAKE/_fake/fault?path=experiment/tags&kind=hang"`
SET statement_timeout = '500ms';
SELECT pg_temp.timed(format('SELECT * FROM comet.tags WHERE experiment_key = %L', :'k1'));
RESET statement_timeout;
\set x `curl -s "$COMET_FAKE/_fake/faults/clear"`
\set x `curl -s "$COMET_FAKE/_fake/fault?path=experiment/tags&kind=slow_body&latency_ms=5000&chunk_delay_ms=200"`
SET statement_timeout = '700ms';
SELECT pg_temp.timed(format('SELECT * FROM comet.tags WHERE experiment_key = %L', :'k1'));
RESET statement_timeout;
\set x `curl -s "$COMET_FAKE/_fake/faults/clear"`
-- the backend is fine afterwards
SELECT count(*) > 0 AS tags FROM comet.tags WHERE experiment_key = :'k1';

DROP SERVER err_badkey, err_dead, err_small CASCADE;

-- a typo is not silence: a project or workspace name that matched nothing
-- is a NOTICE (the answer is still the empty one)
SELECT count(*) FROM comet.experiments WHERE project_name = 'mnsit';
SELECT count(*) FROM comet.raw_params WHERE project_name IN ('mnist', 'mnsit');
-- a url without /api/rest/v2: the 404 of "GET workspaces" points at the url option
\getenv comet_root COMET_FAKE
CREATE SERVER err_base FOREIGN DATA WRAPPER comet_fdw OPTIONS (url :'comet_root', cache_ttl_s '0');
\set ECHO none
CREATE USER MAPPING FOR CURRENT_USER SERVER err_base OPTIONS (api_key :'comet_key');
\set ECHO all
CREATE FOREIGN TABLE err_base_ws (workspace_name text) SERVER err_base OPTIONS (endpoint 'workspaces');
SELECT sqlstate, message, detail,
       hint ~ 'url option \(http://127\.0\.0\.1:[0-9]+\) must be Comet''s REST base, ending in /api/rest/v2' AS hint_names_the_url
  FROM pg_temp.try('SELECT * FROM err_base_ws');
DROP SERVER err_base CASCADE;

-- max_requests: a statement that would make more requests is an error that
-- names the option (a dashboard role kept from walking the account); the
-- smaller of the server's and the user mapping's applies
ALTER SERVER comet OPTIONS (ADD max_requests '4');
SELECT count(*) > 0 AS within_budget FROM comet.raw_params WHERE experiment_key = :'k1';
SELECT sqlstate, message, detail ~ '^The next one was GET ' AS detail_ok, hint
  FROM pg_temp.try('SELECT count(*) FROM comet.raw_params');
ALTER USER MAPPING FOR CURRENT_USER SERVER comet OPTIONS (ADD max_requests '100');
SELECT sqlstate, message, detail ~ '^The next one was GET ' AS detail_ok, hint
  FROM pg_temp.try('SELECT count(*) FROM comet.raw_params');
ALTER SERVER comet OPTIONS (SET max_requests '0');
ALTER USER MAPPING FOR CURRENT_USER SERVER comet OPTIONS (SET max_requests '2');
SELECT sqlstate, message, detail ~ '^The next one was GET ' AS detail_ok, hint
  FROM pg_temp.try('SELECT count(*) FROM comet.raw_params');
ALTER USER MAPPING FOR CURRENT_USER SERVER comet OPTIONS (DROP max_requests);
ALTER SERVER comet OPTIONS (DROP max_requests);
SELECT count(*) > 0 AS unbounded_again FROM comet.raw_params;
