--
-- experiment_tables: every per-experiment table returns exactly the fake
-- dataset's rows (computed from the fake's own dump), quirks included:
-- null names and values, non-numeric values, unicode, empty lists,
-- unknown extra fields (ignored), absent step fields, archived and
-- running experiments.
--
\i sql/include/dataset.sql
-- every experiment (archived ones too) with its data
CREATE TEMP VIEW exp AS
SELECT e->>'experimentKey' AS k, e->>'workspaceName' AS w, e->>'projectName' AS p,
       e->>'projectId' AS pid, j->'experiment_data'->(e->>'experimentKey') AS d
  FROM ds, jsonb_array_elements(j->'experiments') e;
-- the whole walk once, so later queries compare against the same data
SELECT count(*) AS experiments, count(*) FILTER (WHERE d IS NULL) AS without_data FROM exp;

SELECT pg_temp.same('SELECT * FROM comet.raw_params', $$
    SELECT k, w, p, pid, v->>'name', v->>'valueCurrent', v->>'valueMin', v->>'valueMax',
           pg_temp.ms((v->>'timestampCurrent')::bigint), pg_temp.ms((v->>'timestampMin')::bigint),
           pg_temp.ms((v->>'timestampMax')::bigint)
      FROM exp, jsonb_array_elements(d->'parameters') v$$) AS raw_params;

SELECT pg_temp.same('SELECT * FROM comet.raw_others', $$
    SELECT k, w, p, pid, v->>'name', v->>'valueCurrent', v->>'valueMin', v->>'valueMax',
           pg_temp.ms((v->>'timestampCurrent')::bigint), pg_temp.ms((v->>'timestampMin')::bigint),
           pg_temp.ms((v->>'timestampMax')::bigint)
      FROM exp, jsonb_array_elements(d->'others') v$$) AS raw_others;

SELECT pg_temp.same('SELECT * FROM comet.raw_metric_summaries', $$
    SELECT k, w, p, pid, v->>'name', v->>'valueCurrent', v->>'valueMin', v->>'valueMax',
           (v->>'stepCurrent')::bigint, (v->>'stepMin')::bigint, (v->>'stepMax')::bigint,
           pg_temp.ms((v->>'timestampCurrent')::bigint), pg_temp.ms((v->>'timestampMin')::bigint),
           pg_temp.ms((v->>'timestampMax')::bigint),
           v->>'runContextCurrent', v->>'runContextMin', v->>'runContextMax'
      FROM exp, jsonb_array_elements(d->'summary') v$$) AS raw_metric_summaries;

SELECT pg_temp.same('SELECT * FROM comet.raw_metrics', $$
    SELECT k, w, p, pid, m.key, v->>'metricValue', (v->>'step')::bigint, (v->>'epoch')::bigint,
           pg_temp.ms((v->>'timestamp')::bigint), v->>'runContext', (v->>'offset')::bigint
      FROM exp, jsonb_each(d->'metrics') m, jsonb_array_elements(m.value) v$$) AS raw_metrics;

-- Comet sends points in no order; each series comes out by offset
SELECT count(*) AS series, count(*) FILTER (WHERE NOT ordered) AS unordered,
       count(*) FILTER (WHERE shuffled) AS shuffled_by_the_fake
  FROM (SELECT experiment_key, metric_name,
               bool_and(prev IS NULL OR prev <= "offset") AS ordered
          FROM (SELECT experiment_key, metric_name, "offset",
                       lag("offset") OVER (PARTITION BY experiment_key, metric_name ORDER BY rn) AS prev
                  FROM (SELECT row_number() OVER () AS rn, * FROM comet.raw_metrics) r) s
         GROUP BY 1, 2) o
  JOIN (SELECT k, m.key AS metric_name,
               EXISTS (SELECT 1 FROM jsonb_array_elements(m.value) WITH ORDINALITY a(v, i)
                        JOIN jsonb_array_elements(m.value) WITH ORDINALITY b(v, i) ON b.i = a.i + 1
                       WHERE (a.v->>'offset')::bigint > (b.v->>'offset')::bigint) AS shuffled
          FROM exp, jsonb_each(d->'metrics') m) f
    ON f.k = o.experiment_key AND f.metric_name = o.metric_name;

SELECT pg_temp.same('SELECT * FROM comet.tags', $$
    SELECT k, w, p, pid, t FROM exp, jsonb_array_elements_text(d->'tags') t$$) AS tags;

SELECT pg_temp.same('SELECT * FROM comet.html', $$SELECT k, w, p, pid, d->>'html' FROM exp$$) AS html;
SELECT pg_temp.same('SELECT * FROM comet.code', $$SELECT k, w, p, pid, d->>'code' FROM exp$$) AS code;
SELECT pg_temp.same('SELECT * FROM comet.output', $$SELECT k, w, p, pid, d->>'output' FROM exp$$) AS output;
SELECT pg_temp.same('SELECT * FROM comet.graph', $$SELECT k, w, p, pid, d->>'graph' FROM exp$$) AS graph;
-- empty and null bodies stay apart
SELECT count(*) FILTER (WHERE html IS NULL) AS null_html, count(*) FILTER (WHERE output = '') AS empty_output
  FROM comet.html JOIN comet.output USING (experiment_key);

SELECT pg_temp.same('SELECT * FROM comet.system_details', $$
    SELECT k, w, p, pid, s->>'user', s->>'hostname', s->>'os', s->>'osType', s->>'osRelease',
           s->>'machine', s->>'processor', s->>'pythonVersion', s->>'executable', s->>'ip',
           (s->>'pid')::bigint, (s->>'totalRam')::float8,
           CASE WHEN jsonb_typeof(s->'command') = 'array'
                THEN ARRAY(SELECT jsonb_array_elements_text(s->'command')) END,
           nullif(s->'gpuStaticInfoList', 'null'), s
      FROM exp, LATERAL (SELECT d->'system_details' AS s) x$$) AS system_details;

SELECT pg_temp.same('SELECT * FROM comet.installed_packages', $$
    SELECT k, w, p, pid, x FROM exp, jsonb_array_elements_text(d->'system_details'->'installedPackages') x$$)
    AS installed_packages;

SELECT pg_temp.same('SELECT * FROM comet.git_metadata', $$
    SELECT k, w, p, pid, g->>'user', g->>'root', g->>'branch', g->>'parent', g->>'origin'
      FROM exp, LATERAL (SELECT d->'git' AS g) x$$) AS git_metadata;

SELECT pg_temp.same('SELECT * FROM comet.assets', $$
    SELECT k, w, p, pid, a->>'assetId', a->>'fileName', (a->>'fileSize')::bigint, a->>'type',
           a->>'dir', a->>'link', (a->>'step')::bigint, a->>'runContext',
           pg_temp.ms((a->>'createdAt')::bigint), (a->>'remote')::boolean, a->>'metadata'
      FROM exp, jsonb_array_elements(d->'assets') a$$) AS assets;

SELECT pg_temp.same('SELECT * FROM comet.images', $$
    SELECT k, w, p, pid, a->>'assetId', a->>'fileName', (a->>'fileSize')::bigint, a->>'type',
           a->>'dir', a->>'link', (a->>'step')::bigint, a->>'runContext',
           pg_temp.ms((a->>'createdAt')::bigint), (a->>'remote')::boolean, a->>'metadata'
      FROM exp, jsonb_array_elements(d->'assets') a WHERE a->>'type' = 'image'$$) AS images;
-- the asset type filter reaches Comet
SELECT pg_temp.same($$SELECT * FROM comet.assets WHERE type = 'asset'$$, $$
    SELECT k, w, p, pid, a->>'assetId', a->>'fileName', (a->>'fileSize')::bigint, a->>'type',
           a->>'dir', a->>'link', (a->>'step')::bigint, a->>'runContext',
           pg_temp.ms((a->>'createdAt')::bigint), (a->>'remote')::boolean, a->>'metadata'
      FROM exp, jsonb_array_elements(d->'assets') a WHERE a->>'type' = 'asset'$$) AS assets_of_type;

SELECT pg_temp.same('SELECT * FROM comet.project_notes', $$
    SELECT n.key, n.value #>> '{}' FROM ds, jsonb_each(j->'project_notes') n$$) AS project_notes;

SELECT pg_temp.same('SELECT * FROM comet.account', $$
    SELECT j->'account'->>'userName', j->'account'->>'defaultWorkspaceName' FROM ds$$) AS account;

SELECT pg_temp.same('SELECT workspace_name, registry_model_id, model_name, latest_version FROM comet.registry_models', $$
    SELECT r.key, m->>'registryModelId', m->>'modelName', m->'latestVersion'
      FROM ds, jsonb_each(j->'registry_models') r, jsonb_array_elements(r.value) m$$) AS registry_models;

-- the quirks, visible: a NULL experiment name, non-numeric parameter values,
-- unicode names, an experiment without tags or assets
SELECT count(*) FILTER (WHERE experiment_name IS NULL) AS unnamed,
       count(*) FILTER (WHERE running) AS running,
       count(*) FILTER (WHERE archived) AS archived
  FROM comet.experiments;
SELECT DISTINCT name FROM comet.raw_params ORDER BY 1;
SELECT value_current, comet_fdw_to_float8(value_current) AS as_number
  FROM comet.raw_params WHERE name = 'ünïcode-μ' GROUP BY 1 ORDER BY 1;
SELECT count(*) AS experiments_without_tags FROM comet.experiments e
 WHERE NOT EXISTS (SELECT 1 FROM comet.tags t WHERE t.experiment_key = e.experiment_key);
