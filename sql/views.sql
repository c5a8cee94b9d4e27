--
-- views: comet_fdw_create_views() gives the seed library's simplified,
-- typed shapes; filters reach the foreign scans through them; they are
-- security_invoker, so every caller uses their own key.
--
\i sql/include/dataset.sql
-- the views' numbers: finite numbers only (NaN and infinities are NULL)
CREATE FUNCTION pg_temp.num(text) RETURNS float8 LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
    RETURN CASE WHEN $1::float8 IN ('NaN', 'Infinity', '-Infinity') THEN NULL
                ELSE $1::float8 END;
EXCEPTION WHEN OTHERS THEN
    RETURN NULL;
END
$$;
CREATE TEMP VIEW exp AS
SELECT e->>'experimentKey' AS k, e->>'workspaceName' AS w, e->>'projectName' AS p,
       e->>'projectId' AS pid, j->'experiment_data'->(e->>'experimentKey') AS d
  FROM ds, jsonb_array_elements(j->'experiments') e;

\d comet.metrics
SELECT pg_temp.same('SELECT * FROM comet.metrics', $$
    SELECT k, w, p, m.key, (v->>'step')::bigint, (v->>'epoch')::bigint,
           pg_temp.ms((v->>'timestamp')::bigint), pg_temp.num(v->>'metricValue'), v->>'runContext'
      FROM exp, jsonb_each(d->'metrics') m, jsonb_array_elements(m.value) v$$) AS metrics;
SELECT pg_temp.same('SELECT * FROM comet.metric_summaries', $$
    SELECT k, w, p, pid, v->>'name', pg_temp.num(v->>'valueCurrent'), pg_temp.num(v->>'valueMin'),
           pg_temp.num(v->>'valueMax'), (v->>'stepCurrent')::bigint,
           pg_temp.ms((v->>'timestampCurrent')::bigint)
      FROM exp, jsonb_array_elements(d->'summary') v$$) AS metric_summaries;
SELECT pg_temp.same('SELECT * FROM comet.params', $$
    SELECT k, w, p, v->>'name', v->>'valueCurrent', pg_temp.num(v->>'valueCurrent')
      FROM exp, jsonb_array_elements(d->'parameters') v$$) AS params;
SELECT pg_temp.same('SELECT * FROM comet.others', $$
    SELECT k, w, p, v->>'name', v->>'valueCurrent', pg_temp.num(v->>'valueCurrent')
      FROM exp, jsonb_array_elements(d->'others') v$$) AS others;
SELECT pg_temp.same('SELECT * FROM comet.experiment_params', $$
    SELECT k, w, p, pid, jsonb_object_agg(v->>'name', v->>'valueCurrent')
      FROM exp, jsonb_array_elements(d->'parameters') v GROUP BY k, w, p, pid$$) AS experiment_params;

-- a value that is not a finite number is NULL in the numeric column, never
-- an error: an avg() over a dashboard bucket with a "NaN" point stays a number
SELECT value, value_numeric FROM comet.params WHERE name = 'optimizer' GROUP BY 1, 2 ORDER BY 1;
SELECT count(*) FILTER (WHERE value IS NULL) AS non_numeric_points,
       count(*) FILTER (WHERE value = 'NaN') AS nan_points
  FROM comet.metrics;
SELECT metric_name, avg(value) IS NOT NULL AND avg(value) <> 'NaN' AS avg_is_a_number
  FROM comet.metrics WHERE metric_name = 'val loss' GROUP BY 1;
SELECT s, comet_fdw_to_float8(s)
  FROM unnest(ARRAY['1', ' -2.5e3 ', 'NaN', 'Infinity', '-inf', 'True', '', '1e999', '0x10', '12abc']) s;

-- filters on the views' key columns are pushed down
\set x `curl -s "$COMET_FAKE/_fake/reset"`
SELECT e->>'experimentKey' AS k1 FROM ds, jsonb_array_elements(j->'experiments') e
 WHERE e->>'projectName' = 'mnist' ORDER BY e->>'startTimeMillis' LIMIT 1 \gset
SELECT count(*) > 0 AS ok FROM comet.experiment_params WHERE experiment_key = :'k1';
SELECT count(*) > 0 AS ok FROM comet.metric_summaries WHERE experiment_key = :'k1';
SELECT count(*) > 0 AS ok FROM comet.others WHERE experiment_key = :'k1';
SELECT count(*) > 0 AS ok FROM comet.metrics WHERE experiment_key = :'k1' AND metric_name = 'loss';
\set log `curl -s "$COMET_FAKE/_fake/requests"`
SELECT r->>'path' AS path, count(*) FROM jsonb_array_elements(:'log'::jsonb) r GROUP BY 1 ORDER BY 1;

-- security_invoker: the caller's own user mapping is used, not the owner's
CREATE ROLE regress_view_reader NOSUPERUSER;
GRANT USAGE ON SCHEMA comet TO regress_view_reader;
GRANT SELECT ON ALL TABLES IN SCHEMA comet TO regress_view_reader;
GRANT USAGE ON FOREIGN SERVER comet TO regress_view_reader;
SET ROLE regress_view_reader;
SELECT count(*) FROM comet.params WHERE experiment_key = :'k1';
RESET ROLE;
CREATE USER MAPPING FOR regress_view_reader SERVER comet OPTIONS (api_key 'regress-reader-WRONG');
SET ROLE regress_view_reader;
SELECT count(*) FROM comet.params WHERE experiment_key = :'k1';
RESET ROLE;
DROP USER MAPPING FOR regress_view_reader SERVER comet;
REVOKE ALL ON ALL TABLES IN SCHEMA comet FROM regress_view_reader;
REVOKE USAGE ON SCHEMA comet FROM regress_view_reader;
REVOKE USAGE ON FOREIGN SERVER comet FROM regress_view_reader;
DROP ROLE regress_view_reader;

-- every view column has a comment (Metabase and \d+ show them)
SELECT c.relname, a.attname FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid
 WHERE c.relnamespace = 'comet'::regnamespace AND c.relkind = 'v' AND a.attnum > 0
   AND col_description(c.oid, a.attnum) IS NULL;
-- the views carry what the tables carry: a project's summaries by name,
-- pushed down like the tables' (one listing, then one summary per experiment)
\set log `curl -s -o /dev/null "$COMET_FAKE/_fake/reset"`
SELECT count(DISTINCT experiment_key) AS experiments, count(*) > 0 AS has_rows
  FROM comet.metric_summaries WHERE workspace_name = 'fake-user' AND project_name = 'mnist';
SELECT project_name, count(*) AS experiments FROM comet.experiment_params
 WHERE project_id = (SELECT project_id FROM comet.projects
                      WHERE workspace_name = 'fake-user' AND project_name = 'mnist')
 GROUP BY 1;
\set log `curl -s "$COMET_FAKE/_fake/requests"`
SELECT r->>'path' AS path, count(*) FROM jsonb_array_elements(:'log'::jsonb) r GROUP BY 1 ORDER BY 1;

-- the views can be created in another schema too, and replaced
CREATE SCHEMA comet2;
IMPORT FOREIGN SCHEMA comet LIMIT TO (raw_metrics, raw_metric_summaries, raw_params, raw_others)
    FROM SERVER comet INTO comet2;
SELECT comet_fdw_create_views('comet2');
SELECT comet_fdw_create_views('comet2');
SELECT relname FROM pg_class WHERE relnamespace = 'comet2'::regnamespace AND relkind = 'v' ORDER BY 1;
SELECT comet_fdw_create_views('no_such_schema');
CREATE SCHEMA comet3;
SELECT comet_fdw_create_views('comet3');
-- only the views the imported tables allow
IMPORT FOREIGN SCHEMA comet LIMIT TO (experiments, raw_params) FROM SERVER comet INTO comet3;
SELECT comet_fdw_create_views('comet3');
DROP SCHEMA comet3 CASCADE;
CREATE SCHEMA comet3;
-- a view of an earlier shape (1.0's metric_summaries had no project columns) is replaced
IMPORT FOREIGN SCHEMA comet LIMIT TO (raw_metric_summaries) FROM SERVER comet INTO comet3;
CREATE VIEW comet3.metric_summaries AS SELECT experiment_key, metric_name FROM comet3.raw_metric_summaries;
SELECT comet_fdw_create_views('comet3');
SELECT attname FROM pg_attribute WHERE attrelid = 'comet3.metric_summaries'::regclass AND attnum > 0 ORDER BY attnum;
DROP SCHEMA comet3 CASCADE;
CREATE SCHEMA comet3;
DROP SCHEMA comet3;
DROP SCHEMA comet2 CASCADE;
