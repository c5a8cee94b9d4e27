--
-- cache: within a statement the same request is never made twice; across
-- statements a response is reused for cache_ttl_s seconds;
-- comet_fdw_cache_clear() empties the cache; comet_fdw_stats() counts.
--
\i sql/include/explain.sql
\set ds `curl -s "$COMET_FAKE/_fake/dataset"`
SELECT e->>'experimentKey' AS k1 FROM jsonb_array_elements((:'ds'::jsonb)->'experiments') e
 WHERE e->>'projectName' = 'mnist' ORDER BY e->>'startTimeMillis' LIMIT 1 \gset
SELECT p->>'projectId' AS mnist_id FROM jsonb_array_elements((:'ds'::jsonb)->'projects') p
 WHERE p->>'projectName' = 'mnist' \gset
\unset ds
SELECT comet_fdw_cache_clear() >= 0 AS cleared;

-- connections are kept alive across requests and statements
SELECT count(*) AS warm_up FROM comet.workspaces;
\set x `curl -s "$COMET_FAKE/_fake/reset"`
SELECT count(*) AS workspaces FROM comet.workspaces;
SELECT count(*) AS projects FROM comet.projects WHERE workspace_name = 'fake-user';
SELECT count(*) AS tags FROM comet.tags WHERE experiment_key = :'k1';
\set n `curl -s "$COMET_FAKE/_fake/count"`
\set c `curl -s "$COMET_FAKE/_fake/connections"`
SELECT :n AS requests, :c AS connections_used;
-- a concurrent fan-out opens at most max_concurrency, and reuses them next time
\set x `curl -s "$COMET_FAKE/_fake/reset"`
SELECT count(DISTINCT experiment_key) AS experiments FROM comet.raw_params WHERE workspace_name = 'fake-user';
SELECT count(DISTINCT experiment_key) AS experiments FROM comet.raw_params WHERE workspace_name = 'fake-user';
\set n `curl -s "$COMET_FAKE/_fake/count"`
\set c `curl -s "$COMET_FAKE/_fake/connections"`
SELECT :n AS requests, :c <= 8 AS within_max_concurrency, :c < :n / 2 AS reused;
\set x `curl -s "$COMET_FAKE/_fake/reset"`

-- one statement reading the summary twice (metric discovery for
-- raw_metrics, and raw_metric_summaries itself): one summary request
SELECT count(*) > 0 AS joined
  FROM comet.raw_metrics m JOIN comet.raw_metric_summaries s USING (experiment_key, metric_name)
 WHERE experiment_key = :'k1';
-- a self-join over a project: the experiment list once per listing
SELECT count(*) > 0 AS joined FROM comet.raw_params a JOIN comet.raw_others b USING (experiment_key)
 WHERE a.project_id = :'mnist_id' AND b.project_id = :'mnist_id';
\set log `curl -s "$COMET_FAKE/_fake/requests"; curl -s -o /dev/null "$COMET_FAKE/_fake/reset"`
SELECT r->>'path' AS path, count(*) AS requests, count(DISTINCT r->'query') AS distinct_requests
  FROM jsonb_array_elements(:'log'::jsonb) r GROUP BY 1 ORDER BY 1;

-- cache_ttl_s 0 (this server): nothing is reused by the next statement
SELECT count(*) > 0 AS ok FROM comet.tags WHERE experiment_key = :'k1';
SELECT count(*) > 0 AS ok FROM comet.tags WHERE experiment_key = :'k1';
\set n `curl -s "$COMET_FAKE/_fake/count?path=experiment/tags"`
SELECT :n AS tag_requests;

-- a server with a TTL: the second statement is served from the cache
\getenv comet_url COMET_URL
\set ECHO none
\getenv comet_key COMET_TEST_KEY
CREATE SERVER cached FOREIGN DATA WRAPPER comet_fdw OPTIONS (url :'comet_url', cache_ttl_s '2');
CREATE USER MAPPING FOR CURRENT_USER SERVER cached OPTIONS (api_key :'comet_key');
\set ECHO all
CREATE FOREIGN TABLE cached_tags (experiment_key text, tag text) SERVER cached OPTIONS (endpoint 'tags');
\set x `curl -s "$COMET_FAKE/_fake/reset"`
SELECT requests AS r0, cache_hits AS h0 FROM comet_fdw_stats() \gset
SELECT count(*) AS tags FROM cached_tags WHERE experiment_key = :'k1';
SELECT count(*) AS tags FROM cached_tags WHERE experiment_key = :'k1';
SELECT requests - :r0 AS requests, cache_hits - :h0 AS cache_hits FROM comet_fdw_stats();
\set n `curl -s "$COMET_FAKE/_fake/count?path=experiment/tags"`
SELECT :n AS tag_requests_seen_by_comet;
-- EXPLAIN ANALYZE shows the hit
SELECT * FROM pg_temp.explain(format($$EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF, BUFFERS OFF)
SELECT * FROM cached_tags WHERE experiment_key = %L$$, :'k1'));
-- after the TTL the response is fetched again
SELECT pg_sleep(2.2);
SELECT count(*) AS tags FROM cached_tags WHERE experiment_key = :'k1';
\set n `curl -s "$COMET_FAKE/_fake/count?path=experiment/tags"`
SELECT :n AS tag_requests_seen_by_comet;
-- comet_fdw_cache_clear() empties it
SELECT cache_entries > 0 AS has_entries FROM comet_fdw_stats();
SELECT comet_fdw_cache_clear() > 0 AS dropped;
SELECT cache_entries, cache_bytes FROM comet_fdw_stats();
SELECT count(*) AS tags FROM cached_tags WHERE experiment_key = :'k1';
\set n `curl -s "$COMET_FAKE/_fake/count?path=experiment/tags"`
SELECT :n AS tag_requests_seen_by_comet;
-- the cache is per user mapping: another role's key never reads it
CREATE ROLE regress_cache_user NOSUPERUSER;
GRANT USAGE ON FOREIGN SERVER cached TO regress_cache_user;
GRANT SELECT ON cached_tags TO regress_cache_user;
CREATE USER MAPPING FOR regress_cache_user SERVER cached OPTIONS (api_key 'regress-cache-WRONG');
SET ROLE regress_cache_user;
SELECT count(*) FROM cached_tags WHERE experiment_key = :'k1';
RESET ROLE;
-- ALTER SERVER drops what was cached for it
SELECT count(*) AS tags FROM cached_tags WHERE experiment_key = :'k1';
ALTER SERVER cached OPTIONS (SET cache_ttl_s '60');
SELECT cache_entries FROM comet_fdw_stats();

-- the counters: requests, retries, hits, bytes and errors by status
SELECT requests > 0 AS requests, cache_hits > 0 AS hits, bytes_received > 0 AS bytes,
       errors_by_status ? '401' AS has_401
  FROM comet_fdw_stats();
-- a budget of 0 disables it
SET comet_fdw.cache_max_kb = 0;
SELECT count(*) AS tags FROM cached_tags WHERE experiment_key = :'k1';
SELECT cache_entries FROM comet_fdw_stats();
RESET comet_fdw.cache_max_kb;

-- a response that does not parse is never cached: the next query asks again
SELECT comet_fdw_cache_clear() >= 0 AS cleared;
\set x `curl -s "$COMET_FAKE/_fake/reset"; curl -s "$COMET_FAKE/_fake/fault?path=experiment/tags&kind=malformed&times=1"`
SELECT count(*) AS tags FROM cached_tags WHERE experiment_key = :'k1';
SELECT count(*) AS tags FROM cached_tags WHERE experiment_key = :'k1';
\set n `curl -s "$COMET_FAKE/_fake/count?path=experiment/tags"`
SELECT :n AS tag_requests_seen_by_comet;

-- every request on the wire is counted, also the one libcurl sends again
-- by itself when a kept-alive connection turns out closed
SELECT comet_fdw_cache_clear() >= 0 AS cleared;
SELECT count(*) AS warm_connection FROM comet.workspaces;
SELECT requests AS r0 FROM comet_fdw_stats() \gset
\set x `curl -s "$COMET_FAKE/_fake/reset"; curl -s "$COMET_FAKE/_fake/fault?path=experiment/tags&kind=close&times=1"`
SELECT count(*) AS tags FROM comet.tags WHERE experiment_key = :'k1';
\set n `curl -s "$COMET_FAKE/_fake/count"`
SELECT requests - :r0 AS counted_by_comet_fdw, :n AS seen_by_comet FROM comet_fdw_stats();

DROP SERVER cached CASCADE;
DROP ROLE regress_cache_user;
