-- included by the suites that compare rows with the fake's dataset:
-- ds(j) holds the fake's own dump of its dataset (REST shapes), ms() turns
-- epoch milliseconds into timestamptz, same() compares two queries' rows
-- as multisets and says how they differ.
\set ds `curl -s "$COMET_FAKE/_fake/dataset"`
CREATE TEMP TABLE ds AS SELECT :'ds'::jsonb AS j;
\unset ds
CREATE FUNCTION pg_temp.ms(bigint) RETURNS timestamptz
    LANGUAGE sql IMMUTABLE AS $$ SELECT 'epoch'::timestamptz + $1 * interval '1 millisecond' $$;
CREATE FUNCTION pg_temp.same(actual text, expected text) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    n_a bigint;
    n_e bigint;
    missing bigint;
    extra bigint;
BEGIN
    EXECUTE format('SELECT count(*) FROM (%s) a', actual) INTO n_a;
    EXECUTE format('SELECT count(*) FROM (%s) e', expected) INTO n_e;
    EXECUTE format('SELECT count(*) FROM ((%s) EXCEPT ALL (%s)) x', expected, actual) INTO missing;
    EXECUTE format('SELECT count(*) FROM ((%s) EXCEPT ALL (%s)) x', actual, expected) INTO extra;
    RETURN format('%s rows, %s expected, %s missing, %s unexpected', n_a, n_e, missing, extra);
END
$$;
