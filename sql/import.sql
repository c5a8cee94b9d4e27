--
-- import: IMPORT FOREIGN SCHEMA makes every table of the catalogue, honours
-- LIMIT TO and EXCEPT, and comments every table and column.
--
CREATE SCHEMA imp_all;
IMPORT FOREIGN SCHEMA comet FROM SERVER comet INTO imp_all;
SELECT count(*) AS tables FROM pg_class WHERE relnamespace = 'imp_all'::regnamespace;
SELECT c.relname, obj_description(c.oid, 'pg_class') AS comment
  FROM pg_class c WHERE relnamespace = 'imp_all'::regnamespace ORDER BY 1;
-- column comments, for one table
SELECT a.attname, format_type(a.atttypid, a.atttypmod) AS type, col_description(a.attrelid, a.attnum)
  FROM pg_attribute a WHERE a.attrelid = 'imp_all.raw_metrics'::regclass AND a.attnum > 0
 ORDER BY a.attnum;

CREATE SCHEMA imp_some;
IMPORT FOREIGN SCHEMA comet LIMIT TO (experiments, raw_params, no_such_table)
    FROM SERVER comet INTO imp_some;
SELECT relname FROM pg_class WHERE relnamespace = 'imp_some'::regnamespace ORDER BY 1;
CREATE SCHEMA imp_except;
IMPORT FOREIGN SCHEMA comet EXCEPT (raw_metrics, images, tags)
    FROM SERVER comet INTO imp_except;
SELECT count(*) AS tables FROM pg_class WHERE relnamespace = 'imp_except'::regnamespace;
SELECT relname FROM pg_class WHERE relnamespace = 'imp_all'::regnamespace
EXCEPT SELECT relname FROM pg_class WHERE relnamespace = 'imp_except'::regnamespace ORDER BY 1;

-- only the remote schema "comet" exists
IMPORT FOREIGN SCHEMA public FROM SERVER comet INTO imp_some;
-- importing twice collides, as for any FDW
IMPORT FOREIGN SCHEMA comet LIMIT TO (experiments) FROM SERVER comet INTO imp_some;

-- the comments come from the extension's event trigger; a table that is
-- not comet_fdw's is left alone
SELECT comet_fdw_comment_table('imp_some.experiments');
CREATE TABLE not_foreign (x int);
SELECT comet_fdw_comment_table('not_foreign');
DROP TABLE not_foreign;

SET client_min_messages = warning;
DROP SCHEMA imp_all, imp_some, imp_except CASCADE;
RESET client_min_messages;
