--
-- corpus: natural SQL -- what people and BI tools write -- next to its
-- direct form.  For each: the same rows, and no more requests than the
-- direct form plus two; and no request at all outside the project the query
-- names.  (Keys are implied through joins: a table joined on experiment_key
-- to one filtered by project fetches only that project's experiments.)
--
\i sql/include/dataset.sql
\i sql/include/explain.sql
SELECT p->>'projectId' AS pid FROM ds, jsonb_array_elements(j->'projects') p
 WHERE p->>'projectName' = 'mnist' AND p->>'workspaceName' = 'fake-user' \gset
SELECT e->>'experimentKey' AS k1 FROM ds, jsonb_array_elements(j->'experiments') e
 WHERE e->>'projectId' = :'pid' ORDER BY e->>'startTimeMillis' LIMIT 1 \gset
SELECT e->>'experimentKey' AS k2 FROM ds, jsonb_array_elements(j->'experiments') e
 WHERE e->>'projectId' = :'pid' ORDER BY e->>'startTimeMillis' DESC LIMIT 1 \gset
SELECT set_config('corpus.pid', :'pid', false) IS NOT NULL AS p,
       set_config('corpus.k1', :'k1', false) IS NOT NULL AS k1,
       set_config('corpus.k2', :'k2', false) IS NOT NULL AS k2;

-- each form runs as a statement of its own (the response cache is shared
-- within a statement only: cache_ttl_s 0); requests from comet_fdw_stats()
CREATE TEMP TABLE marks (i int, step text, requests bigint);
CREATE FUNCTION pg_temp.q(t text) RETURNS text LANGUAGE sql AS $$
    SELECT replace(replace(replace(t, '{P}', current_setting('corpus.pid')),
           '{K1}', current_setting('corpus.k1')), '{K2}', current_setting('corpus.k2'))
$$;
CREATE TEMP TABLE corpus (i serial, name text, nat text, direct text);
INSERT INTO corpus (name, nat, direct) VALUES
('inner join experiments-params',
 $$SELECT e.experiment_name, p.name, p.value_current FROM comet.experiments e
   JOIN comet.raw_params p ON p.experiment_key = e.experiment_key WHERE e.project_id = '{P}'$$,
 $$SELECT e.experiment_name, p.name, p.value_current FROM comet.raw_params p
   JOIN (SELECT * FROM comet.experiments WHERE project_id = '{P}') e USING (experiment_key)
   WHERE p.project_id = '{P}'$$),
('join of two per-experiment tables',
 $$SELECT p.experiment_key, p.name, s.metric_name FROM comet.raw_params p
   JOIN comet.raw_metric_summaries s USING (experiment_key) WHERE p.project_id = '{P}'$$,
 $$SELECT p.experiment_key, p.name, s.metric_name
   FROM (SELECT * FROM comet.raw_params WHERE project_id = '{P}') p
   JOIN (SELECT * FROM comet.raw_metric_summaries WHERE project_id = '{P}') s USING (experiment_key)$$),
('left join experiments-tags',
 $$SELECT e.experiment_key, t.tag FROM comet.experiments e
   LEFT JOIN comet.tags t ON t.experiment_key = e.experiment_key WHERE e.project_id = '{P}'$$,
 $$SELECT e.experiment_key, t.tag FROM comet.experiments e
   LEFT JOIN (SELECT * FROM comet.tags WHERE project_id = '{P}') t USING (experiment_key)
   WHERE e.project_id = '{P}'$$),
('semi join: EXISTS on the params view (get_experiments_with_params)',
 $$SELECT e.experiment_key FROM comet.experiments e
   WHERE e.workspace_name = 'fake-user' AND e.project_name = 'mnist'
     AND EXISTS (SELECT 1 FROM comet.params p WHERE p.experiment_key = e.experiment_key
                 AND p.name = 'optimizer' AND p.value = 'adam')$$,
 $$SELECT DISTINCT experiment_key FROM comet.params
   WHERE workspace_name = 'fake-user' AND project_name = 'mnist'
     AND name = 'optimizer' AND value = 'adam'$$),
('anti join: NOT EXISTS',
 $$SELECT e.experiment_key FROM comet.experiments e WHERE e.project_id = '{P}'
     AND NOT EXISTS (SELECT 1 FROM comet.tags t WHERE t.experiment_key = e.experiment_key
                     AND t.tag = 'baseline')$$,
 $$SELECT experiment_key FROM comet.experiments WHERE project_id = '{P}'
   EXCEPT ALL SELECT experiment_key FROM comet.tags WHERE project_id = '{P}' AND tag = 'baseline'$$),
('IN (subquery)',
 $$SELECT experiment_key, experiment_name FROM comet.experiments WHERE project_id = '{P}'
     AND experiment_key IN (SELECT experiment_key FROM comet.raw_params
                            WHERE name = 'optimizer' AND value_current = 'adam')$$,
 $$SELECT e.experiment_key, e.experiment_name FROM comet.experiments e
   WHERE e.project_id = '{P}' AND e.experiment_key IN (SELECT experiment_key FROM comet.raw_params
       WHERE project_id = '{P}' AND name = 'optimizer' AND value_current = 'adam')$$),
('LATERAL',
 $$SELECT e.experiment_key, x.name FROM comet.experiments e,
   LATERAL (SELECT name FROM comet.raw_params p WHERE p.experiment_key = e.experiment_key
            ORDER BY name LIMIT 1) x WHERE e.project_id = '{P}'$$,
 $$SELECT DISTINCT ON (experiment_key) experiment_key, name FROM comet.raw_params
   WHERE project_id = '{P}' ORDER BY experiment_key, name$$),
('CTE',
 $$WITH e AS (SELECT * FROM comet.experiments WHERE project_id = '{P}')
   SELECT e.experiment_key, p.name FROM e JOIN comet.raw_params p USING (experiment_key)$$,
 $$SELECT experiment_key, name FROM comet.raw_params WHERE project_id = '{P}'$$),
('window function over metrics',
 $$SELECT experiment_key, step, avg(value) OVER (PARTITION BY experiment_key ORDER BY step
          ROWS 3 PRECEDING) FROM comet.metrics m
   WHERE m.experiment_key IN (SELECT experiment_key FROM comet.experiments WHERE project_id = '{P}')
     AND metric_name = 'loss'$$,
 $$SELECT experiment_key, step, avg(value) OVER (PARTITION BY experiment_key ORDER BY step
          ROWS 3 PRECEDING) FROM comet.metrics
   WHERE workspace_name = 'fake-user' AND project_name = 'mnist' AND metric_name = 'loss'$$),
('view joined to experiments',
 $$SELECT e.experiment_name, m.step, m.value FROM comet.experiments e
   JOIN comet.metrics m USING (experiment_key) WHERE e.project_id = '{P}' AND m.metric_name = 'loss'$$,
 $$SELECT e.experiment_name, m.step, m.value
   FROM (SELECT * FROM comet.metrics WHERE workspace_name = 'fake-user' AND project_name = 'mnist'
         AND metric_name = 'loss') m
   JOIN (SELECT * FROM comet.experiments WHERE project_id = '{P}') e USING (experiment_key)$$),
('Grafana: $__timeFilter and a multi-value variable',
 $$SELECT "time", metric_name, value FROM comet.metrics
   WHERE "time" BETWEEN '2023-11-01T00:00:00Z' AND '2023-12-01T00:00:00Z'
     AND experiment_key IN ('{K1}', '{K2}') AND metric_name = ANY ('{loss,acc}')$$,
 $$SELECT "time", metric_name, value FROM comet.metrics
   WHERE experiment_key IN ('{K1}', '{K2}') AND metric_name IN ('loss', 'acc')$$),
('Metabase: a question with a date filter',
 $$SELECT "comet"."experiments"."experiment_name" AS "experiment_name",
          "comet"."experiments"."start_time" AS "start_time"
   FROM "comet"."experiments"
   WHERE ("comet"."experiments"."project_id" = '{P}')
     AND ("comet"."experiments"."start_time" >= timestamp with time zone '2023-01-01 00:00:00.000Z')
   LIMIT 2000$$,
 $$SELECT experiment_name, start_time FROM comet.experiments WHERE project_id = '{P}'$$),
('keyed metrics joined to experiments',
 $$SELECT e.experiment_name, m.step, m.value FROM comet.metrics m
   JOIN comet.experiments e USING (experiment_key)
   WHERE m.experiment_key IN ('{K1}', '{K2}') AND m.metric_name = 'loss'$$,
 $$SELECT e.experiment_name, m.step, m.value
   FROM (SELECT * FROM comet.metrics WHERE experiment_key IN ('{K1}', '{K2}') AND metric_name = 'loss') m
   JOIN (SELECT * FROM comet.experiments WHERE experiment_key IN ('{K1}', '{K2}')) e
   USING (experiment_key)$$);

\set log `curl -s -o /dev/null "$COMET_FAKE/_fake/reset"`
SELECT format('INSERT INTO marks SELECT %s, ''start'', requests FROM comet_fdw_stats()', i),
       format('CREATE TEMP TABLE nat_%s AS %s', i, pg_temp.q(nat)),
       format('INSERT INTO marks SELECT %s, ''natural'', requests FROM comet_fdw_stats()', i),
       format('CREATE TEMP TABLE dir_%s AS %s', i, pg_temp.q(direct)),
       format('INSERT INTO marks SELECT %s, ''direct'', requests FROM comet_fdw_stats()', i)
  FROM corpus ORDER BY i \gexec
CREATE FUNCTION pg_temp.rows_differ(i int) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE n bigint; m bigint;
BEGIN
    EXECUTE format('SELECT count(*) FROM (TABLE dir_%s EXCEPT ALL TABLE nat_%s) x', i, i) INTO n;
    EXECUTE format('SELECT count(*) FROM (TABLE nat_%s EXCEPT ALL TABLE dir_%s) x', i, i) INTO m;
    RETURN n + m;
END $$;
CREATE FUNCTION pg_temp.n_rows(i int) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE n bigint;
BEGIN
    EXECUTE format('SELECT count(*) FROM nat_%s', i) INTO n;
    RETURN n;
END $$;
SELECT c.name, pg_temp.rows_differ(c.i) = 0 AS same_rows, pg_temp.n_rows(c.i) > 0 AS has_rows,
       n.requests - s.requests AS requests_natural, d.requests - n.requests AS requests_direct,
       n.requests - s.requests <= d.requests - n.requests + 2 AS within_2
  FROM corpus c
  JOIN marks s ON s.i = c.i AND s.step = 'start'
  JOIN marks n ON n.i = c.i AND n.step = 'natural'
  JOIN marks d ON d.i = c.i AND d.step = 'direct'
 ORDER BY c.i;

-- no request outside the project the queries name
\set log `curl -s "$COMET_FAKE/_fake/requests"`
SELECT r->>'path' AS path, r->'query' AS query FROM jsonb_array_elements(:'log'::jsonb) r
 WHERE r->>'path' IN ('workspaces', 'projects')
    OR (r->'query' ? 'projectId' AND r->'query'->>'projectId' <> :'pid')
    OR (r->'query' ? 'experimentKey' AND r->'query'->>'experimentKey' NOT IN (
          SELECT e->>'experimentKey' FROM ds, jsonb_array_elements(j->'experiments') e
           WHERE e->>'projectId' = :'pid'));

-- the same through prepared statements under generic plans (Metabase)
SET plan_cache_mode = force_generic_plan;
PREPARE joined(text) AS SELECT count(*) FROM comet.experiments e
  JOIN comet.raw_params p USING (experiment_key) WHERE e.project_id = $1;
SELECT requests AS r0 FROM comet_fdw_stats() \gset
EXECUTE joined(:'pid');
SELECT requests - :r0 AS requests FROM comet_fdw_stats();
EXPLAIN (COSTS OFF) EXECUTE joined('x');
RESET plan_cache_mode;

-- plan shapes: a table of one row per experiment (experiments) joined on
-- experiment_key to another runs as one scan (a Comet Join: both sides'
-- requests together); two tables of many rows per experiment are
-- PostgreSQL's join, which spills past work_mem; the per-experiment side
-- never walks the account; keyed queries stay below jit_above_cost
EXPLAIN (COSTS OFF) SELECT p.name FROM comet.raw_params p JOIN comet.raw_metric_summaries s
  USING (experiment_key) WHERE p.project_id = 'some-project';
EXPLAIN (COSTS OFF) SELECT e.experiment_key FROM comet.experiments e
 WHERE e.project_id = 'some-project'
   AND EXISTS (SELECT 1 FROM comet.params p WHERE p.experiment_key = e.experiment_key AND p.name = 'lr');
SELECT * FROM pg_temp.explain(format($$EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF, BUFFERS OFF)
  SELECT e.experiment_name, p.name FROM comet.experiments e JOIN comet.raw_params p USING (experiment_key)
   WHERE e.project_id = %L$$, :'pid'));
CREATE FUNCTION pg_temp.plan_cost(q text) RETURNS float8 LANGUAGE plpgsql AS $$
DECLARE j json;
BEGIN
    EXECUTE 'EXPLAIN (FORMAT JSON) ' || q INTO j;
    RETURN (j->0->'Plan'->>'Total Cost')::float8;
END $$;
SELECT pg_temp.plan_cost(format($$SELECT e.experiment_name, m.step, m.value FROM comet.metrics m
  JOIN comet.experiments e USING (experiment_key)
  WHERE m.experiment_key IN (%L, %L) AND m.metric_name = 'loss'$$, :'k1', :'k2'))
  < current_setting('jit_above_cost')::float8 AS below_jit_above_cost;

-- a local table of keys: each rescan of the nested loop is one request (or
-- none, from the statement's cache) ...
CREATE TEMP TABLE picked (experiment_key text);
INSERT INTO picked VALUES (:'k1'), (:'k2'), (:'k1');
ANALYZE picked;    -- (the planner needs to know the table is small)
SELECT requests AS r0 FROM comet_fdw_stats() \gset
SELECT count(*) FROM picked k JOIN comet.tags t USING (experiment_key);
SELECT requests - :r0 AS requests FROM comet_fdw_stats();
-- ... and = ANY (ARRAY(SELECT ...)) turns the list into one concurrent scan
SELECT * FROM pg_temp.explain($$EXPLAIN (COSTS OFF) SELECT tag FROM comet.tags
 WHERE experiment_key = ANY (ARRAY(SELECT experiment_key FROM picked))$$);
SELECT requests AS r0 FROM comet_fdw_stats() \gset
SELECT count(*) FROM comet.tags WHERE experiment_key = ANY (ARRAY(SELECT experiment_key FROM picked));
SELECT requests - :r0 AS requests FROM comet_fdw_stats();
