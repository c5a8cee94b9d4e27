-- demo/tour.sql: a narrated tour of comet_fdw, run by demo/demo.sh.
-- The Comet URL and API key arrive in the environment (COMET_DEMO_URL, COMET_DEMO_KEY).
-- Every key shown below is picked from an earlier result with \gset, so this works against
-- any dataset: the fake Comet's sample data or your own workspace.
\set ON_ERROR_STOP on
\getenv comet_url COMET_DEMO_URL
\getenv comet_key COMET_DEMO_KEY
\if :{?comet_url}
\else
  \echo 'COMET_DEMO_URL is not set (run this file through demo/demo.sh)'
  \quit
\endif
\if :{?comet_key}
\else
  \echo 'COMET_DEMO_KEY is not set (run this file through demo/demo.sh)'
  \quit
\endif
\pset null '(null)'
\pset pager off

\echo '== Setting up: the extension, a server for Comet at' :'comet_url'
\echo '   your API key in a user mapping, and the foreign tables and views'
\echo 'CREATE EXTENSION comet_fdw;'
\echo 'CREATE SERVER comet FOREIGN DATA WRAPPER comet_fdw OPTIONS (url ''...'');'
\echo 'CREATE USER MAPPING FOR CURRENT_USER SERVER comet OPTIONS (api_key ''********'');'
\echo 'CREATE SCHEMA comet;'
\echo 'IMPORT FOREIGN SCHEMA comet FROM SERVER comet INTO comet;'
\echo 'SELECT comet_fdw_create_views(''comet'');'
\set QUIET on
CREATE EXTENSION comet_fdw;
CREATE SERVER comet FOREIGN DATA WRAPPER comet_fdw OPTIONS (url :'comet_url');
CREATE USER MAPPING FOR CURRENT_USER SERVER comet OPTIONS (api_key :'comet_key');
\unset comet_key
CREATE SCHEMA comet;
IMPORT FOREIGN SCHEMA comet FROM SERVER comet INTO comet;
SELECT comet_fdw_create_views('comet') \g /dev/null
\set QUIET off
\echo
\echo '== What that made: foreign tables and views in schema comet'
\dE comet.*
\dv comet.*

-- from here on, psql prints each query before its result
\set ECHO queries

\echo
\echo '== 1. The workspaces your API key can see (GET workspaces)'
SELECT workspace_name FROM comet.workspaces ORDER BY workspace_name;

\echo
\echo '== 2. Projects in every workspace, with their size and last activity'
SELECT project_name, workspace_name, num_experiments, last_updated
FROM comet.projects
ORDER BY workspace_name, project_name
LIMIT 20;

\echo
\echo '== Picking the most recently updated project that has experiments (\\gset keeps the result in psql variables)'
SELECT project_id, project_name, workspace_name
FROM comet.projects
WHERE num_experiments > 0
ORDER BY last_updated DESC NULLS LAST, workspace_name, project_name
LIMIT 1 \gset
\if :{?project_id}
\else
  \echo 'No project with experiments is visible with this API key: nothing more to show.'
  \quit
\endif

\echo
\echo '== 3. Experiments of project' :'project_name' '(the filter on project_id becomes a REST query parameter)'
SELECT experiment_key, experiment_name, start_time, duration_ms, archived
FROM comet.experiments
WHERE project_id = :'project_id'
ORDER BY start_time DESC NULLS LAST, experiment_key
LIMIT 10;

\echo
\echo '== Picking its latest experiment, and the keys of its five latest experiments'
SELECT experiment_key AS exp_key, experiment_name AS exp_name
FROM comet.experiments
WHERE project_id = :'project_id'
ORDER BY start_time DESC NULLS LAST, experiment_key
LIMIT 1 \gset
SELECT array_agg(experiment_key)::text AS recent_keys
FROM (SELECT experiment_key
      FROM comet.experiments
      WHERE project_id = :'project_id'
      ORDER BY start_time DESC NULLS LAST, experiment_key
      LIMIT 5) AS latest \gset

\echo
\echo '== 4. Parameters of experiment' :'exp_key' '(view comet.params: value as text, and as a number where it is one)'
SELECT name, value, value_numeric
FROM comet.params
WHERE experiment_key = :'exp_key'
ORDER BY name;

\echo
\echo '== 5. Metric summaries of the same experiment: last, min and max of every metric'
SELECT metric_name, current, min, max, step_current, time_current
FROM comet.metric_summaries
WHERE experiment_key = :'exp_key'
ORDER BY metric_name;

SELECT metric_name AS metric
FROM comet.metric_summaries
WHERE experiment_key = :'exp_key'
ORDER BY metric_name
LIMIT 1 \gset
\if :{?metric}
\echo
\echo '== 6. A time series, as Grafana would read it: the first points of metric' :'metric'
SELECT "time", metric_name, value
FROM comet.metrics
WHERE experiment_key = :'exp_key' AND metric_name = :'metric'
ORDER BY "time", step
LIMIT 10;
\else
\echo
\echo '== 6. (skipped: this experiment logged no metric)'
\endif

\echo
\echo '== 7. All parameters of the five latest experiments, one jsonb object per experiment'
SELECT experiment_key, params
FROM comet.experiment_params
WHERE experiment_key = ANY (:'recent_keys'::text[])
ORDER BY experiment_key;

\echo
\echo '== 8. Tags of every experiment in the project: one filter, and the FDW fans out over its experiments'
SELECT experiment_key, tag
FROM comet.tags
WHERE workspace_name = :'workspace_name' AND project_name = :'project_name'
ORDER BY experiment_key, tag;

\echo
\echo '== 9. EXPLAIN makes no request: it shows the REST call the scan would make'
EXPLAIN SELECT * FROM comet.params WHERE experiment_key = :'exp_key';

\echo
\echo '== 10. What this session asked of Comet'
SELECT * FROM comet_fdw_stats();
SELECT comet_fdw_version();

\set ECHO none
\echo
\echo 'End of the tour. More in the README: options, every table, Grafana and Metabase.'
