--
-- more_tables: the read endpoints of issue 12 -- experiment models, the
-- registry's versions and notes, artifacts, their versions and files,
-- share links, git patches and asset bytes -- return exactly the fake's
-- data (computed from its own dump), with their keys pushed down (request
-- counts from the fake's log), required keys asked for at the first row
-- (never at plan time), and bytes kept as bytes.
--
\i sql/include/dataset.sql
-- the requests a statement made, by path (the log is fetched and reset after it)
CREATE FUNCTION pg_temp.requests(log jsonb) RETURNS TABLE (path text, n bigint)
    LANGUAGE sql AS $$
    SELECT r->>'path', count(*) FROM jsonb_array_elements(log) r GROUP BY 1 ORDER BY 1
$$;
-- runs a statement; its outcome (the SQLSTATE and the texts of an error)
CREATE FUNCTION pg_temp.try(q text)
RETURNS TABLE (sqlstate text, message text, detail text, hint text)
LANGUAGE plpgsql AS $$
DECLARE
    st text; m text; d text; h text;
BEGIN
    EXECUTE q;
    RETURN QUERY SELECT '00000'::text, 'ok'::text, NULL::text, NULL::text;
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, m = MESSAGE_TEXT,
        d = PG_EXCEPTION_DETAIL, h = PG_EXCEPTION_HINT;
    RETURN QUERY SELECT st, m, d, h;
END
$$;
CREATE TEMP VIEW exp AS
SELECT e->>'experimentKey' AS k, e->>'workspaceName' AS w, e->>'projectName' AS p,
       e->>'projectId' AS pid, j->'experiment_data'->(e->>'experimentKey') AS d,
       j->'experiment_models'->(e->>'experimentKey') AS models,
       j->'git_patches'->>(e->>'experimentKey') AS patch,
       j->'asset_contents'->(e->>'experimentKey') AS contents
  FROM ds, jsonb_array_elements(j->'experiments') e;
SELECT p->>'projectId' AS mnist_id FROM ds, jsonb_array_elements(j->'projects') p
 WHERE p->>'projectName' = 'mnist' \gset
-- k: a full (role 0) experiment with the registry's model; bare: one without
-- git data or assets
SELECT e->>'experimentKey' AS k FROM ds, jsonb_array_elements(j->'experiments') e
 WHERE e->>'projectName' = 'mnist' ORDER BY e->>'startTimeMillis' LIMIT 1 \gset
SELECT k AS bare FROM exp WHERE d->'html' = 'null' ORDER BY k LIMIT 1 \gset
SELECT a->>'assetId' AS svg, (SELECT b->>'assetId' FROM jsonb_array_elements(d->'assets') b
                               WHERE b->>'fileName' LIKE '%.bin') AS bin
  FROM exp, jsonb_array_elements(d->'assets') a WHERE k = :'k' AND a->>'fileName' LIKE '%.svg' \gset
\set log `curl -s -o /dev/null "$COMET_FAKE/_fake/reset"`

--
-- experiment_models: a per-experiment table like the others
--
SELECT pg_temp.same('SELECT * FROM comet.experiment_models', $$
    SELECT k, w, p, pid, m->>'experimentModelId', m->>'modelName',
           nullif(m->'registryRecords', 'null')
      FROM exp, jsonb_array_elements(models) m$$) AS experiment_models;
-- (the walk: every workspace, project, experiment listing, then one request
-- per experiment, each made once in the statement)
\set log `curl -s "$COMET_FAKE/_fake/requests"; curl -s -o /dev/null "$COMET_FAKE/_fake/reset"`
SELECT * FROM pg_temp.requests(:'log');
-- registryRecords null stays apart from an empty list
SELECT model_name, registry_records IS NULL AS null_records,
       jsonb_array_length(registry_records) AS records
  FROM comet.experiment_models WHERE experiment_key = :'k' ORDER BY 1;
\set log `curl -s "$COMET_FAKE/_fake/requests"; curl -s -o /dev/null "$COMET_FAKE/_fake/reset"`
SELECT * FROM pg_temp.requests(:'log');
-- a project's experiments fanned out
SELECT pg_temp.same(format('SELECT * FROM comet.experiment_models WHERE project_id = %L', :'mnist_id'), $$
    SELECT k, w, p, pid, m->>'experimentModelId', m->>'modelName',
           nullif(m->'registryRecords', 'null')
      FROM exp, jsonb_array_elements(models) m WHERE p = 'mnist'$$) AS mnist_models;
\set log `curl -s "$COMET_FAKE/_fake/requests"; curl -s -o /dev/null "$COMET_FAKE/_fake/reset"`
SELECT * FROM pg_temp.requests(:'log');

--
-- registry_model_versions and registry_model_notes: workspace_name and
-- model_name are required keys
--
-- every version of every model, through a join (a nested loop: one request
-- per model the registry lists)
SELECT pg_temp.same($$SELECT v.* FROM comet.registry_models m
                        JOIN comet.registry_model_versions v USING (workspace_name, model_name)$$, $$
    SELECT r.key, m.key, m.value->>'registryModelId', v->>'registryModelItemId',
           v->>'version', v->>'comment', ARRAY(SELECT jsonb_array_elements_text(v->'stages')),
           v->>'userName', pg_temp.ms((v->>'createdAt')::bigint),
           pg_temp.ms((v->>'lastUpdated')::bigint), v->'experimentModel'->>'experimentKey',
           v->'experimentModel', v->'assets'
      FROM ds, jsonb_each(j->'registry_model_details') r, jsonb_each(r.value) m,
           jsonb_array_elements(m.value->'versions') v$$) AS registry_model_versions;
\set log `curl -s "$COMET_FAKE/_fake/requests"; curl -s -o /dev/null "$COMET_FAKE/_fake/reset"`
SELECT * FROM pg_temp.requests(:'log');
SELECT pg_temp.same($$SELECT n.* FROM comet.registry_models m
                        JOIN comet.registry_model_notes n USING (workspace_name, model_name)$$, $$
    SELECT r.key, m.key, m.value #>> '{}'
      FROM ds, jsonb_each(j->'registry_model_notes') r, jsonb_each(r.value) m$$) AS registry_model_notes;
\set log `curl -s "$COMET_FAKE/_fake/requests"; curl -s -o /dev/null "$COMET_FAKE/_fake/reset"`
SELECT * FROM pg_temp.requests(:'log');
-- by its keys: one request, which carries them
SELECT version, stages, comment, user_name, experiment_key = :'k' AS from_k
  FROM comet.registry_model_versions
 WHERE workspace_name = 'fake-user' AND model_name = 'mnist-cnn';
\set log `curl -s "$COMET_FAKE/_fake/requests"; curl -s -o /dev/null "$COMET_FAKE/_fake/reset"`
SELECT r->>'path' AS path, r->'query' AS query FROM jsonb_array_elements(:'log'::jsonb) r;
-- the version's experiment joins the experiment's models
SELECT m.model_name, m.registry_records->0->>'version' AS registered_version
  FROM comet.registry_model_versions v
  JOIN comet.experiment_models m ON m.experiment_key = v.experiment_key
                                AND m.experiment_model_id = v.experiment_model->>'experimentModelId'
 WHERE v.workspace_name = 'fake-user' AND v.model_name = 'mnist-cnn';
\set log `curl -s "$COMET_FAKE/_fake/requests"; curl -s -o /dev/null "$COMET_FAKE/_fake/reset"`
SELECT * FROM pg_temp.requests(:'log');
-- under a generic plan: the keys are $1 and $2
SET plan_cache_mode = force_generic_plan;
PREPARE versions(text, text) AS SELECT version, stages FROM comet.registry_model_versions
    WHERE workspace_name = $1 AND model_name = $2;
EXPLAIN (COSTS OFF) EXECUTE versions('w', 'm');
EXECUTE versions('fake-user', 'mnist-cnn');
PREPARE notes(text[]) AS SELECT model_name, notes FROM comet.registry_model_notes
    WHERE workspace_name = 'fake-user' AND model_name = ANY ($1);
EXECUTE notes('{mnist-cnn}');
RESET plan_cache_mode;
\set log `curl -s "$COMET_FAKE/_fake/requests"; curl -s -o /dev/null "$COMET_FAKE/_fake/reset"`
SELECT * FROM pg_temp.requests(:'log');
-- without a required key: HV002 at the first row, naming the table and the column
SELECT * FROM pg_temp.try($$SELECT * FROM comet.registry_model_versions WHERE model_name = 'mnist-cnn'$$);
SELECT * FROM pg_temp.try($$SELECT * FROM comet.registry_model_notes WHERE workspace_name = 'fake-user'$$);
SELECT * FROM pg_temp.try('SELECT count(*) FROM comet.registry_model_versions');
-- ... never at plan time: plain EXPLAIN, LIMIT 0 and Metabase's probe say nothing
EXPLAIN (COSTS OFF) SELECT * FROM comet.registry_model_versions;
SELECT * FROM comet.registry_model_versions LIMIT 0;
SELECT TRUE AS "_" FROM comet.registry_model_notes WHERE 1 <> 1 LIMIT 0;
-- a NULL or empty key is no request and no error
SELECT count(*) FROM comet.registry_model_versions WHERE workspace_name = 'fake-user' AND model_name = '';
SELECT count(*) FROM comet.registry_model_notes WHERE workspace_name = 'fake-user' AND model_name = NULL;
\set log `curl -s "$COMET_FAKE/_fake/requests"; curl -s -o /dev/null "$COMET_FAKE/_fake/reset"`
SELECT count(*) AS requests FROM jsonb_array_elements(:'log'::jsonb);
-- an unknown model is Comet's error, not an empty result
SELECT sqlstate, message FROM pg_temp.try($$SELECT * FROM comet.registry_model_versions
    WHERE workspace_name = 'fake-user' AND model_name = 'no such model'$$);
-- tolerance: absent fields are NULL, unknown ones ignored, a null element is
-- no row, and a model whose answer has no versions list has none
\set x `curl -s "$COMET_FAKE/_fake/fault?path=registry-model/details&kind=body&times=1&body_b64=$(printf '%s' '{"registryModelId": "r1", "versions": [{"registryModelItemId": "i1", "version": "1.0.0", "stages": ["production"], "comment": null, "createdAt": 1600000000000, "experimentModel": {"experimentKey": "k1"}, "futureField": [1]}, {"registryModelItemId": "i2", "version": "1.1.0", "stages": null}, null, {"version": "2.0.0", "stages": [], "experimentModel": null}]}' | base64 -w0 | tr '+/' '-_')"`
SELECT * FROM comet.registry_model_versions WHERE workspace_name = 'fake-user' AND model_name = 'm';
\set x `curl -s "$COMET_FAKE/_fake/fault?path=registry-model/details&kind=body&times=1&body_b64=$(printf '%s' '{"registryModelId": "r1", "modelName": "m"}' | base64 -w0 | tr '+/' '-_')"`
SELECT count(*) FROM comet.registry_model_versions WHERE workspace_name = 'fake-user' AND model_name = 'm';
\set log `curl -s "$COMET_FAKE/_fake/requests"; curl -s -o /dev/null "$COMET_FAKE/_fake/reset"`

--
-- artifacts (parameter `workspace`, not `workspaceName`), artifact_versions
-- (artifact_name required), artifact_files (artifact_name and version required)
--
SELECT pg_temp.same('SELECT * FROM comet.artifacts', $$
    SELECT w.key, a->>'artifactId', a->>'name', a->>'project', a->>'type', a->>'description',
           (a->>'versionsCount')::bigint, ARRAY(SELECT jsonb_array_elements_text(a->'tags')),
           (a->>'isPublic')::boolean, a->>'emoji', (a->>'sizeInBytes')::bigint
      FROM ds, jsonb_each(j->'artifacts') w, jsonb_array_elements(w.value) a$$) AS artifacts;
\set log `curl -s "$COMET_FAKE/_fake/requests"; curl -s -o /dev/null "$COMET_FAKE/_fake/reset"`
SELECT * FROM pg_temp.requests(:'log');
SELECT artifact_name, type, project_name, emoji, octet_length(emoji) AS emoji_bytes
  FROM comet.artifacts WHERE workspace_name = 'fake-user' AND type = 'model';
\set log `curl -s "$COMET_FAKE/_fake/requests"; curl -s -o /dev/null "$COMET_FAKE/_fake/reset"`
SELECT r->>'path' AS path, r->'query' AS query FROM jsonb_array_elements(:'log'::jsonb) r;
-- every version of every artifact: the key names go to Comet as UTF-8,
-- URL-encoded (a space, a slash, ünïcode)
SELECT pg_temp.same($$SELECT v.* FROM comet.artifacts a
                        JOIN comet.artifact_versions v USING (workspace_name, artifact_name)$$, $$
    SELECT w.key, a.key, a.value->>'artifactId', v->>'artifactVersionId', v->>'version',
           v->>'owner', v->>'metadata', v->>'createdFrom', (v->>'sizeInBytes')::bigint,
           v->>'state', pg_temp.ms((v->>'added')::bigint),
           ARRAY(SELECT jsonb_array_elements_text(v->'alias')),
           ARRAY(SELECT jsonb_array_elements_text(v->'tags'))
      FROM ds, jsonb_each(j->'artifact_details') w, jsonb_each(w.value) a,
           jsonb_array_elements(a.value->'versions') v$$) AS artifact_versions;
\set log `curl -s "$COMET_FAKE/_fake/requests"; curl -s -o /dev/null "$COMET_FAKE/_fake/reset"`
SELECT * FROM pg_temp.requests(:'log');
SELECT r->'query'->>'workspace' AS workspace, r->'query'->>'artifactName' AS artifact_name
  FROM jsonb_array_elements(:'log'::jsonb) r WHERE r->>'path' = 'artifacts/get' ORDER BY 1, 2;
-- every file of every version, through two joins
SELECT pg_temp.same($$SELECT f.* FROM comet.artifacts a
                        JOIN comet.artifact_versions v USING (workspace_name, artifact_name)
                        JOIN comet.artifact_files f USING (workspace_name, artifact_name, version)$$, $$
    SELECT w.key, a.key, v.key, f->>'artifactId', f->>'artifactVersionId', f->>'assetId',
           f->>'fileName', (f->>'fileSize')::bigint, f->>'link', f->>'dir', f->>'type',
           f->>'metadata', (f->>'remote')::boolean
      FROM ds, jsonb_each(j->'artifact_files') w, jsonb_each(w.value) a, jsonb_each(a.value) v,
           jsonb_array_elements(v.value) f$$) AS artifact_files;
\set log `curl -s "$COMET_FAKE/_fake/requests"; curl -s -o /dev/null "$COMET_FAKE/_fake/reset"`
SELECT * FROM pg_temp.requests(:'log');
-- versions by IN: one request each
SELECT version, count(*) AS files FROM comet.artifact_files
 WHERE workspace_name = 'fake-user' AND artifact_name = 'mnist-dataset' AND version IN ('1.0.0', '1.1.0')
 GROUP BY 1 ORDER BY 1;
\set log `curl -s "$COMET_FAKE/_fake/requests"; curl -s -o /dev/null "$COMET_FAKE/_fake/reset"`
SELECT r->>'path' AS path, r->'query' AS query FROM jsonb_array_elements(:'log'::jsonb) r
 ORDER BY r->'query'->>'version';
SET plan_cache_mode = force_generic_plan;
PREPARE files(text, text, text) AS SELECT file_name, remote FROM comet.artifact_files
    WHERE workspace_name = $1 AND artifact_name = $2 AND version = $3;
EXPLAIN (COSTS OFF) EXECUTE files('w', 'a', 'v');
EXECUTE files('fake-user', 'ünïcode set/v 1', '0.1.0');
RESET plan_cache_mode;
\set log `curl -s "$COMET_FAKE/_fake/requests"; curl -s -o /dev/null "$COMET_FAKE/_fake/reset"`
SELECT * FROM pg_temp.requests(:'log');
SELECT * FROM pg_temp.try($$SELECT * FROM comet.artifact_files
    WHERE workspace_name = 'fake-user' AND artifact_name = 'mnist-dataset'$$);
SELECT * FROM pg_temp.try($$SELECT * FROM comet.artifact_versions WHERE artifact_name = 'mnist-dataset'$$);

--
-- project_share_links
--
SELECT pg_temp.same('SELECT * FROM comet.project_share_links', $$
    SELECT p->>'projectId', p->>'workspaceName', p->>'projectName', c
      FROM ds, jsonb_array_elements(j->'projects') p,
           jsonb_array_elements_text(j->'project_share_links'->(p->>'projectId')) c$$) AS project_share_links;
SELECT count(*) AS codes FROM comet.project_share_links WHERE project_id = :'mnist_id';
\set log `curl -s "$COMET_FAKE/_fake/requests"; curl -s -o /dev/null "$COMET_FAKE/_fake/reset"`
SELECT * FROM pg_temp.requests(:'log');

--
-- git_patch: the zip as bytes; NULL where Comet says {"msg": ...}
--
SELECT pg_temp.same('SELECT * FROM comet.git_patch', $$
    SELECT k, w, p, pid, decode(patch, 'base64') FROM exp$$) AS git_patch;
\set log `curl -s "$COMET_FAKE/_fake/requests"; curl -s -o /dev/null "$COMET_FAKE/_fake/reset"`
SELECT count(*) AS experiments, count(patch) AS with_patch,
       count(*) FILTER (WHERE substr(patch, 1, 4) = '\x504b0304') AS zips
  FROM comet.git_patch;
\set log `curl -s "$COMET_FAKE/_fake/requests"; curl -s -o /dev/null "$COMET_FAKE/_fake/reset"`
SELECT experiment_key = :'bare' AS bare, patch IS NULL AS no_patch
  FROM comet.git_patch WHERE experiment_key IN (:'k', :'bare') ORDER BY 1;
\set log `curl -s "$COMET_FAKE/_fake/requests"; curl -s -o /dev/null "$COMET_FAKE/_fake/reset"`
SELECT * FROM pg_temp.requests(:'log');
-- the rule is the msg field: other JSON is bytes like any
\set x `curl -s "$COMET_FAKE/_fake/fault?path=experiment/git/patch&kind=body&times=1&body_b64=$(printf '%s' ' {"patch": null}' | base64 -w0 | tr '+/' '-_')"`
SELECT convert_from(patch, 'UTF8') AS patch FROM comet.git_patch WHERE experiment_key = :'k';
\set log `curl -s "$COMET_FAKE/_fake/requests"; curl -s -o /dev/null "$COMET_FAKE/_fake/reset"`

--
-- asset_content: experiment_key and asset_id required; bytes as sent
--
-- every asset of the mnist project, through a join with assets
SELECT pg_temp.same(format($$SELECT a.experiment_key, a.asset_id, c.content
                               FROM comet.assets a JOIN comet.asset_content c USING (experiment_key, asset_id)
                              WHERE a.project_id = %L$$, :'mnist_id'), $$
    SELECT k, c.key, decode(c.value #>> '{}', 'base64')
      FROM exp, jsonb_each(contents) c WHERE p = 'mnist'$$) AS asset_content;
\set log `curl -s "$COMET_FAKE/_fake/requests"; curl -s -o /dev/null "$COMET_FAKE/_fake/reset"`
SELECT * FROM pg_temp.requests(:'log');
-- the join is a nested loop that passes both keys
\i sql/include/explain.sql
SELECT * FROM pg_temp.explain($$EXPLAIN (COSTS OFF)
SELECT c.content FROM comet.assets a JOIN comet.asset_content c USING (experiment_key, asset_id)
 WHERE a.experiment_key = 'k'$$);
-- by key: a text asset reads as text, a binary one keeps its NUL and
-- non-UTF-8 bytes
SELECT asset_id = :'svg' AS is_svg, octet_length(content) AS bytes,
       position('\x00'::bytea IN content) > 0 AS has_nul,
       CASE WHEN asset_id = :'svg' THEN convert_from(content, 'UTF8') LIKE '<svg %ü</text></svg>%' END AS svg_text
  FROM comet.asset_content WHERE experiment_key = :'k' AND asset_id IN (:'svg', :'bin') ORDER BY 1;
\set log `curl -s "$COMET_FAKE/_fake/requests"; curl -s -o /dev/null "$COMET_FAKE/_fake/reset"`
SELECT r->>'path' AS path, r->'query'->>'experimentKey' = :'k' AS k, r->'query'->>'assetId' IN (:'svg', :'bin') AS asset
  FROM jsonb_array_elements(:'log'::jsonb) r;
-- a JSON asset reads as jsonb; its msg field is content, not "none"
\set x `curl -s "$COMET_FAKE/_fake/fault?path=experiment/asset/get-asset&kind=body&times=1&body_b64=$(printf '%s' '{"name": "curve", "x": [1, 2], "y": [0.5, 0.25], "msg": "ü"}' | base64 -w0 | tr '+/' '-_')"`
SELECT convert_from(content, 'UTF8')::jsonb -> 'y' AS y, convert_from(content, 'UTF8')::jsonb ->> 'msg' AS msg
  FROM comet.asset_content WHERE experiment_key = :'k' AND asset_id = :'svg';
-- under a generic plan
SET plan_cache_mode = force_generic_plan;
PREPARE asset(text, text) AS SELECT octet_length(content) AS bytes FROM comet.asset_content
    WHERE experiment_key = $1 AND asset_id = $2;
EXPLAIN (COSTS OFF) EXECUTE asset('k', 'a');
EXECUTE asset(:'k', :'svg');
RESET plan_cache_mode;
\set log `curl -s "$COMET_FAKE/_fake/requests"; curl -s -o /dev/null "$COMET_FAKE/_fake/reset"`
SELECT * FROM pg_temp.requests(:'log');
-- a table of one's own may read an asset as text: valid UTF-8 only
CREATE FOREIGN TABLE my_asset_text (experiment_key text, asset_id text, content text)
    SERVER comet OPTIONS (endpoint 'asset_content');
SELECT left(content, 5) AS svg FROM my_asset_text WHERE experiment_key = :'k' AND asset_id = :'svg';
SELECT sqlstate, message FROM pg_temp.try(format($$SELECT * FROM my_asset_text
    WHERE experiment_key = %L AND asset_id = %L$$, :'k', :'bin'));
-- no asset_id, no experiment_key, neither: HV002, never a walk
SELECT * FROM pg_temp.try(format('SELECT * FROM comet.asset_content WHERE experiment_key = %L', :'k'));
SELECT * FROM pg_temp.try(format('SELECT * FROM comet.asset_content WHERE asset_id = %L', :'svg'));
SELECT * FROM pg_temp.try(format('SELECT * FROM comet.asset_content WHERE project_id = %L', :'mnist_id'));
SELECT * FROM pg_temp.try('SELECT content FROM my_asset_text');
DROP FOREIGN TABLE my_asset_text;
\set log `curl -s "$COMET_FAKE/_fake/requests"; curl -s -o /dev/null "$COMET_FAKE/_fake/reset"`
-- ... and none at plan time
EXPLAIN (COSTS OFF) SELECT * FROM comet.asset_content;
SELECT * FROM comet.asset_content LIMIT 0;
SELECT TRUE AS "_" FROM comet.asset_content WHERE 1 <> 1 LIMIT 0;
SELECT count(*) FROM comet.asset_content WHERE experiment_key = :'k' AND asset_id IN ('', NULL);
\set log `curl -s "$COMET_FAKE/_fake/requests"; curl -s -o /dev/null "$COMET_FAKE/_fake/reset"`
SELECT count(*) AS requests FROM jsonb_array_elements(:'log'::jsonb);
-- an asset of another experiment is Comet's error, not an empty result
SELECT sqlstate, message FROM pg_temp.try(format($$SELECT * FROM comet.asset_content
    WHERE experiment_key = %L AND asset_id = '00000000000000000000000000000000'$$, :'k'));

\set log `curl -s "$COMET_FAKE/_fake/requests"; curl -s -o /dev/null "$COMET_FAKE/_fake/reset"`
-- bounds: an asset is read whole up to max_response_bytes, and one byte
-- more is an error, never a truncation; key values multiply within max_keys
SELECT octet_length(decode(contents->>:'bin', 'base64')) AS bin_bytes FROM exp WHERE k = :'k' \gset
\getenv comet_url COMET_URL
CREATE SERVER small FOREIGN DATA WRAPPER comet_fdw
    OPTIONS (url :'comet_url', cache_ttl_s '0', max_response_bytes :'bin_bytes', max_keys '3');
\set ECHO none
\getenv comet_key COMET_TEST_KEY
CREATE USER MAPPING FOR CURRENT_USER SERVER small OPTIONS (api_key :'comet_key');
\set ECHO all
CREATE FOREIGN TABLE small_asset (experiment_key text, asset_id text, content bytea)
    SERVER small OPTIONS (endpoint 'asset_content');
SELECT octet_length(content) = :bin_bytes AS whole FROM small_asset
 WHERE experiment_key = :'k' AND asset_id = :'bin';
SELECT (:bin_bytes - 1)::text AS one_less \gset
ALTER SERVER small OPTIONS (SET max_response_bytes :'one_less');
SELECT sqlstate, message FROM pg_temp.try(format($$SELECT * FROM small_asset
    WHERE experiment_key = %L AND asset_id = %L$$, :'k', :'bin'));
SELECT sqlstate, message, detail FROM pg_temp.try(format($$SELECT * FROM small_asset
    WHERE experiment_key IN (%L, %L) AND asset_id IN ('a', 'b')$$, :'k', :'bare'));
DROP SERVER small CASCADE;
\set log `curl -s "$COMET_FAKE/_fake/requests"; curl -s -o /dev/null "$COMET_FAKE/_fake/reset"`
SELECT * FROM pg_temp.requests(:'log');

-- EXPLAIN shows each request with its parameters, and makes none
EXPLAIN (COSTS OFF) SELECT * FROM comet.artifacts WHERE workspace_name = 'w' AND type = 'model';
EXPLAIN (COSTS OFF) SELECT * FROM comet.artifact_files
 WHERE workspace_name = 'w' AND artifact_name = 'a' AND version IN ('1', '2');
EXPLAIN (COSTS OFF) SELECT * FROM comet.project_share_links;
EXPLAIN (COSTS OFF) SELECT * FROM comet.git_patch WHERE experiment_key = 'k';
\set log `curl -s "$COMET_FAKE/_fake/requests"; curl -s -o /dev/null "$COMET_FAKE/_fake/reset"`
SELECT count(*) AS requests FROM jsonb_array_elements(:'log'::jsonb);
