/* comet_fdw--1.0.sql */

\echo Use "CREATE EXTENSION comet_fdw" to load this file. \quit

CREATE FUNCTION comet_fdw_handler()
RETURNS fdw_handler
AS 'MODULE_PATHNAME'
LANGUAGE C STRICT;

CREATE FUNCTION comet_fdw_validator(text[], oid)
RETURNS void
AS 'MODULE_PATHNAME'
LANGUAGE C STRICT;

CREATE FOREIGN DATA WRAPPER comet_fdw
  HANDLER comet_fdw_handler
  VALIDATOR comet_fdw_validator;

COMMENT ON FOREIGN DATA WRAPPER comet_fdw IS 'Comet ML REST API v2';

CREATE FUNCTION comet_fdw_version()
RETURNS text
AS 'MODULE_PATHNAME'
LANGUAGE C STRICT STABLE;

COMMENT ON FUNCTION comet_fdw_version() IS 'comet_fdw, libcurl and json-c versions';

CREATE FUNCTION comet_fdw_cache_clear()
RETURNS bigint
AS 'MODULE_PATHNAME'
LANGUAGE C STRICT VOLATILE;

COMMENT ON FUNCTION comet_fdw_cache_clear() IS 'Empties this backend''s Comet response cache; returns the number of entries dropped';

CREATE FUNCTION comet_fdw_stats(
    OUT requests bigint,
    OUT retries bigint,
    OUT cache_hits bigint,
    OUT bytes_received bigint,
    OUT errors bigint,
    OUT http_ms double precision,
    OUT cache_entries bigint,
    OUT cache_bytes bigint,
    OUT errors_by_status jsonb)
RETURNS record
AS 'MODULE_PATHNAME'
LANGUAGE C STRICT VOLATILE;

COMMENT ON FUNCTION comet_fdw_stats() IS 'This backend''s Comet counters: HTTP requests sent, retries, cache hits, bytes, errors (by HTTP status; "transport" for network failures)';

CREATE FUNCTION comet_fdw_to_float8(text)
RETURNS double precision
AS 'MODULE_PATHNAME'
LANGUAGE C STRICT IMMUTABLE PARALLEL SAFE;

COMMENT ON FUNCTION comet_fdw_to_float8(text) IS 'A Comet value string as a number; NULL when it is not one';

CREATE FUNCTION comet_fdw_comment_table(regclass)
RETURNS boolean
AS 'MODULE_PATHNAME'
LANGUAGE C STRICT VOLATILE;

COMMENT ON FUNCTION comet_fdw_comment_table(regclass) IS 'Sets the COMMENTs of a comet_fdw foreign table from the endpoint catalogue';

-- IMPORT FOREIGN SCHEMA can only return CREATE FOREIGN TABLE statements;
-- the comments on the imported tables and columns are added here.
CREATE FUNCTION comet_fdw_import_comments()
RETURNS event_trigger
LANGUAGE plpgsql
AS $$
DECLARE
    r record;
BEGIN
    FOR r IN SELECT objid FROM pg_event_trigger_ddl_commands()
             WHERE object_type = 'foreign table'
    LOOP
        PERFORM @extschema@.comet_fdw_comment_table(r.objid::regclass);
    END LOOP;
END
$$;

CREATE EVENT TRIGGER comet_fdw_import_comments ON ddl_command_end
    WHEN TAG IN ('IMPORT FOREIGN SCHEMA')
    EXECUTE FUNCTION comet_fdw_import_comments();

-- The seed library's helpers as views.  security_invoker: each caller's
-- own user mapping (own API key) is used, never the view owner's.
CREATE FUNCTION comet_fdw_create_views(schema_name name)
RETURNS void
LANGUAGE plpgsql
AS $fn$
DECLARE
    s text := quote_ident(schema_name);
    f text := '@extschema@.comet_fdw_to_float8';
    t text;
BEGIN
    IF to_regnamespace(s) IS NULL THEN
        RAISE EXCEPTION 'schema "%" does not exist', schema_name
            USING ERRCODE = 'invalid_schema_name',
                  HINT = format('CREATE SCHEMA %s; IMPORT FOREIGN SCHEMA comet FROM SERVER ... INTO %s;', s, s);
    END IF;
    FOREACH t IN ARRAY ARRAY['raw_metrics', 'raw_metric_summaries', 'raw_params', 'raw_others'] LOOP
        IF to_regclass(s || '.' || t) IS NULL THEN
            RAISE EXCEPTION 'schema "%" has no table "%"', schema_name, t
                USING ERRCODE = 'undefined_table',
                      HINT = format('IMPORT FOREIGN SCHEMA comet FROM SERVER ... INTO %s; creates the tables the views read.', s);
        END IF;
    END LOOP;
    EXECUTE format($v$
        CREATE OR REPLACE VIEW %1$s.metrics WITH (security_invoker = true) AS
        SELECT experiment_key, workspace_name, project_name, metric_name,
               step, epoch, "timestamp" AS "time",
               %2$s(metric_value) AS value, run_context
          FROM %1$s.raw_metrics$v$, s, f);
    EXECUTE format($v$
        CREATE OR REPLACE VIEW %1$s.metric_summaries WITH (security_invoker = true) AS
        SELECT experiment_key, metric_name,
               %2$s(value_current) AS current,
               %2$s(value_min) AS min,
               %2$s(value_max) AS max,
               step_current, timestamp_current AS time_current
          FROM %1$s.raw_metric_summaries$v$, s, f);
    EXECUTE format($v$
        CREATE OR REPLACE VIEW %1$s.params WITH (security_invoker = true) AS
        SELECT experiment_key, workspace_name, project_name, name,
               value_current AS value, %2$s(value_current) AS value_numeric
          FROM %1$s.raw_params$v$, s, f);
    EXECUTE format($v$
        CREATE OR REPLACE VIEW %1$s.others WITH (security_invoker = true) AS
        SELECT experiment_key, workspace_name, project_name, name,
               value_current AS value, %2$s(value_current) AS value_numeric
          FROM %1$s.raw_others$v$, s, f);
    EXECUTE format($v$
        CREATE OR REPLACE VIEW %1$s.experiment_params WITH (security_invoker = true) AS
        SELECT experiment_key,
               jsonb_object_agg(coalesce(name, ''), value_current) AS params
          FROM %1$s.raw_params
         GROUP BY experiment_key$v$, s);

    EXECUTE format('COMMENT ON VIEW %s.metrics IS %L', s,
        'Metric points with numeric values (NULL where not a number); "time" and metric_name make it a Grafana time series');
    EXECUTE format('COMMENT ON VIEW %s.metric_summaries IS %L', s,
        'Last, min and max of each metric of each experiment, as numbers');
    EXECUTE format('COMMENT ON VIEW %s.params IS %L', s,
        'Parameters of each experiment: current value as text and as a number');
    EXECUTE format('COMMENT ON VIEW %s.others IS %L', s,
        'Logged others of each experiment: current value as text and as a number');
    EXECUTE format('COMMENT ON VIEW %s.experiment_params IS %L', s,
        'All parameters of each experiment as one jsonb object (a NULL name becomes "")');
    EXECUTE format('COMMENT ON COLUMN %s.metrics.value IS %L', s,
        'metric_value as double precision; NULL when Comet''s value is not a number');
    EXECUTE format('COMMENT ON COLUMN %s.metrics."time" IS %L', s,
        'Time the value was logged');
    EXECUTE format('COMMENT ON COLUMN %s.params.value_numeric IS %L', s,
        'value as double precision; NULL when it is not a number');
    EXECUTE format('COMMENT ON COLUMN %s.others.value_numeric IS %L', s,
        'value as double precision; NULL when it is not a number');
END
$fn$;

COMMENT ON FUNCTION comet_fdw_create_views(name) IS 'Creates the views metrics, metric_summaries, params, others and experiment_params in a schema holding the imported comet_fdw tables';
