--
-- write: INSERT and UPDATE become Comet's write requests (comet-rest-api.md
-- section 6).  Each form is written, read back through SQL, and its requests
-- counted in the log of a fake of its own ($COMET_WRITE_FAKE), so the dataset
-- the read suites compare with stays as generated.
--
\getenv wurl COMET_WRITE_URL
\i sql/include/explain.sql
\set ECHO none
\getenv comet_key COMET_TEST_KEY
CREATE TEMP TABLE secrets AS SELECT :'comet_key'::text AS k
    UNION ALL SELECT 'regress-WRONG-write-key';
CREATE SERVER cw_server FOREIGN DATA WRAPPER comet_fdw
    OPTIONS (url :'wurl', cache_ttl_s '0', max_retries '2');
CREATE USER MAPPING FOR CURRENT_USER SERVER cw_server OPTIONS (api_key :'comet_key');
\set ECHO all
SET comet_fdw.retry_base_ms = 10;
CREATE SCHEMA cw;
IMPORT FOREIGN SCHEMA comet FROM SERVER cw_server INTO cw;
SELECT comet_fdw_create_views('cw');
-- the fake as it started, with no request counted
\set x `curl -s "$COMET_WRITE_FAKE/_fake/restore"; curl -s "$COMET_WRITE_FAKE/_fake/reset"`

-- experiments of the generated dataset, and labels that replace their keys
-- in the output (keys are random, labels are not)
\set ds `curl -s "$COMET_WRITE_FAKE/_fake/dataset"`
CREATE TEMP TABLE ds AS SELECT :'ds'::jsonb AS j;
\unset ds
CREATE TEMP TABLE labels AS
SELECT 'K' || row_number() OVER (ORDER BY e->>'projectName' <> 'mnist', e->>'startTimeMillis') AS label,
       e->>'experimentKey' AS key
  FROM ds, jsonb_array_elements(j->'experiments') e
 WHERE e->>'workspaceName' = 'fake-user'
UNION ALL
SELECT 'P_' || (p->>'projectName'), p->>'projectId' FROM ds, jsonb_array_elements(j->'projects') p;
SELECT label, (SELECT e->>'projectName' FROM ds, jsonb_array_elements(j->'experiments') e
                WHERE e->>'experimentKey' = key) AS project,
       (SELECT (e->>'archived')::boolean FROM ds, jsonb_array_elements(j->'experiments') e
         WHERE e->>'experimentKey' = key) AS archived
  FROM labels WHERE label LIKE 'K%' ORDER BY label;
SELECT key AS k1 FROM labels WHERE label = 'K1' \gset
SELECT key AS k2 FROM labels WHERE label = 'K2' \gset
SELECT key AS k4 FROM labels WHERE label = 'K4' \gset
SELECT key AS mnist_id FROM labels WHERE label = 'P_mnist' \gset
CREATE FUNCTION pg_temp.label(t text) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    r record;
BEGIN
    FOR r IN SELECT * FROM labels ORDER BY length(key) DESC LOOP
        t := replace(t, r.key, r.label);
    END LOOP;
    RETURN t;
END
$$;
-- the write requests of a request log, in order, keys labelled
CREATE FUNCTION pg_temp.writes(log text)
RETURNS TABLE (method text, request text, status int, body text)
LANGUAGE sql AS $$
    SELECT r->>'method',
           pg_temp.label(r->>'path' || coalesce('?' || (SELECT string_agg(k || '=' || v, '&')
                                                          FROM jsonb_each_text(r->'query') q(k, v)), '')),
           (r->>'status')::int, pg_temp.label((r->'body')::text)
      FROM jsonb_array_elements(log::jsonb) WITH ORDINALITY t(r, n)
     WHERE r->>'path' LIKE 'write/%'
     -- the order each experiment's writes arrived in (experiments go concurrently)
     ORDER BY pg_temp.label(coalesce(r->'body'->>'experimentKey', r->'query'->>'experimentKey', '')), n
$$;
-- how many requests of a log went to each path
CREATE FUNCTION pg_temp.counts(log text) RETURNS TABLE (method text, path text, requests bigint)
LANGUAGE sql AS $$
    SELECT r->>'method', r->>'path', count(*)
      FROM jsonb_array_elements(log::jsonb) r GROUP BY 1, 2 ORDER BY 2, 1
$$;
-- runs a statement; its outcome, keys labelled, and whether the API key leaked
CREATE FUNCTION pg_temp.try(q text)
RETURNS TABLE (sqlstate text, message text, detail text, hint text, key_shown boolean)
LANGUAGE plpgsql AS $$
DECLARE
    st text; m text; d text; h text; c text;
BEGIN
    EXECUTE q;
    RETURN QUERY SELECT '00000'::text, 'ok'::text, NULL::text, NULL::text, false;
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, m = MESSAGE_TEXT,
        d = PG_EXCEPTION_DETAIL, h = PG_EXCEPTION_HINT, c = PG_EXCEPTION_CONTEXT;
    RETURN QUERY SELECT st, pg_temp.label(m),
        regexp_replace(pg_temp.label(d), '(127\.0\.0\.\d+):\d+', '\1:PORT', 'g'), h,
        EXISTS (SELECT 1 FROM secrets WHERE strpos(concat_ws(' ', m, d, h, c), k) > 0);
END
$$;

-- which tables take which writes (pg_relation_is_updatable: 8 INSERT, 4 UPDATE)
SELECT c.relname,
       (pg_relation_is_updatable(c.oid, false) & 8) > 0 AS insert,
       (pg_relation_is_updatable(c.oid, false) & 4) > 0 AS update,
       (pg_relation_is_updatable(c.oid, false) & 16) > 0 AS delete
  FROM pg_class c
 WHERE c.relnamespace = 'cw'::regnamespace AND c.relkind = 'f'
   AND pg_relation_is_updatable(c.oid, false) <> 0
 ORDER BY 1;

--
-- INSERT INTO tags: POST write/experiment/tags, the tags of one experiment
-- in one request
--
INSERT INTO cw.tags (experiment_key, tag) VALUES (:'k1', 'sql ünï "tag"')
RETURNING pg_temp.label(experiment_key) AS experiment, tag, project_name;
\set log `curl -s "$COMET_WRITE_FAKE/_fake/requests"; curl -s -o /dev/null "$COMET_WRITE_FAKE/_fake/reset"`
SELECT * FROM pg_temp.writes(:'log');
-- read back: the dataset's tags and the new one
SELECT tag FROM cw.tags WHERE experiment_key = :'k1' ORDER BY tag;
-- a batch: rows of one experiment share a request, in statement order
INSERT INTO cw.tags (experiment_key, tag)
VALUES (:'k1', 'b1'), (:'k2', 'b2'), (:'k1', 'b3'), (:'k1', 'b4');
\set log `curl -s "$COMET_WRITE_FAKE/_fake/requests"; curl -s -o /dev/null "$COMET_WRITE_FAKE/_fake/reset"`
SELECT * FROM pg_temp.writes(:'log');
SELECT pg_temp.label(experiment_key) AS experiment, array_agg(tag ORDER BY tag) AS tags
  FROM cw.tags WHERE experiment_key IN (:'k1', :'k2') AND tag ~ '^b\d$' GROUP BY 1 ORDER BY 1;
-- batch_size 1: one request per row
ALTER FOREIGN TABLE cw.tags OPTIONS (ADD batch_size '1');
INSERT INTO cw.tags (experiment_key, tag) VALUES (:'k2', 'c1'), (:'k2', 'c2');
ALTER FOREIGN TABLE cw.tags OPTIONS (DROP batch_size);
\set n `curl -s "$COMET_WRITE_FAKE/_fake/count?path=write/experiment/tags"; curl -s -o /dev/null "$COMET_WRITE_FAKE/_fake/reset"`
SELECT :n AS tag_requests;

--
-- INSERT ... SELECT: tag every experiment of a project whose acc passed 0.92
-- (one request per experiment)
--
SELECT array_agg(pg_temp.label(d->'metadata'->>'experimentKey')
                 ORDER BY pg_temp.label(d->'metadata'->>'experimentKey')) AS expected
  FROM ds, jsonb_each(j->'experiment_data') x(k, d), jsonb_array_elements(d->'summary') s
 WHERE d->'metadata'->>'projectName' = 'ünïcode-μ' AND s->>'name' = 'acc'
   AND (s->>'valueMax')::float8 > 0.92;
INSERT INTO cw.tags (experiment_key, tag)
SELECT experiment_key, 'acc > 0.92'
  FROM cw.raw_metric_summaries
 WHERE workspace_name = 'fake-user' AND project_name = 'ünïcode-μ'
   AND metric_name = 'acc' AND comet_fdw_to_float8(value_max) > 0.92;
\set log `curl -s "$COMET_WRITE_FAKE/_fake/requests"; curl -s -o /dev/null "$COMET_WRITE_FAKE/_fake/reset"`
SELECT * FROM pg_temp.counts(:'log');
SELECT method, request, status, body FROM pg_temp.writes(:'log') ORDER BY body;
SELECT array_agg(pg_temp.label(experiment_key) ORDER BY pg_temp.label(experiment_key)) AS tagged
  FROM cw.tags WHERE workspace_name = 'fake-user' AND project_name = 'ünïcode-μ'
   AND tag = 'acc > 0.92';

-- COPY FROM goes the same way
SELECT format('printf ''%%s\tcopied\n%%s\tcopied too\n'' %s %s', :'k1', :'k2') AS copy_program \gset
COPY cw.tags (experiment_key, tag) FROM PROGRAM :'copy_program';
\set log `curl -s "$COMET_WRITE_FAKE/_fake/requests"; curl -s -o /dev/null "$COMET_WRITE_FAKE/_fake/reset"`
SELECT * FROM pg_temp.writes(:'log');

--
-- INSERT INTO raw_others and raw_params: log-other and parameter
--
INSERT INTO cw.raw_others (experiment_key, name, value_current)
VALUES (:'k1', 'eval_note', 'checked by SQL'), (:'k2', 'eval_note', '0.5')
RETURNING pg_temp.label(experiment_key) AS experiment, name, value_current;
INSERT INTO cw.raw_params (experiment_key, name, value_current, timestamp_current)
VALUES (:'k1', 'threshold', '0.92', '2024-01-02 03:04:05.678+00');
\set log `curl -s "$COMET_WRITE_FAKE/_fake/requests"; curl -s -o /dev/null "$COMET_WRITE_FAKE/_fake/reset"`
SELECT * FROM pg_temp.writes(:'log');
SELECT pg_temp.label(experiment_key) AS experiment, name, value, value_numeric
  FROM cw.others WHERE experiment_key IN (:'k1', :'k2') AND name = 'eval_note' ORDER BY 1;
SELECT name, value_current, timestamp_current AT TIME ZONE 'UTC' AS at_utc
  FROM cw.raw_params WHERE experiment_key = :'k1' AND name = 'threshold';
-- a second value replaces the current one
INSERT INTO cw.raw_params (experiment_key, name, value_current) VALUES (:'k1', 'threshold', '0.95');
SELECT value_current, value_min, value_max FROM cw.raw_params
 WHERE experiment_key = :'k1' AND name = 'threshold';
\set x `curl -s -o /dev/null "$COMET_WRITE_FAKE/_fake/reset"`

--
-- INSERT INTO raw_metrics: one request per point; the points of one
-- experiment in order, different experiments concurrently
--
INSERT INTO cw.raw_metrics (experiment_key, metric_name, metric_value, step, epoch, "timestamp", run_context)
SELECT k, 'sql_score', (s * 0.1)::text, s, s / 2, '2024-01-01 00:00:00+00'::timestamptz + s * interval '1 second',
       CASE WHEN s = 3 THEN NULL ELSE 'test' END
  FROM (VALUES (:'k1'), (:'k2')) v(k), generate_series(1, 3) s;
\set log `curl -s "$COMET_WRITE_FAKE/_fake/requests"; curl -s -o /dev/null "$COMET_WRITE_FAKE/_fake/reset"`
SELECT * FROM pg_temp.writes(:'log') ORDER BY body;
-- read back: the points in the order they were written
SELECT pg_temp.label(experiment_key) AS experiment, metric_name, metric_value, step, epoch,
       "timestamp" AT TIME ZONE 'UTC' AS at_utc, run_context,
       "offset" > lag("offset") OVER (PARTITION BY experiment_key ORDER BY "offset") AS after_previous
  FROM cw.raw_metrics WHERE experiment_key IN (:'k1', :'k2') AND metric_name = 'sql_score'
 ORDER BY 1, "offset";
SELECT pg_temp.label(experiment_key) AS experiment, current, min, max, step_current
  FROM cw.metric_summaries WHERE experiment_key IN (:'k1', :'k2') AND metric_name = 'sql_score'
 ORDER BY 1;

--
-- INSERT INTO experiments: write/experiment/create, RETURNING the new key
--
INSERT INTO cw.experiments (workspace_name, project_name, experiment_name)
VALUES ('fake-user', 'offline evals', 'eval of K1')
RETURNING experiment_key AS key, workspace_name, project_name, experiment_name
\gset new_
SELECT length(:'new_key') AS key_length, :'new_workspace_name' AS workspace_name,
       :'new_project_name' AS project_name, :'new_experiment_name' AS experiment_name;
INSERT INTO labels VALUES ('NEW1', :'new_key');
\set log `curl -s "$COMET_WRITE_FAKE/_fake/requests"; curl -s -o /dev/null "$COMET_WRITE_FAKE/_fake/reset"`
SELECT * FROM pg_temp.writes(:'log');
INSERT INTO cw.experiments (workspace_name, project_name, experiment_name)
VALUES ('fake-user', 'offline evals', 'eval of K2')
RETURNING experiment_key AS created \gset
INSERT INTO labels VALUES ('NEW2', :'created');
SELECT pg_temp.label(experiment_key) AS experiment, experiment_name, project_name, archived, running
  FROM cw.experiments WHERE workspace_name = 'fake-user' AND project_name = 'offline evals'
 ORDER BY experiment_name;
-- the new experiment takes writes like any other
INSERT INTO cw.tags (experiment_key, tag) VALUES (:'created', 'offline');
SELECT tag FROM cw.tags WHERE experiment_key = :'created';
\set x `curl -s -o /dev/null "$COMET_WRITE_FAKE/_fake/reset"`

--
-- UPDATE experiments SET archived: write/experiment/archive and restore
--
UPDATE cw.experiments SET archived = true WHERE experiment_key = :'created'
RETURNING pg_temp.label(experiment_key) AS experiment, archived;
\set log `curl -s "$COMET_WRITE_FAKE/_fake/requests"; curl -s -o /dev/null "$COMET_WRITE_FAKE/_fake/reset"`
SELECT * FROM pg_temp.writes(:'log');
SELECT * FROM pg_temp.counts(:'log');
SELECT pg_temp.label(experiment_key) AS experiment, archived
  FROM cw.experiments WHERE project_name = 'offline evals' AND workspace_name = 'fake-user'
 ORDER BY 1;
SELECT num_experiments FROM cw.projects WHERE workspace_name = 'fake-user' AND project_name = 'offline evals';
-- every archived experiment of the project back, through a join
UPDATE cw.experiments e SET archived = false
  FROM (VALUES ('offline evals')) v(p)
 WHERE e.workspace_name = 'fake-user' AND e.project_name = v.p AND e.archived;
\set log `curl -s "$COMET_WRITE_FAKE/_fake/requests"; curl -s -o /dev/null "$COMET_WRITE_FAKE/_fake/reset"`
SELECT * FROM pg_temp.writes(:'log');
SELECT count(*) FILTER (WHERE archived) AS archived, count(*) AS experiments
  FROM cw.experiments WHERE project_name = 'offline evals' AND workspace_name = 'fake-user';

--
-- UPDATE project_notes SET notes: write/project/notes
--
UPDATE cw.project_notes SET notes = E'notes from SQL: ünï "quoted"\nsecond line'
 WHERE project_id = :'mnist_id'
RETURNING pg_temp.label(project_id) AS project, notes;
\set log `curl -s "$COMET_WRITE_FAKE/_fake/requests"; curl -s -o /dev/null "$COMET_WRITE_FAKE/_fake/reset"`
SELECT * FROM pg_temp.writes(:'log');
SELECT pg_temp.label(project_id) AS project, notes FROM cw.project_notes WHERE project_id = :'mnist_id';
-- NULL clears them
UPDATE cw.project_notes SET notes = NULL WHERE project_id = :'mnist_id';
SELECT notes = '' AS cleared FROM cw.project_notes WHERE project_id = :'mnist_id';
\set x `curl -s -o /dev/null "$COMET_WRITE_FAKE/_fake/reset"`

--
-- Comet has no transactions: a ROLLBACK does not undo what was sent
--
BEGIN;
INSERT INTO cw.tags (experiment_key, tag) VALUES (:'k4', 'sent in a rolled back transaction');
ROLLBACK;
SELECT tag FROM cw.tags WHERE experiment_key = :'k4' AND tag LIKE 'sent in%';

--
-- prepared statements with generic plans
--
SET plan_cache_mode = force_generic_plan;
PREPARE add_tag(text, text) AS INSERT INTO cw.tags (experiment_key, tag) VALUES ($1, $2);
EXECUTE add_tag(:'k4', 'prepared 1');
EXECUTE add_tag(:'k4', 'prepared 2');
PREPARE archive(text, boolean) AS UPDATE cw.experiments SET archived = $2 WHERE experiment_key = $1;
EXECUTE archive(:'created', true);
EXECUTE archive(:'created', false);
RESET plan_cache_mode;
\set log `curl -s "$COMET_WRITE_FAKE/_fake/requests"; curl -s -o /dev/null "$COMET_WRITE_FAKE/_fake/reset"`
SELECT * FROM pg_temp.writes(:'log');
DEALLOCATE add_tag;
DEALLOCATE archive;

--
-- EXPLAIN shows the write requests and makes none
--
EXPLAIN (COSTS OFF) INSERT INTO cw.tags (experiment_key, tag) VALUES ('some-key', 'never');
EXPLAIN (COSTS OFF) INSERT INTO cw.tags (experiment_key, tag)
SELECT experiment_key, 'never' FROM cw.experiments WHERE project_id = 'some-project';
EXPLAIN (COSTS OFF) INSERT INTO cw.raw_metrics (experiment_key, metric_name, metric_value, step)
VALUES ('some-key', 'never', '1', 1);
EXPLAIN (COSTS OFF) INSERT INTO cw.experiments (workspace_name, project_name)
VALUES ('fake-user', 'never') RETURNING experiment_key;
EXPLAIN (COSTS OFF) UPDATE cw.experiments SET archived = true WHERE experiment_key = 'some-key';
EXPLAIN (COSTS OFF) UPDATE cw.experiments SET archived = NOT archived WHERE experiment_key = 'some-key';
EXPLAIN (COSTS OFF) UPDATE cw.project_notes SET notes = 'never' WHERE project_id = 'some-project';
\set n `curl -s "$COMET_WRITE_FAKE/_fake/count"`
SELECT :n AS requests;
-- EXPLAIN ANALYZE writes and counts
SELECT * FROM pg_temp.explain(format($$EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF, BUFFERS OFF)
INSERT INTO cw.tags (experiment_key, tag) VALUES (%L, 'analyzed'), (%L, 'analyzed too')$$, :'k4', :'k4'));
\set n `curl -s "$COMET_WRITE_FAKE/_fake/count?path=write/experiment/tags"; curl -s -o /dev/null "$COMET_WRITE_FAKE/_fake/reset"`
SELECT :n AS tag_requests;

--
-- what cannot be written is refused by name, before any request
--
\x on
SELECT * FROM pg_temp.try($$UPDATE cw.experiments SET experiment_name = 'renamed'$$);
SELECT * FROM pg_temp.try(format('UPDATE cw.experiments SET archived = true, project_name = %L WHERE experiment_key = %L', 'x', :'k1'));
SELECT * FROM pg_temp.try(format('INSERT INTO cw.tags (experiment_key, tag, project_name) VALUES (%L, %L, %L)', :'k1', 't', 'p'));
-- without a column list the values go to the first columns: refused, not misread
SELECT * FROM pg_temp.try(format('INSERT INTO cw.tags VALUES (%L, %L)', :'k1', 't'));
SELECT * FROM pg_temp.try(format('INSERT INTO cw.raw_metrics (experiment_key, metric_name, metric_value, "offset") VALUES (%L, %L, %L, 1)', :'k1', 'm', '1'));
SELECT * FROM pg_temp.try($$INSERT INTO cw.projects (project_name) VALUES ('p')$$);
SELECT * FROM pg_temp.try($$UPDATE cw.tags SET tag = 'x'$$);
SELECT * FROM pg_temp.try(format('DELETE FROM cw.tags WHERE experiment_key = %L', :'k1'));
SELECT * FROM pg_temp.try(format('INSERT INTO cw.tags (experiment_key, tag) VALUES (%L, %L) ON CONFLICT DO NOTHING', :'k1', 't'));
-- values Comet needs
SELECT * FROM pg_temp.try(format('INSERT INTO cw.tags (experiment_key, tag) VALUES (%L, NULL)', :'k1'));
SELECT * FROM pg_temp.try(format('UPDATE cw.experiments SET archived = NULL WHERE experiment_key = %L', :'k1'));
SELECT * FROM pg_temp.try(format('INSERT INTO cw.raw_metrics (experiment_key, metric_name, metric_value, "timestamp") VALUES (%L, %L, %L, %L)', :'k1', 'm', '1', 'infinity'));
\x off
-- no write was sent (the UPDATE read the experiment first)
\set log `curl -s "$COMET_WRITE_FAKE/_fake/requests"; curl -s -o /dev/null "$COMET_WRITE_FAKE/_fake/reset"`
SELECT * FROM pg_temp.counts(:'log');

--
-- the updatable option (server and table; the table's wins)
--
ALTER FOREIGN TABLE cw.tags OPTIONS (ADD updatable 'false');
\x on
SELECT * FROM pg_temp.try(format('INSERT INTO cw.tags (experiment_key, tag) VALUES (%L, %L)', :'k1', 'refused'));
\x off
SELECT pg_relation_is_updatable('cw.tags'::regclass, false) AS tags_mask;
ALTER FOREIGN TABLE cw.tags OPTIONS (DROP updatable);
ALTER SERVER cw_server OPTIONS (ADD updatable 'false');
SELECT * FROM pg_temp.try(format('UPDATE cw.experiments SET archived = true WHERE experiment_key = %L', :'k1'));
ALTER FOREIGN TABLE cw.experiments OPTIONS (ADD updatable 'true');
SELECT * FROM pg_temp.try(format('UPDATE cw.experiments SET archived = false WHERE experiment_key = %L', :'k4'));
ALTER FOREIGN TABLE cw.experiments OPTIONS (DROP updatable);
ALTER SERVER cw_server OPTIONS (DROP updatable);
ALTER FOREIGN TABLE cw.tags OPTIONS (ADD updatable 'maybe');
ALTER FOREIGN TABLE cw.tags OPTIONS (ADD batch_size '0');
\set log `curl -s "$COMET_WRITE_FAKE/_fake/requests"; curl -s -o /dev/null "$COMET_WRITE_FAKE/_fake/reset"`
SELECT * FROM pg_temp.writes(:'log');

--
-- a failure mid-statement: an error naming the request, the rows already
-- sent in the detail; a write is never retried after a 5xx
--
\set x `curl -s "$COMET_WRITE_FAKE/_fake/fault?path=write/experiment/metric&skip=2&times=1&status=500"`
\x on
SELECT * FROM pg_temp.try(format($$INSERT INTO cw.raw_metrics (experiment_key, metric_name, metric_value, step)
    SELECT %L, 'midway', s::text, s FROM generate_series(1, 4) s$$, :'k2'));
\x off
\set log `curl -s "$COMET_WRITE_FAKE/_fake/requests"; curl -s -o /dev/null "$COMET_WRITE_FAKE/_fake/reset"`
SELECT * FROM pg_temp.writes(:'log');
-- what was sent stays: two points
SELECT step, metric_value FROM cw.raw_metrics WHERE experiment_key = :'k2' AND metric_name = 'midway' ORDER BY step;
-- past ten rows the detail counts the rest
\set x `curl -s "$COMET_WRITE_FAKE/_fake/fault?path=write/experiment/metric&skip=12&times=1&status=503"`
SELECT sqlstate, message, detail ~ ' = \(K2, many, 1\), .*\(K2, many, 10\) and 2 more\.$' AS detail_counts
  FROM pg_temp.try(format($$INSERT INTO cw.raw_metrics (experiment_key, metric_name, metric_value, step)
    SELECT %L, 'many', s::text, s FROM generate_series(1, 20) s$$, :'k2'));
\set n `curl -s "$COMET_WRITE_FAKE/_fake/count?path=write/experiment/metric"; curl -s -o /dev/null "$COMET_WRITE_FAKE/_fake/reset"`
SELECT :n AS metric_requests;
-- Comet refusing a write (400): the first row, nothing sent before
\x on
SELECT * FROM pg_temp.try($$INSERT INTO cw.tags (experiment_key, tag) VALUES ('ffffffffffffffffffffffffffffffff', 'x')$$);
-- the connection closed with no answer: the request may have reached Comet,
-- so it is not sent again (libcurl's own resend is stopped too)
SELECT count(*) AS warm_connection FROM cw.workspaces;
\set x `curl -s -o /dev/null "$COMET_WRITE_FAKE/_fake/reset"; curl -s "$COMET_WRITE_FAKE/_fake/fault?path=write/experiment/log-other&kind=close&times=1"`
SELECT * FROM pg_temp.try(format($$INSERT INTO cw.raw_others (experiment_key, name, value_current) VALUES (%L, 'closed', 'x')$$, :'k1'));
\x off
\set n `curl -s "$COMET_WRITE_FAKE/_fake/count?path=write/experiment/log-other"; curl -s -o /dev/null "$COMET_WRITE_FAKE/_fake/reset"`
SELECT :n AS log_other_requests;

--
-- a failure to connect is retried: nothing reached Comet
--
CREATE SERVER cw_refused FOREIGN DATA WRAPPER comet_fdw
    OPTIONS (url :'wurl', max_retries '10');
\set ECHO none
CREATE USER MAPPING FOR CURRENT_USER SERVER cw_refused OPTIONS (api_key :'comet_key');
\set ECHO all
CREATE FOREIGN TABLE cw_refused_tags (experiment_key text, tag text)
    SERVER cw_refused OPTIONS (endpoint 'tags');
SET comet_fdw.retry_base_ms = 200;
SELECT retries AS r0 FROM comet_fdw_stats() \gset
-- the fake closes its listening socket for 1.5 s: connections are refused
\set x `curl -s "$COMET_WRITE_FAKE/_fake/refuse?ms=1500"`
INSERT INTO cw_refused_tags VALUES (:'k4', 'after a refused connection');
SELECT retries - :r0 > 0 AS retried FROM comet_fdw_stats();
SET comet_fdw.retry_base_ms = 10;
\set log `curl -s "$COMET_WRITE_FAKE/_fake/requests"; curl -s -o /dev/null "$COMET_WRITE_FAKE/_fake/reset"`
SELECT * FROM pg_temp.writes(:'log');
-- nothing listening at all: retried, then an error saying nothing was sent
CREATE SERVER cw_dead FOREIGN DATA WRAPPER comet_fdw
    OPTIONS (url 'http://127.0.0.1:1/api/rest/v2', max_retries '2');
\set ECHO none
CREATE USER MAPPING FOR CURRENT_USER SERVER cw_dead OPTIONS (api_key :'comet_key');
\set ECHO all
CREATE FOREIGN TABLE cw_dead_tags (experiment_key text, tag text)
    SERVER cw_dead OPTIONS (endpoint 'tags');
\x on
SELECT sqlstate, message, regexp_replace(detail, 'after \d+ ms', 'after N ms') AS detail, hint, key_shown
  FROM pg_temp.try(format('INSERT INTO cw_dead_tags VALUES (%L, %L)', :'k1', 'nowhere'));
\x off

--
-- a write drops the cached answers it makes stale, and only those
--
CREATE SERVER cw_cached FOREIGN DATA WRAPPER comet_fdw OPTIONS (url :'wurl', cache_ttl_s '60');
\set ECHO none
CREATE USER MAPPING FOR CURRENT_USER SERVER cw_cached OPTIONS (api_key :'comet_key');
\set ECHO all
CREATE SCHEMA cwc;
IMPORT FOREIGN SCHEMA comet LIMIT TO (tags, workspaces, experiments) FROM SERVER cw_cached INTO cwc;
SELECT count(*) AS tags FROM cwc.tags WHERE experiment_key = :'k4';
SELECT count(*) AS tags FROM cwc.tags WHERE experiment_key = :'k1';
SELECT count(*) AS workspaces FROM cwc.workspaces;
SELECT count(*) AS tags_cached FROM cwc.tags WHERE experiment_key = :'k4';
INSERT INTO cwc.tags (experiment_key, tag) VALUES (:'k4', 'seen at once');
SELECT count(*) AS tags, bool_or(tag = 'seen at once') AS has_new FROM cwc.tags WHERE experiment_key = :'k4';
SELECT count(*) AS tags FROM cwc.tags WHERE experiment_key = :'k1';
SELECT count(*) AS workspaces FROM cwc.workspaces;
\set log `curl -s "$COMET_WRITE_FAKE/_fake/requests"; curl -s -o /dev/null "$COMET_WRITE_FAKE/_fake/reset"`
SELECT r->>'method' AS method, pg_temp.label(r->>'path' || coalesce('?' || (r->'query'->>'experimentKey'), '')) AS request,
       count(*) AS requests
  FROM jsonb_array_elements(:'log'::jsonb) r GROUP BY 1, 2 ORDER BY 2;
-- archiving drops the cached experiment lists
SELECT count(*) AS active FROM cwc.experiments WHERE project_id = :'mnist_id' AND NOT archived;
UPDATE cwc.experiments SET archived = true WHERE experiment_key = :'k1';
SELECT count(*) AS active FROM cwc.experiments WHERE project_id = :'mnist_id' AND NOT archived;
UPDATE cwc.experiments SET archived = false WHERE experiment_key = :'k1';
SELECT count(*) AS active FROM cwc.experiments WHERE project_id = :'mnist_id' AND NOT archived;
\set x `curl -s -o /dev/null "$COMET_WRITE_FAKE/_fake/reset"`

--
-- a role of its own writes with its own user mapping; a wrong key is
-- Comet's 401, no key is an error before any request
--
CREATE ROLE regress_writer NOSUPERUSER;
CREATE ROLE regress_wrong_key NOSUPERUSER;
CREATE ROLE regress_no_key NOSUPERUSER;
GRANT USAGE ON SCHEMA cw TO regress_writer, regress_wrong_key, regress_no_key;
GRANT USAGE ON FOREIGN SERVER cw_server TO regress_writer, regress_wrong_key, regress_no_key;
GRANT SELECT, INSERT ON cw.tags TO regress_writer, regress_wrong_key, regress_no_key;
GRANT SELECT ON cw.experiments TO regress_writer;
GRANT SELECT ON secrets, labels TO regress_writer, regress_wrong_key, regress_no_key;
\set ECHO none
CREATE USER MAPPING FOR regress_writer SERVER cw_server OPTIONS (api_key :'comet_key');
\set ECHO all
CREATE USER MAPPING FOR regress_wrong_key SERVER cw_server OPTIONS (api_key 'regress-WRONG-write-key');
CREATE USER MAPPING FOR regress_no_key SERVER cw_server;
SET ROLE regress_writer;
INSERT INTO cw.tags (experiment_key, tag) VALUES (:'k4', 'by regress_writer');
SELECT tag FROM cw.tags WHERE experiment_key = :'k4' AND tag LIKE 'by %';
-- no UPDATE privilege: PostgreSQL refuses
UPDATE cw.experiments SET archived = true WHERE experiment_key = :'k4';
RESET ROLE;
\x on
SET ROLE regress_wrong_key;
SELECT * FROM pg_temp.try(format('INSERT INTO cw.tags (experiment_key, tag) VALUES (%L, %L)', :'k4', 'wrong key'));
RESET ROLE;
SET ROLE regress_no_key;
SELECT * FROM pg_temp.try(format('INSERT INTO cw.tags (experiment_key, tag) VALUES (%L, %L)', :'k4', 'no key'));
RESET ROLE;
\x off
\set log `curl -s "$COMET_WRITE_FAKE/_fake/requests"; curl -s -o /dev/null "$COMET_WRITE_FAKE/_fake/reset"`
SELECT * FROM pg_temp.writes(:'log');

--
-- a database that is not UTF-8: values are sent as UTF-8 JSON
--
\set regress_db :DBNAME
CREATE DATABASE cw_latin1 ENCODING 'LATIN1' LC_COLLATE 'C' LC_CTYPE 'C' TEMPLATE template0;
\c cw_latin1
SET client_encoding = 'UTF8';
CREATE EXTENSION comet_fdw;
CREATE SERVER cw_latin1 FOREIGN DATA WRAPPER comet_fdw OPTIONS (url :'wurl');
\set ECHO none
CREATE USER MAPPING FOR CURRENT_USER SERVER cw_latin1 OPTIONS (api_key :'comet_key');
\set ECHO all
CREATE FOREIGN TABLE latin1_tags (experiment_key text, tag text) SERVER cw_latin1 OPTIONS (endpoint 'tags');
SELECT current_setting('server_encoding') AS server_encoding;
INSERT INTO latin1_tags VALUES (:'k4', 'café ñ');
\c :regress_db
DROP DATABASE cw_latin1;
-- (a new session: the helper functions are gone)
\set log `curl -s "$COMET_WRITE_FAKE/_fake/requests"; curl -s -o /dev/null "$COMET_WRITE_FAKE/_fake/reset"`
SELECT r->>'path' AS path, (r->>'status')::int AS status, r->'body'->'addedTags' AS tags,
       convert_to(r->'body'->'addedTags'->>0, 'UTF8') AS utf8
  FROM jsonb_array_elements(:'log'::jsonb) r WHERE r->>'path' LIKE 'write/%';
SELECT tag, convert_to(tag, 'UTF8') AS utf8 FROM cw.tags WHERE experiment_key = :'k4' AND tag LIKE 'caf%';

-- clean up; the write fake back as it started
SET client_min_messages = warning;
DROP OWNED BY regress_writer, regress_wrong_key, regress_no_key;
DROP ROLE regress_writer;
DROP ROLE regress_wrong_key;
DROP ROLE regress_no_key;
DROP SERVER cw_refused CASCADE;
DROP SERVER cw_dead CASCADE;
DROP SERVER cw_cached CASCADE;
DROP SCHEMA cwc CASCADE;
DROP SERVER cw_server CASCADE;
DROP SCHEMA cw CASCADE;
\set x `curl -s "$COMET_WRITE_FAKE/_fake/restore"; curl -s "$COMET_WRITE_FAKE/_fake/reset"`
