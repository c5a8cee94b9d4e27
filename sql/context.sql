--
-- context: every per-experiment table (and view) fills its context columns
-- (workspace_name, project_name, project_id) for every key form, so adding
-- a true filter on a context column never changes the rows -- the way a
-- dashboard or pandas names a series by project.
--
\i sql/include/dataset.sql
SELECT p->>'projectId' AS pid FROM ds, jsonb_array_elements(j->'projects') p
 WHERE p->>'projectName' = 'mnist' AND p->>'workspaceName' = 'fake-user' \gset
-- k: a full (role 0) mnist experiment; k2: an archived one of the same project
SELECT e->>'experimentKey' AS k FROM ds, jsonb_array_elements(j->'experiments') e
 WHERE e->>'projectId' = :'pid' ORDER BY e->>'startTimeMillis' LIMIT 1 \gset
SELECT e->>'experimentKey' AS k2 FROM ds, jsonb_array_elements(j->'experiments') e
 WHERE e->>'projectId' = :'pid' AND (e->>'archived')::boolean
 ORDER BY e->>'startTimeMillis' LIMIT 1 \gset

CREATE TEMP TABLE forms (form text, sql text);
INSERT INTO forms VALUES
  ('key =',          format('experiment_key = %L', :'k')),
  ('key IN',         format('experiment_key IN (%L, %L)', :'k', :'k2')),
  ('key = ANY',      format('experiment_key = ANY (ARRAY[%L, %L])', :'k', :'k2')),
  ('project_id',     format('project_id = %L', :'pid')),
  ('workspace+name', 'workspace_name = ''fake-user'' AND project_name = ''mnist'''),
  ('key+metric',     format('experiment_key = %L AND metric_name = ''loss''', :'k')),
  ('project+metric', format('project_id = %L AND metric_name IN (''loss'', ''acc'')', :'pid'));
CREATE TEMP TABLE ctx (col text, val text);
INSERT INTO ctx VALUES ('workspace_name', 'fake-user'), ('project_name', 'mnist'),
                       ('project_id', :'pid');
CREATE TEMP TABLE checks (tbl text, form text, col text, n_all bigint,
                          n_filtered bigint, n_null bigint);

-- every table and view with an experiment_key and at least one context column
CREATE TEMP VIEW targets AS
SELECT c.relname::text AS tbl,
       array_agg(a.attname::text ORDER BY a.attname) AS cols,
       bool_or(a.attname = 'metric_name') AS has_metric
  FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0
 WHERE c.relnamespace = 'comet'::regnamespace
   AND a.attname IN ('workspace_name', 'project_name', 'project_id', 'metric_name')
   AND EXISTS (SELECT FROM pg_attribute k WHERE k.attrelid = c.oid
                  AND k.attname = 'experiment_key')
   AND c.relname <> 'experiments'
   -- asset_content needs an asset_id too, and a registry version's
   -- experiment_key is a field, not a key (more_tables tests both)
   AND c.relname NOT IN ('asset_content', 'registry_model_versions')
 GROUP BY c.relname
HAVING bool_or(a.attname <> 'metric_name');

DO $$
DECLARE
    t record;
    f record;
    c record;
    n_all bigint;
    n_null bigint;
    n_f bigint;
BEGIN
    FOR t IN SELECT * FROM targets ORDER BY tbl LOOP
        FOR f IN SELECT * FROM forms LOOP
            CONTINUE WHEN f.sql LIKE '%metric_name%' AND NOT t.has_metric;
            CONTINUE WHEN f.sql LIKE '%project_id%' AND NOT 'project_id' = ANY (t.cols);
            -- the rows, without naming a context column
            EXECUTE format('SELECT count(*) FROM comet.%I WHERE %s', t.tbl, f.sql) INTO n_all;
            EXECUTE format('SELECT count(*) FILTER (WHERE %s) FROM comet.%I WHERE %s',
                           (SELECT string_agg(format('%I IS NULL', x), ' OR ')
                              FROM unnest(t.cols) x WHERE x <> 'metric_name'),
                           t.tbl, f.sql) INTO n_null;
            FOR c IN SELECT * FROM ctx WHERE col = ANY (t.cols) LOOP
                EXECUTE format('SELECT count(*) FROM comet.%I WHERE %s AND %I = %L',
                               t.tbl, f.sql, c.col, c.val) INTO n_f;
                INSERT INTO checks VALUES (t.tbl, f.form, c.col, n_all, n_f, n_null);
            END LOOP;
        END LOOP;
    END LOOP;
END
$$;

-- the same through a nested loop (a join parameter) and through a generic
-- plan ($1), the forms Metabase and joins give
SELECT set_config('comet.k', :'k', false) IS NOT NULL AS k_set;
SET enable_hashjoin = off;
SET enable_mergejoin = off;
SET plan_cache_mode = force_generic_plan;
DO $$
DECLARE
    t record;
    c record;
    n_all bigint;
    n_f bigint;
BEGIN
    FOR t IN SELECT * FROM targets ORDER BY tbl LOOP
        EXECUTE format('SELECT count(*) FROM (VALUES (%L)) v(key), LATERAL '
                       '(SELECT * FROM comet.%I x WHERE x.experiment_key = v.key) s',
                       current_setting('comet.k'), t.tbl) INTO n_all;
        FOR c IN SELECT * FROM ctx WHERE col = ANY (t.cols) LOOP
            EXECUTE format('SELECT count(*) FROM (VALUES (%L)) v(key), LATERAL '
                           '(SELECT * FROM comet.%I x WHERE x.experiment_key = v.key '
                           ' AND x.%I = %L) s',
                           current_setting('comet.k'), t.tbl, c.col, c.val) INTO n_f;
            INSERT INTO checks VALUES (t.tbl, 'join parameter', c.col, n_all, n_f, 0);
            EXECUTE format('PREPARE ctx_q(text, text) AS SELECT count(*) FROM comet.%I '
                           'WHERE experiment_key = $1 AND %I = $2', t.tbl, c.col);
            EXECUTE format('EXECUTE ctx_q(%L, %L)', current_setting('comet.k'), c.val) INTO n_f;
            DEALLOCATE ctx_q;
            INSERT INTO checks VALUES (t.tbl, 'generic $1', c.col, n_all, n_f, 0);
        END LOOP;
    END LOOP;
END
$$ ;
RESET plan_cache_mode;
RESET enable_hashjoin;
RESET enable_mergejoin;

-- how much was checked (so that this test cannot pass by checking nothing)
SELECT count(DISTINCT tbl) AS tables_and_views, count(DISTINCT form) AS key_forms,
       count(DISTINCT col) AS context_columns, count(*) AS checks,
       count(*) FILTER (WHERE n_all > 0) AS with_rows
  FROM checks;
-- every check: the filter kept every row, and no context column was NULL
SELECT * FROM checks WHERE n_filtered <> n_all OR n_null <> 0 ORDER BY 1, 2, 3;
-- tables where the keyed experiment has rows must show them in every form
SELECT tbl, form FROM checks
 WHERE n_all = 0 AND tbl NOT IN ('html', 'graph', 'code', 'output', 'git_metadata')
 GROUP BY 1, 2 ORDER BY 1, 2;
