/* comet_fdw--1.0--1.1.sql: every change to the SQL objects since 1.0.
 * comet_fdw--1.0.sql stays as released; CREATE EXTENSION comet_fdw (at 1.1) runs it and then
 * this script, exactly as ALTER EXTENSION comet_fdw UPDATE does on a 1.0 database.
 * test/suites/upgrade.sh checks that both paths end with identical objects. */

\echo Use "ALTER EXTENSION comet_fdw UPDATE" to load this file. \quit

-- the JSON parser is comet_fdw's own (src/jsonrow.c); json-c is only the fuzzer's reference
COMMENT ON FUNCTION comet_fdw_version() IS 'comet_fdw and libcurl versions, and the JSON parser';

-- comet_fdw_create_views: every view carries the context columns of its table (pushed down like
-- the tables'), every view column has a comment, only the views the imported tables allow are
-- made, and their names are returned.  A view whose columns changed is dropped and made again
-- (an error, not a silent CASCADE, when a view of the user's depends on it).
DROP FUNCTION comet_fdw_create_views(name);
CREATE FUNCTION comet_fdw_create_views(schema_name name)
RETURNS SETOF text
LANGUAGE plpgsql
AS $fn$
DECLARE
    s text := quote_ident(schema_name);
    f text := '@extschema@.comet_fdw_to_float8';
    v record;
    c record;
    made int := 0;
    ctx_comment CONSTANT text[] := ARRAY[
        'experiment_key', 'Comet experiment key; filters on it are pushed down',
        'workspace_name', 'Workspace of the experiment; filters on it are pushed down',
        'project_name', 'Project of the experiment; filters on it are pushed down',
        'project_id', 'Project id of the experiment; filters on it are pushed down'];
BEGIN
    IF to_regnamespace(s) IS NULL THEN
        RAISE EXCEPTION 'schema "%" does not exist', schema_name
            USING ERRCODE = 'invalid_schema_name',
                  HINT = format('CREATE SCHEMA %s; IMPORT FOREIGN SCHEMA comet FROM SERVER ... INTO %s;', s, s);
    END IF;
    FOR v IN
        SELECT * FROM (VALUES
          (1, 'metrics', 'raw_metrics',
           'Metric points with numeric values (NULL where not a finite number); "time" and metric_name make it a Grafana time series',
           $q$SELECT experiment_key, workspace_name, project_name, metric_name,
                     step, epoch, "timestamp" AS "time", %2$s(metric_value) AS value, run_context
                FROM %1$s.raw_metrics$q$,
           ARRAY['metric_name', 'Metric name; filters on it are pushed down',
                 'step', 'Step of the point', 'epoch', 'Epoch of the point',
                 'time', 'Time the value was logged',
                 'value', 'metric_value as double precision; NULL when Comet''s value is not a finite number',
                 'run_context', 'Context of the point (train, test ...)']),
          (2, 'metric_summaries', 'raw_metric_summaries',
           'Last, min and max of each metric of each experiment, as numbers',
           $q$SELECT experiment_key, workspace_name, project_name, project_id, metric_name,
                     %2$s(value_current) AS current, %2$s(value_min) AS min,
                     %2$s(value_max) AS max, step_current, timestamp_current AS time_current
                FROM %1$s.raw_metric_summaries$q$,
           ARRAY['metric_name', 'Metric name',
                 'current', 'Last logged value as a number (NULL when not a finite number)',
                 'min', 'Smallest value as a number', 'max', 'Largest value as a number',
                 'step_current', 'Step of the last value',
                 'time_current', 'Time of the last value']),
          (3, 'params', 'raw_params',
           'Parameters of each experiment: current value as text and as a number',
           $q$SELECT experiment_key, workspace_name, project_name, name,
                     value_current AS value, %2$s(value_current) AS value_numeric
                FROM %1$s.raw_params$q$,
           ARRAY['name', 'Parameter name', 'value', 'Current value, as Comet sends it',
                 'value_numeric', 'value as double precision; NULL when it is not a finite number']),
          (4, 'others', 'raw_others',
           'Logged others of each experiment: current value as text and as a number',
           $q$SELECT experiment_key, workspace_name, project_name, name,
                     value_current AS value, %2$s(value_current) AS value_numeric
                FROM %1$s.raw_others$q$,
           ARRAY['name', 'Name of the other', 'value', 'Current value, as Comet sends it',
                 'value_numeric', 'value as double precision; NULL when it is not a finite number']),
          (5, 'experiment_params', 'raw_params',
           'All parameters of each experiment as one jsonb object (a NULL name becomes "")',
           $q$SELECT experiment_key, workspace_name, project_name, project_id,
                     jsonb_object_agg(coalesce(name, ''), value_current) AS params
                FROM %1$s.raw_params
               GROUP BY experiment_key, workspace_name, project_name, project_id$q$,
           ARRAY['params', 'Every parameter of the experiment: {"name": "value as Comet sends it", ...}'])
        ) AS t(ord, name, source, comment, body, comments)
        ORDER BY ord
    LOOP
        CONTINUE WHEN to_regclass(s || '.' || quote_ident(v.source)) IS NULL;
        -- a view of another shape (an earlier version's) is replaced, never altered in place
        IF to_regclass(s || '.' || quote_ident(v.name)) IS NOT NULL THEN
            BEGIN
                EXECUTE format('CREATE OR REPLACE VIEW %s.%I WITH (security_invoker = true) AS %s',
                               s, v.name, format(v.body, s, f));
            EXCEPTION WHEN invalid_table_definition THEN
                EXECUTE format('DROP VIEW %s.%I', s, v.name);
                EXECUTE format('CREATE VIEW %s.%I WITH (security_invoker = true) AS %s',
                               s, v.name, format(v.body, s, f));
            END;
        ELSE
            EXECUTE format('CREATE VIEW %s.%I WITH (security_invoker = true) AS %s',
                           s, v.name, format(v.body, s, f));
        END IF;
        EXECUTE format('COMMENT ON VIEW %s.%I IS %L', s, v.name, v.comment);
        FOR c IN
            SELECT a.attname::text AS col,
                   coalesce((SELECT m[i + 1] FROM (SELECT v.comments AS m) x,
                                   generate_subscripts(v.comments, 1) i
                              WHERE i % 2 = 1 AND m[i] = a.attname),
                            (SELECT ctx_comment[i + 1] FROM generate_subscripts(ctx_comment, 1) i
                              WHERE i % 2 = 1 AND ctx_comment[i] = a.attname)) AS comment
              FROM pg_attribute a
             WHERE a.attrelid = (s || '.' || quote_ident(v.name))::regclass AND a.attnum > 0
        LOOP
            EXECUTE format('COMMENT ON COLUMN %s.%I.%I IS %L', s, v.name, c.col, c.comment);
        END LOOP;
        made := made + 1;
        RETURN NEXT s || '.' || quote_ident(v.name);
    END LOOP;
    IF made = 0 THEN
        RAISE EXCEPTION 'schema "%" has none of the tables the views read', schema_name
            USING ERRCODE = 'undefined_table',
                  HINT = format('IMPORT FOREIGN SCHEMA comet FROM SERVER ... INTO %s; creates them (raw_metrics, raw_metric_summaries, raw_params, raw_others).', s);
    END IF;
END
$fn$;

COMMENT ON FUNCTION comet_fdw_create_views(name) IS 'Creates (or replaces) the views metrics, metric_summaries, params, others and experiment_params that the imported tables of a schema allow; returns their names';

COMMENT ON FUNCTION comet_fdw_to_float8(text) IS 'A Comet value string as a number; NULL when it is not a finite number (NaN and infinities included)';
