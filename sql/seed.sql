--
-- seed: every helper of the seed Python library, as one SQL query, checked
-- against the fake dataset.  The README shows the same queries.
--
\set ds `curl -s "$COMET_FAKE/_fake/dataset"`
CREATE TEMP TABLE ds AS SELECT :'ds'::jsonb AS j;
\unset ds
SELECT p->>'projectId' AS pid FROM ds, jsonb_array_elements(j->'projects') p
 WHERE p->>'projectName' = 'mnist' \gset
SELECT e->>'experimentKey' AS k FROM ds, jsonb_array_elements(j->'experiments') e
 WHERE e->>'projectName' = 'mnist' ORDER BY e->>'startTimeMillis' LIMIT 1 \gset
CREATE TEMP VIEW data AS SELECT j->'experiment_data'->:'k' AS d FROM ds;

-- get_workspaces()
SELECT workspace_name FROM comet.workspaces ORDER BY 1;

-- get_project_names_and_ids(workspace)
SELECT project_name, project_id = :'pid' AS is_mnist
  FROM comet.projects WHERE workspace_name = 'fake-user' ORDER BY 1;

-- get_experiments(project_id): the project's active experiments
SELECT experiment_key = :'k' AS is_k, experiment_name, archived
  FROM comet.experiments WHERE project_id = :'pid' AND NOT archived ORDER BY start_time;

-- get_raw_params(experiment_key) / get_params(experiment_key)
SELECT name, value_current, value_min, value_max FROM comet.raw_params
 WHERE experiment_key = :'k' ORDER BY name;
SELECT jsonb_object_agg(name, value) AS params FROM comet.params WHERE experiment_key = :'k';
SELECT (SELECT params FROM comet.experiment_params WHERE experiment_key = :'k') =
       (SELECT jsonb_object_agg(v->>'name', v->>'valueCurrent')
          FROM data, jsonb_array_elements(d->'parameters') v) AS same_as_dataset;

-- get_raw_others(experiment_key) / get_others(experiment_key)
SELECT name, value_current FROM comet.raw_others WHERE experiment_key = :'k' ORDER BY name;
SELECT name, value, value_numeric FROM comet.others WHERE experiment_key = :'k' ORDER BY name;

-- get_raw_metrics / get_metrics: one series per metric, float values,
-- with step and timestamp, in logging order
SELECT metric_name, count(*) AS points, min(step) AS first_step, max(step) AS last_step
  FROM comet.metrics WHERE experiment_key = :'k' GROUP BY 1 ORDER BY 1;
SELECT pg_typeof(step) AS step, pg_typeof("time") AS "time", pg_typeof(value) AS value
  FROM comet.metrics WHERE experiment_key = :'k' LIMIT 1;
SELECT step, "time", value FROM comet.metrics
 WHERE experiment_key = :'k' AND metric_name = 'loss' ORDER BY "time", step LIMIT 5;
SELECT (SELECT array_agg(value ORDER BY "offset") FROM comet.raw_metrics r,
               LATERAL (SELECT comet_fdw_to_float8(r.metric_value) AS value) v
         WHERE experiment_key = :'k' AND metric_name = 'loss') =
       (SELECT array_agg(v_num ORDER BY (v->>'offset')::bigint)
          FROM data, jsonb_array_elements(d->'metrics'->'loss') v,
               LATERAL (SELECT (v->>'metricValue')::float8 AS v_num) x) AS same_as_dataset;

-- get_raw_metric_summaries(experiment_key)
SELECT metric_name, value_current, step_current, run_context_current
  FROM comet.raw_metric_summaries WHERE experiment_key = :'k' ORDER BY 1;

-- get_html, get_code, get_stdout, get_graph (one text each)
SELECT (SELECT html FROM comet.html WHERE experiment_key = :'k') = (SELECT d->>'html' FROM data) AS html,
       (SELECT code FROM comet.code WHERE experiment_key = :'k') = (SELECT d->>'code' FROM data) AS code,
       (SELECT output FROM comet.output WHERE experiment_key = :'k') = (SELECT d->>'output' FROM data) AS stdout,
       (SELECT graph FROM comet.graph WHERE experiment_key = :'k') = (SELECT d->>'graph' FROM data) AS graph;

-- get_installed_packages(experiment_key)
SELECT package FROM comet.installed_packages WHERE experiment_key = :'k' ORDER BY 1;

-- get_image_data(experiment_key): the image assets and their links
SELECT file_name, file_size, step, link ~ '^https://' AS has_link
  FROM comet.images WHERE experiment_key = :'k' ORDER BY file_name;

-- get_experiments_with_params(project, [{lr: 0.01, optimizer: rmsprop}, {batch size: 32}]):
-- AND of equalities within a group, OR across groups
SELECT experiment_key = :'k' AS is_k, params
  FROM (SELECT experiment_key, jsonb_object_agg(name, value) AS params
          FROM comet.params
         WHERE workspace_name = 'fake-user' AND project_name = 'mnist'
         GROUP BY experiment_key) e
 WHERE params @> '{"lr": "0.01", "optimizer": "rmsprop"}'
    OR params @> '{"batch size": "32"}'
 ORDER BY params->>'lr';
-- the same, from the dataset
SELECT e->>'experimentKey' = :'k' AS is_k
  FROM ds, jsonb_array_elements(j->'experiments') e,
       LATERAL (SELECT jsonb_object_agg(v->>'name', v->>'valueCurrent') AS params
                  FROM jsonb_array_elements(j->'experiment_data'->(e->>'experimentKey')->'parameters') v) p
 WHERE e->>'projectName' = 'mnist'
   AND (p.params @> '{"lr": "0.01", "optimizer": "rmsprop"}' OR p.params @> '{"batch size": "32"}')
 ORDER BY p.params->>'lr';

-- get_experiments_grouped_by(project, param): experiment keys by the value
SELECT value AS optimizer, count(*) AS experiments, bool_or(experiment_key = :'k') AS has_k
  FROM comet.params
 WHERE workspace_name = 'fake-user' AND project_name = 'mnist' AND name = 'optimizer'
 GROUP BY value ORDER BY value;
