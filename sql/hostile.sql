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
-- a 200 without its list is an error, a null list included; an empty list
-- is no rows
\set x `"$COMET_ROOT/test/fakectl" body experiment/parameters '{"values": null}'`
SELECT count(*) FROM p;
\set x `"$COMET_ROOT/test/fakectl" body experiment/parameters '{"other": []}'`
SELECT count(*) FROM p;
\set x `"$COMET_ROOT/test/fakectl" body experiment/parameters '{"values": []}'`
SELECT count(*) FROM p;
-- no phantom rows: a null element of a list carries no object, so no row
-- (for lists of objects and lists of strings alike)
\set x `"$COMET_ROOT/test/fakectl" body experiment/parameters '{"values": [null, {"name": "a"}, null]}'`
SELECT * FROM p;
\set x `"$COMET_ROOT/test/fakectl" body experiment/parameters '{"values": [null, null]}'`
SELECT count(*) FROM p;
\set x `"$COMET_ROOT/test/fakectl" body experiment/tags '{"tags": [null, "best", null]}'`
SELECT tag FROM comet.tags WHERE experiment_key = :'k';
-- a one-object answer with no field at all is no row
\set x `"$COMET_ROOT/test/fakectl" body experiment/system-details '{}'`
SELECT count(*) FROM comet.system_details WHERE experiment_key = :'k';
-- a list that is an optional field of an object (installed packages in the
-- system details) is no rows when Comet leaves it out or sends null: a
-- project-wide query (or Metabase's scan) does not fail whole for it
\set x `curl -s "$COMET_FAKE/_fake/faults/clear"; curl -s "$COMET_FAKE/_fake/fault?path=experiment/system-details&kind=body&body_b64=$(printf '%s' '{"hostname": "gpu-1"}' | base64 -w0 | tr '+/' '-_')&times=1000"`
SELECT count(*) AS packages FROM comet.installed_packages
 WHERE workspace_name = 'fake-user' AND project_name = 'mnist';
SELECT count(*) AS experiments, count(*) FILTER (WHERE hostname = 'gpu-1') AS with_host
  FROM comet.system_details WHERE workspace_name = 'fake-user' AND project_name = 'mnist';
\set x `"$COMET_ROOT/test/fakectl" body experiment/system-details '{"hostname": "gpu-1", "installedPackages": null}'`
SELECT count(*) AS packages FROM comet.installed_packages WHERE experiment_key = :'k';
\set x `curl -s "$COMET_FAKE/_fake/faults/clear"`
-- an experiment listed without its archived flag is an active one, listed
-- once, even by a server that answers both listings (archived=false and
-- archived=true) with the same list
\set x `curl -s "$COMET_FAKE/_fake/fault?path=experiments&kind=body&times=2&body_b64=$(printf '%s' '{"experiments": [{"experimentKey": "0123456789abcdef0123456789abcdef", "projectId": "p1"}, {"experimentKey": "fedcba9876543210fedcba9876543210", "projectId": "p1", "archived": true}]}' | base64 -w0 | tr '+/' '-_')"`
SELECT experiment_key, archived FROM comet.experiments WHERE project_id = 'p1' ORDER BY 1;
\set x `curl -s "$COMET_FAKE/_fake/faults/clear"`
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
