--
-- collation: Comet compares keys byte for byte.  A comparison under a
-- nondeterministic collation ('MNIST' = 'mnist' in a case-insensitive ICU
-- collation) is never pushed down: the rows are fetched and PostgreSQL
-- filters them, as it would filter a local table.
--
SELECT count(*) > 0 AS has_icu FROM pg_collation WHERE collprovider = 'i' \gset
\if :has_icu
\else
\echo 'this PostgreSQL has no ICU: nondeterministic collations cannot exist'
\quit
\endif
CREATE COLLATION regress_ci (provider = icu, locale = 'und-u-ks-level2', deterministic = false);
CREATE TEMP TABLE local_projects AS SELECT * FROM comet.projects;
CREATE TEMP TABLE local_experiments AS SELECT experiment_key, project_name, workspace_name FROM comet.experiments;

-- the right answer is what the same rows give in a local table
SELECT count(*) AS local_rows FROM local_projects WHERE project_name = 'MNIST' COLLATE regress_ci;
SELECT count(*) AS foreign_rows FROM comet.projects WHERE project_name = 'MNIST' COLLATE regress_ci;
SELECT count(*) AS local_rows FROM local_experiments
 WHERE workspace_name = 'FAKE-USER' COLLATE regress_ci AND project_name = 'Mnist' COLLATE regress_ci;
SELECT count(*) AS foreign_rows FROM comet.experiments
 WHERE workspace_name = 'FAKE-USER' COLLATE regress_ci AND project_name = 'Mnist' COLLATE regress_ci;
-- IN lists and metric names
SELECT count(*) AS foreign_rows FROM comet.experiments
 WHERE project_name COLLATE regress_ci IN ('MNIST', 'BERT|NLP');
SELECT count(*) AS local_rows FROM local_experiments
 WHERE project_name COLLATE regress_ci IN ('MNIST', 'BERT|NLP');
SELECT e->>'experimentKey' AS k FROM jsonb_array_elements((
    SELECT jsonb_agg(to_jsonb(x)) FROM (SELECT experiment_key AS "experimentKey" FROM local_experiments
     WHERE project_name = 'mnist' ORDER BY 1 LIMIT 1) x)) e \gset
SELECT DISTINCT metric_name FROM comet.raw_metrics
 WHERE experiment_key = :'k' AND metric_name = 'LOSS' COLLATE regress_ci;
-- EXPLAIN: no Comet Keys for the nondeterministic comparison; a deterministic
-- one ("C") is still pushed down
EXPLAIN (COSTS OFF) SELECT * FROM comet.projects
 WHERE workspace_name = 'fake-user' COLLATE regress_ci;
EXPLAIN (COSTS OFF) SELECT * FROM comet.projects
 WHERE workspace_name = 'fake-user' COLLATE "C";

-- a column declared with the collation: its comparisons are never pushed
CREATE FOREIGN TABLE my_projects (project_id text, project_name text COLLATE regress_ci,
    workspace_name text COLLATE regress_ci) SERVER comet OPTIONS (endpoint 'projects');
SELECT count(*) AS foreign_rows FROM my_projects WHERE workspace_name = 'Fake-User';
SELECT count(*) AS local_rows FROM local_projects WHERE workspace_name = 'Fake-User' COLLATE regress_ci;
-- asset types too
SELECT count(*) AS foreign_rows FROM comet.assets WHERE experiment_key = :'k' AND type = 'IMAGE' COLLATE regress_ci;
SELECT count(*) AS exact_rows FROM comet.assets WHERE experiment_key = :'k' AND lower(type) = 'image';
DROP FOREIGN TABLE my_projects;
DROP COLLATION regress_ci;
