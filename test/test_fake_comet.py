"""Self-test of test/fake_comet.py (stdlib unittest; a few seconds).

Run: python3 -m unittest discover -s test -p 'test_fake_comet.py'
Each server runs as a real subprocess on a free port, exactly as the test runner starts it.
"""

import hashlib
import http.client
import json
import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import unittest
from urllib.parse import quote, urlencode

HERE = os.path.dirname(os.path.abspath(__file__))
FAKE = os.path.join(HERE, "fake_comet.py")
RECORDED = os.path.join(HERE, "fixtures", "recorded")
KEY = "fake-KEY-5e3cret"                   # not the default key
API = "/api/rest/v2/"


class FakeProc:
    """A fake_comet.py subprocess; port read from its --port-file."""

    def __init__(self, *args, tls=None):
        self.tmp = tempfile.mkdtemp(prefix="fake-comet-test-")
        portfile = os.path.join(self.tmp, "port")
        cmd = [sys.executable, FAKE, "--port", "0", "--port-file", portfile, "--quiet"]
        cmd += list(args)
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while not os.path.exists(portfile):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                out, err = self.proc.communicate(timeout=5)
                raise RuntimeError("fake did not start: %r %r" % (out, err))
            time.sleep(0.02)
        with open(portfile) as f:
            self.port = int(f.read())
        self.line = self.proc.stdout.readline().decode()
        self.tls = tls

    def conn(self, timeout=10):
        if self.tls:
            return http.client.HTTPSConnection("127.0.0.1", self.port, timeout=timeout,
                                               context=self.tls)
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)

    def request(self, path, method="GET", body=None, key=KEY, headers=None, timeout=10):
        """-> (status, headers, body bytes) on a fresh connection."""
        c = self.conn(timeout)
        try:
            h = dict(headers or {})
            if key is not None:
                h["Authorization"] = key
            if body is not None:
                body = json.dumps(body).encode()
                h["Content-Type"] = "application/json"
            c.request(method, path, body=body, headers=h)
            r = c.getresponse()
            return r.status, r, r.read()
        finally:
            c.close()

    def api(self, rel, query=None, **kw):
        path = API + rel + ("?" + urlencode(query, quote_via=quote) if query else "")
        return self.request(path, **kw)

    def api_json(self, rel, query=None, **kw):
        status, _, body = self.api(rel, query, **kw)
        return status, json.loads(body.decode("utf-8"))

    def control(self, name, query=None):
        path = "/_fake/" + name + ("?" + urlencode(query, quote_via=quote) if query else "")
        status, _, body = self.request(path, key=None)
        assert status == 200, (status, body)
        return body.decode("utf-8")

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc.stdout.close()
        self.proc.stderr.close()
        shutil.rmtree(self.tmp, ignore_errors=True)
        return self.proc.returncode


class GeneratedTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.fake = FakeProc("--seed", "42", "--api-key", KEY)
        cls.ds = json.loads(cls.fake.control("dataset"))

    @classmethod
    def tearDownClass(cls):
        cls.fake.stop()

    def setUp(self):
        self.assertEqual(self.fake.control("reset"), "ok")

    def exp(self, pred):
        return [e for e in self.ds["experiments"] if pred(e)]

    # --- basics ---------------------------------------------------------------------------
    def test_listening_line(self):
        self.assertEqual(self.fake.line.strip(), "listening on http://127.0.0.1:%d" % self.fake.port)

    def test_auth(self):
        for key, hdrs in ((None, {}), ("wrong", {}), (None, {"Authorization": "Bearer " + KEY})):
            status, r, body = self.fake.api("workspaces", key=key, headers=hdrs)
            self.assertEqual(status, 401)
            self.assertEqual(json.loads(body), {"msg": "Invalid or missing API key", "code": 401,
                                                "sdk_error_code": 90212, "data": None})
        status, _, _ = self.fake.api("workspaces", key=None, headers={"Comet-Sdk-Api": KEY})
        self.assertEqual(status, 200)
        status, r, body = self.fake.api("workspaces")
        self.assertEqual(status, 200)
        self.assertEqual(r.getheader("Content-Type"), "application/json")
        self.assertEqual(int(r.getheader("Content-Length")), len(body))
        self.assertEqual(json.loads(body), {"workspaceNames": ["fake-user", "team-vision"]})

    def test_keep_alive(self):
        c = self.fake.conn()
        socks = set()
        for _ in range(3):
            c.request("GET", API + "account-details", headers={"Authorization": KEY})
            r = c.getresponse()
            r.read()
            self.assertEqual(r.status, 200)
            socks.add(id(c.sock))
        c.close()
        self.assertEqual(len(socks), 1)

    def test_projects_and_quirks(self):
        projects = []
        for ws in self.ds["workspaces"]:
            status, body = self.fake.api_json("projects", {"workspaceName": ws})
            self.assertEqual(status, 200)
            projects += body["projects"]
        self.assertEqual(projects, self.ds["projects"])
        self.assertIn("isPublic", projects[-1])
        self.assertNotIn("public", projects[-1])
        self.assertIn("futureField", projects[0])
        uni = [p for p in projects if p["projectName"] == "ünïcode-μ"][0]
        status, body = self.fake.api_json("project", {"workspaceName": "fake-user",
                                                      "projectName": "ünïcode-μ"})
        self.assertEqual((status, body), (200, uni))
        status, body = self.fake.api_json("project", {"projectId": uni["projectId"]})
        self.assertEqual((status, body), (200, uni))
        slash = [p for p in projects if p["projectName"] == "cifar 10/resnet"][0]
        status, body = self.fake.api_json("experiments", {"workspaceName": slash["workspaceName"],
                                                          "projectName": "cifar 10/resnet"})
        self.assertEqual(status, 200)
        self.assertTrue(body["experiments"])

    def test_experiments_archived_filter(self):
        for p in self.ds["projects"]:
            mine = self.exp(lambda e: e["projectId"] == p["projectId"])
            _, live = self.fake.api_json("experiments", {"projectId": p["projectId"]})
            _, live2 = self.fake.api_json("experiments", {"projectId": p["projectId"],
                                                          "archived": "FALSE"})
            _, arch = self.fake.api_json("experiments", {"projectId": p["projectId"],
                                                         "archived": "True"})
            self.assertEqual(live, live2)
            self.assertTrue(all(not e["archived"] for e in live["experiments"]))
            self.assertTrue(arch["experiments"])
            self.assertTrue(all(e["archived"] for e in arch["experiments"]))
            self.assertEqual(sorted(e["experimentKey"] for e in mine),
                             sorted(e["experimentKey"] for e in live["experiments"]
                                    + arch["experiments"]))
        running = self.exp(lambda e: e["running"])
        self.assertTrue(running and all(e["endTimeMillis"] is None for e in running))
        self.assertTrue(self.exp(lambda e: e["experimentName"] is None))

    def test_endpoints_match_dataset(self):
        key = self.ds["experiments"][0]["experimentKey"]
        d = self.ds["experiment_data"][key]
        q = {"experimentKey": key}
        checks = [("experiment/metadata", d["metadata"]),
                  ("experiment/metrics/summary", {"values": d["summary"]}),
                  ("experiment/parameters", {"values": d["parameters"]}),
                  ("experiment/log-other", {"values": d["others"]}),
                  ("experiment/tags", {"tags": d["tags"]}),
                  ("experiment/html", {"html": d["html"]}),
                  ("experiment/output", {"output": d["output"]}),
                  ("experiment/code", {"code": d["code"]}),
                  ("experiment/graph", {"graph": d["graph"]}),
                  ("experiment/git/metadata", d["git"]),
                  ("experiment/system-details", d["system_details"]),
                  ("experiment/asset/list", {"assets": d["assets"]})]
        for rel, want in checks:
            status, body = self.fake.api_json(rel, q)
            self.assertEqual((rel, status, body), (rel, 200, want))
        _, body = self.fake.api_json("experiment/asset/list", dict(q, type="image"))
        self.assertEqual(body["assets"], [a for a in d["assets"] if a["type"] == "image"])
        names = [n for n in d["metrics"]]
        self.assertIn("val loss", names)
        for name in names:
            status, body = self.fake.api_json("experiment/metrics/get-metric",
                                              dict(q, metricName=name))
            self.assertEqual(body, {"metrics": d["metrics"][name]})
        _, body = self.fake.api_json("experiment/metrics/get-metric", dict(q, metricName="nope"))
        self.assertEqual(body, {"metrics": []})
        p = self.ds["projects"][0]["projectId"]
        _, body = self.fake.api_json("project/notes", {"projectId": p})
        self.assertEqual(body, {"notes": self.ds["project_notes"][p]})
        bare = [k for k, v in self.ds["experiment_data"].items() if v["html"] is None][0]
        bd = self.ds["experiment_data"][bare]
        self.assertEqual((bd["tags"], bd["assets"], bd["output"]), ([], [], ""))

    def test_more_endpoints_match_dataset(self):
        # §5.20-5.26 (Q15): answers are the dump's data; bytes are bytes
        import base64
        import io
        import zipfile
        ds = self.ds
        for e in ds["experiments"]:
            q = {"experimentKey": e["experimentKey"]}
            self.assertEqual(self.fake.api_json("experiment/model", q),
                             (200, {"models": ds["experiment_models"][e["experimentKey"]]}))
            status, r, body = self.fake.api("experiment/git/patch", q)
            patch = ds["git_patches"][e["experimentKey"]]
            if patch is None:
                self.assertEqual(status, 200)
                self.assertIn("msg", json.loads(body))
            else:
                self.assertEqual((status, r.getheader("Content-Type"), body),
                                 (200, "application/octet-stream", base64.b64decode(patch)))
                z = zipfile.ZipFile(io.BytesIO(body))
                self.assertEqual(z.namelist(), ["git_diff.patch"])
                self.assertIn(e["experimentKey"], z.read("git_diff.patch").decode("utf-8"))
            for aid, content in ds["asset_contents"][e["experimentKey"]].items():
                status, _, body = self.fake.api("experiment/asset/get-asset",
                                                dict(q, assetId=aid))
                self.assertEqual((status, body), (200, base64.b64decode(content)))
        self.assertTrue(any(p is None for p in ds["git_patches"].values()))
        bins = [base64.b64decode(c) for a in ds["asset_contents"].values() for c in a.values()]
        self.assertTrue(any(b"\x00" in b for b in bins))
        ws = ds["workspaces"][0]
        for name, d in ds["registry_model_details"][ws].items():
            q = {"workspaceName": ws, "modelName": name}
            self.assertEqual(self.fake.api_json("registry-model/details", q), (200, d))
            self.assertEqual(self.fake.api_json("registry-model/notes", q),
                             (200, {"notes": ds["registry_model_notes"][ws][name]}))
            self.assertEqual(len(d["versions"]), d["numberOfVersions"])
        for ws in ds["workspaces"]:
            self.assertEqual(self.fake.api_json("artifacts/get-all", {"workspace": ws}),
                             (200, {"artifacts": ds["artifacts"][ws]}))
            for name, d in ds["artifact_details"][ws].items():
                q = {"workspace": ws, "artifactName": name}
                self.assertEqual(self.fake.api_json("artifacts/get", q), (200, d))
                for v in d["versions"]:
                    self.assertEqual(
                        self.fake.api_json("artifacts/version/files", dict(q, version=v["version"])),
                        (200, {"files": ds["artifact_files"][ws][name][v["version"]]}))
        _, body = self.fake.api_json("artifacts/get-all", {"workspace": ws, "type": "model"})
        self.assertTrue(all(a["type"] == "model" for a in body["artifacts"]))
        for p in ds["projects"]:
            self.assertEqual(
                self.fake.api_json("project/get-project-share-links", {"projectId": p["projectId"]}),
                (200, {"shareCodes": ds["project_share_links"][p["projectId"]]}))
        key = ds["experiments"][0]["experimentKey"]
        cases = [("artifacts/get-all", {"workspaceName": ws}, 400),   # `workspace`, not workspaceName
                 ("artifacts/get", {"workspace": ws, "artifactName": "nope"}, 400),
                 ("registry-model/details", {"workspaceName": ws, "modelName": "nope"}, 400),
                 ("registry-model/notes", {"workspaceName": ws}, 400),
                 ("experiment/asset/get-asset", {"experimentKey": key, "assetId": "0" * 32}, 404),
                 ("experiment/asset/get-asset", {"experimentKey": key}, 400),
                 ("experiment/git/patch", {"experimentKey": "f" * 32}, 400)]
        for rel, q, status in cases:
            self.assertEqual((rel, self.fake.api_json(rel, q)[0]), (rel, status))

    def test_summary_consistent_with_points(self):
        for key, d in self.ds["experiment_data"].items():
            for s in d["summary"]:
                pts = d["metrics"][s["name"]]
                offs = [p["offset"] for p in pts]
                self.assertEqual(len(set(offs)), len(offs))
                last = max(pts, key=lambda p: p["offset"])
                self.assertEqual(s["valueCurrent"], last["metricValue"])
                self.assertEqual(s["timestampCurrent"], last["timestamp"])
                nums = [float(p["metricValue"]) for p in pts if p["metricValue"] != "NaN"]
                self.assertEqual(float(s["valueMax"]), max(nums))
                self.assertEqual(float(s["valueMin"]), min(nums))
                has_step = any(p["step"] is not None for p in pts)
                self.assertEqual("stepMax" in s, has_step)
            loss = d["metrics"]["loss"]
            self.assertNotEqual([p["offset"] for p in loss], sorted(p["offset"] for p in loss))

    def test_errors(self):
        key = self.ds["experiments"][0]["experimentKey"]
        cases = [
            ("projects", {"workspaceName": "nope"}, 400, 90219),
            ("experiments", {"workspaceName": "nope", "projectName": "x"}, 400, 90219),
            ("experiments", {"workspaceName": "fake-user", "projectName": "nope"}, 404, 0),
            ("project", {"projectId": "0" * 32}, 404, 0),
            ("project/column-names", {"projectId": "0" * 32}, 404, 0),
            ("experiment/parameters", {"experimentKey": "f" * 32}, 400, 90211),
            ("experiment/parameters", {}, 400, 90998),
            ("experiment/metrics/get-metric", {"experimentKey": key}, 400, 0),
            ("no/such/path", {}, 404, 0),
        ]
        for rel, q, status, sdk in cases:
            st, body = self.fake.api_json(rel, q)
            self.assertEqual((rel, st, body["code"], body["sdk_error_code"]),
                             (rel, status, status, sdk))
            self.assertIn("msg", body)
            self.assertIsNone(body["data"])

    def test_project_query_and_chart(self):
        p = self.ds["projects"][0]
        exps = self.exp(lambda e: e["projectId"] == p["projectId"] and not e["archived"])
        lr = {k: [x["valueCurrent"] for x in self.ds["experiment_data"][k]["parameters"]
                  if x["name"] == "lr"][0] for k in (e["experimentKey"] for e in exps)}
        target = next(iter(lr.values()))
        body = {"workspaceName": p["workspaceName"], "projectName": p["projectName"],
                "archived": False, "predicates": [{"source": "params", "query": {
                    "condition": "AND", "valid": True, "rules": [
                        {"id": "lr", "field": "lr", "type": "double", "operator": "equal",
                         "value": float(target)}]}}]}
        st, _, raw = self.fake.api("project/query", method="POST", body=body)
        self.assertEqual(st, 200)
        self.assertEqual(json.loads(raw)["experimentKeys"],
                         [k for k, v in lr.items() if v == target])
        key = exps[0]["experimentKey"]
        st, _, raw = self.fake.api("experiments/multi-metric-chart", method="POST", body={
            "targetedExperiments": [key], "metrics": ["loss"], "params": ["lr"],
            "independentMetrics": True, "fetchFull": True})
        chart = json.loads(raw)
        self.assertFalse(chart["empty"])
        m = chart["experiments"][key]["metrics"][0]
        pts = sorted(self.ds["experiment_data"][key]["metrics"]["loss"], key=lambda p: p["offset"])
        self.assertEqual(m["timestamps"], [p["timestamp"] for p in pts])
        self.assertEqual(chart["experiments"][key]["params"], {"lr": lr[key]})

    def test_counts_and_requests(self):
        k1, k2 = (e["experimentKey"] for e in self.ds["experiments"][:2])
        self.fake.api("experiment/tags", {"experimentKey": k1})
        self.fake.api("experiment/tags", {"experimentKey": k1})
        self.fake.api("experiment/tags", {"experimentKey": k2}, key="bad")   # 401 counts too
        self.fake.api("workspaces")
        c = self.fake.control
        self.assertEqual(c("count", {"path": "experiment/tags"}), "3")
        self.assertEqual(c("count", {"path": "experiment/tags", "experimentKey": k1}), "2")
        self.assertEqual(c("count", {"path": "experiment/tags", "experimentKey": "x"}), "0")
        self.assertEqual(c("count"), "4")
        reqs = json.loads(c("requests"))
        self.assertEqual([r["status"] for r in reqs], [200, 200, 401, 200])
        self.assertEqual(reqs[0], {"method": "GET", "path": "experiment/tags",
                                   "query": {"experimentKey": k1}, "status": 200})
        self.assertEqual(c("reset"), "ok")
        self.assertEqual(c("count"), "0")

    # --- faults ------------------------------------------------------------------------------
    def test_fault_status_times_and_matching(self):
        k1, k2 = (e["experimentKey"] for e in self.ds["experiments"][:2])
        self.fake.control("fault", {"path": "experiment/tags", "experimentKey": k1,
                                    "kind": "status", "status": "429", "retry_after": "2",
                                    "times": "1"})
        st, _, _ = self.fake.api("experiment/tags", {"experimentKey": k2})
        self.assertEqual(st, 200)
        st, r, body = self.fake.api("experiment/tags", {"experimentKey": k1})
        self.assertEqual((st, r.getheader("Retry-After"), json.loads(body)["code"]),
                         (429, "2", 429))
        st, _, _ = self.fake.api("experiment/tags", {"experimentKey": k1})
        self.assertEqual(st, 200)
        self.fake.control("fault", {"path": "experiment/tags", "status": "503", "times": "2"})
        st1, r, _ = self.fake.api("experiment/tags", {"experimentKey": k1})
        st2, _, _ = self.fake.api("experiment/tags", {"experimentKey": k1})
        st3, _, _ = self.fake.api("experiment/tags", {"experimentKey": k1})
        self.assertEqual((st1, st2, st3, r.getheader("Retry-After")), (503, 503, 200, None))
        self.fake.control("fault", {"path": "experiment/tags", "status": "500", "rate": "0"})
        st, _, _ = self.fake.api("experiment/tags", {"experimentKey": k1})
        self.assertEqual(st, 200)
        self.assertEqual(self.fake.control("faults/clear"), "ok")
        self.assertEqual(self.fake.control("count", {"path": "experiment/tags"}), "7")

    def test_fault_bodies(self):
        key = self.ds["experiments"][0]["experimentKey"]
        q = {"experimentKey": key}
        rel = "experiment/parameters"

        def fault(kind, **kw):
            self.fake.control("fault", dict(path=rel, kind=kind, times="1", **kw))

        fault("malformed")
        st, _, body = self.fake.api(rel, q)
        self.assertEqual(st, 200)
        self.assertRaises(ValueError, json.loads, body)

        fault("truncated")
        self.assertRaises(http.client.IncompleteRead, self.fake.api, rel, q)

        fault("close")
        self.assertRaises((http.client.RemoteDisconnected, ConnectionError), self.fake.api, rel, q)

        fault("invalid_utf8")
        st, _, body = self.fake.api(rel, q)
        self.assertEqual(st, 200)
        self.assertRaises(UnicodeDecodeError, body.decode, "utf-8")
        json.loads(body.decode("latin-1"))                   # still valid JSON structure

        fault("wrong_type")
        st, _, body = self.fake.api(rel, q)
        vals = json.loads(body)["values"]
        self.assertTrue(all(not isinstance(v["name"], str) for v in vals))

        fault("oversize", bytes="300000")
        st, _, body = self.fake.api(rel, q)
        self.assertGreaterEqual(len(body), 300000)
        self.assertIn("values", json.loads(body))

        fault("redirect")
        st, r, _ = self.fake.api(rel, q)
        self.assertEqual(st, 302)
        self.assertTrue(r.getheader("Location").startswith("http://127.0.0.2:%d%s"
                                                           % (self.fake.port, API + rel)))

        fault("html_error", status="502")
        st, r, body = self.fake.api(rel, q)
        self.assertEqual((st, r.getheader("Content-Type")), (502, "text/html"))
        self.assertIn(b"<html>", body)

        fault("latency", latency_ms="300")
        t0 = time.monotonic()
        st, _, _ = self.fake.api(rel, q)
        self.assertEqual(st, 200)
        self.assertGreaterEqual(time.monotonic() - t0, 0.29)

        fault("slow_body", latency_ms="400", chunk_delay_ms="100")
        t0 = time.monotonic()
        st, _, body = self.fake.api(rel, q)
        self.assertGreaterEqual(time.monotonic() - t0, 0.39)
        self.assertEqual(json.loads(body), {"values": self.ds["experiment_data"][key]["parameters"]})

        fault("hang", latency_ms="3000")
        t0 = time.monotonic()
        self.assertRaises((socket.timeout, TimeoutError), self.fake.api, rel, q, timeout=0.3)
        self.assertLess(time.monotonic() - t0, 2)
        st, _, _ = self.fake.api(rel, q)                     # the next request is served
        self.assertEqual(st, 200)

    def test_bad_fault_kind(self):
        st, _, body = self.fake.request("/_fake/fault?kind=nope", key=None)
        self.assertEqual(st, 400)


class WriteTest(unittest.TestCase):
    """The write endpoints (§6) change what reads answer; /_fake/restore undoes them."""

    @classmethod
    def setUpClass(cls):
        cls.fake = FakeProc("--seed", "42", "--api-key", KEY)
        cls.dump0 = cls.fake.control("dataset")
        cls.ds = json.loads(cls.dump0)

    @classmethod
    def tearDownClass(cls):
        cls.fake.stop()

    def setUp(self):
        self.assertEqual(self.fake.control("restore"), "ok")
        self.assertEqual(self.fake.control("reset"), "ok")

    def post(self, rel, body):
        return self.fake.api_json(rel, method="POST", body=body)

    def key(self, i=0):
        return self.ds["experiments"][i]["experimentKey"]

    def test_writes_are_read_back(self):
        k = self.key()
        st, ans = self.post("write/experiment/tags", {"experimentKey": k,
                                                      "addedTags": ["new", "ünï", "new"]})
        self.assertEqual((st, ans["msg"], ans["sdk_error_code"]), (200, "saved", 0))
        tags = self.fake.api_json("experiment/tags", {"experimentKey": k})[1]["tags"]
        self.assertEqual(tags[-2:], ["new", "ünï"])
        self.assertEqual(self.post("write/experiment/log-other",
                                   {"experimentKey": k, "key": "note", "value": "v1",
                                    "timestamp": 1700000000123})[0], 200)
        others = self.fake.api_json("experiment/log-other", {"experimentKey": k})[1]["values"]
        self.assertIn(("note", "v1", 1700000000123),
                      [(o["name"], o["valueCurrent"], o["timestampCurrent"]) for o in others])
        self.assertEqual(self.post("write/experiment/parameter",
                                   {"experimentKey": k, "parameterName": "lr",
                                    "parameterValue": "0.5"})[0], 200)
        params = self.fake.api_json("experiment/parameters", {"experimentKey": k})[1]["values"]
        self.assertEqual([p["valueCurrent"] for p in params if p["name"] == "lr"], ["0.5"])
        for step, value in ((1, "0.25"), (2, "0.125")):
            self.assertEqual(self.post("write/experiment/metric",
                                       {"experimentKey": k, "metricName": "late",
                                        "metricValue": value, "step": step,
                                        "context": "test"})[0], 200)
        pts = self.fake.api_json("experiment/metrics/get-metric",
                                 {"experimentKey": k, "metricName": "late"})[1]["metrics"]
        self.assertEqual([(p["step"], p["metricValue"], p["runContext"]) for p in pts],
                         [(1, "0.25", "test"), (2, "0.125", "test")])
        self.assertLess(pts[0]["offset"], pts[1]["offset"])
        summary = self.fake.api_json("experiment/metrics/summary", {"experimentKey": k})[1]
        late = [e for e in summary["values"] if e["name"] == "late"][0]
        self.assertEqual((late["valueMin"], late["valueCurrent"], late["stepMax"]),
                         ("0.125", "0.125", 1))
        # the dump shows the writes; restore brings back the start-up dataset
        self.assertIn("ünï", json.loads(self.fake.control("dataset"))
                      ["experiment_data"][k]["tags"])
        self.assertEqual(self.fake.control("restore"), "ok")
        self.assertEqual(self.fake.control("dataset"), self.dump0)

    def test_create_archive_restore_notes(self):
        st, ans = self.post("write/experiment/create", {"workspaceName": "fake-user",
                                                        "projectName": "brand new",
                                                        "experimentName": "offline eval"})
        self.assertEqual(st, 200)
        key = ans["experimentKey"]
        self.assertRegex(key, "^[0-9a-f]{32}$")
        meta = self.fake.api_json("experiment/metadata", {"experimentKey": key})[1]
        self.assertEqual((meta["projectName"], meta["experimentName"], meta["archived"]),
                         ("brand new", "offline eval", False))
        exps = self.fake.api_json("experiments", {"workspaceName": "fake-user",
                                                  "projectName": "brand new"})[1]
        self.assertEqual([e["experimentKey"] for e in exps["experiments"]], [key])
        self.assertEqual(self.fake.api_json("write/experiment/archive",
                                            {"experimentKey": key})[1], {"msg": "Archived"})
        p = self.fake.api_json("project", {"workspaceName": "fake-user",
                                           "projectName": "brand new"})[1]
        self.assertEqual(p["numberOfExperiments"], 0)
        arch = self.fake.api_json("experiments", {"projectId": p["projectId"],
                                                  "archived": "true"})[1]["experiments"]
        self.assertEqual([e["experimentKey"] for e in arch], [key])
        self.assertEqual(self.fake.api_json("write/experiment/restore",
                                            {"experimentKey": key})[1], {"msg": "Restored"})
        self.assertFalse(self.fake.api_json("experiment/metadata",
                                            {"experimentKey": key})[1]["archived"])
        self.assertEqual(self.post("write/project/notes", {"projectId": p["projectId"],
                                                           "notes": "ünï notes"})[0], 200)
        self.assertEqual(self.fake.api_json("project/notes", {"projectId": p["projectId"]})[1],
                         {"notes": "ünï notes"})

    def test_write_errors(self):
        k = self.key()
        cases = [
            ("write/experiment/tags", {"addedTags": ["x"]}, 400, 90998),
            ("write/experiment/tags", {"experimentKey": "f" * 32, "addedTags": ["x"]}, 400,
             90211),
            ("write/experiment/tags", {"experimentKey": k, "addedTags": "x"}, 400, 0),
            ("write/experiment/metric", {"experimentKey": k, "metricName": "m"}, 400, 0),
            ("write/experiment/metric", {"experimentKey": k, "metricName": "m",
                                         "metricValue": "1", "step": "one"}, 400, 0),
            ("write/experiment/create", {"workspaceName": "nope", "projectName": "p"}, 400,
             90219),
            ("write/project/notes", {"projectId": "0" * 32, "notes": "x"}, 404, 0),
        ]
        for rel, body, status, code in cases:
            st, ans = self.post(rel, body)
            self.assertEqual((rel, st, ans["sdk_error_code"]), (rel, status, code))
        self.assertEqual(self.fake.api("write/experiment/tags")[0], 405)
        self.assertEqual(self.fake.api("write/experiment/archive", method="POST", body={})[0],
                         405)
        self.assertEqual(self.fake.control("dataset"), self.dump0)

    def test_fault_on_nth_write_and_logged_bodies(self):
        k = self.key(1)
        self.fake.control("fault", {"path": "write/experiment/metric", "skip": "1",
                                    "times": "1", "status": "500"})
        statuses = [self.post("write/experiment/metric",
                              {"experimentKey": k, "metricName": "m", "metricValue": str(i),
                               "step": i})[0] for i in range(3)]
        self.assertEqual(statuses, [200, 500, 200])
        pts = self.fake.api_json("experiment/metrics/get-metric",
                                 {"experimentKey": k, "metricName": "m"})[1]["metrics"]
        self.assertEqual([p["step"] for p in pts], [0, 2])      # the failed one was not applied
        reqs = json.loads(self.fake.control("requests"))
        self.assertEqual([(r["status"], r["body"]["step"]) for r in reqs
                          if r["path"] == "write/experiment/metric"], [(200, 0), (500, 1), (200, 2)])
        self.assertNotIn("body", reqs[-1])                        # reads carry none
        self.assertEqual(self.fake.control("count", {"path": "write/experiment/metric"}), "3")

    def test_refuse(self):
        self.assertEqual(self.fake.control("refuse", {"ms": "400"}), "ok")
        with self.assertRaises(ConnectionRefusedError):
            socket.create_connection(("127.0.0.1", self.fake.port), timeout=2).close()
        deadline = time.monotonic() + 5
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.fake.port), timeout=2).close()
                break
            except ConnectionRefusedError:
                self.assertLess(time.monotonic(), deadline)
                time.sleep(0.05)
        self.assertEqual(self.fake.api("workspaces")[0], 200)


class DeterminismAndSignalTest(unittest.TestCase):
    def test_same_args_same_bytes_and_sigterm(self):
        args = ("--seed", "7", "--api-key", KEY, "--workspaces", "1", "--projects", "1",
                "--experiments", "6", "--metrics", "6", "--points", "25")
        a, b = FakeProc(*args), FakeProc(*args)
        c = FakeProc(*(args[:1] + ("8",) + args[2:]))
        try:
            da, db, dc = (json.loads(x.control("dataset")) for x in (a, b, c))
            self.assertEqual(a.request("/_fake/dataset")[2], b.request("/_fake/dataset")[2])
            self.assertNotEqual(da["experiments"][0]["experimentKey"],
                                dc["experiments"][0]["experimentKey"])
            key = da["experiments"][0]["experimentKey"]
            q = {"experimentKey": key, "metricName": "loss/val"}
            self.assertEqual(a.api("experiment/metrics/get-metric", q)[2],
                             b.api("experiment/metrics/get-metric", q)[2])
            self.assertEqual(len(da["experiments"]), 6)
            self.assertEqual(sum(e["archived"] for e in da["experiments"]), 1)
            sd = da["experiment_data"][key]["system_details"]
            self.assertEqual(sd["systemMetricNames"], ["sys.cpu.percent.01"])
        finally:
            self.assertEqual(a.stop(), 0)
            self.assertEqual(b.stop(), 0)
            self.assertEqual(c.stop(), 0)


class DemoTest(unittest.TestCase):
    """--dataset demo (demo/demo.sh, the README's examples) and --dataset empty."""

    @classmethod
    def setUpClass(cls):
        cls.fake = FakeProc("--dataset", "demo", "--api-key", KEY)
        cls.ds = json.loads(cls.fake.control("dataset"))

    @classmethod
    def tearDownClass(cls):
        cls.fake.stop()

    def test_readme_keys_exist(self):
        # every experiment key in the README's first SQL example is a demo experiment
        with open(os.path.join(HERE, "..", "README.md"), encoding="utf-8") as f:
            first = f.read().split("```sql", 1)[1].split("```", 1)[0]
        keys = re.findall(r"'([0-9a-f]{32})'", first)
        self.assertGreaterEqual(len(keys), 1)
        known = {e["experimentKey"] for e in self.ds["experiments"]}
        for k in keys:
            self.assertIn(k, known)
        for m in re.findall(r"metric_name = '([^']+)'", first):
            for k in keys:
                self.assertIn(m, self.ds["experiment_data"][k]["metrics"])

    def test_deterministic(self):
        other = FakeProc("--dataset", "demo", "--api-key", KEY, "--seed", "7")
        try:
            self.assertEqual(other.request("/_fake/dataset")[2],
                             self.fake.request("/_fake/dataset")[2])
        finally:
            other.stop()

    def test_looks_like_training(self):
        self.assertEqual(sorted(p["projectName"] for p in self.ds["projects"]),
                         ["churn-sweep", "product-images", "support-llm"])
        for e in self.ds["experiments"]:
            d = self.ds["experiment_data"][e["experimentKey"]]
            s = {m["name"]: m for m in d["summary"]}
            self.assertTrue(s, e["experimentName"])
            for name, m in s.items():
                first = min(d["metrics"][name], key=lambda p: p["offset"])
                cur = float(m["valueCurrent"])
                if "loss" in name:
                    self.assertLess(cur, 0.75 * float(first["metricValue"]), (e, name))
                if "accuracy" in name or "auc" in name:
                    self.assertGreater(cur, float(first["metricValue"]), (e, name))
            self.assertTrue(d["parameters"])
            self.assertTrue(d["system_details"]["installedPackages"])
        tags = {t for d in self.ds["experiment_data"].values() for t in d["tags"]}
        self.assertLessEqual({"best", "baseline"}, tags)
        # the tagged best experiment of each project has its project's best final metric
        for p in self.ds["projects"]:
            exps = [self.ds["experiment_data"][e["experimentKey"]] for e in self.ds["experiments"]
                    if e["projectId"] == p["projectId"] and not e["running"] and not e["archived"]]
            metric = {"product-images": "val_accuracy", "support-llm": "eval_loss",
                      "churn-sweep": "val_auc"}[p["projectName"]]

            def final(d):
                return float([m for m in d["summary"] if m["name"] == metric][0]["valueCurrent"])
            best = (min if "loss" in metric else max)(exps, key=final)
            self.assertIn("best", best["tags"], p["projectName"])

    def test_empty_account(self):
        f = FakeProc("--dataset", "empty", "--api-key", KEY)
        try:
            self.assertEqual(f.api_json("workspaces"), (200, {"workspaceNames": ["new-user"]}))
            self.assertEqual(f.api_json("projects", {"workspaceName": "new-user"}),
                             (200, {"projects": []}))
        finally:
            f.stop()

    def test_generated_dataset_unchanged(self):
        # other suites compare against the default generated dataset byte for byte: adding a
        # dataset mode must never change it (digest of /_fake/dataset with --seed 42)
        f = FakeProc("--seed", "42", "--api-key", KEY)
        try:
            body = f.request("/_fake/dataset")[2]
        finally:
            f.stop()
        # the data of the endpoints added later (Q15) comes after the older keys, which are
        # the same bytes as before it was added
        older = body[:body.index(b', "registry_model_details": ')] + b"}"
        self.assertEqual(hashlib.sha256(older).hexdigest(),
                         "19590571f80ed03cc67f573824e6559e672cf95b4f1749e1f11238a1efd1f719")
        self.assertEqual(hashlib.sha256(body).hexdigest(),
                         "d3488446eb6c1887ad225aba6a4089db9fd46466be0245496a5da9ce8f52fb74")


class RecordedTest(unittest.TestCase):
    KEY = "c352827bcdcb45e3ad40d0decec0b43c"
    PID = "ebfbbc1212004f92b618d50db41f27f3"

    @classmethod
    def setUpClass(cls):
        cls.fake = FakeProc("--api-key", KEY, "--recorded", RECORDED)

    @classmethod
    def tearDownClass(cls):
        cls.fake.stop()

    def file(self, rel):
        with open(os.path.join(RECORDED, "api", "rest", "v2", rel), "rb") as f:
            return f.read()

    def test_verbatim(self):
        f = self.fake
        self.assertEqual(f.api("workspaces")[2], self.file("workspaces.json"))
        self.assertEqual(f.api("projects", {"workspaceName": "testuser-cometr"})[2],
                         self.file("projects-dafb61.json"))
        # any parameter order, any boolean case
        q = {"archived": "false", "workspaceName": "testuser-cometr",
             "projectName": "cometrtestproject"}
        self.assertEqual(f.api("experiments", q)[2], self.file("experiments-1280bb.json"))
        self.assertEqual(f.api("project/column-names", {"projectId": self.PID,
                                                        "archived": "False"})[2],
                         self.file("project/column-names-4ec64e.json"))
        body = {"targetedExperiments": [self.KEY], "metrics": [], "params": [],
                "independentMetrics": True, "fetchFull": True}
        self.assertEqual(f.api("experiments/multi-metric-chart", method="POST", body=body)[2],
                         self.file("experiments/multi-metric-chart-df83ef-POST.json"))

    def test_consistent_answers(self):
        f = self.fake
        recorded = json.loads(self.file("experiments-1280bb.json"))
        self.assertEqual(f.api_json("experiments", {"projectId": self.PID}), (200, recorded))
        self.assertEqual(f.api_json("experiments", {"projectId": self.PID, "archived": "true"}),
                         (200, {"experiments": []}))
        proj = json.loads(self.file("projects-dafb61.json"))["projects"][0]
        self.assertEqual(f.api_json("project", {"projectId": self.PID}), (200, proj))
        q = {"experimentKey": self.KEY}
        self.assertEqual(f.api_json("experiment/parameters", q), (200, {"values": []}))
        self.assertEqual(f.api_json("experiment/tags", q), (200, {"tags": []}))
        st, meta = f.api_json("experiment/metadata", q)
        self.assertEqual((st, meta["experimentName"], meta["archived"]),
                         (200, "testexperiment1", False))
        self.assertEqual(f.api_json("experiment/tags", {"experimentKey": "0" * 32})[0], 400)


@unittest.skipUnless(shutil.which("openssl"), "openssl not installed")
class TlsTest(unittest.TestCase):
    def test_https(self):
        tmp = tempfile.mkdtemp(prefix="fake-comet-tls-")
        try:
            cert, key = os.path.join(tmp, "cert.pem"), os.path.join(tmp, "key.pem")
            subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                            "ec_paramgen_curve:prime256v1", "-nodes", "-days", "1",
                            "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                            "-keyout", key, "-out", cert], check=True, capture_output=True)
            ctx = ssl.create_default_context(cafile=cert)
            f = FakeProc("--api-key", KEY, "--tls-cert", cert, "--tls-key", key, tls=ctx)
            try:
                self.assertTrue(f.line.startswith("listening on https://127.0.0.1:"))
                self.assertEqual(f.api_json("workspaces")[0], 200)
            finally:
                f.stop()
        finally:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    unittest.main()
