--
-- recorded: responses recorded from Comet's own servers (test/fixtures/
-- recorded, served byte for byte by the fake) read correctly.
--
\getenv rec_url COMET_RECORDED_URL
\set ECHO none
\getenv comet_key COMET_TEST_KEY
CREATE SERVER recorded FOREIGN DATA WRAPPER comet_fdw
    OPTIONS (url :'rec_url', cache_ttl_s '0');
CREATE USER MAPPING FOR CURRENT_USER SERVER recorded OPTIONS (api_key :'comet_key');
\set ECHO all
CREATE SCHEMA rec;
IMPORT FOREIGN SCHEMA comet LIMIT TO (workspaces, projects, experiments, project_columns)
    FROM SERVER recorded INTO rec;
-- the imported tables (a query, not \dE: psql 18 titles its listing differently)
SELECT foreign_table_name, foreign_server_name FROM information_schema.foreign_tables
 WHERE foreign_table_schema = 'rec' ORDER BY 1;
\set x `curl -s "$COMET_RECORDED_FAKE/_fake/reset"`

-- workspaces.json
SELECT * FROM rec.workspaces;
-- projects-dafb61.json: projects?workspaceName=testuser-cometr
SELECT * FROM rec.projects;
-- experiments-1280bb.json: the very request the R client recorded
SELECT * FROM rec.experiments
 WHERE workspace_name = 'testuser-cometr' AND project_name = 'cometrtestproject'
   AND archived = false;
-- project/column-names-4ec64e.json: by project id
SELECT name, column_id, type, source FROM rec.project_columns
 WHERE project_id = 'ebfbbc1212004f92b618d50db41f27f3' ORDER BY column_id;
-- the requests the FDW made, answered from the recorded files
\set requests `curl -s "$COMET_RECORDED_FAKE/_fake/requests"`
SELECT r->>'path' AS path, r->'query' AS query, (r->>'status')::int AS status
  FROM jsonb_array_elements(:'requests'::jsonb) r;

DROP SCHEMA rec CASCADE;
DROP SERVER recorded CASCADE;
