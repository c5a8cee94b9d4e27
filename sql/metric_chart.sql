--
-- metric_chart: many experiments' metric series per POST
-- experiments/multi-metric-chart.  The same points as raw_metrics over the
-- whole fake dataset; requests counted; each rule for a malformed answer.
--
\i sql/include/dataset.sql
CREATE TEMP VIEW exp AS
SELECT e->>'experimentKey' AS k, e->>'workspaceName' AS w, e->>'projectName' AS p,
       e->>'projectId' AS pid, j->'experiment_data'->(e->>'experimentKey') AS d
  FROM ds, jsonb_array_elements(j->'experiments') e;
SELECT p->>'projectId' AS mnist_id FROM ds, jsonb_array_elements(j->'projects') p
 WHERE p->>'projectName' = 'mnist' \gset
SELECT k AS k1 FROM exp WHERE p = 'mnist' ORDER BY d->'metadata'->>'startTimeMillis' LIMIT 1 \gset
SELECT k AS k2 FROM exp WHERE p = 'bert|nlp' ORDER BY d->'metadata'->>'startTimeMillis' LIMIT 1 \gset
-- the requests of the last statement, by path; and the chart POSTs' sizes
CREATE FUNCTION pg_temp.requests(log jsonb) RETURNS TABLE (path text, n bigint)
    LANGUAGE sql AS $$
    SELECT r->>'path', count(*) FROM jsonb_array_elements(log) r GROUP BY 1 ORDER BY 1
$$;
CREATE FUNCTION pg_temp.posts(log jsonb)
RETURNS TABLE (experiments int, metrics int, pairs int, fetch_full boolean, independent boolean)
    LANGUAGE sql AS $$
    SELECT jsonb_array_length(r->'body'->'targetedExperiments'),
           jsonb_array_length(r->'body'->'metrics'),
           jsonb_array_length(r->'body'->'targetedExperiments') *
           jsonb_array_length(r->'body'->'metrics'),
           (r->'body'->>'fetchFull')::boolean, (r->'body'->>'independentMetrics')::boolean
      FROM jsonb_array_elements(log) r
     WHERE r->>'path' = 'experiments/multi-metric-chart'
     ORDER BY 1, 2
$$;
-- a body for the fake to answer with (URL-safe base64)
CREATE FUNCTION pg_temp.b64(t text) RETURNS text LANGUAGE sql AS $$
    SELECT translate(encode(convert_to(t, 'UTF8'), 'base64'), E'+/\n', '-_')
$$;
-- runs a statement; its error, if any (and the context's first line)
CREATE FUNCTION pg_temp.try(q text)
RETURNS TABLE (sqlstate text, message text, detail text, hint text, context text)
LANGUAGE plpgsql AS $$
DECLARE
    st text; m text; d text; h text; c text;
BEGIN
    EXECUTE q;
    RETURN QUERY SELECT '00000'::text, 'ok'::text, NULL::text, NULL::text, NULL::text;
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, m = MESSAGE_TEXT,
        d = PG_EXCEPTION_DETAIL, h = PG_EXCEPTION_HINT, c = PG_EXCEPTION_CONTEXT;
    RETURN QUERY SELECT st, m, d, h, nullif(split_part(c, E'\n', 1), '');
END
$$;

-- the table and its comments
\d+ comet.metric_chart

-- every point of the whole dataset, as the dataset has them: value a
-- number or NULL ("NaN"), duration the time since the series' previous
-- point; in Comet's order within a series (the fake's: by offset)
CREATE TEMP VIEW dataset_points AS
    SELECT k, w, p, pid, m.key, (v->>'step')::bigint AS step, (v->>'epoch')::bigint AS epoch,
           pg_temp.ms((v->>'timestamp')::bigint) AS ts,
           (v->>'timestamp')::bigint - coalesce(lag((v->>'timestamp')::bigint)
               OVER (PARTITION BY k, m.key ORDER BY (v->>'offset')::bigint), (v->>'timestamp')::bigint) AS duration_ms,
           comet_fdw_to_float8(v->>'metricValue') AS value
      FROM exp, jsonb_each(d->'metrics') m, jsonb_array_elements(m.value) v;
\set log `curl -s "$COMET_FAKE/_fake/reset"`
SELECT pg_temp.same('SELECT * FROM comet.metric_chart', 'SELECT * FROM dataset_points') AS metric_chart;
-- parsed in the backend itself instead of the background thread: the same
SET comet_fdw.background_parse = off;
SELECT pg_temp.same('SELECT * FROM comet.metric_chart', 'SELECT * FROM dataset_points') AS parsed_in_backend;
RESET comet_fdw.background_parse;
-- the same points as raw_metrics (the metrics view's source)
SELECT pg_temp.same(
    'SELECT experiment_key, workspace_name, project_name, project_id, metric_name, step, epoch, "timestamp", value FROM comet.metric_chart',
    'SELECT experiment_key, workspace_name, project_name, project_id, metric_name, step, epoch, "timestamp", comet_fdw_to_float8(metric_value) FROM comet.raw_metrics') AS same_as_raw_metrics;
-- and non-numeric values are NULL, never an error
SELECT count(*) FILTER (WHERE value IS NULL) AS null_values, count(*) AS points
  FROM comet.metric_chart WHERE project_id = :'mnist_id';

-- requests: a project's metric names from project/column-names (live and
-- archived), then its experiments, then one POST for up to 25 series
\set log `curl -s "$COMET_FAKE/_fake/reset"`
SELECT count(*) FROM comet.metric_chart WHERE workspace_name = 'fake-user' AND project_name = 'mnist';
\set log `curl -s "$COMET_FAKE/_fake/requests"; curl -s -o /dev/null "$COMET_FAKE/_fake/reset"`
SELECT * FROM pg_temp.requests(:'log');
SELECT r->>'path' AS path, r->'query' AS query FROM jsonb_array_elements(:'log'::jsonb) r
 WHERE r->>'path' = 'project/column-names' ORDER BY (r->'query')::text;
SELECT * FROM pg_temp.posts(:'log');
-- the raw_metrics walk of the same project, for comparison
SELECT count(*) FROM comet.raw_metrics WHERE workspace_name = 'fake-user' AND project_name = 'mnist';
\set log `curl -s "$COMET_FAKE/_fake/requests"; curl -s -o /dev/null "$COMET_FAKE/_fake/reset"`
SELECT * FROM pg_temp.requests(:'log');

-- the whole account: a request never holds more than 25 pairs of
-- experiment and metric, nor more than 100 experiments
SELECT count(*) FROM comet.metric_chart;
\set log `curl -s "$COMET_FAKE/_fake/requests"; curl -s -o /dev/null "$COMET_FAKE/_fake/reset"`
SELECT * FROM pg_temp.requests(:'log');
SELECT count(*) AS posts, max(pairs) <= 25 AS pairs_ok, max(experiments) <= 100 AS keys_ok,
       bool_and(fetch_full) AS fetch_full, bool_and(independent) AS independent
  FROM pg_temp.posts(:'log');

-- every experiment by key (names from each summary): the same points, each once
SELECT pg_temp.same(format('SELECT * FROM comet.metric_chart WHERE experiment_key = ANY (%L)',
                           (SELECT array_agg(k) FROM exp)),
                    'SELECT * FROM comet.metric_chart WHERE project_id IS NOT NULL') AS by_every_key;
\set log `curl -s "$COMET_FAKE/_fake/reset"`
-- by key: metric names from each experiment's summary, then one POST
SELECT count(*) FROM comet.metric_chart WHERE experiment_key IN (:'k1', :'k2');
\set log `curl -s "$COMET_FAKE/_fake/requests"; curl -s -o /dev/null "$COMET_FAKE/_fake/reset"`
SELECT * FROM pg_temp.requests(:'log');
SELECT * FROM pg_temp.posts(:'log');
-- metric names given: no discovery; the project columns by experiment/metadata
SELECT experiment_key = :'k1' AS is_k1, project_name, metric_name, count(*)
  FROM comet.metric_chart
 WHERE experiment_key IN (:'k1', :'k2') AND metric_name IN ('loss', 'acc', 'no such metric')
 GROUP BY 1, 2, 3 ORDER BY 1, 2, 3;
\set log `curl -s "$COMET_FAKE/_fake/requests"; curl -s -o /dev/null "$COMET_FAKE/_fake/reset"`
SELECT * FROM pg_temp.requests(:'log');
SELECT * FROM pg_temp.posts(:'log');
SELECT count(*) FROM comet.metric_chart WHERE experiment_key = :'k1' AND metric_name = 'loss';
\set log `curl -s "$COMET_FAKE/_fake/requests"; curl -s -o /dev/null "$COMET_FAKE/_fake/reset"`
SELECT * FROM pg_temp.requests(:'log');
-- a metric name with no experiment key: every project's experiments, no names asked for
SELECT count(*) FROM comet.metric_chart WHERE metric_name = 'acc';
\set log `curl -s "$COMET_FAKE/_fake/requests"; curl -s -o /dev/null "$COMET_FAKE/_fake/reset"`
SELECT * FROM pg_temp.requests(:'log');
SELECT pg_temp.same($$SELECT * FROM comet.metric_chart WHERE metric_name = 'acc'$$,
                    $$SELECT * FROM comet.metric_chart WHERE project_id IS NOT NULL AND metric_name || '' = 'acc'$$)
       AS metric_filter;

-- EXPLAIN says what is asked
EXPLAIN (COSTS OFF) SELECT * FROM comet.metric_chart WHERE project_id = 'p';
EXPLAIN (COSTS OFF) SELECT * FROM comet.metric_chart WHERE experiment_key = 'k' AND metric_name = 'loss';

-- a generic plan: keys and names as parameters
PREPARE chart(text[], text) AS
    SELECT experiment_key, count(*) FROM comet.metric_chart
     WHERE experiment_key = ANY ($1) AND metric_name = $2 GROUP BY 1 ORDER BY 1;
SET plan_cache_mode = force_generic_plan;
EXPLAIN (COSTS OFF) EXECUTE chart(ARRAY[:'k1', :'k2'], 'loss');
CREATE TEMP TABLE generic AS EXECUTE chart(ARRAY[:'k1', :'k2'], 'loss');
SELECT pg_temp.same('TABLE generic',
    format($$SELECT experiment_key, count(*) FROM comet.raw_metrics
              WHERE experiment_key IN (%L, %L) AND metric_name = 'loss' GROUP BY 1$$, :'k1', :'k2'))
       AS generic;
\set x `curl -s "$COMET_FAKE/_fake/reset"`
CREATE TEMP TABLE generic2 AS EXECUTE chart(ARRAY[:'k1', :'k2'], 'loss');
\set log `curl -s "$COMET_FAKE/_fake/requests"; curl -s -o /dev/null "$COMET_FAKE/_fake/reset"`
SELECT * FROM pg_temp.posts(:'log');
RESET plan_cache_mode;
DEALLOCATE chart;

-- a join: the project's keys reach metric_chart through experiment_key
EXPLAIN (COSTS OFF)
SELECT e.experiment_name, c.step, c.value
  FROM comet.experiments e JOIN comet.metric_chart c USING (experiment_key)
 WHERE e.project_id = 'p' AND c.metric_name = 'loss';
SELECT pg_temp.same(format($$
    SELECT e.experiment_key, c.step, c.value
      FROM comet.experiments e JOIN comet.metric_chart c USING (experiment_key)
     WHERE e.project_id = %L AND c.metric_name = 'loss'$$, :'mnist_id'), format($$
    SELECT experiment_key, step, comet_fdw_to_float8(metric_value) FROM comet.raw_metrics
     WHERE project_id = %L AND metric_name = 'loss'$$, :'mnist_id')) AS joined;
\set log `curl -s "$COMET_FAKE/_fake/requests"; curl -s -o /dev/null "$COMET_FAKE/_fake/reset"`
-- (the join's requests stay within the project: nothing of bert|nlp)
SELECT count(*) FILTER (WHERE r::text LIKE '%' || :'k2' || '%') AS outside_project
  FROM jsonb_array_elements(:'log'::jsonb) r;
-- the view-like use: the metrics view's columns from metric_chart
SELECT metric_name, count(*), count(value) AS numeric_values
  FROM comet.metric_chart WHERE experiment_key = :'k1' GROUP BY 1 ORDER BY 1;

-- ---- answers of the wrong shape: each rule ----
\x on
\set q 'SELECT metric_name, step, epoch, "timestamp", duration_ms, value FROM comet.metric_chart WHERE experiment_key = ' :'k1' ' AND metric_name = ''loss'''
-- parallel arrays of unequal length: an error naming the request, never a shorter series
SELECT pg_temp.b64(format('{"empty": false, "experiments": {%s: {"metrics": [{"metricName": "loss", "values": [1, 2, 3], "steps": [1, 2], "epochs": null, "timestamps": [1700000000000, 1700000001000, 1700000002000], "durations": [0, 1000, 1000]}]}}}', to_json(:'k1'::text))) AS b \gset
\set x `curl -s "$COMET_FAKE/_fake/fault?path=experiments/multi-metric-chart&kind=body&times=1&body_b64=":'b'`
SELECT * FROM pg_temp.try(:'q');
-- an experiment asked for and left out of the answer: an error naming it
SELECT pg_temp.b64('{"empty": true, "experiments": {}}') AS b \gset
\set x `curl -s "$COMET_FAKE/_fake/fault?path=experiments/multi-metric-chart&kind=body&times=1&body_b64=":'b'`
SELECT * FROM pg_temp.try(:'q');
-- ... also when its member is null
SELECT pg_temp.b64(format('{"experiments": {%s: null}}', to_json(:'k1'::text))) AS b \gset
\set x `curl -s "$COMET_FAKE/_fake/fault?path=experiments/multi-metric-chart&kind=body&times=1&body_b64=":'b'`
SELECT * FROM pg_temp.try(:'q');
-- values: numbers, numeric strings, null, "NaN", text, too large: a number or NULL;
-- an absent or null array is NULL in every row; a member or a series nobody asked for
-- (here "acc") is ignored
SELECT pg_temp.b64(format('{"experiments": {%s: {"experiment_key": "x", "metrics": [{"metricName": "loss", "values": [0.5, "0.25", null, "NaN", "adam", 1e999, " 7 ", "Infinity"], "steps": [1, 2, 3, 4, 5, 6, null, 8], "timestamps": [1700000000000, 1700000001000, 1700000002000, 1700000003000, 1700000004000, 1700000005000, 1700000006000, 1700000007000], "durations": null}, {"metricName": "loss", "values": [], "steps": []}, null, {"metricName": "loss"}, {"metricName": "acc", "values": [1, 2]}]}, "ffffffffffffffffffffffffffffffff": {"metrics": [{"metricName": "loss", "values": [1]}]}}}', to_json(:'k1'::text))) AS b \gset
\set x `curl -s "$COMET_FAKE/_fake/fault?path=experiments/multi-metric-chart&kind=body&times=1&body_b64=":'b'`
SELECT experiment_key = :'k1' AS is_k1, metric_name, step, epoch, "timestamp", duration_ms, value
  FROM comet.metric_chart WHERE experiment_key = :'k1' AND metric_name = 'loss';
-- a series without its name: an error
SELECT pg_temp.b64(format('{"experiments": {%s: {"metrics": [{"values": [1]}]}}}', to_json(:'k1'::text))) AS b \gset
\set x `curl -s "$COMET_FAKE/_fake/fault?path=experiments/multi-metric-chart&kind=body&times=1&body_b64=":'b'`
SELECT * FROM pg_temp.try(:'q');
-- a boolean where a number belongs: an error naming the column and the request
SELECT pg_temp.b64(format('{"experiments": {%s: {"metrics": [{"metricName": "loss", "values": [true]}]}}}', to_json(:'k1'::text))) AS b \gset
\set x `curl -s "$COMET_FAKE/_fake/fault?path=experiments/multi-metric-chart&kind=body&times=1&body_b64=":'b'`
SELECT * FROM pg_temp.try(:'q');
-- an object inside a parallel array
SELECT pg_temp.b64(format('{"experiments": {%s: {"metrics": [{"metricName": "loss", "values": [1, {"v": 2}], "steps": [1, 2]}]}}}', to_json(:'k1'::text))) AS b \gset
\set x `curl -s "$COMET_FAKE/_fake/fault?path=experiments/multi-metric-chart&kind=body&times=1&body_b64=":'b'`
SELECT * FROM pg_temp.try(:'q');
-- experiments that is no object; a member that is no object; no experiments at all
SELECT pg_temp.b64('{"experiments": []}') AS b \gset
\set x `curl -s "$COMET_FAKE/_fake/fault?path=experiments/multi-metric-chart&kind=body&times=1&body_b64=":'b'`
SELECT * FROM pg_temp.try(:'q');
SELECT pg_temp.b64(format('{"experiments": {%s: [1]}}', to_json(:'k1'::text))) AS b \gset
\set x `curl -s "$COMET_FAKE/_fake/fault?path=experiments/multi-metric-chart&kind=body&times=1&body_b64=":'b'`
SELECT * FROM pg_temp.try(:'q');
SELECT pg_temp.b64('{"empty": true}') AS b \gset
\set x `curl -s "$COMET_FAKE/_fake/fault?path=experiments/multi-metric-chart&kind=body&times=1&body_b64=":'b'`
SELECT * FROM pg_temp.try(:'q');
\x off
-- a 500 is retried like a GET
\set x `curl -s "$COMET_FAKE/_fake/reset"; curl -s "$COMET_FAKE/_fake/fault?path=experiments/multi-metric-chart&kind=status&status=503&times=1"`
SET comet_fdw.retry_base_ms = 1;
SELECT count(*) FROM comet.metric_chart WHERE experiment_key = :'k1' AND metric_name = 'loss';
\set n `curl -s "$COMET_FAKE/_fake/count?path=experiments/multi-metric-chart"`
SELECT :n AS chart_requests_with_retry;
RESET comet_fdw.retry_base_ms;

-- the cache: a POST read is kept by its body (same body: no request; another body: one)
ALTER SERVER comet OPTIONS (SET cache_ttl_s '60');
SELECT count(*) FROM comet.metric_chart WHERE experiment_key = :'k1' AND metric_name = 'loss';
\set x `curl -s "$COMET_FAKE/_fake/reset"`
SELECT count(*) FROM comet.metric_chart WHERE experiment_key = :'k1' AND metric_name = 'loss';
SELECT count(*) FROM comet.metric_chart WHERE experiment_key = :'k1' AND metric_name = 'acc';
\set n `curl -s "$COMET_FAKE/_fake/count?path=experiments/multi-metric-chart"`
SELECT :n AS chart_requests_cached;
-- the same POST in flight twice (a self-join) is one request
SELECT comet_fdw_cache_clear() >= 0 AS cleared;
\set x `curl -s "$COMET_FAKE/_fake/reset"`
SELECT count(*) FROM comet.metric_chart a JOIN comet.metric_chart b USING (experiment_key, metric_name, step)
 WHERE a.experiment_key = :'k1' AND a.metric_name = 'loss' AND b.experiment_key = :'k1' AND b.metric_name = 'loss';
\set n `curl -s "$COMET_FAKE/_fake/count?path=experiments/multi-metric-chart"`
SELECT :n AS chart_requests_self_join;
ALTER SERVER comet OPTIONS (SET cache_ttl_s '0');
SELECT comet_fdw_cache_clear() >= 0 AS cleared;
