--
-- encoding: Comet speaks UTF-8.  In a database of another encoding every
-- value and name is converted to it (a character it cannot hold is
-- PostgreSQL's usual conversion error, never bad bytes), and keys travel
-- to Comet in UTF-8 whatever the database encoding.
--
\set home :DBNAME
\getenv comet_url COMET_URL
\getenv comet_key COMET_TEST_KEY
\i sql/include/dataset.sql
-- k: the first mnist experiment (role 0: tags and metrics with non-ASCII names)
SELECT e->>'experimentKey' AS k FROM ds, jsonb_array_elements(j->'experiments') e
 WHERE e->>'projectName' = 'mnist' ORDER BY e->>'startTimeMillis' LIMIT 1 \gset
-- k0: the experiment whose name has a check mark
SELECT e->>'experimentKey' AS k0 FROM ds, jsonb_array_elements(j->'experiments') e
 WHERE e->>'experimentName' LIKE '%✓%' \gset
CREATE DATABASE regress_comet_latin1 ENCODING 'LATIN1' LC_COLLATE 'C' LC_CTYPE 'C' TEMPLATE template0;
CREATE DATABASE regress_comet_eucjp ENCODING 'EUC_JP' LC_COLLATE 'C' LC_CTYPE 'C' TEMPLATE template0;
CREATE DATABASE regress_comet_ascii ENCODING 'SQL_ASCII' LC_COLLATE 'C' LC_CTYPE 'C' TEMPLATE template0;

-- the same set-up in each database
\set setup 'SET client_encoding = ''UTF8''; CREATE EXTENSION comet_fdw; CREATE SERVER comet FOREIGN DATA WRAPPER comet_fdw OPTIONS (url :''comet_url'', cache_ttl_s ''0''); CREATE SCHEMA comet; IMPORT FOREIGN SCHEMA comet FROM SERVER comet INTO comet;'
\set requests 'SELECT r->>''path'' AS path, r->''query'' AS query FROM jsonb_array_elements(:''log''::jsonb) r ORDER BY 1, 2::text'

---- LATIN1 ----
\c regress_comet_latin1
:setup
\set ECHO none
CREATE USER MAPPING FOR CURRENT_USER SERVER comet OPTIONS (api_key :'comet_key');
\set ECHO all
SHOW server_encoding;
-- Latin-1 letters arrive as themselves (no mojibake: "café" is 4 characters,
-- 4 bytes in LATIN1), through the client's UTF-8
\set x `"$COMET_ROOT/test/fakectl" body experiment/tags '{"tags": ["café", "naïve", "Ünïcode"]}'`
SELECT tag, length(tag) AS chars, octet_length(convert_to(tag, 'LATIN1')) AS latin1_bytes
  FROM comet.tags WHERE experiment_key = :'k' ORDER BY 1;
-- a key with a Latin-1 letter is sent in UTF-8 (the fake decodes it as UTF-8:
-- a LATIN1 byte would show as a replacement character)
\set log `curl -s -o /dev/null "$COMET_FAKE/_fake/reset"`
\set x `"$COMET_ROOT/test/fakectl" body experiment/metrics/get-metric '{"metrics": [{"metricName": "f1 ü", "metricValue": "0.5", "step": 1}]}'`
SELECT metric_name, metric_value, step FROM comet.raw_metrics
 WHERE experiment_key = :'k' AND metric_name = 'f1 ü';
\set log `curl -s "$COMET_FAKE/_fake/requests"`
:requests;
-- what LATIN1 cannot hold (the Greek mu of "ünïcode-μ") is a conversion error
SELECT project_name FROM comet.projects WHERE workspace_name = 'fake-user' ORDER BY 1;
-- ... only where the query reads it: a count converts nothing
SELECT count(*) FROM comet.projects;
SELECT count(*) > 0 AS has_params FROM comet.raw_params WHERE project_id IS NOT NULL
   AND experiment_key = :'k';
SELECT count(*) FROM comet.projects
 WHERE workspace_name = 'fake-user' AND project_name = 'mnist';
-- a table built from a query holds valid LATIN1, readable again
\set x `"$COMET_ROOT/test/fakectl" body experiment/tags '{"tags": ["café", "naïve", "Ünïcode"]}'`
CREATE TABLE kept AS SELECT tag FROM comet.tags WHERE experiment_key = :'k';
SELECT tag, convert_from(convert_to(tag, 'LATIN1'), 'LATIN1') = tag AS valid FROM kept ORDER BY 1;

---- EUC_JP ----
\c regress_comet_eucjp
:setup
\set ECHO none
CREATE USER MAPPING FOR CURRENT_USER SERVER comet OPTIONS (api_key :'comet_key');
\set ECHO all
SHOW server_encoding;
-- "ünïcode-μ": both letters exist in EUC_JP (JIS X 0212, JIS X 0208)
SELECT project_name, length(project_name) AS chars
  FROM comet.projects WHERE workspace_name = 'fake-user' AND project_name LIKE '%code%';
-- the key goes out in UTF-8 and finds the project
\set log `curl -s -o /dev/null "$COMET_FAKE/_fake/reset"`
SELECT count(*) > 0 AS found FROM comet.experiments
 WHERE workspace_name = 'fake-user' AND project_name = 'ünïcode-μ';
\set log `curl -s "$COMET_FAKE/_fake/requests"`
SELECT r->'query'->>'projectName' AS project_name_sent FROM jsonb_array_elements(:'log'::jsonb) r
 WHERE r->>'path' = 'experiments' LIMIT 1;
-- search narrowing sends the parameter's name and value in UTF-8 too: the
-- narrowed join finds the experiment the un-narrowed one finds
\set log `curl -s -o /dev/null "$COMET_FAKE/_fake/reset"`
SELECT left(p.experiment_key, 8) AS k8, p.name, p.value_current
  FROM comet.experiments e JOIN comet.raw_params p USING (experiment_key)
 WHERE e.workspace_name = 'fake-user' AND e.project_name = 'mnist'
   AND p.name = 'ünïcode-μ' AND p.value_current = '0.5';
\set log `curl -s "$COMET_FAKE/_fake/requests"`
SELECT r->>'path' AS path, count(*) FROM jsonb_array_elements(:'log'::jsonb) r GROUP BY 1 ORDER BY 1;
SELECT DISTINCT r->'body' AS search FROM jsonb_array_elements(:'log'::jsonb) r
 WHERE r->>'path' = 'project/query';
SET comet_fdw.search_narrowing = off;
SELECT left(p.experiment_key, 8) AS k8, p.name, p.value_current
  FROM comet.experiments e JOIN comet.raw_params p USING (experiment_key)
 WHERE e.workspace_name = 'fake-user' AND e.project_name = 'mnist'
   AND p.name = 'ünïcode-μ' AND p.value_current = '0.5';
RESET comet_fdw.search_narrowing;
-- metric_chart's rows carry the project's name converted, member by member,
-- and give every point raw_metrics gives
SELECT (SELECT count(*) FROM comet.metric_chart
         WHERE workspace_name = 'fake-user' AND project_name = 'ünïcode-μ') AS chart_points,
       (SELECT count(*) FROM comet.raw_metrics
         WHERE workspace_name = 'fake-user' AND project_name = 'ünïcode-μ') AS raw_points,
       (SELECT array_agg(DISTINCT project_name) FROM comet.metric_chart
         WHERE workspace_name = 'fake-user' AND project_name = 'ünïcode-μ') AS projects;
-- a table built from a query holds valid EUC_JP: it reads back, and its
-- bytes convert (pg_dump would read them the same way)
CREATE TABLE kept AS SELECT project_name FROM comet.projects WHERE workspace_name = 'fake-user'
   AND project_name LIKE '%code%';
SELECT project_name, convert_from(convert_to(project_name, 'EUC_JP'), 'EUC_JP') = project_name AS valid
  FROM kept;
-- what EUC_JP cannot hold (the check mark in an experiment's name) is an error
SELECT experiment_name FROM comet.experiments WHERE experiment_key = :'k0';

---- SQL_ASCII ----
\c regress_comet_ascii
:setup
\set ECHO none
CREATE USER MAPPING FOR CURRENT_USER SERVER comet OPTIONS (api_key :'comet_key');
\set ECHO all
SHOW server_encoding;
-- no conversion is possible: Comet's UTF-8 bytes are kept as they are
\set x `"$COMET_ROOT/test/fakectl" body experiment/tags '{"tags": ["café", "✓ done"]}'`
SELECT tag, octet_length(tag) AS bytes FROM comet.tags WHERE experiment_key = :'k' ORDER BY 1;
SELECT experiment_name FROM comet.experiments WHERE experiment_key = :'k0';
\set log `curl -s -o /dev/null "$COMET_FAKE/_fake/reset"`
\set x `"$COMET_ROOT/test/fakectl" body experiment/metrics/get-metric '{"metrics": [{"metricName": "f1 ü", "metricValue": "0.5", "step": 1}]}'`
SELECT metric_name, metric_value FROM comet.raw_metrics
 WHERE experiment_key = :'k' AND metric_name = 'f1 ü';
\set log `curl -s "$COMET_FAKE/_fake/requests"`
:requests;

\c :home
DROP DATABASE regress_comet_latin1;
DROP DATABASE regress_comet_eucjp;
DROP DATABASE regress_comet_ascii;
