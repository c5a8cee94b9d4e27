-- demo/tour.sql: a narrated tour of comet_fdw, run by demo/demo.sh.
-- The Comet URL and API key arrive in the environment (COMET_DEMO_URL, COMET_DEMO_KEY), and so
-- may a file for the closing "queries to try" (COMET_DEMO_NEXT).  Every name shown below is picked
-- from an earlier result, so this works against any account: the fake Comet's demo data, your own
-- workspace, or an account with nothing in it yet (then it says so and stops, successfully).
\set ON_ERROR_STOP on
\set QUIET on
\set ECHO none
\pset pager off
\pset footer off
\getenv comet_url COMET_DEMO_URL
\getenv comet_key COMET_DEMO_KEY
\getenv next_file COMET_DEMO_NEXT
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

\echo '== Setting up: the extension, a server for Comet, your API key in a user mapping, the tables'
\echo '  CREATE EXTENSION comet_fdw;'
\set line '  CREATE SERVER comet FOREIGN DATA WRAPPER comet_fdw OPTIONS (url ' :'comet_url' ');'
\echo :line
\echo '  CREATE USER MAPPING FOR CURRENT_USER SERVER comet OPTIONS (api_key ''********'');'
\echo '  CREATE SCHEMA comet;'
\echo '  IMPORT FOREIGN SCHEMA comet FROM SERVER comet INTO comet;'
\echo '  SELECT comet_fdw_create_views(''comet'');'
CREATE EXTENSION comet_fdw;
CREATE SERVER comet FOREIGN DATA WRAPPER comet_fdw OPTIONS (url :'comet_url');
CREATE USER MAPPING FOR CURRENT_USER SERVER comet OPTIONS (api_key :'comet_key');
\unset comet_key
CREATE SCHEMA comet;
IMPORT FOREIGN SCHEMA comet FROM SERVER comet INTO comet;
SELECT comet_fdw_create_views('comet') \g /dev/null
SELECT count(*) FILTER (WHERE relkind = 'f') AS n_tables,
       count(*) FILTER (WHERE relkind = 'v') AS n_views
  FROM pg_class WHERE relnamespace = 'comet'::regnamespace \gset
\echo '  -> schema comet now has' :n_tables 'foreign tables and' :n_views 'views (\\dE comet.* lists them).'
\echo '     Nothing has been asked of Comet yet: requests start when a query reads rows.'

-- ---- 1. workspaces ------------------------------------------------------------------------
\echo
\echo '== 1. The workspaces your API key can see'
\set ECHO queries
SELECT workspace_name FROM comet.workspaces ORDER BY 1;
\set ECHO none
SELECT :ROW_COUNT AS n_workspaces, :ROW_COUNT = 0 AS no_workspace \gset
\if :no_workspace
  \echo
  \echo 'This API key sees no workspace, so there is nothing more to show.'
  \echo 'Check that it is the key of the account you mean (Comet: your avatar > Account settings > API keys).'
  \quit
\endif

-- ---- 2. projects --------------------------------------------------------------------------
\echo
\echo '== 2. Their projects: size and last activity'
\set ECHO queries
SELECT workspace_name, project_name, num_experiments AS experiments,
       to_char(last_updated, 'YYYY-MM-DD HH24:MI') AS last_updated
  FROM comet.projects
 ORDER BY last_updated DESC NULLS LAST, workspace_name, project_name
 LIMIT 15;
\set ECHO none

-- the most recently updated project that has experiments (one row, NULLs when there is none)
SELECT p.* FROM (SELECT) AS one LEFT JOIN LATERAL (
    SELECT project_id, project_name, workspace_name
      FROM comet.projects
     WHERE num_experiments > 0
     ORDER BY last_updated DESC NULLS LAST, workspace_name, project_name
     LIMIT 1) AS p ON true \gset
\if :{?project_id}
\else
  \echo
  \echo 'No project with experiments yet in' :n_workspaces 'workspace(s): nothing more to show.'
  \echo 'Log an experiment with the comet_ml Python package (comet.com/docs), then run the demo again.'
  \quit
\endif

-- ---- 3. experiments -----------------------------------------------------------------------
\echo
\echo '== 3. Experiments of the latest project,' :'project_name' '(filters on project_id are sent to Comet)'
\set ECHO queries
SELECT experiment_name, experiment_key, user_name,
       to_char(start_time, 'YYYY-MM-DD HH24:MI') AS started,
       date_trunc('second', duration_ms * interval '1 ms') AS duration,
       CASE WHEN archived THEN 'archived' WHEN running THEN 'running' ELSE 'finished' END AS status
  FROM comet.experiments
 WHERE project_id = :'project_id'
 ORDER BY start_time DESC NULLS LAST, experiment_key
 LIMIT 10;
\set ECHO none

-- its latest finished experiment
SELECT e.* FROM (SELECT) AS one LEFT JOIN LATERAL (
    SELECT experiment_key AS exp_key, coalesce(experiment_name, experiment_key) AS exp_name
      FROM comet.experiments
     WHERE project_id = :'project_id' AND NOT archived
     ORDER BY running, start_time DESC NULLS LAST, experiment_key
     LIMIT 1) AS e ON true \gset
\if :{?exp_key}
\else
  \echo
  \echo 'Every experiment of' :'project_name' 'is archived: nothing more to show.'
  \quit
\endif

-- ---- 4. parameters ------------------------------------------------------------------------
\echo
\echo '== 4. Parameters of its latest finished experiment,' :'exp_name'
\set ECHO queries
SELECT name, value, value_numeric
  FROM comet.params
 WHERE experiment_key = :'exp_key'
 ORDER BY name;
\set ECHO none
SELECT :ROW_COUNT = 0 AS none \gset
\if :none
  \echo '   (this experiment logged no parameters)'
\endif

-- ---- 5. metric summaries ------------------------------------------------------------------
\echo
\echo '== 5. Its metrics: last, lowest and highest value of each'
\set ECHO queries
SELECT metric_name, current AS last, min, max, step_current AS last_step
  FROM comet.metric_summaries
 WHERE experiment_key = :'exp_key'
 ORDER BY metric_name;
\set ECHO none
SELECT :ROW_COUNT = 0 AS none \gset
\if :none
  \echo '   (this experiment logged no metrics)'
\endif

-- a loss to follow, validation loss first (one row, NULL when there is no metric)
SELECT (SELECT metric_name
          FROM comet.metric_summaries
         WHERE experiment_key = :'exp_key'
         ORDER BY metric_name ~* '(val|eval|valid|test).*loss' DESC, metric_name ~* 'loss' DESC,
                  metric_name
         LIMIT 1) AS metric \gset

\if :{?metric}
-- ---- 6. one series ------------------------------------------------------------------------
\echo
\echo '== 6.' :'metric' 'step by step: a time series, as Grafana reads it ("time", metric_name, value)'
\set ECHO queries
SELECT step, to_char("time", 'HH24:MI:SS') AS "time", value,
       repeat('#', (30 * value / nullif(max(abs(value)) OVER (), 0))::int) AS chart
  FROM comet.metrics
 WHERE experiment_key = :'exp_key' AND metric_name = :'metric'
 ORDER BY "time", step
 LIMIT 25;
\set ECHO none

-- ---- 7. comparing experiments -------------------------------------------------------------
\echo
\echo '== 7. The project''s latest experiments side by side: tags, parameters that differ, final' :'metric'
\set ECHO queries
WITH e AS MATERIALIZED (SELECT experiment_key, coalesce(experiment_name, experiment_key) AS experiment
                          FROM comet.experiments
                         WHERE project_id = :'project_id' AND NOT archived
                         ORDER BY start_time DESC LIMIT 8),
     p AS (SELECT experiment_key, name, value FROM e JOIN comet.params USING (experiment_key)),
     differ AS (SELECT name FROM p GROUP BY name HAVING count(DISTINCT value) > 1)
SELECT e.experiment, s.current AS :"metric",
       (SELECT string_agg(tag, ',') FROM comet.tags t WHERE t.experiment_key = e.experiment_key) AS tags,
       (SELECT string_agg(p.name || '=' || p.value, ' ' ORDER BY p.name) FROM p
         WHERE p.experiment_key = e.experiment_key AND p.name IN (SELECT name FROM differ)) AS params_that_differ
  FROM e LEFT JOIN comet.metric_summaries s
       ON s.experiment_key = e.experiment_key AND s.metric_name = :'metric'
 ORDER BY 2 NULLS LAST, 1;
\set ECHO none
\else
\echo
\echo '== 6. and 7. (skipped: this experiment logged no metric to chart or compare)'
\endif

-- ---- 8. where it ran ----------------------------------------------------------------------
\echo
\echo '== 8. Where' :'exp_name' 'ran, and with which packages'
\set ECHO queries
SELECT hostname, os_type, python_version, jsonb_array_length(gpus) AS gpus,
       pg_size_pretty(total_ram::bigint) AS ram,
       (SELECT string_agg(package, ' ' ORDER BY package) FROM comet.installed_packages i
         WHERE i.experiment_key = d.experiment_key) AS packages
  FROM comet.system_details d
 WHERE experiment_key = :'exp_key';
\set ECHO none

-- ---- 9. EXPLAIN ---------------------------------------------------------------------------
\echo
\echo '== 9. EXPLAIN makes no request: it shows the REST calls a query would make'
\set ECHO queries
EXPLAIN (COSTS OFF)
SELECT e.experiment_name, p.value AS lr
  FROM comet.experiments e JOIN comet.params p ON p.experiment_key = e.experiment_key
 WHERE e.project_id = :'project_id' AND p.name = 'lr';
\set ECHO none

-- ---- 10. what it cost ---------------------------------------------------------------------
\echo
\echo '== 10. What this session asked of Comet (requests, cache hits, bytes, time waiting on HTTP)'
\set ECHO queries
SELECT requests, cache_hits, retries, errors,
       pg_size_pretty(bytes_received) AS received, round(http_ms) AS http_ms
  FROM comet_fdw_stats();
\set ECHO none
\echo '   and the versions in use:'
SELECT x.component, x.version
  FROM (SELECT 1, 'comet_fdw', extversion FROM pg_extension WHERE extname = 'comet_fdw'
        UNION ALL SELECT 2, 'libcurl', substring(comet_fdw_version() FROM 'libcurl/(\S+)')
        UNION ALL SELECT 3, 'TLS', substring(comet_fdw_version() FROM '((OpenSSL|GnuTLS|NSS|mbedTLS|wolfSSL)/\S+)')
        UNION ALL SELECT 4, 'JSON', substring(comet_fdw_version() FROM 'JSON: (.*)$')
        UNION ALL SELECT 5, 'PostgreSQL', current_setting('server_version')) AS x(n, component, version)
 ORDER BY x.n;

-- ---- queries to try next (demo/demo.sh prints them last) -----------------------------------
\if :{?next_file}
\o :next_file
\qecho 'SELECT e.experiment_name, p.params'
\qecho '  FROM comet.experiments e JOIN comet.experiment_params p USING (experiment_key)'
\set line ' WHERE e.project_id = ' :'project_id' ';'
\qecho :line
\qecho
\if :{?metric}
\qecho 'SELECT step, "time", value FROM comet.metrics'
\set line ' WHERE experiment_key = ' :'exp_key' ' AND metric_name = ' :'metric' ' ORDER BY step;'
\qecho :line
\else
\set line 'SELECT name, value FROM comet.params WHERE experiment_key = ' :'exp_key' ';'
\qecho :line
\endif
\qecho
\qecho 'SELECT e.experiment_name, t.tag'
\qecho '  FROM comet.experiments e JOIN comet.tags t USING (experiment_key)'
\set line ' WHERE e.workspace_name = ' :'workspace_name' ' AND e.project_name = ' :'project_name' ';'
\qecho :line
\o
\endif
