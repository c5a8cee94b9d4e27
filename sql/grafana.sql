--
-- grafana: what a Grafana panel sends, with $__timeFilter and a
-- multi-value variable expanded, returns the right points with one summary
-- request and one series request per experiment and metric, no more.
--
\set ds `curl -s "$COMET_FAKE/_fake/dataset"`
CREATE TEMP TABLE ds AS SELECT :'ds'::jsonb AS j;
\unset ds
SELECT string_agg(quote_literal(k), ',' ORDER BY k) AS keys, count(*) AS n,
       min(k) AS k1, max(k) AS k2
  FROM (SELECT e->>'experimentKey' AS k FROM ds, jsonb_array_elements(j->'experiments') e
         WHERE e->>'projectName' = 'mnist' ORDER BY 1 LIMIT 2) x \gset
-- the time window: the whole of the first key's run but its last point
SELECT min(t) AS t_from, max(t) - interval '1 ms' AS t_to
  FROM (SELECT 'epoch'::timestamptz + (v->>'timestamp')::bigint * interval '1 ms' AS t
          FROM ds, jsonb_each(j->'experiment_data'->:'k1'->'metrics') m,
               jsonb_array_elements(m.value) v) x \gset
\set x `curl -s "$COMET_FAKE/_fake/reset"`

SELECT "time", metric_name, value FROM comet.metrics
 WHERE experiment_key IN (:keys)
   AND "time" BETWEEN :'t_from' AND :'t_to'
 ORDER BY 1, 2 \g /dev/null
\set log `curl -s "$COMET_FAKE/_fake/requests"`
SELECT r->>'path' AS path, count(*) AS requests,
       count(DISTINCT r->'query'->>'experimentKey') AS experiments,
       count(DISTINCT r->'query'->>'metricName') AS metrics
  FROM jsonb_array_elements(:'log'::jsonb) r GROUP BY 1 ORDER BY 1;

-- the same points as in the dataset, in time order
SELECT (SELECT array_agg(("time", metric_name, value)::text ORDER BY "time", metric_name, value)
          FROM comet.metrics
         WHERE experiment_key IN (:keys) AND "time" BETWEEN :'t_from' AND :'t_to') =
       (SELECT array_agg((t, m, v)::text ORDER BY t, m, v)
          FROM (SELECT 'epoch'::timestamptz + (p->>'timestamp')::bigint * interval '1 ms' AS t,
                       mm.key AS m, comet_fdw_to_float8(p->>'metricValue') AS v
                  FROM ds, jsonb_each(j->'experiment_data') ed, jsonb_each(ed.value->'metrics') mm,
                       jsonb_array_elements(mm.value) p
                 WHERE ed.key IN (:keys)) x
         WHERE t BETWEEN :'t_from' AND :'t_to') AS same_points;

-- a multi-value variable as Grafana's = ANY('{a,b}') and a single metric
\set x `curl -s "$COMET_FAKE/_fake/reset"`
SELECT count(*) > 0 AS has_points FROM comet.metrics
 WHERE experiment_key = ANY (('{' || :'k1' || ',' || :'k2' || '}')::text[])
   AND metric_name = 'loss' AND "time" >= :'t_from';
\set log `curl -s "$COMET_FAKE/_fake/requests"`
SELECT r->>'path' AS path, count(*) AS requests FROM jsonb_array_elements(:'log'::jsonb) r
 GROUP BY 1 ORDER BY 1;
