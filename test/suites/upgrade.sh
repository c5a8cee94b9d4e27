#!/usr/bin/env bash
# shellcheck disable=SC2154  # S_FAKE_* are set by s_start_fake (printf -v)
# test/suites/upgrade.sh: ALTER EXTENSION comet_fdw UPDATE.  For every earlier version with a full
# install script (comet_fdw--X.sql), one database is made at X and used as a user would: a
# server, a user mapping, IMPORT FOREIGN SCHEMA, the views, a non-superuser reading through
# them.  Then it is updated to the default version, and
#   - the same queries give the same answers, through the tables and the old views;
#   - comet_fdw_create_views() runs again (what the README tells users to do after an update);
#   - every object of the extension (whatever objects exist: pg_depend deptype 'e') has the same
#     definition, dependencies and comment as in a database where the default version was
#     created fresh, and so do the imported tables and the views, and the queries' answers.
# Nothing here names what an update changes, so it keeps holding as comet_fdw--1.0--1.1.sql grows.
set -euo pipefail
# shellcheck source=test/suites/lib/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
s_init upgrade

default=$(sed -nE "s/^default_version *= *'([^']+)'.*/\1/p" "$COMET_ROOT/comet_fdw.control")
olds=()
for f in "$COMET_ROOT"/comet_fdw--*.sql; do
  v=$(basename "$f" .sql)
  v=${v#comet_fdw--}
  case $v in *--*) continue ;; esac            # an update script
  [ "$v" = "$default" ] || olds+=("$v")
done
s_log "default version $default; earlier versions with an install script: ${olds[*]:-none}"
if [ "${#olds[@]}" -eq 0 ]; then
  s_fail "no earlier version to update from (comet_fdw--X.sql besides the default)"
  s_done
  exit 1
fi

s_start_fake up --seed 42 --api-key "$COMET_TEST_KEY"
read -r PID KEY1 < <(s_mnist up)
NEWDB=${S_DB}_fresh
ROLE=regress_upgrade_reader
db_drop() { psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $1 WITH (FORCE)" >/dev/null 2>&1 || true; }
s_on_exit "psql -X -q -d postgres -c 'DROP ROLE IF EXISTS $ROLE'"
s_on_exit "db_drop $NEWDB"
db_drop "$NEWDB"
psql -X -q -d postgres -c 'SET client_min_messages = warning' -c "DROP ROLE IF EXISTS $ROLE" -c "CREATE ROLE $ROLE NOSUPERUSER"

# q DB [psql args]: run stdin in DB, unaligned, stop at the first error
q() {
  local db=$1
  shift
  psql -X -q -At -v ON_ERROR_STOP=1 -d "$db" "$@"
}

# A user's set-up: server, mappings (a superuser and a plain role), imported schema, views.
user_setup() {
  q "$1" -v url="$S_FAKE_URL_up" -v key="$COMET_TEST_KEY" -v role="$ROLE" <<'SQL'
CREATE SERVER comet FOREIGN DATA WRAPPER comet_fdw OPTIONS (url :'url', cache_ttl_s '0');
CREATE USER MAPPING FOR CURRENT_USER SERVER comet OPTIONS (api_key :'key');
CREATE USER MAPPING FOR :"role" SERVER comet OPTIONS (api_key :'key');
CREATE SCHEMA comet;
IMPORT FOREIGN SCHEMA comet FROM SERVER comet INTO comet;
SELECT comet_fdw_create_views('comet') \g /dev/null
GRANT USAGE ON SCHEMA comet TO :"role";
GRANT SELECT ON ALL TABLES IN SCHEMA comet TO :"role";
GRANT USAGE ON FOREIGN SERVER comet TO :"role";
SQL
}

# What a user reads: tables, every view, a join as a generic-plan prepared statement, the
# functions, and a plain role through the security_invoker views.
workload() {
  q "$1" -v pid="$PID" -v k="$KEY1" -v role="$ROLE" <<'SQL'
SELECT count(*) FROM comet.workspaces;
SELECT project_name, num_experiments FROM comet.projects ORDER BY 1;
SELECT experiment_key, experiment_name, archived FROM comet.experiments WHERE project_id = :'pid' ORDER BY 1;
SELECT name, value, value_numeric FROM comet.params WHERE experiment_key = :'k' ORDER BY 1;
SELECT name, value, value_numeric FROM comet.others WHERE experiment_key = :'k' ORDER BY 1;
SELECT metric_name, step, "time", value FROM comet.metrics
 WHERE experiment_key = :'k' AND metric_name = 'loss' ORDER BY "time", step, value;
SELECT metric_name, current, min, max, step_current FROM comet.metric_summaries WHERE experiment_key = :'k' ORDER BY 1;
SELECT params FROM comet.experiment_params WHERE experiment_key = :'k';
SELECT tag FROM comet.tags WHERE experiment_key = :'k' ORDER BY 1;
SET plan_cache_mode = force_generic_plan;
PREPARE j(text) AS
  SELECT e.experiment_key, p.name, p.value
    FROM comet.experiments e JOIN comet.params p ON p.experiment_key = e.experiment_key
   WHERE e.project_id = $1 ORDER BY 1, 2;
EXECUTE j(:'pid');
SELECT comet_fdw_to_float8('1e2'), comet_fdw_cache_clear() >= 0, (SELECT requests > 0 FROM comet_fdw_stats());
SET ROLE :"role";
SELECT count(*) FROM comet.params WHERE experiment_key = :'k';
RESET ROLE;
SQL
}

# Every member of the extension: its definition, what it depends on (by name), its comment.
# OIDs differ between databases, so catalog rows are compared without their OID columns and
# what those pointed at is compared through pg_depend, by pg_describe_object().
describe_setup() {
  q "$1" <<'SQL'
CREATE SCHEMA upgrade_check;
CREATE FUNCTION upgrade_check.catalog_row(cls regclass, obj oid) RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
    j jsonb;
    c name;
BEGIN
    EXECUTE format('SELECT to_jsonb(t) FROM %s t WHERE t.oid = $1', cls) INTO j USING obj;
    FOR c IN SELECT attname FROM pg_attribute
              WHERE attrelid = cls AND attnum > 0 AND NOT attisdropped
                AND atttypid IN ('oid'::regtype, 'regproc'::regtype, 'regtype'::regtype,
                                 'regclass'::regtype, 'oidvector'::regtype, 'oid[]'::regtype,
                                 'pg_node_tree'::regtype, 'xid'::regtype)
    LOOP
        j := j - c::text;
    END LOOP;
    RETURN j;
END
$$;
CREATE FUNCTION upgrade_check.members(ext name)
RETURNS TABLE (object text, definition text, depends_on text, comment text)
LANGUAGE sql AS $$
SELECT pg_describe_object(d.classid, d.objid, 0),
       concat_ws(E'\n',
         CASE WHEN p.prokind IN ('f', 'p') THEN pg_get_functiondef(d.objid) END,
         CASE WHEN c.relkind IN ('v', 'm') THEN pg_get_viewdef(d.objid) END,
         (SELECT string_agg(a.attname || ' ' || format_type(a.atttypid, a.atttypmod)
                            || coalesce(' ' || array_to_string(a.attfdwoptions, ','), '')
                            || coalesce(' -- ' || col_description(a.attrelid, a.attnum), ''),
                            E'\n' ORDER BY a.attnum)
            FROM pg_attribute a
           WHERE d.classid = 'pg_class'::regclass AND a.attrelid = d.objid
             AND a.attnum > 0 AND NOT a.attisdropped),
         upgrade_check.catalog_row(d.classid, d.objid)::text),
       (SELECT string_agg(pg_describe_object(r.refclassid, r.refobjid, r.refobjsubid)
                          || ' (' || r.deptype::text || ')', '; '
                          ORDER BY pg_describe_object(r.refclassid, r.refobjid, r.refobjsubid), r.deptype)
          FROM pg_depend r
         WHERE r.classid = d.classid AND r.objid = d.objid AND r.deptype <> 'e'),
       obj_description(d.objid, d.classid::regclass::text)
  FROM pg_depend d
  LEFT JOIN pg_proc p ON d.classid = 'pg_proc'::regclass AND p.oid = d.objid
  LEFT JOIN pg_class c ON d.classid = 'pg_class'::regclass AND c.oid = d.objid
 WHERE d.refclassid = 'pg_extension'::regclass AND d.deptype = 'e'
   AND d.refobjid = (SELECT oid FROM pg_extension WHERE extname = ext)
$$;
SQL
}

describe() {
  q "$1" <<'SQL'
SELECT 'extension ' || e.extname, concat_ws(' ', e.extversion, e.extrelocatable, n.nspname,
       e.extconfig::regclass[]::text, e.extcondition::text)
  FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace WHERE e.extname = 'comet_fdw';
SELECT * FROM upgrade_check.members('comet_fdw') ORDER BY 1;
-- what the user made with it: the imported tables and the views
SELECT c.relname, c.relkind, c.reloptions, ft.ftoptions, obj_description(c.oid, 'pg_class'),
       CASE WHEN c.relkind = 'v' THEN pg_get_viewdef(c.oid) END,
       (SELECT string_agg(a.attname || ' ' || format_type(a.atttypid, a.atttypmod)
                          || coalesce(' ' || array_to_string(a.attfdwoptions, ','), '')
                          || coalesce(' -- ' || col_description(c.oid, a.attnum), ''),
                          E'\n' ORDER BY a.attnum)
          FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped)
  FROM pg_class c LEFT JOIN pg_foreign_table ft ON ft.ftrelid = c.oid
 WHERE c.relnamespace = 'comet'::regnamespace
 ORDER BY 1;
SQL
}

# same NAME FILE1 FILE2: a check that the two files are equal (a diff when not)
same() {
  if cmp -s "$2" "$3"; then
    s_ok "$1"
  else
    s_fail "$1" "$(diff -u "$2" "$3" | head -n 60)"
  fi
}

# ---- the fresh database at the default version -----------------------------------------------
psql -X -q -d postgres -c "CREATE DATABASE $NEWDB"
q "$NEWDB" -c 'CREATE EXTENSION comet_fdw'
s_check "CREATE EXTENSION makes version $default" \
  test "$(q "$NEWDB" -c "SELECT extversion FROM pg_extension WHERE extname = 'comet_fdw'")" = "$default"
user_setup "$NEWDB"
describe_setup "$NEWDB"
workload "$NEWDB" >"$S_DIR/fresh.out"
describe "$NEWDB" >"$S_DIR/fresh.describe"
n=$(q "$NEWDB" -c "SELECT count(*) FROM upgrade_check.members('comet_fdw')")
s_check "the extension has members to compare ($n)" test "$n" -gt 5
s_check "comet_fdw_version()'s comment no longer names json-c" \
  test "$(q "$NEWDB" -c "SELECT obj_description('comet_fdw_version()'::regprocedure) ILIKE '%json-c%'")" = f

# ---- from each earlier version ---------------------------------------------------------------
for old in "${olds[@]}"; do
  db=${S_DB}_from_${old//[^0-9a-zA-Z]/_}
  s_on_exit "db_drop $db"
  db_drop "$db"
  psql -X -q -d postgres -c "CREATE DATABASE $db"
  path=$(q postgres -c "SELECT path FROM pg_extension_update_paths('comet_fdw')
                         WHERE source = '$old' AND target = '$default'")
  s_check "$old -> $default: an update path exists (${path:-none})" test -n "$path"
  q "$db" -c "CREATE EXTENSION comet_fdw VERSION '$old'"
  s_check "$old: CREATE EXTENSION ... VERSION '$old'" \
    test "$(q "$db" -c "SELECT extversion FROM pg_extension WHERE extname = 'comet_fdw'")" = "$old"
  user_setup "$db"
  workload "$db" >"$S_DIR/$old.before.out"
  s_check "$old: the queries answer before the update ($(wc -l <"$S_DIR/$old.before.out") lines)" \
    test -s "$S_DIR/$old.before.out"

  q "$db" -c 'ALTER EXTENSION comet_fdw UPDATE'
  s_check "$old: ALTER EXTENSION comet_fdw UPDATE reaches $default" \
    test "$(q "$db" -c "SELECT extversion FROM pg_extension WHERE extname = 'comet_fdw'")" = "$default"
  if workload "$db" >"$S_DIR/$old.after.out" 2>&1; then
    same "$old: after the update, the same answers through the tables and the old views" \
      "$S_DIR/$old.before.out" "$S_DIR/$old.after.out"
  else
    s_fail "$old: after the update, the queries fail" "$(tail -n 5 "$S_DIR/$old.after.out")"
  fi
  if q "$db" -c "SELECT comet_fdw_create_views('comet')" >"$S_DIR/$old.views.out" 2>&1; then
    s_ok "$old: comet_fdw_create_views('comet') runs again after the update"
  else
    s_fail "$old: comet_fdw_create_views('comet') fails after the update" "$(cat "$S_DIR/$old.views.out")"
  fi
  workload "$db" >"$S_DIR/$old.recreated.out" 2>&1 || true
  same "$old: with the views made again, the same answers as a fresh $default" \
    "$S_DIR/fresh.out" "$S_DIR/$old.recreated.out"
  describe_setup "$db"
  describe "$db" >"$S_DIR/$old.describe"
  same "$old: every extension object, imported table and view is defined and commented as in a fresh $default" \
    "$S_DIR/fresh.describe" "$S_DIR/$old.describe"
  q "$db" -c "DROP OWNED BY $ROLE" >/dev/null
  db_drop "$db"
done
q "$NEWDB" -c "DROP OWNED BY $ROLE" >/dev/null
db_drop "$NEWDB"

s_done
