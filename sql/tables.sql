--
-- tables: workspaces, projects and experiments return exactly the fake
-- dataset's rows, with the contract's types.  The expected rows are
-- computed from the fake server's own dump of its dataset.
--
\i sql/include/dataset.sql

-- workspaces
SELECT pg_temp.same('SELECT workspace_name FROM comet.workspaces',
    $$SELECT x FROM ds, jsonb_array_elements_text(j->'workspaces') x$$) AS workspaces;
SELECT * FROM comet.workspaces ORDER BY 1;

-- projects: public falls back to isPublic; unknown fields are ignored
SELECT pg_temp.same('SELECT * FROM comet.projects', $$
    SELECT p->>'projectId', p->>'projectName', p->>'workspaceName',
           p->>'ownerUserName', p->>'projectDescription',
           (p->>'numberOfExperiments')::bigint,
           pg_temp.ms((p->>'lastUpdated')::bigint),
           coalesce(p->'public', p->'isPublic')::text::boolean
      FROM ds, jsonb_array_elements(j->'projects') p$$) AS projects;
SELECT project_name, workspace_name, owner_user_name, description,
       num_experiments, last_updated, is_public
  FROM comet.projects ORDER BY workspace_name, project_name;

-- experiments: archived ones included; duration is end - start, and for a
-- running experiment the time from its start to the statement's start
-- (never Comet's durationMillis, which is whole seconds)
SELECT pg_temp.same('SELECT * FROM comet.experiments', $$
    SELECT e->>'experimentKey', e->>'experimentName', e->>'projectId',
           e->>'projectName', e->>'workspaceName', e->>'userName',
           e->>'fileName', e->>'filePath', e->>'optimizationId',
           pg_temp.ms((e->>'startTimeMillis')::bigint),
           pg_temp.ms((e->>'endTimeMillis')::bigint),
           coalesce((e->>'endTimeMillis')::bigint,
                    floor(extract(epoch FROM statement_timestamp()) * 1000)::bigint)
             - (e->>'startTimeMillis')::bigint,
           (e->>'running')::boolean, (e->>'archived')::boolean
      FROM ds, jsonb_array_elements(j->'experiments') e$$) AS experiments;
SELECT project_name, experiment_name, start_time, end_time,
       CASE WHEN NOT running THEN duration_ms END AS finished_duration_ms,
       running, archived
  FROM comet.experiments ORDER BY project_name, start_time;
-- what a user filters on: running ones, finished ones, long ones
SELECT count(*) FILTER (WHERE running) AS running,
       count(*) FILTER (WHERE NOT running) AS finished,
       count(*) FILTER (WHERE running AND duration_ms > 3600 * 1000) AS running_over_an_hour
  FROM comet.experiments;

-- the types of the contract
SELECT attrelid::regclass, attname, atttypid::regtype
  FROM pg_attribute
 WHERE attrelid IN ('comet.workspaces'::regclass, 'comet.projects'::regclass,
                    'comet.experiments'::regclass) AND attnum > 0
 ORDER BY attrelid::regclass::text, attnum;

-- a table of one's own: a subset of columns in any order, and the field
-- option for a column whose name is not the field's snake_case
CREATE FOREIGN TABLE my_experiments (
    archived boolean,
    name text OPTIONS (field 'experimentName'),
    experiment_key text,
    started timestamptz OPTIONS (field 'startTimeMillis'),
    throttle boolean,
    start_time_millis bigint
) SERVER comet OPTIONS (endpoint 'experiments');
SELECT pg_temp.same('SELECT * FROM my_experiments', $$
    SELECT (e->>'archived')::boolean, e->>'experimentName', e->>'experimentKey',
           pg_temp.ms((e->>'startTimeMillis')::bigint), (e->>'throttle')::boolean,
           (e->>'startTimeMillis')::bigint
      FROM ds, jsonb_array_elements(j->'experiments') e$$) AS my_experiments;

-- a column type that cannot hold the value is an error naming the column
CREATE FOREIGN TABLE my_bad (experiment_key int, project_name text, workspace_name text,
    archived boolean) SERVER comet OPTIONS (endpoint 'experiments');
SELECT * FROM my_bad WHERE workspace_name = 'fake-user' AND project_name = 'mnist'
    AND NOT archived;
-- an object where a number is expected (futureField is an unknown extra
-- field of the fake, which the imported tables ignore)
CREATE FOREIGN TABLE my_bad2 ("futureField" int, project_name text, workspace_name text)
    SERVER comet OPTIONS (endpoint 'experiments');
SELECT * FROM my_bad2 WHERE workspace_name = 'fake-user' AND project_name = 'mnist';
DROP FOREIGN TABLE my_experiments, my_bad, my_bad2;
