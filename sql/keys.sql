--
-- keys: where the API key comes from, and who may use the key file.
--
\getenv comet_url COMET_URL
\getenv key_home COMET_KEY_HOME
\set key_file :key_home '/.comet_rest_key'
\set ECHO none
\getenv comet_key COMET_TEST_KEY
CREATE SERVER keysrv FOREIGN DATA WRAPPER comet_fdw OPTIONS (url :'comet_url', cache_ttl_s '0');
\set ECHO all
CREATE FOREIGN TABLE key_ws (workspace_name text) SERVER keysrv OPTIONS (endpoint 'workspaces');
CREATE ROLE regress_comet_user NOSUPERUSER;
GRANT USAGE ON FOREIGN SERVER keysrv TO regress_comet_user;
GRANT SELECT ON key_ws TO regress_comet_user;

-- no mapping, no key file: the error says how to set the key
COPY (SELECT '') TO :'key_file';
SELECT * FROM key_ws;

-- a superuser falls back to ~/.comet_rest_key of the server's OS user,
-- white space trimmed
\set ECHO none
COPY (SELECT E'  \t' || :'comet_key' || '  ') TO :'key_file' WITH (FORMAT csv);
\set ECHO all
SELECT count(*) AS workspaces FROM key_ws;

-- a non-superuser may not, unless the server says allow_key_file
SET ROLE regress_comet_user;
SELECT * FROM key_ws;
RESET ROLE;
ALTER SERVER keysrv OPTIONS (ADD allow_key_file 'true');
SET ROLE regress_comet_user;
SELECT count(*) AS workspaces FROM key_ws;
RESET ROLE;
ALTER SERVER keysrv OPTIONS (DROP allow_key_file);

-- a mapping without api_key: the error says so, and how to add one
CREATE USER MAPPING FOR regress_comet_user SERVER keysrv;
SET ROLE regress_comet_user;
SELECT * FROM key_ws;
RESET ROLE;
DROP USER MAPPING FOR regress_comet_user SERVER keysrv;

-- a user mapping's api_key wins over the file: a wrong one is reported
CREATE USER MAPPING FOR regress_comet_user SERVER keysrv
    OPTIONS (api_key 'regress-WRONG-key-42');
SET ROLE regress_comet_user;
SELECT * FROM key_ws;
RESET ROLE;
\set ECHO none
ALTER USER MAPPING FOR regress_comet_user SERVER keysrv OPTIONS (SET api_key :'comet_key');
\set ECHO all
SET ROLE regress_comet_user;
SELECT count(*) AS workspaces FROM key_ws;
-- the mapping's options are not readable by other roles
RESET ROLE;
CREATE ROLE regress_comet_other NOSUPERUSER;
SET ROLE regress_comet_other;
SELECT usename, umoptions FROM pg_user_mappings WHERE srvname = 'keysrv';
RESET ROLE;

-- a PUBLIC mapping serves roles without their own
DROP USER MAPPING FOR regress_comet_user SERVER keysrv;
COPY (SELECT '') TO :'key_file';
\set ECHO none
CREATE USER MAPPING FOR PUBLIC SERVER keysrv OPTIONS (api_key :'comet_key');
\set ECHO all
SET ROLE regress_comet_user;
SELECT count(*) AS workspaces FROM key_ws;
RESET ROLE;

DROP SERVER keysrv CASCADE;
DROP ROLE regress_comet_user;
DROP ROLE regress_comet_other;
