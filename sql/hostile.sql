--
-- hostile: broken and surprising responses give the right value, NULL, or a
-- clear error naming the endpoint (and the column) -- never a crash or
-- garbage.  Each case answers the next request with exactly the bytes shown
-- (test/fakectl body PATH TEXT).
--
\set ds `curl -s "$COMET_FAKE/_fake/dataset"`
SELECT e->>'experimentKey' AS k FROM jsonb_array_elements((:'ds'::jsonb)->'experiments') e
 WHERE e->>'projectName' = 'mnist' ORDER BY e->>'startTimeMillis' LIMIT 1 \gset
\unset ds
SET comet_fdw.retry_base_ms = 10;
CREATE TEMP VIEW p AS SELECT name, value_current, timestamp_current
  FROM comet.raw_params WHERE experiment_key = :'k';

-- missing fields and nulls are NULL; unknown fields are ignored
\set x `"$COMET_ROOT/test/fakectl" body experiment/parameters '{"values": [{"name": "a"}, {"name": null, "valueCurrent": null, "timestampCurrent": null, "extra": [1, {"deep": true}]}], "more": 1}'`
SELECT * FROM p;
-- a null where a list belongs is an empty list; an empty list is no rows
\set x `"$COMET_ROOT/test/fakectl" body experiment/parameters '{"values": null}'`
SELECT count(*) FROM p;
\set x `"$COMET_ROOT/test/fakectl" body experiment/parameters '{"values": []}'`
SELECT count(*) FROM p;
-- a text column takes a number, boolean, object or array as its JSON text
\set x `"$COMET_ROOT/test/fakectl" body experiment/parameters '{"values": [{"name": 12345, "valueCurrent": {"x": [1, 2]}}, {"name": true, "valueCurrent": [null, "a"]}]}'`
SELECT * FROM p;
-- epoch milliseconds sent as a string or a float still make a time
\set x `"$COMET_ROOT/test/fakectl" body experiment/parameters '{"values": [{"name": "s", "timestampCurrent": "1700000000000"}, {"name": "f", "timestampCurrent": 1700000000000.0}]}'`
SELECT * FROM p ORDER BY name;

-- wrong kinds are errors naming the column
\set x `"$COMET_ROOT/test/fakectl" body experiment/parameters '{"values": [{"name": "t", "timestampCurrent": {"when": 1}}]}'`
SELECT * FROM p;
\set x `"$COMET_ROOT/test/fakectl" body experiment/parameters '{"values": [{"name": "t", "timestampCurrent": "yesterday-ish"}]}'`
SELECT * FROM p;
\set x `"$COMET_ROOT/test/fakectl" body experiment/system-details '{"pid": "not a number"}'`
SELECT pid FROM comet.system_details WHERE experiment_key = :'k';
\set x `"$COMET_ROOT/test/fakectl" body experiment/system-details '{"pid": "4242", "totalRam": "1.5e10", "command": "python x.py"}'`
SELECT pid, total_ram FROM comet.system_details WHERE experiment_key = :'k';
\set x `"$COMET_ROOT/test/fakectl" body experiment/system-details '{"command": "python x.py"}'`
SELECT command FROM comet.system_details WHERE experiment_key = :'k';
\set x `"$COMET_ROOT/test/fakectl" body experiment/system-details '{"pid": true}'`
SELECT pid FROM comet.system_details WHERE experiment_key = :'k';
-- rows that are not objects, lists that are not lists
\set x `"$COMET_ROOT/test/fakectl" body experiment/parameters '{"values": [1, "two"]}'`
SELECT * FROM p;
\set x `"$COMET_ROOT/test/fakectl" body experiment/parameters '{"values": {"name": "a"}}'`
SELECT * FROM p;
\set x `"$COMET_ROOT/test/fakectl" body experiment/parameters '["values"]'`
SELECT * FROM p;

-- huge numbers: the column's range decides
\set x `"$COMET_ROOT/test/fakectl" body experiment/parameters '{"values": [{"name": "big", "timestampCurrent": 99999999999999999999999}]}'`
SELECT * FROM p;
\set x `"$COMET_ROOT/test/fakectl" body experiment/parameters '{"values": [{"name": "big", "timestampCurrent": 9000000000000001}]}'`
SELECT * FROM p;
\set x `"$COMET_ROOT/test/fakectl" body experiment/system-details '{"pid": 18446744073709551615, "totalRam": 1e308}'`
SELECT pid FROM comet.system_details WHERE experiment_key = :'k';
\set x `"$COMET_ROOT/test/fakectl" body experiment/system-details '{"totalRam": 1e308, "pid": 1e3}'`
SELECT pid, total_ram FROM comet.system_details WHERE experiment_key = :'k';
\set x `"$COMET_ROOT/test/fakectl" body experiment/system-details '{"pid": 1.5}'`
SELECT pid FROM comet.system_details WHERE experiment_key = :'k';
\set x `"$COMET_ROOT/test/fakectl" body experiment/system-details '{"pid": 9223372036854775807, "totalRam": -0.0}'`
SELECT pid, total_ram FROM comet.system_details WHERE experiment_key = :'k';

-- NUL characters: text cannot hold them, so an error (jsonb refuses them too)
\set x `"$COMET_ROOT/test/fakectl" body experiment/tags '{"tags": ["a\u0000b"]}'`
SELECT tag FROM comet.tags WHERE experiment_key = :'k';
-- a raw NUL byte or a control character in a string is not JSON
\set x `"$COMET_ROOT/test/fakectl" bytes experiment/tags '{"tags": ["a\x00b"]}'`
SELECT tag FROM comet.tags WHERE experiment_key = :'k';
-- invalid UTF-8 is refused before it can reach a text value
\set x `"$COMET_ROOT/test/fakectl" bytes experiment/tags '{"tags": ["caf\xc3"]}'`
SELECT tag FROM comet.tags WHERE experiment_key = :'k';
\set x `curl -s "$COMET_FAKE/_fake/fault?path=experiment/tags&kind=invalid_utf8&times=1"`
SELECT tag FROM comet.tags WHERE experiment_key = :'k';
-- valid escapes and non-BMP characters are fine
\set x `"$COMET_ROOT/test/fakectl" body experiment/tags '{"tags": ["\u00fc\u00f1\u00ee", "\ud83d\ude80 launch", "tab\there"]}'`
SELECT tag FROM comet.tags WHERE experiment_key = :'k' ORDER BY 1;

-- deep nesting is refused, within limits
SELECT repeat('[', 200) || repeat(']', 200) AS deep \gset
\set body '{"tags": ' :deep '}'
\set x `"$COMET_ROOT/test/fakectl" body experiment/tags :'body'`
SELECT tag FROM comet.tags WHERE experiment_key = :'k';
SELECT '{"tags": [' || repeat('[', 40) || '"x"' || repeat(']', 40) || ']}' AS body \gset
\set x `"$COMET_ROOT/test/fakectl" body experiment/tags :'body'`
SELECT length(tag) FROM comet.tags WHERE experiment_key = :'k';
-- jsonb columns take nested values as they are
\set x `"$COMET_ROOT/test/fakectl" body experiment/system-details '{"gpuStaticInfoList": [{"name": "A100", "memory": {"total": 42949672960, "unit": "B"}}]}'`
SELECT gpus FROM comet.system_details WHERE experiment_key = :'k';

-- empty body, trailing garbage, two documents
\set x `"$COMET_ROOT/test/fakectl" body experiment/tags ''`
SELECT tag FROM comet.tags WHERE experiment_key = :'k';
\set x `"$COMET_ROOT/test/fakectl" body experiment/tags '{"tags": []} trailing'`
SELECT tag FROM comet.tags WHERE experiment_key = :'k';
\set x `"$COMET_ROOT/test/fakectl" body experiment/tags '{"tags": []}{"tags": ["x"]}'`
SELECT tag FROM comet.tags WHERE experiment_key = :'k';
-- the fake's own wrong_type fault: strings replaced by objects and numbers
\set x `curl -s "$COMET_FAKE/_fake/faults/clear"; curl -s "$COMET_FAKE/_fake/fault?path=experiment/parameters&kind=wrong_type&times=1"`
SELECT name, value_current FROM p ORDER BY 1;

-- the backend is fine after all of this
\set x `curl -s "$COMET_FAKE/_fake/faults/clear"`
SELECT count(*) > 0 AS ok FROM p;
