--
-- pushdown: key filters become REST parameters.  The fake server counts
-- the requests it receives; each count below proves what was asked.
--
\set ds `curl -s "$COMET_FAKE/_fake/dataset"`
CREATE TEMP TABLE ds AS SELECT :'ds'::jsonb AS j;
\unset ds
-- the mnist project, one of its experiments, and its experiment count
SELECT p->>'projectId' AS mnist_id FROM ds, jsonb_array_elements(j->'projects') p
 WHERE p->>'projectName' = 'mnist' \gset
SELECT e->>'experimentKey' AS k1 FROM ds, jsonb_array_elements(j->'experiments') e
 WHERE e->>'projectName' = 'mnist' ORDER BY e->>'startTimeMillis' LIMIT 1 \gset
SELECT e->>'experimentKey' AS k2 FROM ds, jsonb_array_elements(j->'experiments') e
 WHERE e->>'projectName' = 'bert|nlp' ORDER BY e->>'startTimeMillis' LIMIT 1 \gset
SELECT count(*) AS mnist_n FROM ds, jsonb_array_elements(j->'experiments') e
 WHERE e->>'projectName' = 'mnist' \gset

-- the requests a statement made: psql fetches the fake's log (and resets
-- it) after each statement; this shows it by path
CREATE FUNCTION pg_temp.requests(log jsonb) RETURNS TABLE (path text, n bigint)
    LANGUAGE sql AS $$
    SELECT r->>'path', count(*) FROM jsonb_array_elements(log) r GROUP BY 1 ORDER BY 1
$$;
\set log `curl -s "$COMET_FAKE/_fake/reset"`

-- experiments by key: one experiment/metadata request per key
SELECT experiment_key = :'k1' AS found FROM comet.experiments WHERE experiment_key = :'k1';
\set log `curl -s "$COMET_FAKE/_fake/requests"; curl -s -o /dev/null "$COMET_FAKE/_fake/reset"`
SELECT * FROM pg_temp.requests(:'log');
SELECT count(*) FROM comet.experiments WHERE experiment_key IN (:'k1', :'k2', :'k1');
\set log `curl -s "$COMET_FAKE/_fake/requests"; curl -s -o /dev/null "$COMET_FAKE/_fake/reset"`
SELECT * FROM pg_temp.requests(:'log');

-- by project: both listings (active, archived) unless archived is filtered
SELECT count(*) = :mnist_n AS all_of_mnist FROM comet.experiments WHERE project_id = :'mnist_id';
\set log `curl -s "$COMET_FAKE/_fake/requests"; curl -s -o /dev/null "$COMET_FAKE/_fake/reset"`
SELECT * FROM pg_temp.requests(:'log');
SELECT r->'query'->>'archived' AS archived FROM jsonb_array_elements(:'log'::jsonb) r ORDER BY 1;
SELECT count(*) FROM comet.experiments WHERE project_id = :'mnist_id' AND NOT archived;
\set log `curl -s "$COMET_FAKE/_fake/requests"; curl -s -o /dev/null "$COMET_FAKE/_fake/reset"`
SELECT r->>'path' AS path, r->'query'->>'archived' AS archived FROM jsonb_array_elements(:'log'::jsonb) r;
SELECT count(*) FROM comet.experiments WHERE project_id = :'mnist_id' AND archived;
\set log `curl -s "$COMET_FAKE/_fake/requests"; curl -s -o /dev/null "$COMET_FAKE/_fake/reset"`
SELECT r->>'path' AS path, r->'query'->>'archived' AS archived FROM jsonb_array_elements(:'log'::jsonb) r;
SELECT count(*) FROM comet.experiments
 WHERE workspace_name = 'fake-user' AND project_name = 'mnist' AND archived = false;
\set log `curl -s "$COMET_FAKE/_fake/requests"; curl -s -o /dev/null "$COMET_FAKE/_fake/reset"`
SELECT r->>'path' AS path, r->'query' AS query FROM jsonb_array_elements(:'log'::jsonb) r;

-- several workspaces and a project name: never a pair that may not exist
-- (a 404): each workspace's projects are listed and the named one kept
SELECT count(*) FROM comet.experiments
 WHERE project_name = 'mnist' AND workspace_name IN ('team-vision', 'fake-user');
\set log `curl -s "$COMET_FAKE/_fake/requests"; curl -s -o /dev/null "$COMET_FAKE/_fake/reset"`
SELECT * FROM pg_temp.requests(:'log');
SELECT count(*) FROM comet.experiments e JOIN comet.raw_params p USING (experiment_key)
 WHERE e.project_name = 'mnist' AND p.workspace_name IN ('fake-user', 'team-vision');
\set log `curl -s "$COMET_FAKE/_fake/requests"; curl -s -o /dev/null "$COMET_FAKE/_fake/reset"`
SELECT * FROM pg_temp.requests(:'log');

-- by workspace: its projects, then each project's experiments
SELECT count(*) FROM comet.experiments WHERE workspace_name = 'fake-user';
\set log `curl -s "$COMET_FAKE/_fake/requests"; curl -s -o /dev/null "$COMET_FAKE/_fake/reset"`
SELECT * FROM pg_temp.requests(:'log');
-- by project name alone: every workspace is listed, only mnist is walked
SELECT count(*) = :mnist_n AS all_of_mnist FROM comet.experiments WHERE project_name = 'mnist';
\set log `curl -s "$COMET_FAKE/_fake/requests"; curl -s -o /dev/null "$COMET_FAKE/_fake/reset"`
SELECT * FROM pg_temp.requests(:'log');
-- no filter: everything the key can see
SELECT count(*) = (SELECT jsonb_array_length(j->'experiments') FROM ds) AS all_experiments
  FROM comet.experiments;
\set log `curl -s "$COMET_FAKE/_fake/requests"; curl -s -o /dev/null "$COMET_FAKE/_fake/reset"`
SELECT * FROM pg_temp.requests(:'log');
-- a filter the FDW cannot use changes nothing but the cost
SELECT count(*) FROM comet.experiments WHERE experiment_name LIKE 'wise%';
\set log `curl -s "$COMET_FAKE/_fake/requests"; curl -s -o /dev/null "$COMET_FAKE/_fake/reset"`
SELECT * FROM pg_temp.requests(:'log');

-- projects: by id one project request; by workspace one listing
SELECT project_name FROM comet.projects WHERE project_id = :'mnist_id';
\set log `curl -s "$COMET_FAKE/_fake/requests"; curl -s -o /dev/null "$COMET_FAKE/_fake/reset"`
SELECT * FROM pg_temp.requests(:'log');
SELECT count(*) FROM comet.projects WHERE workspace_name = 'team-vision';
\set log `curl -s "$COMET_FAKE/_fake/requests"; curl -s -o /dev/null "$COMET_FAKE/_fake/reset"`
SELECT * FROM pg_temp.requests(:'log');

-- per-experiment tables: exactly the keys asked for ...
SELECT count(*) > 0 AS has_params FROM comet.raw_params WHERE experiment_key = :'k1';
\set log `curl -s "$COMET_FAKE/_fake/requests"; curl -s -o /dev/null "$COMET_FAKE/_fake/reset"`
SELECT * FROM pg_temp.requests(:'log');
-- ... with the project columns filled in by one metadata request each
SELECT DISTINCT workspace_name, project_name FROM comet.raw_params WHERE experiment_key = :'k1';
\set log `curl -s "$COMET_FAKE/_fake/requests"; curl -s -o /dev/null "$COMET_FAKE/_fake/reset"`
SELECT * FROM pg_temp.requests(:'log');
SELECT count(DISTINCT experiment_key) FROM comet.raw_params WHERE experiment_key = ANY (ARRAY[:'k1', :'k2']);
\set log `curl -s "$COMET_FAKE/_fake/requests"; curl -s -o /dev/null "$COMET_FAKE/_fake/reset"`
SELECT * FROM pg_temp.requests(:'log');
SELECT count(DISTINCT experiment_key) FROM comet.raw_params WHERE experiment_key = :'k1' OR experiment_key = :'k2';
\set log `curl -s "$COMET_FAKE/_fake/requests"; curl -s -o /dev/null "$COMET_FAKE/_fake/reset"`
SELECT * FROM pg_temp.requests(:'log');
-- NULL and contradictory keys: no request at all
SELECT count(*) FROM comet.raw_params WHERE experiment_key = NULL;
SELECT count(*) FROM comet.raw_params WHERE experiment_key IN (NULL, NULL);
SELECT count(*) FROM comet.raw_params WHERE experiment_key = :'k1' AND experiment_key = :'k2';
-- an empty key cannot exist (what a Grafana multi-value variable gives when
-- nothing is picked): no request, no row
SELECT count(*) FROM comet.raw_params WHERE experiment_key = '';
SELECT count(*) FROM comet.raw_params WHERE experiment_key IN ('', '');
SELECT count(*) FROM comet.raw_params WHERE experiment_key = ANY ('{}'::text[]);
SELECT count(*) FROM comet.experiments WHERE project_id = '';
\set log `curl -s "$COMET_FAKE/_fake/requests"; curl -s -o /dev/null "$COMET_FAKE/_fake/reset"`
SELECT count(*) AS requests FROM jsonb_array_elements(:'log'::jsonb);
-- ... and among other keys, it is dropped: one request, for k1
SELECT count(*) > 0 AS has_params FROM comet.raw_params WHERE experiment_key IN ('', :'k1');
\set log `curl -s "$COMET_FAKE/_fake/requests"; curl -s -o /dev/null "$COMET_FAKE/_fake/reset"`
SELECT r->>'path' AS path, r->'query'->>'experimentKey' = :'k1' AS is_k1
  FROM jsonb_array_elements(:'log'::jsonb) r;
-- a project's experiments fanned out
SELECT count(DISTINCT experiment_key) = :mnist_n AS all_of_mnist
  FROM comet.raw_params WHERE project_id = :'mnist_id';
\set log `curl -s "$COMET_FAKE/_fake/requests"; curl -s -o /dev/null "$COMET_FAKE/_fake/reset"`
SELECT * FROM pg_temp.requests(:'log');
SELECT count(DISTINCT experiment_key) FROM comet.tags WHERE workspace_name = 'team-vision';
\set log `curl -s "$COMET_FAKE/_fake/requests"; curl -s -o /dev/null "$COMET_FAKE/_fake/reset"`
SELECT * FROM pg_temp.requests(:'log');

-- prepared statements under a generic plan (what Metabase ends up with)
SET plan_cache_mode = force_generic_plan;
PREPARE by_key(text) AS SELECT name FROM comet.raw_params WHERE experiment_key = $1;
EXPLAIN (COSTS OFF) EXECUTE by_key('x');
EXECUTE by_key(:'k1');
\set log `curl -s "$COMET_FAKE/_fake/requests"; curl -s -o /dev/null "$COMET_FAKE/_fake/reset"`
SELECT * FROM pg_temp.requests(:'log');
PREPARE by_keys(text[]) AS SELECT DISTINCT experiment_key FROM comet.raw_params
    WHERE experiment_key = ANY ($1);
EXPLAIN (COSTS OFF) EXECUTE by_keys('{x}');
EXECUTE by_keys(ARRAY[:'k1', :'k2']);
\set log `curl -s "$COMET_FAKE/_fake/requests"; curl -s -o /dev/null "$COMET_FAKE/_fake/reset"`
SELECT * FROM pg_temp.requests(:'log');
PREPARE by_project(text, bool) AS SELECT count(*) FROM comet.experiments
    WHERE project_id = $1 AND archived = $2;
EXECUTE by_project(:'mnist_id', false);
\set log `curl -s "$COMET_FAKE/_fake/requests"; curl -s -o /dev/null "$COMET_FAKE/_fake/reset"`
SELECT * FROM pg_temp.requests(:'log');
RESET plan_cache_mode;

-- joins on the key: one Comet Join scan, both sides fanning out over the project
EXPLAIN (COSTS OFF)
SELECT e.experiment_name, p.name, p.value_current
  FROM comet.experiments e JOIN comet.raw_params p USING (experiment_key)
 WHERE e.project_id = 'some-project';
SELECT count(DISTINCT p.experiment_key) = :mnist_n AS all_of_mnist
  FROM comet.experiments e JOIN comet.raw_params p USING (experiment_key)
 WHERE e.project_id = :'mnist_id';
\set log `curl -s "$COMET_FAKE/_fake/requests"; curl -s -o /dev/null "$COMET_FAKE/_fake/reset"`
SELECT * FROM pg_temp.requests(:'log');

-- a self-join makes each request once: requests in flight are shared
SELECT count(*) > 0 AS joined
  FROM comet.raw_params a JOIN comet.raw_params b USING (experiment_key, name)
 WHERE a.project_id = :'mnist_id' AND b.project_id = :'mnist_id';
\set log `curl -s "$COMET_FAKE/_fake/requests"; curl -s -o /dev/null "$COMET_FAKE/_fake/reset"`
SELECT count(*) AS requests, count(DISTINCT (r->>'path', r->>'query')) AS distinct_requests
  FROM jsonb_array_elements(:'log'::jsonb) r;

-- raw_metrics: metric names from the summary, or as given
SELECT count(DISTINCT metric_name) AS metrics FROM comet.raw_metrics WHERE experiment_key = :'k1';
\set log `curl -s "$COMET_FAKE/_fake/requests"; curl -s -o /dev/null "$COMET_FAKE/_fake/reset"`
SELECT * FROM pg_temp.requests(:'log');
SELECT count(*) > 0 AS has_points FROM comet.raw_metrics
 WHERE experiment_key = :'k1' AND metric_name IN ('loss', 'no such metric');
\set log `curl -s "$COMET_FAKE/_fake/requests"; curl -s -o /dev/null "$COMET_FAKE/_fake/reset"`
SELECT r->>'path' AS path, r->'query'->>'metricName' AS metric
  FROM jsonb_array_elements(:'log'::jsonb) r ORDER BY 2;

-- views keep the pushdown
SELECT count(*) > 0 AS has_params FROM comet.params WHERE experiment_key = :'k1';
\set log `curl -s "$COMET_FAKE/_fake/requests"; curl -s -o /dev/null "$COMET_FAKE/_fake/reset"`
SELECT * FROM pg_temp.requests(:'log');

-- no request for plain EXPLAIN, LIMIT 0, or Metabase's probe, on any table
EXPLAIN (COSTS OFF) SELECT * FROM comet.raw_metrics;
SELECT * FROM comet.raw_metrics LIMIT 0;
SELECT TRUE AS "_" FROM comet.raw_params WHERE 1 <> 1 LIMIT 0;
SELECT format('SELECT * FROM comet.%I LIMIT 0', relname) FROM pg_class
 WHERE relnamespace = 'comet'::regnamespace AND relkind IN ('f', 'v') ORDER BY relname \gexec
SELECT format('SELECT TRUE AS "_" FROM comet.%I WHERE 1 <> 1 LIMIT 0', relname) FROM pg_class
 WHERE relnamespace = 'comet'::regnamespace AND relkind IN ('f', 'v') ORDER BY relname \gexec
\set log `curl -s "$COMET_FAKE/_fake/requests"; curl -s -o /dev/null "$COMET_FAKE/_fake/reset"`
SELECT count(*) AS requests FROM jsonb_array_elements(:'log'::jsonb);
