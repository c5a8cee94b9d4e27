--
-- explain: EXPLAIN shows the REST call and how its keys are found, with
-- no request made; EXPLAIN ANALYZE adds what the scan did.
--
\i sql/include/explain.sql
\set x `curl -s "$COMET_FAKE/_fake/reset"`
EXPLAIN (COSTS OFF) SELECT * FROM comet.workspaces;
EXPLAIN (COSTS OFF) SELECT * FROM comet.projects;
EXPLAIN (COSTS OFF) SELECT * FROM comet.projects WHERE project_id = 'p1';
EXPLAIN (COSTS OFF) SELECT * FROM comet.experiments WHERE workspace_name = 'w' AND project_name = 'p';
EXPLAIN (COSTS OFF) SELECT * FROM comet.experiments WHERE experiment_key IN ('a', 'b');
EXPLAIN (COSTS OFF) SELECT * FROM comet.experiments WHERE project_id = 'p1' AND NOT archived;
EXPLAIN (COSTS OFF) SELECT * FROM comet.raw_params WHERE project_name = 'mnist';
EXPLAIN (COSTS OFF) SELECT * FROM comet.raw_metrics WHERE experiment_key = 'k' AND metric_name = 'loss';
EXPLAIN (COSTS OFF) SELECT * FROM comet.raw_metrics WHERE experiment_key = ANY ('{a,b}');
EXPLAIN (COSTS OFF) SELECT * FROM comet.assets WHERE experiment_key = 'k' AND type = 'image';
EXPLAIN (COSTS OFF) SELECT * FROM comet.images WHERE experiment_key = 'k';
EXPLAIN (COSTS OFF) SELECT * FROM comet.project_notes;
EXPLAIN (COSTS OFF, VERBOSE) SELECT "time", value FROM comet.metrics
 WHERE experiment_key = 'k' AND metric_name = 'loss';
-- a subquery's value is a key too
SELECT * FROM pg_temp.explain($$EXPLAIN (COSTS OFF) SELECT name FROM comet.raw_params
 WHERE experiment_key = (SELECT min(experiment_key) FROM comet.experiments WHERE project_id = 'p1')$$);
\set log `curl -s "$COMET_FAKE/_fake/requests"`
SELECT jsonb_array_length(:'log'::jsonb) AS requests_for_explain;

-- EXPLAIN ANALYZE: requests, cache hits, retries and bytes of the scan
\set ds `curl -s "$COMET_FAKE/_fake/dataset"`
SELECT e->>'experimentKey' AS k1 FROM jsonb_array_elements((:'ds'::jsonb)->'experiments') e
 WHERE e->>'projectName' = 'mnist' ORDER BY e->>'startTimeMillis' LIMIT 1 \gset
\unset ds
SELECT * FROM pg_temp.explain(format($$EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF, BUFFERS OFF)
SELECT * FROM comet.raw_metrics WHERE experiment_key = %L$$, :'k1'));
-- rescans with the same key are answered from the statement's cache
SET enable_hashjoin = off;
SET enable_mergejoin = off;
SET enable_material = off;
SELECT * FROM pg_temp.explain(format($$EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF, BUFFERS OFF)
SELECT count(*) FROM (VALUES (%1$L), (%1$L), (%1$L)) v(k)
  JOIN comet.tags t ON t.experiment_key = v.k$$, :'k1'));
RESET enable_hashjoin;
RESET enable_mergejoin;
RESET enable_material;
