\set ECHO none
-- included by the suites whose EXPLAIN output PostgreSQL prints differently
-- from one major version to the next.  pg_temp.explain(statement) runs an
-- EXPLAIN statement and returns its lines ("QUERY PLAN", as EXPLAIN does)
-- with what is cosmetic made the same on 15 to 18; comet_fdw's own lines
-- (Comet Request, Keys, Requests, Cache Hits ...) are never touched:
-- - 15 and 16 name an init plan's output $0 and print "InitPlan 1 (returns
--   $0)"; 17+ print (InitPlan 1).col1 and "InitPlan 1": the 17 form is kept;
-- - 18 prints actual rows with two decimals: "rows=30.00" becomes "rows=30";
-- - in a filter, an equality of two column references (a join clause)
--   gets its operands in sorted order: 15 prints the outer side first,
--   16+ the inner one.
-- Use BUFFERS OFF with ANALYZE: 18 turns buffers on by default.
-- (ECHO is off here so that the expected files do not repeat this file.)
CREATE FUNCTION pg_temp.explain(stmt text) RETURNS TABLE ("QUERY PLAN" text)
LANGUAGE plpgsql AS $f$
DECLARE
    lines text[] := '{}';
    params text[] := '{}';
    names text[] := '{}';
    l text;
    m text[];
    p text;
    i int;
    -- a column reference: name or rel.name, either quoted or not
    col text := '(?:(?:"[^"]+"|\w+)\.)?(?:"[^"]+"|\w+)';
BEGIN
    FOR l IN EXECUTE stmt LOOP
        lines := lines || l;
        m := regexp_match(l, 'InitPlan (\d+) \(returns ([^)]*)\)');
        IF m IS NOT NULL THEN
            i := 0;
            FOREACH p IN ARRAY string_to_array(m[2], ',') LOOP
                i := i + 1;
                params := params || p;
                names := names || format('(InitPlan %s).col%s', m[1], i);
            END LOOP;
        END IF;
    END LOOP;
    FOREACH l IN ARRAY lines LOOP
        l := regexp_replace(l, '(InitPlan \d+) \(returns [^)]*\)', '\1');
        FOR i IN 1 .. coalesce(array_length(params, 1), 0) LOOP
            l := regexp_replace(l, '\' || params[i] || '(?!\d)', names[i], 'g');
        END LOOP;
        l := regexp_replace(l, '(actual rows=\d+)\.00(?!\d)', '\1', 'g');
        IF l ~ '^\s*(?:Join )?Filter: ' THEN
            FOR m IN SELECT regexp_matches(l, format('\((%s) = (%s)\)', col, col), 'g') LOOP
                IF m[1] COLLATE "C" > m[2] THEN
                    l := replace(l, format('(%s = %s)', m[1], m[2]), format('(%s = %s)', m[2], m[1]));
                END IF;
            END LOOP;
        END IF;
        "QUERY PLAN" := l;
        RETURN NEXT;
    END LOOP;
END
$f$;
\set ECHO all
