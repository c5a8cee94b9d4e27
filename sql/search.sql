--
-- search: POST project/query narrows a fan-out over a project's
-- experiments when the query filters a parameter (name and value) or a
-- tag by equality.  Narrowed and un-narrowed answers must be the same for
-- every parameter name and value and every tag of the fake's dataset.
--
\i sql/include/dataset.sql
CREATE TEMP VIEW exp AS
SELECT e->>'experimentKey' AS k, e->>'workspaceName' AS w, e->>'projectName' AS p,
       e->>'projectId' AS pid, j->'experiment_data'->(e->>'experimentKey') AS d
  FROM ds, jsonb_array_elements(j->'experiments') e;
CREATE FUNCTION pg_temp.requests(log jsonb) RETURNS TABLE (path text, n bigint)
    LANGUAGE sql AS $$
    SELECT r->>'path', count(*) FROM jsonb_array_elements(log) r GROUP BY 1 ORDER BY 1
$$;
\set log `curl -s "$COMET_FAKE/_fake/reset"`

-- one parameter of one project: the column's type from project/column-names
-- (live and archived), then project/query, then only the matching experiments
SELECT experiment_key, name, value_current FROM comet.raw_params
 WHERE workspace_name = 'fake-user' AND project_name = 'mnist' AND name = 'optimizer' AND value_current = 'adam';
\set log `curl -s "$COMET_FAKE/_fake/requests"; curl -s -o /dev/null "$COMET_FAKE/_fake/reset"`
SELECT * FROM pg_temp.requests(:'log');
SELECT r->'body' AS query FROM jsonb_array_elements(:'log'::jsonb) r
 WHERE r->>'path' = 'project/query' ORDER BY r->'body'->>'archived';
-- the same without narrowing: both listings and every experiment's parameters
SET comet_fdw.search_narrowing = off;
SELECT experiment_key, name, value_current FROM comet.raw_params
 WHERE workspace_name = 'fake-user' AND project_name = 'mnist' AND name = 'optimizer' AND value_current = 'adam';
\set log `curl -s "$COMET_FAKE/_fake/requests"; curl -s -o /dev/null "$COMET_FAKE/_fake/reset"`
SELECT * FROM pg_temp.requests(:'log');
RESET comet_fdw.search_narrowing;

-- a double column: a value that is a JSON number is sent as one
SELECT count(*) FROM comet.params WHERE workspace_name = 'fake-user' AND project_name = 'mnist'
   AND name = 'lr' AND value = '0.01';
\set log `curl -s "$COMET_FAKE/_fake/requests"; curl -s -o /dev/null "$COMET_FAKE/_fake/reset"`
SELECT r->'body'->'predicates'->0->'query'->'rules'->0 AS rule FROM jsonb_array_elements(:'log'::jsonb) r
 WHERE r->>'path' = 'project/query' ORDER BY r->'body'->>'archived';
-- ... a value that is no JSON number is not: the project's experiments are listed
SELECT count(*) FROM comet.raw_params WHERE workspace_name = 'fake-user' AND project_name = 'mnist'
   AND name = 'lr' AND value_current = '.01';
\set log `curl -s "$COMET_FAKE/_fake/requests"; curl -s -o /dev/null "$COMET_FAKE/_fake/reset"`
SELECT * FROM pg_temp.requests(:'log');
-- ... nor a parameter project/column-names does not list (no type: no certainty)
SELECT count(*) FROM comet.raw_params WHERE workspace_name = 'fake-user' AND project_name = 'mnist'
   AND name = 'no such parameter' AND value_current = '1';
\set log `curl -s "$COMET_FAKE/_fake/requests"; curl -s -o /dev/null "$COMET_FAKE/_fake/reset"`
SELECT * FROM pg_temp.requests(:'log');
-- a NULL value matches nothing: no request at all; an empty one is not searched
SELECT count(*) FROM comet.raw_params WHERE project_name = 'mnist' AND name = 'lr' AND value_current = NULL;
SELECT count(*) FROM comet.raw_params WHERE workspace_name = 'fake-user' AND project_name = 'mnist'
   AND name = 'lr' AND value_current = '';
\set log `curl -s "$COMET_FAKE/_fake/requests"; curl -s -o /dev/null "$COMET_FAKE/_fake/reset"`
SELECT * FROM pg_temp.requests(:'log');
-- experiments given by key need no search
SELECT count(*) FROM comet.raw_params WHERE experiment_key = (SELECT k FROM exp WHERE p = 'mnist' LIMIT 1)
   AND name = 'lr' AND value_current = '0.01';
\set log `curl -s "$COMET_FAKE/_fake/requests"; curl -s -o /dev/null "$COMET_FAKE/_fake/reset"`
SELECT * FROM pg_temp.requests(:'log');

-- EXPLAIN shows the search
EXPLAIN (COSTS OFF) SELECT * FROM comet.raw_params
 WHERE project_name = 'mnist' AND name = 'lr' AND value_current = '0.01';
EXPLAIN (COSTS OFF) SELECT * FROM comet.tags WHERE workspace_name = 'w' AND tag = 'best';

-- ---- equivalence over the whole dataset ----
-- every parameter name and value of the dataset, and values that must not
-- narrow wrongly: equal as numbers but not as text, other case, no number
CREATE TEMP TABLE probes AS
SELECT DISTINCT v->>'name' AS name, v->>'valueCurrent' AS value
  FROM exp, jsonb_array_elements(d->'parameters') v
UNION SELECT 'lr', '0.010' UNION SELECT 'lr', '1e-2' UNION SELECT 'lr', 'adam'
UNION SELECT 'batch size', '128.0' UNION SELECT 'optimizer', 'ADAM'
UNION SELECT 'ünïcode-μ', 'nan' UNION SELECT 'no such parameter', 'x';
SELECT count(*) AS probes, count(DISTINCT name) AS names FROM probes;
-- a generic plan, the whole account (every project's fan-out narrowed)
PREPARE by_param(text, text) AS
    SELECT experiment_key, workspace_name, project_name, project_id, name, value_current
      FROM comet.raw_params WHERE name = $1 AND value_current = $2;
SET plan_cache_mode = force_generic_plan;
EXPLAIN (COSTS OFF) EXECUTE by_param('lr', '0.01');
CREATE TEMP TABLE got (narrowing text, probe_name text, probe_value text, experiment_key text,
                       workspace_name text, project_name text, project_id text, name text,
                       value_current text);
\set log `curl -s "$COMET_FAKE/_fake/reset"`
\set ECHO none
SELECT format($$CREATE TEMP TABLE x AS EXECUTE by_param(%L, %L);
                INSERT INTO got SELECT current_setting('comet_fdw.search_narrowing'), %L, %L, * FROM x;
                DROP TABLE x$$, name, value, name, value) FROM probes ORDER BY name, value \gexec
\set ECHO all
\set log `curl -s "$COMET_FAKE/_fake/requests"; curl -s -o /dev/null "$COMET_FAKE/_fake/reset"`
SELECT * FROM pg_temp.requests(:'log');
SET comet_fdw.search_narrowing = off;
\set ECHO none
SELECT format($$CREATE TEMP TABLE x AS EXECUTE by_param(%L, %L);
                INSERT INTO got SELECT current_setting('comet_fdw.search_narrowing'), %L, %L, * FROM x;
                DROP TABLE x$$, name, value, name, value) FROM probes ORDER BY name, value \gexec
\set ECHO all
\set log `curl -s "$COMET_FAKE/_fake/requests"; curl -s -o /dev/null "$COMET_FAKE/_fake/reset"`
SELECT * FROM pg_temp.requests(:'log');
RESET comet_fdw.search_narrowing;
RESET plan_cache_mode;
DEALLOCATE by_param;
-- narrowed = un-narrowed = the dataset, probe by probe
SELECT pg_temp.same($$SELECT probe_name, probe_value, experiment_key, workspace_name, project_name,
                             project_id, name, value_current FROM got WHERE narrowing = 'on'$$,
                    $$SELECT probe_name, probe_value, experiment_key, workspace_name, project_name,
                             project_id, name, value_current FROM got WHERE narrowing = 'off'$$)
       AS narrowed_vs_not;
SELECT pg_temp.same($$SELECT probe_name, probe_value, experiment_key, name, value_current
                        FROM got WHERE narrowing = 'on'$$,
                    $$SELECT pr.name, pr.value, k, v->>'name', v->>'valueCurrent'
                        FROM probes pr, exp, jsonb_array_elements(d->'parameters') v
                       WHERE v->>'name' = pr.name AND v->>'valueCurrent' = pr.value$$)
       AS narrowed_vs_dataset;
SELECT probe_name, probe_value, count(*) FILTER (WHERE narrowing = 'on') AS rows_narrowed,
       count(*) FILTER (WHERE narrowing = 'off') AS rows_not
  FROM got GROUP BY 1, 2 ORDER BY 1, 2;

-- every tag of the dataset (and one in another case), constants this time
CREATE TEMP TABLE tag_probes AS
SELECT DISTINCT t AS tag FROM exp, jsonb_array_elements_text(d->'tags') t UNION SELECT 'BEST';
CREATE TEMP TABLE got_tags (narrowing text, probe text, experiment_key text, project_id text, tag text);
\set ECHO none
SELECT format($$INSERT INTO got_tags SELECT current_setting('comet_fdw.search_narrowing'), %L,
                       experiment_key, project_id, tag FROM comet.tags WHERE tag = %L$$, tag, tag)
  FROM tag_probes ORDER BY 1 \gexec
\set ECHO all
\set log `curl -s "$COMET_FAKE/_fake/requests"; curl -s -o /dev/null "$COMET_FAKE/_fake/reset"`
SELECT * FROM pg_temp.requests(:'log');
SET comet_fdw.search_narrowing = off;
\set ECHO none
SELECT format($$INSERT INTO got_tags SELECT current_setting('comet_fdw.search_narrowing'), %L,
                       experiment_key, project_id, tag FROM comet.tags WHERE tag = %L$$, tag, tag)
  FROM tag_probes ORDER BY 1 \gexec
\set ECHO all
RESET comet_fdw.search_narrowing;
\set log `curl -s "$COMET_FAKE/_fake/reset"`
SELECT pg_temp.same($$SELECT probe, experiment_key, project_id, tag FROM got_tags WHERE narrowing = 'on'$$,
                    $$SELECT probe, experiment_key, project_id, tag FROM got_tags WHERE narrowing = 'off'$$)
       AS tags_narrowed_vs_not;
SELECT pg_temp.same($$SELECT probe, experiment_key, tag FROM got_tags WHERE narrowing = 'on'$$,
                    $$SELECT tp.tag, k, t FROM tag_probes tp, exp, jsonb_array_elements_text(d->'tags') t
                       WHERE t = tp.tag$$) AS tags_vs_dataset;

-- get_experiments_with_params as SQL: experiments whose lr is 0.01 and
-- optimizer rmsprop (a join and EXISTS, each scan narrowed)
SELECT e.experiment_key = ANY (SELECT k FROM exp, jsonb_array_elements(d->'parameters') a,
                                      jsonb_array_elements(d->'parameters') b
                                WHERE a->>'name' = 'lr' AND a->>'valueCurrent' = '0.01'
                                  AND b->>'name' = 'optimizer' AND b->>'valueCurrent' = 'rmsprop') AS expected
  FROM comet.params lr JOIN comet.experiments e USING (experiment_key)
 WHERE lr.workspace_name = 'fake-user' AND lr.project_name = 'mnist'
   AND lr.name = 'lr' AND lr.value = '0.01'
   AND EXISTS (SELECT 1 FROM comet.params o WHERE o.experiment_key = e.experiment_key
                  AND o.name = 'optimizer' AND o.value = 'rmsprop');
\set log `curl -s "$COMET_FAKE/_fake/requests"; curl -s -o /dev/null "$COMET_FAKE/_fake/reset"`
SELECT * FROM pg_temp.requests(:'log');
-- a side of a Comet Join is narrowed as a scan of its own is
\i sql/include/explain.sql
SELECT * FROM pg_temp.explain($$EXPLAIN (COSTS OFF)
SELECT e.experiment_key, p.value_current
  FROM comet.experiments e JOIN comet.raw_params p USING (experiment_key)
 WHERE e.workspace_name = 'fake-user' AND e.project_name = 'mnist'
   AND p.name = 'lr' AND p.value_current = '0.01'$$);
SELECT count(*) FROM comet.experiments e JOIN comet.raw_params p USING (experiment_key)
 WHERE e.workspace_name = 'fake-user' AND e.project_name = 'mnist'
   AND p.name = 'lr' AND p.value_current = '0.01';
\set log `curl -s "$COMET_FAKE/_fake/requests"; curl -s -o /dev/null "$COMET_FAKE/_fake/reset"`
SELECT * FROM pg_temp.requests(:'log');
