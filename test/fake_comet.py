#!/usr/bin/env python3
"""A fake Comet ML REST API v2 server for comet_fdw's tests and benchmarks.

Python 3.11 standard library only.  Shapes follow docs "comet-rest-api.md" (section numbers below
refer to it).  Run `python3 test/fake_comet.py --help` for the options.

Layout of this file:
  1. constants and the dataset quirks (the comment block below)
  2. dataset: GeneratedDataset (seeded) and RecordedDataset (--recorded DIR), same interface
  3. REST endpoints: one handler per path, registered in ENDPOINTS
  4. fault engine and request counters (FakeState)
  5. HTTP layer (Handler), control API under /_fake/, main()

Deliberate dataset quirks of the generated dataset (clients must cope; tests rely on them).
Notation: g = global project index (workspace-major order, 0-based), j = experiment index inside
its project, n = global experiment index, role = j % 5.  /_fake/dataset shows all of it.
  Q1  role 1 and role 4 experiments: "experimentName": null (and no log-other "Name" entry).
  Q2  role 2 experiments are archived ("archived": true): every project with --experiments >= 3 has
      one.  `experiments` lists them only with archived=true, and then lists only them.
  Q3  role 1 experiments are running: "endTimeMillis": null, "running": true (list + metadata).
  Q4  "durationMillis" is whole SECONDS, (end - start) // 1000, like the recorded real server
      (0 for 59 ms, §5.9); for a running experiment: seconds up to its last logged point.
  Q5  the last generated project (highest g) has "isPublic" instead of "public".
  Q6  unknown field "futureField": {"x": [1, 2]} on: project g=0; role-0 experiment list objects;
      role-3 metadata objects; the first summary entry, first parameter, first asset and the
      system details of role-0 experiments.  List objects also carry userName/running/throttle.
  Q7  names with specials: project "ünïcode-μ" (g=1), "cifar 10/resnet" (g=2), "bert|nlp" (g=3),
      "gan.faces" (g=4); params "batch size", "ünïcode-μ", "config/path"; metrics "val loss",
      "loss/val", "f1 ü"; tags "ünïcode-tag", "needs review", "a/b"; experiment n=0 is named
      "baseline run #1 ü/✓".
  Q8  parameter values are strings, numeric ("0.01", "128", "1e2") and not ("adam", "True",
      "NaN", "/tmp/k.json").  Param k of experiment n = PARAM_SPECS[k] values[(n + k) % len];
      so "ünïcode-μ" is "0.5", "/tmp/k.json", "True", "NaN" for n = 0, 1, 2, 3 (mod 4).
  Q9  metric points: served in shuffled (deterministic) order; "offset" increases across all
      metrics of an experiment, with gaps; "loss" points i % 4 == 3 share the timestamp of point
      i - 1; "acc": the last two points share a step; "val loss" and "sys.*" have step null (so
      their summaries have NO stepMax/stepMin/stepCurrent keys); "acc", "sys.*" and "loss/val"
      have runContext null (summary runContext* null); "loss" has epoch = i // 5, others null.
      In role-0 experiments, "val loss" point i = points // 2 (if points >= 3) is "NaN": summary
      min/max skip non-numeric values; valueCurrent is the value of the highest-offset point.
  Q10 role-1 experiments are "bare": no tags, no assets, output "", code "", graph "",
      "html": null, git fields null, system details with hostname/ip/pid/processor null and no
      GPUs.  Role-4 experiments have html "" and git parent null and totalRam as a float.
  Q11 assets: "metadata" is a JSON-encoded string or null; types cycle image, asset,
      text-sample, asset (remote: true, link s3://...), histogram_combined_3d, ...
  Q12 log-other: "Name" (named experiments only) and "storage_size_bytes" come first, then
      --others entries ("throttled", "trainable_params", "notes text", ...).
  Q13 project notes: g % 3 == 0 text, 1 null, 2 "".  numberOfExperiments counts non-archived.
  Q14 one registry model ("mnist-cnn") in the first workspace, none in the others.
  Q15 (§5.20-5.26, kept apart from the data above so that no older answer changes)
      experiment/model: every experiment but the bare ones logged a model "model"; n=0 logged
      "mnist-cnn" (the registry model's, with its registryRecords), role-0 ones also
      "ünïcode model/v2" with "registryRecords": null.  registry-model/details and
      registry-model/notes: "mnist-cnn" (one version, as registry-model says).  Artifacts
      (artifacts/*, parameter `workspace`): the first workspace has "mnist-dataset" (2 versions,
      the second aliased latest/prod) and "ünïcode set/v 1" (emoji 4 bytes of UTF-8, a remote
      file, project null, metadata null), the second "vision-weights"; others none.
      project/get-project-share-links: two codes for even g, none for odd.  experiment/git/patch:
      a zip (stored, one file git_diff.patch) except for bare experiments: {"msg": ...}.
      experiment/asset/get-asset: each listed asset's bytes (NOT fileSize long): text for .svg,
      .txt, .csv and .json files, bytes with NUL and invalid UTF-8 for .bin; remote ones too.
Responses are UTF-8 JSON with non-ASCII characters unescaped; get-asset and git/patch answer
bytes (application/octet-stream) where they have them.

Errors (Comet's envelope {"msg", "code", "sdk_error_code", "data": null}):
  401 90212 bad/missing key (Authorization or Comet-Sdk-Api, raw key) - checked first;
  400 90219 unknown or missing workspaceName; 404 0 unknown project (projectId or
  workspaceName+projectName; an unknown workspace is 400 first); 400 98219 projectName missing;
  400 90998 experimentKey missing; 400 90211 unknown experimentKey; 400 0 other bad params
  (metricName missing, archived not true/false, bad POST body); 404 0 unknown path (exact match,
  no trailing-slash folding); 405 0 wrong method.  Paths may carry a prefix before /api/rest/v2/.

Control API (no auth, never counted; plain-text "ok" / integers, JSON otherwise):
  /_fake/reset           clear counts, request log and fault rules
  /_fake/count?path=P&k=v...   API requests since reset with that path (omit = all) whose query
                         has every given k=v (booleans compare case-insensitively)
  /_fake/requests        JSON [{"method", "path", "query", "status"}] (newest 200,000; status
                         null when nothing was sent: hang, close); writes also carry "body"
  /_fake/dataset         JSON dump of the whole dataset in served shapes (see Dataset.dump)
  /_fake/fault?...       add a rule: path, kind, times, rate, status, retry_after, latency_ms,
                         bytes, chunk_delay_ms, skip (let the first N matching requests pass:
                         a fault on the Nth write); any other param must equal the request's
  /_fake/faults/clear    remove fault rules;  /_fake/faults  list them (JSON)
  /_fake/restore         the dataset as generated (or recorded) at start-up: every write undone
  /_fake/refuse?ms=N     close the listening socket for N ms (new connections are refused;
                         kept-alive ones go on); answers once it is closed

Writes (§6): write/experiment/create, tags, log-other, parameter, metric (POST, JSON body) and
write/experiment/archive, restore (GET ?experimentKey), write/project/notes (POST) change the
dataset, so reads see them (project/column-names lists the metrics, params and others they add).
POST reads (project/query, experiments/multi-metric-chart) carry their body in /_fake/requests.  Written experiments stay in memory (never regenerated).  A request
hit by a fault rule is not applied.  The dataset at start-up is the same as without writes.
"""

import argparse
import base64
import collections
import copy
import json
import math
import os
import random
import re
import select
import signal
import socket
import ssl
import struct
import sys
import tempfile
import threading
import time
import traceback
import zlib
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

# ---------------------------------------------------------------------------------------------
# 1. Constants
# ---------------------------------------------------------------------------------------------

API_RE = re.compile(r"^(?:/.*?)?/api/rest/v2/(.*)$")   # an optional self-hosted prefix is allowed
BASE_TIME_MS = 1700000000000                           # 2023-11-14 22:13:20 UTC
MAX_BLOCK_S = 120.0                                    # hang/slow faults end by themselves
REQUEST_LOG_MAX = 200000                               # /_fake/requests keeps the newest ones
DETAILS_CACHE_POINTS = 300000                          # metric points kept in memory (~150 MB)

WORKSPACE_NAMES = ["fake-user", "team-vision", "team-nlp"]
PROJECT_NAMES = ["mnist", "ünïcode-μ", "cifar 10/resnet", "bert|nlp", "gan.faces"]
PROJECT_DESCRIPTIONS = ["MNIST digits, small CNN", "ünïcode description ✓", "",
                        "BERT fine-tuning", "faces"]
ADJECTIVES = ["wise", "brave", "calm", "eager", "fancy", "gentle", "jolly", "lucky"]
ANIMALS = ["lemur", "otter", "falcon", "badger", "heron", "lynx", "panda", "walrus"]

# (name, value kind, step mode, runContext, has epoch)
METRIC_SPECS = [
    ("loss", "decay", "step", "train", True),
    ("acc", "rise", "dup_last", None, False),
    ("val loss", "decay_nan", "none", "train", False),
    ("lr", "lr", "step", "train", False),
    ("sys.cpu.percent.01", "percent", "none", None, False),
    ("loss/val", "decay", "step", None, False),
    ("sys.ram.used", "int", "none", None, False),
    ("f1 ü", "rise", "step", "train", False),
]

# (name, project/column-names type, values): experiment n, param k gets values[(n + k) % len]
PARAM_SPECS = [
    ("lr", "double", ["0.01", "0.001", "0.0003", "0.1"]),
    ("batch size", "double", ["128", "64", "32", "256"]),
    ("optimizer", "string", ["adam", "sgd", "rmsprop"]),
    ("ünïcode-μ", "string", ["/tmp/k.json", "True", "NaN", "0.5"]),
    ("config/path", "string", ["/tmp/k.json", "/data/cfg v2.yaml"]),
    ("use_amp", "string", ["True", "False", "true"]),
    ("dropout", "double", ["0.1", "0.25", "0.5"]),
    ("epochs", "double", ["10", "20", "1e2"]),
]

OTHER_SPECS = [
    ("throttled", ["false"]),
    ("trainable_params", ["1234567", "98765"]),
    ("notes text", ["free text, with | pipes / slashes and ünïcode ✓", ""]),
    ("dataset", ["/data/mnist v2"]),
    ("seed", ["42", "7"]),
]

TAG_POOL = ["best", "baseline", "ünïcode-tag", "v1.0", "needs review", "a/b", "prod"]

# (fileName, type, dir, metadata JSON string or None, remote)
ASSET_SPECS = [
    ("Figure(640x480).svg", "image", "media", '{"foo":"bar"}', False),
    ("model weights.bin", "asset", "assets", None, False),
    ("ünïcode notes.txt", "text-sample", "text", '{"lang":"de","n":1}', False),
    ("train.csv", "asset", "assets", None, True),
    ("histogram_3d.json", "histogram_combined_3d", "histograms", None, False),
    ("confusion-matrix.json", "confusion-matrix", "confusion-matrices", '{"rows":10}', False),
]

INSTALLED_PACKAGES = ["absl-py==2.1.0", "numpy==1.26.4", "torch==2.2.1", "comet-ml==3.39.0",
                      "pandas==2.2.1", "scikit-learn==1.4.1.post1"]

# Metadata columns as the recorded project/column-names answer lists them (name, type).
META_COLUMNS = [
    ("runId", "string"), ("hasNotes", "boolean"), ("duration", "timenumber"),
    ("codeSHA", "string"), ("file_name", "string"), ("hasHtml", "boolean"),
    ("experimentKey", "string"), ("optimizationId", "string"),
    ("end_server_timestamp", "datetime"), ("installed_packages", "string"),
    ("file_path", "string"), ("last_message_time", "datetime"), ("runActive", "boolean"),
    ("hasImages", "boolean"), ("user_name", "string"), ("start_server_timestamp", "datetime"),
]

FUTURE_FIELD = {"x": [1, 2]}

# Recorded fixtures (fixtures README): file -> the request it answers.  Booleans compare
# case-insensitively, parameter order is ignored, POST bodies compare as JSON without empty lists.
RECORDED_REQUESTS = [
    ("workspaces.json", "GET", "workspaces", {}, None),
    ("projects-dafb61.json", "GET", "projects", {"workspaceName": "testuser-cometr"}, None),
    ("experiments-1280bb.json", "GET", "experiments",
     {"projectName": "cometrtestproject", "workspaceName": "testuser-cometr", "archived": "FALSE"},
     None),
    ("project/column-names-1280bb.json", "GET", "project/column-names",
     {"projectName": "cometrtestproject", "workspaceName": "testuser-cometr", "archived": "FALSE"},
     None),
    ("project/column-names-4ec64e.json", "GET", "project/column-names",
     {"projectId": "ebfbbc1212004f92b618d50db41f27f3", "archived": "FALSE"}, None),
    ("experiments/multi-metric-chart-df83ef-POST.json", "POST", "experiments/multi-metric-chart",
     {}, {"targetedExperiments": ["c352827bcdcb45e3ad40d0decec0b43c"], "fetchFull": True,
          "independentMetrics": True}),
]


# ---------------------------------------------------------------------------------------------
# Small helpers
# ---------------------------------------------------------------------------------------------

class ApiError(Exception):
    """An error answered with Comet's JSON envelope (§3)."""

    def __init__(self, status, msg, sdk_error_code=0):
        super().__init__(msg)
        self.status, self.msg, self.sdk_error_code = status, msg, sdk_error_code


def envelope(msg, code, sdk_error_code=0):
    return {"msg": msg, "code": code, "sdk_error_code": sdk_error_code, "data": None}


def no_workspace():
    return ApiError(400, "No such workspace", 90219)


def no_project():
    return ApiError(404, "Project not found", 0)


def no_experiment():
    return ApiError(400, "Non existing experiment", 90211)


def to_json_bytes(obj):
    # allow_nan=False: a NaN float would be invalid JSON; NaN values are strings here.
    return json.dumps(obj, ensure_ascii=False, allow_nan=False).encode("utf-8")


_NUM_RE = re.compile(r"^\s*[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?\s*$")


def finite_number(v):
    """float(v) for finite decimal numbers (also JSON numbers), else None ("NaN", "adam", True)."""
    if isinstance(v, bool) or v is None:
        return None
    if isinstance(v, (int, float)):
        return float(v) if math.isfinite(v) else None
    if isinstance(v, str) and _NUM_RE.match(v):
        f = float(v)
        return f if math.isfinite(f) else None
    return None


def parse_bool_param(value, default=False):
    """Comet takes true/false in any case (the R client sends FALSE)."""
    if value is None or value == "":
        return default
    low = value.lower()
    if low == "true":
        return True
    if low == "false":
        return False
    raise ApiError(400, "Invalid boolean value: %s" % value, 0)


def norm_query_value(v):
    low = v.lower() if isinstance(v, str) else v
    return low if low in ("true", "false") else v


def query_matches(query, wanted):
    """True if every wanted param is present in query with an equal value (booleans: any case)."""
    for k, v in wanted.items():
        if k not in query or norm_query_value(query[k]) != norm_query_value(v):
            return False
    return True


def rel_path(p):
    """Control-API paths may be given as "experiment/tags", "/experiment/tags" or with the
    /api/rest/v2/ prefix; all mean the same REST path."""
    if p is None or p == "":
        return None
    m = API_RE.match(p if p.startswith("/") else "/" + p)
    return m.group(1) if m else p.lstrip("/")


def hexid(rng, digits=32):
    return "%0*x" % (digits, rng.getrandbits(digits * 4))


def ms_to_datetime(ms):
    if ms is None:
        return None
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(ms / 1000.0))


def value_entry(name, value, ts, extra=None):
    """A parameters / log-other element (§5.13): all three values equal, no step/runContext."""
    e = {"name": name, "valueMax": value, "valueMin": value, "valueCurrent": value,
         "timestampMax": ts, "timestampMin": ts, "timestampCurrent": ts, "editable": False}
    if extra:
        e.update(extra)
    return e


def summarize_metric(name, points, has_step):
    """The metrics/summary element for one metric (§5.10), consistent with its points:
    current = highest offset; min/max = first (by offset) point with the min/max numeric value."""
    by_offset = sorted(points, key=lambda p: p["offset"])
    cur = by_offset[-1]
    numeric = [p for p in by_offset if finite_number(p["metricValue"]) is not None]
    if numeric:
        pmax = max(numeric, key=lambda p: finite_number(p["metricValue"]))   # first of ties
        pmin = min(numeric, key=lambda p: finite_number(p["metricValue"]))
    else:
        pmax = pmin = cur
    e = {"name": name,
         "valueMax": pmax["metricValue"], "valueMin": pmin["metricValue"],
         "valueCurrent": cur["metricValue"],
         "timestampMax": pmax["timestamp"], "timestampMin": pmin["timestamp"],
         "timestampCurrent": cur["timestamp"],
         "runContextMax": pmax["runContext"], "runContextMin": pmin["runContext"],
         "runContextCurrent": cur["runContext"]}
    if has_step:   # Q9: absent, not null, for metrics logged without a step
        e.update({"stepMax": pmax["step"], "stepMin": pmin["step"], "stepCurrent": cur["step"]})
    e["editable"] = False
    return e


def empty_details(meta):
    """Empty-but-valid per-experiment data (recorded experiments, §5.10-5.19 shapes)."""
    key = meta["experimentKey"]
    return {
        "metadata": meta, "summary": [], "metrics": {}, "parameters": [], "others": [],
        "tags": [], "html": "", "code": "", "output": "", "graph": "",
        "git": {"experimentKey": key, "user": None, "root": None, "branch": None,
                "parent": None, "origin": None},
        "system_details": {
            "experimentKey": key, "user": None, "pid": None, "hostname": None, "ip": None,
            "osType": None, "os": None, "osRelease": None, "machine": None, "processor": None,
            "pythonVersion": None, "pythonVersionVerbose": None, "executable": None,
            "command": [], "totalRam": None, "maxTotalMemory": None, "gpuStaticInfoList": [],
            "logAdditionalSystemInfoList": [], "systemMetricNames": [],
            "networkInterfaceIps": [], "osPackages": [], "installedPackages": []},
        "assets": [],
    }


# ---------------------------------------------------------------------------------------------
# 2. Datasets
# ---------------------------------------------------------------------------------------------

class Dataset:
    """What the endpoints read.  Objects here are served as they are (same dicts, same order)."""

    def __init__(self):
        self.account = {}
        self.workspaces = []            # names
        self.projects = []              # served project objects
        self.project_by_id = {}
        self.project_by_name = {}       # (workspaceName, projectName) -> project
        self.experiments = []           # served `experiments` list objects, archived included
        self.exp_by_key = {}
        self.exps_by_project = collections.defaultdict(list)
        self.notes = {}                 # projectId -> notes
        self.models = {}                # workspaceName -> registry models
        # §5.20-5.26 (Q15)
        self.model_details = {}         # workspaceName -> modelName -> registry-model/details
        self.model_notes = {}           # workspaceName -> modelName -> notes
        self.artifacts = {}             # workspaceName -> artifacts/get-all list
        self.artifact_details = {}      # workspaceName -> name -> artifacts/get
        self.artifact_files = {}        # workspaceName -> name -> version -> files
        self.share_links = {}           # projectId -> share codes
        self._dump = None               # (temp file, size) once built
        self._dump_lock = threading.Lock()
        self._pinned = {}               # key -> details changed by writes (never evicted)
        self._write_lock = threading.RLock()
        self._created = 0               # experiments made by write/experiment/create

    # --- building ------------------------------------------------------------------------
    def _add_project(self, p):
        self.projects.append(p)
        self.project_by_id[p["projectId"]] = p
        self.project_by_name[(p["workspaceName"], p["projectName"])] = p

    def _add_experiment(self, e):
        self.experiments.append(e)
        self.exp_by_key[e["experimentKey"]] = e
        self.exps_by_project[e["projectId"]].append(e)

    # --- per-dataset parts (overridden) -------------------------------------------------------
    def details(self, key):
        raise NotImplementedError

    # --- writes (§6) -------------------------------------------------------------------------
    def writable(self, key):
        """The details of experiment `key` to change (under _write_lock): a private copy that
        stays in memory, so that reads see every write.  Unknown key: 400 90211."""
        d = self._pinned.get(key)
        if d is None:
            base = self.details(key) if isinstance(key, str) else None
            if base is None:
                raise no_experiment()
            d = copy.deepcopy(base)
            self._pinned[key] = d
        self._dump = None               # /_fake/dataset shows the write
        return d

    def columns(self, project, archived):
        raise NotImplementedError

    # --- §5.21-5.23 per experiment (overridden; none by default) ----------------------------
    def experiment_models(self, key):
        return []

    def git_patch(self, key):
        """The zip's bytes, or None: no patch."""
        return None

    def asset_content(self, key, asset_id):
        """The asset's bytes, or None: no such asset of that experiment."""
        return None

    def match_recorded(self, method, path, query, body):
        return None

    def seed_text(self):
        return "recorded"

    # --- shared lookups ----------------------------------------------------------------------
    def experiments_of(self, project, archived):
        return [e for e in self.exps_by_project.get(project["projectId"], [])
                if bool(e.get("archived")) == archived]

    def dump(self):
        """/_fake/dataset: everything in REST shapes, as (file, size).  Written once to a temp
        file one experiment at a time, so a big benchmark dataset never sits in memory whole."""
        with self._dump_lock:
            if self._dump is None:
                f = tempfile.TemporaryFile()
                w = f.write
                w(b'{"workspaces": ' + to_json_bytes(self.workspaces))
                w(b', "projects": ' + to_json_bytes(self.projects))
                w(b', "experiments": ' + to_json_bytes(self.experiments))
                w(b', "experiment_data": {')
                for i, e in enumerate(self.experiments):
                    k = e["experimentKey"]
                    w((b", " if i else b"") + to_json_bytes(k) + b": " +
                      to_json_bytes(self.details(k)))
                w(b'}, "project_notes": ' + to_json_bytes(self.notes))
                w(b', "account": ' + to_json_bytes(self.account))
                w(b', "registry_models": ' + to_json_bytes(self.models))
                w(b', "columns": ' + to_json_bytes(
                    {p["projectId"]: self.columns(p, False) for p in self.projects}))
                self._dump_more(w)
                w(b"}")
                f.flush()
                self._dump = (f, f.tell())
            return self._dump


    def _dump_more(self, w):
        """The §5.20-5.26 data (Q15): bytes as base64 (null: none), per experiment one at a time."""
        w(b', "registry_model_details": ' + to_json_bytes(self.model_details))
        w(b', "registry_model_notes": ' + to_json_bytes(self.model_notes))
        w(b', "artifacts": ' + to_json_bytes(self.artifacts))
        w(b', "artifact_details": ' + to_json_bytes(self.artifact_details))
        w(b', "artifact_files": ' + to_json_bytes(self.artifact_files))
        w(b', "project_share_links": ' + to_json_bytes(
            {p["projectId"]: self.share_links.get(p["projectId"], []) for p in self.projects}))
        for name, part in (("experiment_models", self.experiment_models),
                           ("git_patches", lambda k: _b64(self.git_patch(k))),
                           ("asset_contents", lambda k: {
                               a["assetId"]: _b64(self.asset_content(k, a["assetId"]))
                               for a in self.details(k)["assets"]})):
            w(b', "' + name.encode() + b'": {')
            for i, e in enumerate(self.experiments):
                k = e["experimentKey"]
                w((b", " if i else b"") + to_json_bytes(k) + b": " + to_json_bytes(part(k)))
            w(b"}")


def _b64(data):
    return None if data is None else base64.b64encode(data).decode("ascii")


def stored_zip(name, data):
    """A zip archive holding one file, stored (not compressed) with a fixed date: the same
    bytes on every Python (zipfile's output may vary between versions)."""
    fname = name.encode("utf-8")
    crc = zlib.crc32(data) & 0xFFFFFFFF
    dos_time, dos_date = 0, (2023 - 1980) << 9 | 11 << 5 | 14
    local = struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, 0x800, 0, dos_time, dos_date, crc,
                        len(data), len(data), len(fname), 0) + fname + data
    central = struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 20, 20, 0x800, 0, dos_time,
                          dos_date, crc, len(data), len(data), len(fname), 0, 0, 0, 0,
                          0o100644 << 16, 0) + fname
    end = struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, 1, 1, len(central), len(local), 0)
    return local + central + end


class GeneratedDataset(Dataset):
    """Deterministic data from random.Random(seed).  Workspaces, projects and experiment rows
    are built eagerly; each experiment's details come from its own RNG seeded by (seed, key),
    built on first use and kept in a small LRU, so big benchmark datasets fit in memory and
    every answer stays byte-identical across runs."""

    def __init__(self, args):
        super().__init__()
        self.args = args
        self.metric_specs = [METRIC_SPECS[i] if i < len(METRIC_SPECS)
                             else ("metric_%d" % i, "random", "step", "train", False)
                             for i in range(args.metrics)]
        self.param_specs = [PARAM_SPECS[i] if i < len(PARAM_SPECS)
                            else ("param_%d" % i, "double", [str(i), str(i * 10)])
                            for i in range(args.params)]
        self.other_specs = [OTHER_SPECS[i] if i < len(OTHER_SPECS)
                            else ("other_%d" % i, ["value %d" % i])
                            for i in range(args.others)]
        self._info = {}            # key -> internal facts used to build details
        self._cache = collections.OrderedDict()
        self._cache_points = 0
        self._cache_lock = threading.Lock()
        self._build(random.Random(args.seed))
        # Q15: its own random streams, so that nothing built above changes
        self._model_of = {}         # experimentKey -> the registry's experiment model
        self._build_more(random.Random("fake-comet-more/%d" % args.seed))

    def _build(self, rng):
        a = self.args
        self.workspaces = [WORKSPACE_NAMES[i] if i < len(WORKSPACE_NAMES) else "workspace-%d" % i
                           for i in range(a.workspaces)]
        user = "fake-user"
        self.account = {"userName": user,
                        "defaultWorkspaceName": self.workspaces[0] if self.workspaces else None}
        nprojects = a.workspaces * a.projects
        n = 0
        for wi, ws in enumerate(self.workspaces):
            for pj in range(a.projects):
                g = wi * a.projects + pj
                pid = hexid(rng)
                pname = PROJECT_NAMES[g] if g < len(PROJECT_NAMES) else "project-%d" % g
                desc = (PROJECT_DESCRIPTIONS[g] if g < len(PROJECT_DESCRIPTIONS)
                        else "description of %s" % pname)
                exps = []
                for j in range(a.experiments):
                    exps.append(self._build_experiment(rng, n, g, j, ws, pid, pname, user))
                    n += 1
                last = max([i["last_ms"] for i in exps], default=BASE_TIME_MS + g * 86400000)
                project = {"projectId": pid, "projectName": pname, "ownerUserName": user,
                           "projectDescription": desc, "workspaceName": ws,
                           "numberOfExperiments": sum(1 for i in exps if not i["archived"]),
                           "lastUpdated": last}
                # Q5: the last project says isPublic, the others public
                project["isPublic" if g == nprojects - 1 else "public"] = (g % 2 == 0)
                if g == 0:
                    project["futureField"] = FUTURE_FIELD          # Q6
                self._add_project(project)
                for info in exps:
                    self._add_experiment(info["list"])
                self.notes[pid] = ("These are my project-level notes\nsecond line: ünïcode ✓"
                                   if g % 3 == 0 else (None if g % 3 == 1 else ""))
        for wi, ws in enumerate(self.workspaces):
            self.models[ws] = []
        if self.workspaces and self.experiments:
            first = self.experiments[0]
            ts = first["startTimeMillis"] + 3600000
            self.models[self.workspaces[0]] = [{
                "registryModelId": hexid(rng), "modelName": "mnist-cnn",
                "description": "digits", "isPublic": False, "numberOfVersions": 1,
                "createdAt": ts, "lastUpdated": ts, "userName": user, "imagePath": None,
                "latestVersion": {
                    "registryModelItemId": hexid(rng),
                    "experimentModel": {"experimentModelId": hexid(rng),
                                        "experimentModelName": "mnist-cnn",
                                        "experimentKey": first["experimentKey"]},
                    "version": "1.0.0", "comment": "first", "stages": ["production", "staging"],
                    "userName": user, "createdAt": ts, "lastUpdated": ts,
                    "metadata": ["metadata from first asset"]}}]

    def _build_more(self, rng):
        """Q15: registry details and notes, artifacts, share links."""
        user = self.account["userName"]
        for ws, models in self.models.items():
            self.model_details[ws] = {}
            self.model_notes[ws] = {}
            for m in models:
                v = copy.deepcopy(m["latestVersion"])
                v["assets"] = [{"fileName": "model.pt", "fileSize": 1234567,
                                "assetId": hexid(rng), "type": "model-element"}]
                d = {k: val for k, val in m.items() if k != "latestVersion"}
                d.update({"workspaceId": hexid(rng), "isAutoGenerated": False,
                          "isMonitored": False, "versions": [v]})
                self.model_details[ws][m["modelName"]] = d
                self.model_notes[ws][m["modelName"]] = ("Model card of %s\nünïcode ✓"
                                                        % m["modelName"])
                em = v["experimentModel"]
                self._model_of[em["experimentKey"]] = {
                    "experimentModelId": em["experimentModelId"],
                    "experimentKey": em["experimentKey"], "modelName": em["experimentModelName"],
                    "registryRecords": [{"registryModelId": m["registryModelId"],
                                         "registryModelItemId": v["registryModelItemId"],
                                         "registryModelName": m["modelName"],
                                         "version": v["version"], "createdAt": v["createdAt"]}]}
        for wi, ws in enumerate(self.workspaces):
            specs = []
            if wi == 0:
                specs = [("mnist-dataset", "dataset", "mnist", "MNIST images and labels", "📦",
                          False, [("1.0.0", [], ["raw"], '{"rows": 60000}', "COMPLETED"),
                                  ("1.1.0", ["latest", "prod"], [], '{"rows": 70000}',
                                   "COMPLETED")]),
                         ("ünïcode set/v 1", "model", None, "ünïcode ✓", "🚀", True,
                          [("0.1.0", [], ["ü"], None, None)])]
            elif wi == 1:
                specs = [("vision-weights", "model", None, "", None, False,
                          [("2.0.0", ["latest"], [], "{}", "COMPLETED")])]
            self.artifacts[ws] = []
            self.artifact_details[ws] = {}
            self.artifact_files[ws] = {}
            exps = [e for e in self.experiments if e["workspaceName"] == ws]
            for name, atype, project, desc, emoji, public, versions in specs:
                aid = hexid(rng)
                vlist, files_of = [], {}
                for vi, (ver, alias, tags, meta, state) in enumerate(versions):
                    vid = hexid(rng)
                    files = []
                    for fi in range(2 if atype == "dataset" else 1):
                        remote = name.startswith("ü")
                        fname = "part-%d.csv" % fi if atype == "dataset" else "weights ü.bin"
                        files.append({
                            "artifactId": aid, "artifactVersionId": vid, "assetId": hexid(rng),
                            "fileName": fname, "fileSize": rng.randint(100, 10 ** 6),
                            "link": ("s3://fake-bucket/%s" % fname if remote else
                                     "https://www.comet.com/api/asset/download?assetId=%s"
                                     % hexid(rng)),
                            "dir": "data" if atype == "dataset" else None,
                            "type": "asset", "metadata": meta if fi == 0 else None,
                            "remote": remote})
                    files_of[ver] = files
                    vlist.append({
                        "artifactVersionId": vid, "version": ver, "owner": user,
                        "metadata": meta,
                        "createdFrom": exps[vi % len(exps)]["experimentKey"] if exps else None,
                        "sizeInBytes": sum(f["fileSize"] for f in files), "state": state,
                        "added": BASE_TIME_MS + 86400000 * (wi + 1) + 3600000 * vi,
                        "alias": alias, "tags": tags})
                art = {"artifactId": aid, "project": project, "type": atype, "name": name,
                       "description": desc, "versionsCount": len(vlist),
                       "tags": ["mnist"] if project else [], "isPublic": public, "emoji": emoji,
                       "sizeInBytes": sum(v["sizeInBytes"] for v in vlist)}
                self.artifacts[ws].append(art)
                self.artifact_details[ws][name] = dict(art, latestVersion=vlist[-1],
                                                       versions=vlist)
                self.artifact_files[ws][name] = files_of
        for g, p in enumerate(self.projects):
            self.share_links[p["projectId"]] = ([hexid(rng, 12), hexid(rng, 12)] if g % 2 == 0
                                                else [])

    def experiment_models(self, key):
        info = self._info.get(key)
        if info is None or info["role"] == 1:
            return []
        rng = random.Random("fake-comet-models/%d/%s" % (self.args.seed, key))
        models = [self._model_of.get(key) or {
            "experimentModelId": hexid(rng), "experimentKey": key, "modelName": "model",
            "registryRecords": []}]
        if info["role"] == 0:
            models.append({"experimentModelId": hexid(rng), "experimentKey": key,
                           "modelName": "ünïcode model/v2", "registryRecords": None})
        return models

    def git_patch(self, key):
        info = self._info.get(key)
        if info is None or info["role"] == 1:
            return None
        diff = ("diff --git a/train.py b/train.py\n--- a/train.py\n+++ b/train.py\n"
                "@@ -1,2 +1,2 @@\n-lr = 0.1\n+lr = 0.01  # ünïcode ✓\n print(%r)\n" % key)
        return stored_zip("git_diff.patch", diff.encode("utf-8"))

    def asset_content(self, key, asset_id):
        d = self.details(key)
        asset = next((a for a in (d or {}).get("assets", []) if a["assetId"] == asset_id), None)
        if asset is None:
            return None
        rng = random.Random("fake-comet-asset/%d/%s/%s" % (self.args.seed, key, asset_id))
        name = asset["fileName"]
        if name.endswith(".svg"):
            text = ('<svg xmlns="http://www.w3.org/2000/svg" width="640" height="480">'
                    '<text x="10" y="20">%s ü</text></svg>\n' % asset_id)
        elif name.endswith(".txt"):
            text = "notes of %s\nünïcode ✓\n" % key
        elif name.endswith(".csv"):
            text = "step,loss\n" + "".join("%d,%.4f\n" % (i, 2.5 / (i + 1)) for i in range(5))
        elif name.endswith(".json"):
            text = json.dumps({"name": name, "x": [0, 1, 2], "y": [rng.random() for _ in range(3)],
                               "msg": "a JSON asset with a msg field is still an asset"})
        else:
            return b"\x00\x01\xff\xfe" + bytes(range(256)) + rng.randbytes(64)
        return text.encode("utf-8")

    def _build_experiment(self, rng, n, g, j, ws, pid, pname, user):
        a = self.args
        role = j % 5
        key = hexid(rng)
        start = BASE_TIME_MS + g * 86400000 + j * 3600000 + rng.randint(0, 999999)
        last_point = start + 1000 + a.points * 1000        # bound of the metric timestamps
        end = last_point + 5000 + rng.randint(0, 2000)
        running = role == 1
        if role in (1, 4):
            name = None
        elif n == 0:
            name = "baseline run #1 ü/✓"
        else:
            name = "%s_%s_%d" % (rng.choice(ADJECTIVES), rng.choice(ANIMALS),
                                 rng.randint(1000, 9999))
        file_name, file_path = {0: ("train.py", "/home/fake-user/src/train.py"),
                                1: (None, None),
                                2: ("train.py", "/home/fake-user/src/train.py"),
                                3: ("sweep.py", None),
                                4: ("notebook.ipynb", "/home/fake-user/nb/notebook.ipynb")}[role]
        opt_id = hexid(rng) if role == 3 else None
        exp_user = "alice" if role == 3 else user
        end_ms = None if running else end
        duration = ((last_point if running else end) - start) // 1000     # Q4: seconds
        archived = role == 2
        lst = {"experimentKey": key, "experimentName": name, "optimizationId": opt_id,
               "projectId": pid, "projectName": pname, "workspaceName": ws,
               "filePath": file_path, "fileName": file_name, "durationMillis": duration,
               "startTimeMillis": start, "endTimeMillis": end_ms, "archived": archived,
               "userName": exp_user, "running": running, "throttle": False}
        if role == 0:
            lst["futureField"] = FUTURE_FIELD
        meta = {"experimentKey": key, "experimentName": name, "projectId": pid,
                "projectName": pname, "workspaceName": ws, "userName": exp_user,
                "optimizationId": opt_id, "fileName": file_name, "filePath": file_path,
                "startTimeMillis": start, "endTimeMillis": end_ms, "durationMillis": duration,
                "running": running, "archived": archived, "throttle": False}
        if role == 3:
            meta["futureField"] = FUTURE_FIELD
        info = {"key": key, "n": n, "g": g, "j": j, "role": role, "name": name, "start": start,
                "end": end_ms, "archived": archived, "user": exp_user, "list": lst,
                "meta": meta, "last_ms": end if not running else last_point}
        self._info[key] = info
        return info

    # --- details -------------------------------------------------------------------------
    def seed_text(self):
        return str(self.args.seed)

    def details(self, key):
        pinned = self._pinned.get(key)
        if pinned is not None:
            return pinned
        with self._cache_lock:
            hit = self._cache.get(key)
            if hit is not None:
                self._cache.move_to_end(key)
                return hit[0]
        info = self._info.get(key)
        if info is None:
            return None
        d = self._gen_details(info)
        with self._cache_lock:
            # bounded by metric points (what costs memory), so benchmarks do not grow unbounded
            if key not in self._cache:
                cost = 1 + sum(len(v) for v in d["metrics"].values())
                self._cache[key] = (d, cost)
                self._cache_points += cost
            while self._cache_points > DETAILS_CACHE_POINTS and len(self._cache) > 1:
                _, (_, cost) = self._cache.popitem(last=False)
                self._cache_points -= cost
        return d

    def _gen_details(self, info):
        a = self.args
        key, n, role, start = info["key"], info["n"], info["role"], info["start"]
        rng = random.Random("fake-comet/%d/%s" % (a.seed, key))   # str seeds are stable
        bare = role == 1

        # metrics: logged step by step, all metrics per step, so offsets interleave with gaps
        points = {spec[0]: [] for spec in self.metric_specs}
        offset = rng.randint(1, 20)
        P = a.points
        for i in range(P):
            x = i / max(P - 1, 1)
            for mi, (mname, kind, step_mode, ctx, has_epoch) in enumerate(self.metric_specs):
                offset += rng.randint(1, 4)
                pts = points[mname]
                if mi == 0 and i % 4 == 3 and pts:
                    ts = pts[-1]["timestamp"]          # Q9: shared timestamp
                else:
                    ts = start + 1000 + i * 1000 + mi * 10 + rng.randint(0, 5)
                if step_mode == "none":
                    step = None
                elif step_mode == "dup_last" and i == P - 1 and P > 1:
                    step = i - 1                          # Q9: shared step
                else:
                    step = i
                pts.append({"metricName": mname,
                            "metricValue": self._metric_value(rng, kind, i, x, P, role),
                            "timestamp": ts, "step": step,
                            "epoch": i // 5 if has_epoch else None,
                            "runContext": ctx, "offset": offset})
        summary = []
        for mname, kind, step_mode, ctx, has_epoch in self.metric_specs:
            if points[mname]:
                summary.append(summarize_metric(mname, points[mname], step_mode != "none"))
        if summary and role == 0:
            summary[0]["futureField"] = FUTURE_FIELD
        for mname in points:
            rng.shuffle(points[mname])                 # Q9: served unordered

        pts_ts = start + rng.randint(50, 500)
        parameters = []
        for k, (pname, _type, values) in enumerate(self.param_specs):
            extra = {"futureField": FUTURE_FIELD} if (k == 0 and role == 0) else None
            parameters.append(value_entry(pname, values[(n + k) % len(values)], pts_ts + k,
                                          extra))

        others = []
        ots = start + rng.randint(500, 900)
        if info["name"] is not None:
            others.append(value_entry("Name", info["name"], ots))
        others.append(value_entry("storage_size_bytes", str(rng.randint(1000, 10 ** 8)),
                                  ots + 1))
        for k, (oname, values) in enumerate(self.other_specs):
            others.append(value_entry(oname, values[(n + k) % len(values)], ots + 2 + k))

        tags = [] if bare else [
            TAG_POOL[(n + t) % len(TAG_POOL)] if t < len(TAG_POOL) else "tag-%d" % t
            for t in range(a.tags)]

        disp = info["name"] or "unnamed experiment"
        html = (None if bare else "" if role == 4
                else "<div style='color: red'>%s</div>\n<p>ünïcode ✓</p>" % disp)
        code = "" if bare else ('import comet_ml\nexperiment = comet_ml.Experiment()\n'
                                'print("hello from %s")\n' % disp)
        output = "" if bare else "".join(
            ["COMET INFO: Experiment is live on comet.com\n"] +
            ["Epoch %d/%d\n\tloss: %.4f — ünïcode ✓\n" % (e + 1, 3, 1.0 / (e + 1))
             for e in range(3)])
        graph = "" if bare else '{"nodes":["a","b","c"],"edges":["a,b","c,a"]}'

        git = {"experimentKey": key, "user": None, "root": None, "branch": None,
               "parent": None, "origin": None}
        if not bare:
            git.update({"user": info["user"], "root": hexid(rng, 40), "branch": "refs/heads/main",
                        "parent": None if role == 4 else hexid(rng, 40),
                        "origin": "git@github.com:fake/comet-examples.git"})

        system = self._system_details(rng, info)

        assets = []
        if not bare:
            for i in range(a.assets):
                assets.append(self._asset(rng, info, i))

        return {"metadata": info["meta"], "summary": summary, "metrics": points,
                "parameters": parameters, "others": others, "tags": tags, "html": html,
                "code": code, "output": output, "graph": graph, "git": git,
                "system_details": system, "assets": assets}

    @staticmethod
    def _metric_value(rng, kind, i, x, P, role):
        if kind == "decay":
            return repr(2.5 * math.exp(-3 * x) + rng.uniform(0, 0.05))
        if kind == "decay_nan":
            v = 2.6 * math.exp(-2.5 * x) + rng.uniform(0, 0.1)
            return "NaN" if (role == 0 and P >= 3 and i == P // 2) else repr(v)
        if kind == "rise":
            return repr(min(1.0, 0.1 + 0.85 * (1 - math.exp(-3 * x)) + rng.uniform(0, 0.02)))
        if kind == "lr":
            return repr(0.01 * 0.5 ** (i // 3))
        if kind == "percent":
            return repr(round(rng.uniform(5, 95), 1))
        if kind == "int":
            return str(rng.randint(4000000000, 8000000000))
        return repr(rng.random())

    def _system_details(self, rng, info):
        role, g, key = info["role"], info["g"], info["key"]
        bare = role == 1
        ngpu = 0 if bare else (2 if role == 0 else 1)
        gpus = [{"gpuIndex": i, "name": "NVIDIA A100-SXM4-40GB",
                 "uuid": "GPU-%s" % hexid(rng, 12), "totalMemory": 42949672960,
                 "powerLimit": 400000} for i in range(ngpu)]
        ip = "10.0.%d.%d" % (g % 250, rng.randint(2, 250))
        npk = 3 + (info["n"] % 4)
        sd = {"experimentKey": key, "user": info["user"],
              "pid": None if bare else rng.randint(1000, 65000),
              "hostname": None if bare else "gpu-box-%02d" % g,
              "ip": None if bare else ip, "osType": "Linux",
              "os": "Linux-6.1.0-18-amd64-x86_64-with-glibc2.36", "osRelease": "6.1.0-18-amd64",
              "machine": "x86_64", "processor": None if bare else "x86_64",
              "pythonVersion": "3.11.7",
              "pythonVersionVerbose": "3.11.7 (main, Dec  8 2023, 14:22:46) [GCC 12.2.0]",
              "executable": "/usr/bin/python3",
              "command": ["train.py", "--lr", "0.01", "--name", "batch size 128"],
              "totalRam": 34359738368.0 if role == 4 else 34359738368,
              "maxTotalMemory": None, "gpuStaticInfoList": gpus,
              "logAdditionalSystemInfoList": [{"key": "someKey", "value": "someValue"}],
              "systemMetricNames": [s[0] for s in self.metric_specs if s[0].startswith("sys.")],
              "networkInterfaceIps": [] if bare else ["127.0.0.1", ip],
              "osPackages": ["accountsservice=0.6.45-1ubuntu1", "libc6=2.36-9+deb12u4"],
              "installedPackages": INSTALLED_PACKAGES[:npk]}
        if role == 0:
            sd["futureField"] = FUTURE_FIELD
        return sd

    def _asset(self, rng, info, i):
        key = info["key"]
        if i < len(ASSET_SPECS):
            fname, atype, adir, meta, remote = ASSET_SPECS[i]
        else:
            fname, atype, adir, meta, remote = "asset-%d.bin" % i, "asset", "assets", None, False
        aid = hexid(rng)
        link = ("s3://fake-bucket/data/%s" % fname if remote else
                "https://www.comet.com/api/asset/download?experimentKey=%s&assetId=%s"
                % (key, aid))
        e = {"assetId": aid, "fileName": fname, "fileSize": rng.randint(10, 5000000),
             "type": atype, "dir": adir, "step": None if i % 2 == 0 else i,
             "runContext": "train" if i % 3 == 1 else None, "link": link,
             "compressedAssetLink": None, "createdAt": info["start"] + 2000 + i * 37,
             "canView": atype == "image", "image": atype == "image", "audio": False,
             "video": False, "histogram": atype.startswith("histogram"), "remote": remote,
             "tags": ["plot"] if atype == "image" else [],
             "curlDownload": ('curl "https://www.comet.com/api/rest/v2/experiment/asset/get-asset'
                              '?experimentKey=%s&assetId=%s" -H "Authorization: <Your Api Key>"'
                              ' > "%s"' % (key, aid, fname)),
             "metadata": meta}
        if i == 0 and info["role"] == 0:
            e["futureField"] = FUTURE_FIELD
        return e

    def columns(self, project, archived):
        cols = [(name, typ, "metadata") for name, typ in META_COLUMNS]
        exps = self.experiments_of(project, archived)
        if exps:
            if self.args.points > 0:
                cols += [(s[0], "double", "metrics") for s in self.metric_specs]
            cols += [(s[0], s[1], "params") for s in self.param_specs]
            if any(e["experimentName"] is not None for e in exps):
                cols.append(("Name", "string", "log_other"))
            cols.append(("storage_size_bytes", "string", "log_other"))
            cols += [(s[0], "string", "log_other") for s in self.other_specs]
            cols += [("hostname", "string", "env_details"), ("os", "string", "env_details")]
            # what writes added: every column the experiments have (none at start-up)
            seen = {(nm, src) for nm, _typ, src in cols}
            for e in exps:
                d = self._pinned.get(e["experimentKey"])
                if d is None:
                    continue
                extra = [(m, "double", "metrics") for m in d["metrics"] if d["metrics"][m]]
                extra += [(v["name"], "double" if finite_number(v["valueCurrent"]) is not None
                           else "string", "params") for v in d["parameters"]]
                extra += [(v["name"], "string", "log_other") for v in d["others"]]
                for nm, typ, src in extra:
                    if (nm, src) not in seen:
                        seen.add((nm, src))
                        cols.append((nm, typ, src))
        return [{"name": nm, "id": "%s--%s" % (nm, src), "type": typ, "source": src}
                for nm, typ, src in cols]


class RecordedDataset(Dataset):
    """Dataset built from real recorded responses (--recorded DIR); requests that match a
    recorded one get the file's bytes verbatim, others are answered from this dataset."""

    def __init__(self, directory, warn):
        super().__init__()
        root = Path(directory)
        if (root / "api" / "rest" / "v2").is_dir():
            root = root / "api" / "rest" / "v2"
        if not root.is_dir():
            raise SystemExit("--recorded: not a directory: %s" % directory)
        self.root = root
        self._columns = {}              # projectId -> columns
        self._details = {}
        self.recorded = []              # (method, path, query, body, bytes)

        ws_file = root / "workspaces.json"
        if ws_file.is_file():
            self.workspaces = list(json.loads(ws_file.read_bytes())["workspaceNames"])
        for f in sorted(root.glob("projects-*.json")):
            for p in json.loads(f.read_bytes()).get("projects", []):
                if p["projectId"] not in self.project_by_id:
                    self._add_project(p)
                    if p["workspaceName"] not in self.workspaces:
                        self.workspaces.append(p["workspaceName"])
        for f in sorted(root.glob("experiments-*.json")):
            for e in json.loads(f.read_bytes()).get("experiments", []):
                if e["experimentKey"] not in self.exp_by_key:
                    self._add_experiment(e)
        for fname, method, path, query, body in RECORDED_REQUESTS:
            f = root / fname
            if not f.is_file():
                warn("recorded file missing: %s" % f)
                continue
            raw = f.read_bytes()
            self.recorded.append((method, path, query, body, raw))
            if path == "project/column-names":
                p = (self.project_by_id.get(query.get("projectId")) or
                     self.project_by_name.get((query.get("workspaceName"),
                                               query.get("projectName"))))
                if p is not None:
                    self._columns.setdefault(p["projectId"], json.loads(raw)["columns"])
        known = {r[0] for r in RECORDED_REQUESTS}
        for f in sorted(root.rglob("*.json")):
            rel = f.relative_to(root).as_posix()
            if rel not in known and not re.match(r"^(projects|experiments)-[0-9a-f]+\.json$", rel):
                warn("recorded file not mapped to a request (ignored): %s" % rel)

        owner = self.projects[0]["ownerUserName"] if self.projects else None
        user = owner or (self.workspaces[0] if self.workspaces else None)
        self.account = {"userName": user,
                        "defaultWorkspaceName": self.workspaces[0] if self.workspaces else None}
        for p in self.projects:
            self.notes[p["projectId"]] = ""
        for ws in self.workspaces:
            self.models[ws] = []
        for e in self.experiments:
            p = self.project_by_id.get(e["projectId"], {})
            meta = {"experimentKey": e["experimentKey"],
                    "experimentName": e.get("experimentName"),
                    "projectId": e["projectId"], "projectName": e.get("projectName"),
                    "workspaceName": e.get("workspaceName"),
                    "userName": e.get("userName", p.get("ownerUserName")),
                    "optimizationId": e.get("optimizationId"), "fileName": e.get("fileName"),
                    "filePath": e.get("filePath"), "startTimeMillis": e.get("startTimeMillis"),
                    "endTimeMillis": e.get("endTimeMillis"),
                    "durationMillis": e.get("durationMillis"),
                    "running": bool(e.get("running", False)),
                    "archived": bool(e.get("archived", False)),
                    "throttle": bool(e.get("throttle", False))}
            self._details[e["experimentKey"]] = empty_details(meta)

    def details(self, key):
        return self._pinned.get(key) or self._details.get(key)

    def columns(self, project, archived):
        cols = self._columns.get(project["projectId"])
        if cols is None:
            cols = [{"name": nm, "id": "%s--metadata" % nm, "type": typ, "source": "metadata"}
                    for nm, typ in META_COLUMNS]
        return cols

    def match_recorded(self, method, path, query, body):
        for r_method, r_path, r_query, r_body, raw in self.recorded:
            if r_method != method or r_path != path:
                continue
            if {k: norm_query_value(v) for k, v in r_query.items()} != \
                    {k: norm_query_value(v) for k, v in query.items()}:
                continue
            if r_body is not None and _strip_empty(r_body) != _strip_empty(body):
                continue
            return raw
        return None


class DemoDataset(Dataset):
    """--dataset demo: what a small ML team's account looks like, for demo/demo.sh and the README.
    Three projects (image classification, a language-model fine-tune, a hyperparameter sweep) in
    workspace "acme-ml", plus an empty personal workspace.  Everything is fixed: experiment keys
    come from their names, so the README's examples can name them.  None of the generated
    dataset's quirks: those stay in the tests.  --dataset empty: a new account, one empty workspace.
    """

    USER = "jane-doe"
    WORKSPACE = "acme-ml"
    BASE_MS = 1709280000000              # 2024-03-01 08:00:00 UTC

    # name, description, kind, first day (after BASE_MS), experiments:
    # (name, user, params, quality 0..1, tags, state)  state: "" | "running" | "archived"
    PROJECTS = [
        ("churn-sweep", "Hyperparameter sweep of the gradient-boosted churn model", "sweep", 0, [
            ("churn-sweep-%02d" % (i + 1), "sam-lee",
             {"learning_rate": lr, "max_depth": d, "n_estimators": 300, "subsample": s,
              "objective": "binary:logistic"}, q, t, "")
            for i, (lr, d, s, q, t) in enumerate([
                (0.3, 4, 1.0, 0.35, []), (0.3, 8, 0.8, 0.20, []),
                (0.1, 4, 0.8, 0.70, []), (0.1, 6, 0.8, 0.95, ["best"]),
                (0.1, 8, 1.0, 0.60, []), (0.05, 6, 0.8, 0.85, []),
                (0.03, 6, 1.0, 0.55, []), (0.03, 4, 0.8, 0.45, [])])]),
        ("support-llm", "Fine-tuning a 7B language model on support tickets (LoRA)", "llm", 3, [
            ("lora-r8", "jane-doe", {"base_model": "llama-2-7b", "lora_rank": 8, "lora_alpha": 16,
             "learning_rate": 0.0002, "batch_size": 16, "max_seq_len": 2048, "epochs": 3},
             0.40, ["baseline"], ""),
            ("lora-r4-smoke-test", "jane-doe", {"base_model": "llama-2-7b", "lora_rank": 4,
             "lora_alpha": 8, "learning_rate": 0.0002, "batch_size": 4, "max_seq_len": 512,
             "epochs": 1}, 0.10, ["smoke-test"], "archived"),
            ("lora-r16", "jane-doe", {"base_model": "llama-2-7b", "lora_rank": 16, "lora_alpha": 32,
             "learning_rate": 0.0002, "batch_size": 16, "max_seq_len": 2048, "epochs": 3},
             0.65, [], ""),
            ("lora-r16-lr1e-4", "jane-doe", {"base_model": "llama-2-7b", "lora_rank": 16,
             "lora_alpha": 32, "learning_rate": 0.0001, "batch_size": 16, "max_seq_len": 2048,
             "epochs": 3}, 0.90, ["best"], ""),
        ]),
        ("product-images", "Image classification of catalogue photos (12 classes)", "vision", 8, [
            ("resnet18-baseline", "jane-doe", {"model": "resnet18", "optimizer": "sgd",
             "lr": 0.1, "batch_size": 64, "epochs": 20, "weight_decay": 0.0001,
             "augmentation": "flip", "pretrained": True}, 0.30, ["baseline"], ""),
            ("resnet50-sgd", "jane-doe", {"model": "resnet50", "optimizer": "sgd", "lr": 0.1,
             "batch_size": 64, "epochs": 20, "weight_decay": 0.0001, "augmentation": "flip",
             "pretrained": True}, 0.55, [], ""),
            ("resnet50-adamw", "jane-doe", {"model": "resnet50", "optimizer": "adamw",
             "lr": 0.001, "batch_size": 64, "epochs": 20, "weight_decay": 0.05,
             "augmentation": "flip", "pretrained": True}, 0.70, [], ""),
            ("efficientnet-b0", "sam-lee", {"model": "efficientnet_b0", "optimizer": "adamw",
             "lr": 0.001, "batch_size": 128, "epochs": 20, "weight_decay": 0.05,
             "augmentation": "flip", "pretrained": True}, 0.62, [], ""),
            ("resnet50-adamw-mixup", "jane-doe", {"model": "resnet50", "optimizer": "adamw",
             "lr": 0.001, "batch_size": 64, "epochs": 20, "weight_decay": 0.05,
             "augmentation": "flip+mixup", "pretrained": True}, 0.92, ["best"], ""),
            ("vit-small", "sam-lee", {"model": "vit_small_patch16_224", "optimizer": "adamw",
             "lr": 0.0003, "batch_size": 64, "epochs": 20, "weight_decay": 0.05,
             "augmentation": "flip+mixup", "pretrained": True}, 0.80, ["wip"], "running"),
        ]),
    ]

    PACKAGES = {
        "vision": ["comet-ml==3.39.0", "numpy==1.26.4", "pillow==10.2.0", "timm==0.9.16",
                   "torch==2.2.1", "torchvision==0.17.1"],
        "llm": ["accelerate==0.27.2", "bitsandbytes==0.42.0", "comet-ml==3.39.0",
                "datasets==2.18.0", "peft==0.9.0", "torch==2.2.1", "transformers==4.38.2"],
        "sweep": ["comet-ml==3.39.0", "numpy==1.26.4", "optuna==3.5.0", "pandas==2.2.1",
                  "scikit-learn==1.4.1.post1", "xgboost==2.0.3"],
    }

    def __init__(self, empty=False):
        super().__init__()
        self._details = {}
        self._columns = {}
        if empty:
            self.workspaces = ["new-user"]
            self.account = {"userName": "new-user", "defaultWorkspaceName": "new-user"}
            self.models["new-user"] = []
            return
        self.workspaces = [self.WORKSPACE, self.USER]
        self.account = {"userName": self.USER, "defaultWorkspaceName": self.WORKSPACE}
        self.models = {self.WORKSPACE: [], self.USER: []}
        for pname, desc, kind, day, exps in self.PROJECTS:
            self._build_project(pname, desc, kind, day, exps)

    @staticmethod
    def key_of(name):
        return hexid(random.Random("comet-demo/" + name))

    def _build_project(self, pname, desc, kind, day, exps):
        pid = hexid(random.Random("comet-demo-project/" + pname))
        opt_id = hexid(random.Random("comet-demo-sweep/" + pname)) if kind == "sweep" else None
        last = 0
        for j, (name, user, params, quality, tags, state) in enumerate(exps):
            rng = random.Random("comet-demo-exp/" + name)
            start = (self.BASE_MS + day * 86400000 + j * (4 if kind == "sweep" else 19) * 3600000
                     + rng.randint(0, 1800) * 1000)
            d, last_ms = self._build_experiment(rng, kind, name, user, params, quality, tags,
                                                state, start, pid, pname, opt_id)
            meta = d["metadata"]
            self._add_experiment(dict(meta, throttle=False))
            self._details[meta["experimentKey"]] = d
            last = max(last, meta["endTimeMillis"] or last_ms)
        cols = [(n, t, "metadata") for n, t in META_COLUMNS]
        first = self._details[self.key_of(exps[0][0])]
        cols += [(m, "double", "metrics") for m in first["metrics"]]
        cols += [(p, "double" if type(v) in (int, float) else "string", "params")
                 for p, v in exps[0][2].items()]
        cols += [(o["name"], "string", "log_other") for o in first["others"]]
        cols += [("hostname", "string", "env_details"), ("os", "string", "env_details")]
        self._columns[pid] = [{"name": n, "id": "%s--%s" % (n, s), "type": t, "source": s}
                              for n, t, s in cols]
        self._add_project({
            "projectId": pid, "projectName": pname, "ownerUserName": self.USER,
            "projectDescription": desc, "workspaceName": self.WORKSPACE,
            "numberOfExperiments": sum(1 for e in exps if e[5] != "archived"),
            "lastUpdated": last, "public": False})
        self.notes[pid] = {
            "vision": "Goal: 92% top-1 accuracy on the March catalogue.\n"
                      "Best so far: resnet50-adamw-mixup; vit-small still training.",
            "llm": "Eval set: 2,000 held-out tickets. Next: try rank 32.",
            "sweep": ""}[kind]
        best = [e for e in exps if "best" in e[4]]
        if kind in ("vision", "llm") and best:
            bkey = self.key_of(best[0][0])
            ts = self._details[bkey]["metadata"]["endTimeMillis"] + 3600000
            model = "product-classifier" if kind == "vision" else "support-llm-lora"
            self.models[self.WORKSPACE].append({
                "registryModelId": hexid(random.Random("comet-demo-model/" + model)),
                "modelName": model, "description": desc, "isPublic": False,
                "numberOfVersions": 3 if kind == "vision" else 1, "createdAt": ts,
                "lastUpdated": ts, "userName": self.USER, "imagePath": None,
                "latestVersion": {
                    "registryModelItemId": hexid(random.Random("comet-demo-item/" + model)),
                    "experimentModel": {"experimentModelId": hexid(random.Random(model)),
                                        "experimentModelName": model, "experimentKey": bkey},
                    "version": "1.2.0" if kind == "vision" else "0.1.0",
                    "comment": "promoted from %s" % best[0][0],
                    "stages": ["production"] if kind == "vision" else ["staging"],
                    "userName": self.USER, "createdAt": ts, "lastUpdated": ts,
                    "metadata": []}})

    @staticmethod
    def _curves(kind, quality, running, params):
        """(metric name, step, epoch, value) rows, logged in order: losses fall, accuracy rises,
        the better experiments (quality near 1) ending better."""
        if kind == "vision":
            n, steps = (12 if running else 20), range(1, 21)
            out = []
            for i, s in enumerate(list(steps)[:n]):
                x = i / 19.0
                acc = 0.30 + (0.50 + 0.14 * quality) * (1 - math.exp(-4.5 * x))
                out += [("train_loss", s, s, 2.2 * math.exp(-3.2 * x) + 0.12 - 0.06 * quality),
                        ("val_loss", s, s, 2.1 * math.exp(-3.0 * x) + 0.32 - 0.10 * quality),
                        ("val_accuracy", s, s, acc),
                        ("learning_rate", s, s, params["lr"] * (0.02 + 0.49 * (1 + math.cos(
                            math.pi * i / 20.0))))]
            return out
        if kind == "llm":
            out = []
            for i, s in enumerate(range(0, 1001, 50)):
                x = i / 20.0
                tl = 1.05 + (0.25 - 0.2 * quality) + 1.2 * math.exp(-5 * x)
                el = 1.25 + (0.3 - 0.2 * quality) + 1.1 * math.exp(-4.5 * x)
                out += [("train_loss", s, s // 334, tl), ("eval_loss", s, s // 334, el),
                        ("eval_perplexity", s, s // 334, math.exp(el)),
                        ("learning_rate", s, s // 334, params["learning_rate"]
                         * min(1.0, (s + 50) / 100.0) * (1 - 0.9 * x))]
            return out
        out = []
        for i, s in enumerate(range(0, 301, 25)):
            x = i / 12.0
            auc = 0.62 + (0.2 + 0.06 * quality) * (1 - math.exp(-4 * x))
            out += [("val_auc", s, None, auc),
                    ("val_logloss", s, None, 0.69 - (0.26 + 0.08 * quality) * (1 - math.exp(-4 * x)))]
        return out

    def _build_experiment(self, rng, kind, name, user, params, quality, tags, state, start, pid,
                          pname, opt_id):
        key = self.key_of(name)
        running, archived = state == "running", state == "archived"
        dt = {"vision": 95000, "llm": 540000, "sweep": 4000}[kind]   # ms between logged points
        points = collections.defaultdict(list)
        offset = 0
        rows = self._curves(kind, quality, running, params)
        per_step = len({r[0] for r in rows})
        for i, (metric, step, epoch, value) in enumerate(rows):
            offset += 1
            # noisy early, steady at the end, so the final values rank the experiments
            amp = 0.015 * (1 - 0.9 * i / len(rows))
            noise = 1 + rng.uniform(-amp, amp) if metric != "learning_rate" else 1
            v = value * noise
            if metric in ("val_accuracy", "val_auc"):
                v = min(v, 0.999)
            points[metric].append({
                "metricName": metric, "metricValue": repr(float("%.6g" % v)),
                "timestamp": start + 30000 + (i // per_step) * dt + rng.randint(0, 900),
                "step": step, "epoch": epoch, "runContext": None, "offset": offset})
        last_ms = max(p["timestamp"] for pts in points.values() for p in pts)
        end = None if running else last_ms + rng.randint(20, 90) * 1000
        meta = {"experimentKey": key, "experimentName": name, "projectId": pid,
                "projectName": pname, "workspaceName": self.WORKSPACE, "userName": user,
                "optimizationId": opt_id, "fileName": {"vision": "train.py", "llm": "finetune.py",
                                                       "sweep": "sweep.py"}[kind],
                "filePath": "/home/%s/src/%s/%s" % (user, pname, {"vision": "train.py",
                            "llm": "finetune.py", "sweep": "sweep.py"}[kind]),
                "startTimeMillis": start, "endTimeMillis": end,
                "durationMillis": (end or last_ms) - start, "running": running,
                "archived": archived}
        summary = [summarize_metric(m, pts, True) for m, pts in points.items()]
        pts0 = start + rng.randint(200, 900)
        parameters = [value_entry(p, str(v), pts0 + k) for k, (p, v) in enumerate(params.items())]
        ots = start + rng.randint(1000, 2000)
        trainable = {"vision": "23528522", "llm": str(4194304 * params.get("lora_rank", 8) // 8),
                     "sweep": "0"}[kind]
        dataset = {"vision": "s3://acme-ml-data/product-images/v3",
                   "llm": "s3://acme-ml-data/support-tickets/2024-02",
                   "sweep": "s3://acme-ml-data/churn/features-2024-02.parquet"}[kind]
        others = [value_entry("Name", name, ots), value_entry("dataset", dataset, ots + 1)]
        if kind != "sweep":
            others.append(value_entry("trainable_params", trainable, ots + 2))
        output = "COMET INFO: Experiment is live on comet.com https://www.comet.com/%s/%s/%s\n" % (
            self.WORKSPACE, pname, key)
        output += "".join("step %s: %s\n" % (p["step"], ", ".join(
            "%s=%.4f" % (m, float(points[m][i]["metricValue"])) for m in points if m != "learning_rate"))
            for i, p in enumerate(next(iter(points.values()))) if i % 5 == 4)
        gpus = {"vision": 1, "llm": 4, "sweep": 0}[kind]
        ram = {"vision": 270582939648, "llm": 1082331758592, "sweep": 68719476736}[kind]
        host = {"vision": "gpu-node-03", "llm": "gpu-node-11", "sweep": "cpu-node-07"}[kind]
        ip = {"vision": "10.20.0.13", "llm": "10.20.0.21", "sweep": "10.20.1.7"}[kind]
        script = meta["fileName"]
        args = {"vision": ["--model", params.get("model", ""), "--lr", str(params.get("lr"))],
                "llm": ["--lora-rank", str(params.get("lora_rank")), "--lr",
                        str(params.get("learning_rate"))],
                "sweep": ["--trial", name[-2:]]}[kind]
        system = {
            "experimentKey": key, "user": user, "pid": rng.randint(2000, 60000),
            "hostname": host, "ip": ip, "osType": "Linux",
            "os": "Linux-6.1.0-18-amd64-x86_64-with-glibc2.36", "osRelease": "6.1.0-18-amd64",
            "machine": "x86_64", "processor": "x86_64", "pythonVersion": "3.11.7",
            "pythonVersionVerbose": "3.11.7 (main, Dec  8 2023, 14:22:46) [GCC 12.2.0]",
            "executable": "/opt/conda/envs/train/bin/python", "command": [script] + args,
            "totalRam": ram, "maxTotalMemory": None,
            "gpuStaticInfoList": [{"gpuIndex": g, "name": "NVIDIA A100-SXM4-80GB",
                                   "uuid": "GPU-%s" % hexid(rng, 12), "totalMemory": 85899345920,
                                   "powerLimit": 400000} for g in range(gpus)],
            "logAdditionalSystemInfoList": [], "systemMetricNames": [],
            "networkInterfaceIps": ["127.0.0.1", ip],
            "osPackages": ["libc6=2.36-9+deb12u4"],
            "installedPackages": self.PACKAGES[kind]}
        asset_specs = {"vision": [("confusion_matrix.png", "image", "media", 20),
                                  ("sample_predictions.png", "image", "media", 20),
                                  ("model.pt", "model-element", "model", None)],
                       "llm": [("adapter_model.safetensors", "model-element", "model", None),
                               ("eval_samples.jsonl", "text-sample", "text", 1000)],
                       "sweep": [("feature_importance.png", "image", "media", None)]}[kind]
        assets = []
        for i, (fname, atype, adir, step) in enumerate(asset_specs if not running else []):
            aid = hexid(rng)
            assets.append({
                "assetId": aid, "fileName": fname, "fileSize": rng.randint(20000, 90000000),
                "type": atype, "dir": adir, "step": step, "runContext": None,
                "link": "https://www.comet.com/api/asset/download?experimentKey=%s&assetId=%s"
                        % (key, aid),
                "compressedAssetLink": None, "createdAt": (end or last_ms) - 10000 + i * 1000,
                "canView": atype == "image", "image": atype == "image", "audio": False,
                "video": False, "histogram": False, "remote": False, "tags": [],
                "curlDownload": "", "metadata": None})
        repo = {"vision": "product-images", "llm": "support-llm", "sweep": "churn-model"}[kind]
        return {
            "metadata": meta, "summary": summary, "metrics": dict(points),
            "parameters": parameters, "others": others, "tags": list(tags),
            "html": "", "output": output, "graph": "",
            "code": "import comet_ml\n\nexperiment = comet_ml.Experiment(project_name=%r)\n"
                    "experiment.log_parameters(%r)\n" % (pname, params),
            "git": {"experimentKey": key, "user": user,
                    "root": hexid(random.Random("comet-demo-git/" + name), 40),
                    "branch": "refs/heads/main",
                    "parent": hexid(random.Random("comet-demo-parent/" + name), 40),
                    "origin": "git@github.com:acme-ml/%s.git" % repo},
            "system_details": system, "assets": assets}, last_ms

    def details(self, key):
        return self._details.get(key)

    def columns(self, project, archived):
        return self._columns.get(project["projectId"], [])


def _strip_empty(obj):
    """POST bodies compare without empty lists / nulls (the R client dropped its empty lists)."""
    if not isinstance(obj, dict):
        return obj
    return {k: v for k, v in obj.items() if v not in ([], None)}


# ---------------------------------------------------------------------------------------------
# 3. REST endpoints (§5).  handler(ds, query, body_json) -> JSON object, or raise ApiError.
# ---------------------------------------------------------------------------------------------

def require_workspace(ds, q):
    ws = q.get("workspaceName")
    if not ws or ws not in ds.workspaces:
        raise no_workspace()
    return ws


def resolve_project(ds, q):
    """projectId, or workspaceName + projectName (workspace checked first: 400, then 404)."""
    pid = q.get("projectId")
    if pid:
        p = ds.project_by_id.get(pid)
        if p is None:
            raise no_project()
        return p
    if "workspaceName" not in q and "projectName" not in q:
        raise ApiError(400, "projectId or workspaceName and projectName required", 98219)
    ws = require_workspace(ds, q)
    name = q.get("projectName")
    if not name:
        raise ApiError(400, "No project name", 98219)
    p = ds.project_by_name.get((ws, name))
    if p is None:
        raise no_project()
    return p


def require_experiment(ds, q):
    key = q.get("experimentKey")
    if not key:
        raise ApiError(400, "Experiment key not specified", 90998)
    d = ds.details(key)
    if d is None:
        raise no_experiment()
    return key, d


def h_account(ds, q, body):
    return ds.account


def h_workspaces(ds, q, body):
    return {"workspaceNames": ds.workspaces}


def h_projects(ds, q, body):
    ws = require_workspace(ds, q)
    return {"projects": [p for p in ds.projects if p["workspaceName"] == ws]}


def h_project(ds, q, body):
    return resolve_project(ds, q)


def h_project_notes(ds, q, body):
    p = resolve_project(ds, q)
    return {"notes": ds.notes.get(p["projectId"])}


def h_column_names(ds, q, body):
    p = resolve_project(ds, q)
    return {"columns": ds.columns(p, parse_bool_param(q.get("archived")))}


def h_experiments(ds, q, body):
    p = resolve_project(ds, q)
    return {"experiments": ds.experiments_of(p, parse_bool_param(q.get("archived")))}


def h_metadata(ds, q, body):
    return require_experiment(ds, q)[1]["metadata"]


def h_summary(ds, q, body):
    return {"values": require_experiment(ds, q)[1]["summary"]}


def h_get_metric(ds, q, body):
    _, d = require_experiment(ds, q)
    name = q.get("metricName")
    if not name:
        raise ApiError(400, "Metric name not specified", 0)
    return {"metrics": d["metrics"].get(name, [])}


def h_parameters(ds, q, body):
    return {"values": require_experiment(ds, q)[1]["parameters"]}


def h_log_other(ds, q, body):
    return {"values": require_experiment(ds, q)[1]["others"]}


def h_tags(ds, q, body):
    return {"tags": require_experiment(ds, q)[1]["tags"]}


def _text_field(field):
    def h(ds, q, body):
        return {field: require_experiment(ds, q)[1][field]}
    return h


def h_git(ds, q, body):
    return require_experiment(ds, q)[1]["git"]


def h_system(ds, q, body):
    return require_experiment(ds, q)[1]["system_details"]


def h_assets(ds, q, body):
    _, d = require_experiment(ds, q)
    t = q.get("type") or "all"
    return {"assets": [x for x in d["assets"] if t == "all" or x["type"] == t]}


def h_registry(ds, q, body):
    ws = require_workspace(ds, q)
    return {"registryModels": ds.models.get(ws, [])}


# §5.20-5.26 (Q15) -----------------------------------------------------------------------------

class RawBody:
    """An answer that is bytes, not JSON (get-asset, git/patch)."""

    def __init__(self, data, ctype="application/octet-stream"):
        self.data, self.ctype = data, ctype


def require_model(ds, q):
    ws = require_workspace(ds, q)
    name = q.get("modelName")
    if not name:
        raise ApiError(400, "Model name not specified", 0)
    d = ds.model_details.get(ws, {}).get(name)
    if d is None:
        raise ApiError(400, "Registry model not found", 42008)
    return ws, name, d


def h_registry_details(ds, q, body):
    return require_model(ds, q)[2]


def h_registry_notes(ds, q, body):
    ws, name, _ = require_model(ds, q)
    return {"notes": ds.model_notes.get(ws, {}).get(name)}


def require_artifact_workspace(ds, q):
    ws = q.get("workspace")                 # §5.25: `workspace`, not `workspaceName`
    if not ws or ws not in ds.workspaces:
        raise no_workspace()
    return ws


def h_artifacts(ds, q, body):
    ws = require_artifact_workspace(ds, q)
    t = q.get("type")
    return {"artifacts": [a for a in ds.artifacts.get(ws, []) if not t or a["type"] == t]}


def require_artifact(ds, q):
    ws = require_artifact_workspace(ds, q)
    name = q.get("artifactName")
    if not name:
        raise ApiError(400, "artifactName or artifact_id is required", 0)
    d = ds.artifact_details.get(ws, {}).get(name)
    if d is None:
        raise ApiError(400, "Artifact not found", 0)
    return ws, name, d


def h_artifact(ds, q, body):
    return require_artifact(ds, q)[2]


def h_artifact_files(ds, q, body):
    """By version, else alias, else the latest version."""
    ws, name, d = require_artifact(ds, q)
    ver, alias = q.get("version"), q.get("alias")
    if ver:
        v = next((x for x in d["versions"] if x["version"] == ver), None)
    elif alias:
        v = next((x for x in d["versions"] if alias in x["alias"]), None)
    else:
        v = d["latestVersion"]
    if v is None:
        raise ApiError(400, "Artifact version not found", 0)
    return {"files": ds.artifact_files[ws][name][v["version"]]}


def h_experiment_models(ds, q, body):
    key, _ = require_experiment(ds, q)
    return {"models": ds.experiment_models(key)}


def h_share_links(ds, q, body):
    p = resolve_project(ds, q)
    return {"shareCodes": ds.share_links.get(p["projectId"], [])}


def h_git_patch(ds, q, body):
    key, _ = require_experiment(ds, q)
    data = ds.git_patch(key)
    if data is None:
        return {"msg": "No git patch for this experiment"}     # §5.21: a 200 saying none
    return RawBody(data)


def h_get_asset(ds, q, body):
    key, _ = require_experiment(ds, q)
    aid = q.get("assetId")
    if not aid:
        raise ApiError(400, "Asset id not specified", 0)
    data = ds.asset_content(key, aid)
    if data is None:
        raise ApiError(404, "Asset not found", 0)
    return RawBody(data)


def h_multi_metric_chart(ds, q, body):
    """§5.12: parallel numeric arrays per metric, sorted by offset; params from valueCurrent."""
    if not isinstance(body, dict):
        raise ApiError(400, "Invalid request body", 0)
    targets = body.get("targetedExperiments") or []
    metrics = body.get("metrics") or []
    params = body.get("params") or []
    independent = body.get("independentMetrics", True) is not False
    full = bool(body.get("fetchFull", False))
    if not metrics and not params:
        return {"experiments": {}, "empty": True}
    result = {}
    for key in targets:
        d = ds.details(key) if isinstance(key, str) else None
        if d is None:
            continue
        series = {m: sorted(d["metrics"].get(m, []), key=lambda p: p["offset"]) for m in metrics}
        if not independent:
            steps = None
            for pts in series.values():
                s = {p["step"] for p in pts if p["step"] is not None}
                steps = s if steps is None else steps & s
            series = {m: [p for p in pts if p["step"] in (steps or set())]
                      for m, pts in series.items()}
        mlist = []
        for m in metrics:
            pts = series[m]
            if not pts:
                continue
            if not full and len(pts) > 500:          # ~500 sampled values unless fetchFull
                stride = math.ceil(len(pts) / 500)
                pts = pts[::stride]
            ts = [p["timestamp"] for p in pts]
            mlist.append({"metricName": m,
                          "values": [finite_number(p["metricValue"]) for p in pts],
                          "steps": [p["step"] for p in pts],
                          "epochs": [p["epoch"] for p in pts],
                          "timestamps": ts,
                          "durations": [0] + [ts[i] - ts[i - 1] for i in range(1, len(ts))]})
        pvals = None
        if params:
            have = {e["name"]: e["valueCurrent"] for e in d["parameters"]}
            pvals = {p: have[p] for p in params if p in have}
        result[key] = {"experiment_key": key, "steps": None, "epochs": None,
                       "metrics": mlist, "params": pvals}
    empty = not any(e["metrics"] for e in result.values())
    return {"experiments": result, "empty": empty}


# project/query (§5.7) -------------------------------------------------------------------------

def _field_value(ds, exp, d, source, field):
    """The value one query rule compares, or None when the experiment has none."""
    if source in ("params", "metrics", "log_other"):
        rows = {"params": d["parameters"], "metrics": d["summary"], "log_other": d["others"]}
        for e in rows[source]:
            if e["name"] == field:
                return e["valueCurrent"]
        return None
    if source == "env_details":
        return d["system_details"].get(field)
    if source == "metadata":
        m = d["metadata"]
        start, end = m.get("startTimeMillis"), m.get("endTimeMillis")
        values = {
            "runId": m["experimentKey"], "experimentKey": m["experimentKey"],
            "experimentName": m.get("experimentName"), "Name": m.get("experimentName"),
            "hasNotes": False, "duration": m.get("durationMillis"),
            "codeSHA": d["git"].get("root"), "file_name": m.get("fileName"),
            "file_path": m.get("filePath"), "hasHtml": bool(d["html"]),
            "optimizationId": m.get("optimizationId"),
            "end_server_timestamp": end, "start_server_timestamp": start,
            "last_message_time": end if end is not None else start,
            "installed_packages": ",".join(d["system_details"].get("installedPackages") or []),
            "runActive": bool(m.get("running")),
            "hasImages": any(a.get("type") == "image" for a in d["assets"]),
            "user_name": m.get("userName"),
        }
        return values.get(field)
    raise ApiError(400, "Unknown predicate source: %s" % source, 0)


def _coerce(v, typ, field):
    if v is None:
        return None
    if typ == "double" or typ == "timenumber":
        f = finite_number(v)
        return f if f is not None else str(v)
    if typ == "boolean":
        if isinstance(v, str):
            return v.lower() in ("true", "1")
        return bool(v)
    if typ == "datetime":
        if isinstance(v, (int, float)) and not isinstance(v, bool) and field.endswith(
                ("_timestamp", "_time")):
            return ms_to_datetime(v)
        return str(v)
    return str(v) if not isinstance(v, str) else v


def _compare(a, b):
    """a <=> b; numbers with numbers, else as strings."""
    if isinstance(a, float) and isinstance(b, float):
        return (a > b) - (a < b)
    a, b = str(a), str(b)
    return (a > b) - (a < b)


def _rule_matches(actual, rule):
    op = rule.get("operator", "equal")
    typ = rule.get("type", "string")
    field = rule.get("field") or rule.get("id") or ""
    value = rule.get("value")
    if op == "is_null":
        return actual is None
    if op == "is_not_null":
        return actual is not None
    if op == "is_empty":
        return actual is None or actual == ""
    if op == "is_not_empty":
        return not (actual is None or actual == "")
    if actual is None:
        return False
    a = _coerce(actual, typ, field)
    if op in ("between", "not_between"):
        if not isinstance(value, list) or len(value) != 2:
            raise ApiError(400, "between needs two values", 0)
        lo, hi = (_coerce(x, typ, field) for x in value)
        inside = _compare(a, lo) >= 0 and _compare(a, hi) <= 0
        return inside if op == "between" else not inside
    b = _coerce(value, typ, field)
    if typ == "boolean":
        b = bool(b) if not isinstance(value, str) else value.lower() in ("true", "1")
        if op == "equal":
            return a == b
        if op == "not_equal":
            return a != b
    sa, sb = str(actual), "" if value is None else str(value)
    ops = {
        "equal": lambda: _compare(a, b) == 0,
        "not_equal": lambda: _compare(a, b) != 0,
        "less": lambda: _compare(a, b) < 0,
        "less_or_equal": lambda: _compare(a, b) <= 0,
        "greater": lambda: _compare(a, b) > 0,
        "greater_or_equal": lambda: _compare(a, b) >= 0,
        "contains": lambda: sb in sa,
        "not_contains": lambda: sb not in sa,
        "begins_with": lambda: sa.startswith(sb),
        "not_begins_with": lambda: not sa.startswith(sb),
        "ends_with": lambda: sa.endswith(sb),
        "not_ends_with": lambda: not sa.endswith(sb),
    }
    if op not in ops:
        raise ApiError(400, "Unknown operator: %s" % op, 0)
    return ops[op]()


def _group_matches(ds, exp, d, group):
    source = group.get("source")
    query = group.get("query") or {}
    rules = query.get("rules") or []
    results = []
    for rule in rules:
        if "rules" in rule:                          # nested group, same source
            results.append(_group_matches(ds, exp, d, {"source": source, "query": rule}))
            continue
        field = rule.get("field") or rule.get("id")
        if source == "tag":
            has = rule.get("value", field) in d["tags"]
            op = rule.get("operator", "equal")
            results.append(not has if op == "not_equal" else has)
        else:
            results.append(_rule_matches(_field_value(ds, exp, d, source, field), rule))
    if (query.get("condition") or "AND").upper() == "OR":
        return any(results) if results else True
    return all(results)


def h_project_query(ds, q, body):
    if not isinstance(body, dict):
        raise ApiError(400, "Invalid request body", 0)
    sel = {k: body[k] for k in ("projectId", "workspaceName", "projectName")
           if isinstance(body.get(k), str)}
    p = resolve_project(ds, sel)
    archived = body.get("archived", False)
    if isinstance(archived, str):
        archived = parse_bool_param(archived)
    preds = body.get("predicates") or []
    if not isinstance(preds, list):
        raise ApiError(400, "predicates must be a list", 0)
    keys = []
    for exp in ds.experiments_of(p, bool(archived)):
        d = ds.details(exp["experimentKey"])
        if all(_group_matches(ds, exp, d, grp) for grp in preds):
            keys.append(exp["experimentKey"])
    return {"experimentKeys": keys}


# Write endpoints (§6) -------------------------------------------------------------------------
# They change the dataset, so that reads (and /_fake/dataset) see them; /_fake/restore undoes
# them all.  Every write answers Comet's envelope {"msg": "saved", ...} unless noted.

SAVED = envelope("saved", 200, 0)


def _now_ms():
    return int(time.time() * 1000)


def _body_dict(body):
    if not isinstance(body, dict):
        raise ApiError(400, "Invalid request body", 0)
    return body


def _body_experiment(ds, body):
    key = body.get("experimentKey")
    if not key:
        raise ApiError(400, "Experiment key not specified", 90998)
    return key, ds.writable(key)


def _opt_int(body, name):
    v = body.get(name)
    if v is None:
        return None
    if isinstance(v, bool) or not isinstance(v, int):
        raise ApiError(400, "%s must be an integer" % name, 0)
    return v


def _value_string(body, name):
    """Comet keeps values as strings, whatever JSON type they came in."""
    v = body.get(name)
    if v is None:
        raise ApiError(400, "%s is required" % name, 0)
    return v if isinstance(v, str) else json.dumps(v)


def _set_value(entries, name, value, ts):
    """A parameters / log-other element (§5.13) gets a new current value; min and max follow
    numbers only."""
    for e in entries:
        if e["name"] == name:
            e["valueCurrent"], e["timestampCurrent"] = value, ts
            new = finite_number(value)
            if new is not None:
                lo, hi = finite_number(e.get("valueMin")), finite_number(e.get("valueMax"))
                if lo is None or new < lo:
                    e["valueMin"], e["timestampMin"] = value, ts
                if hi is None or new > hi:
                    e["valueMax"], e["timestampMax"] = value, ts
            return
    entries.append(value_entry(name, value, ts))


def hw_tags(ds, q, body):
    body = _body_dict(body)
    with ds._write_lock:
        key, d = _body_experiment(ds, body)
        tags = body.get("addedTags")
        if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
            raise ApiError(400, "addedTags must be a list of strings", 0)
        for t in tags:
            if t not in d["tags"]:
                d["tags"].append(t)
    return SAVED


def hw_log_other(ds, q, body):
    body = _body_dict(body)
    with ds._write_lock:
        key, d = _body_experiment(ds, body)
        name = body.get("key")
        if not isinstance(name, str) or not name:
            raise ApiError(400, "key is required", 0)
        ts = _opt_int(body, "timestamp")
        _set_value(d["others"], name, _value_string(body, "value"),
                   ts if ts is not None else _now_ms())
    return SAVED


def hw_parameter(ds, q, body):
    body = _body_dict(body)
    with ds._write_lock:
        key, d = _body_experiment(ds, body)
        name = body.get("parameterName")
        if not isinstance(name, str) or not name:
            raise ApiError(400, "parameterName is required", 0)
        _opt_int(body, "step")
        ts = _opt_int(body, "timestamp")
        _set_value(d["parameters"], name, _value_string(body, "parameterValue"),
                   ts if ts is not None else _now_ms())
    return SAVED


def hw_metric(ds, q, body):
    """A new point; its offset follows every message of the experiment; the summary is
    recomputed from the points (§5.10 rules)."""
    body = _body_dict(body)
    with ds._write_lock:
        key, d = _body_experiment(ds, body)
        name = body.get("metricName")
        if not isinstance(name, str) or not name:
            raise ApiError(400, "metricName is required", 0)
        value = _value_string(body, "metricValue")
        step, epoch, ts = (_opt_int(body, n) for n in ("step", "epoch", "timestamp"))
        ctx = body.get("context")
        if ctx is not None and not isinstance(ctx, str):
            raise ApiError(400, "context must be a string", 0)
        offset = 1 + max([p["offset"] for pts in d["metrics"].values() for p in pts],
                         default=0)
        pts = d["metrics"].setdefault(name, [])
        pts.append({"metricName": name, "metricValue": value,
                    "timestamp": ts if ts is not None else _now_ms(), "step": step,
                    "epoch": epoch, "runContext": ctx, "offset": offset})
        summary = summarize_metric(name, pts, any(p["step"] is not None for p in pts))
        for i, e in enumerate(d["summary"]):
            if e["name"] == name:
                summary.update({k: v for k, v in e.items() if k == "futureField"})
                d["summary"][i] = summary
                break
        else:
            d["summary"].append(summary)
    return SAVED


def hw_create(ds, q, body):
    """A new, running experiment; an unknown project of a known workspace is created."""
    body = _body_dict(body)
    ws, pname = body.get("workspaceName"), body.get("projectName")
    name = body.get("experimentName")
    if name is not None and not isinstance(name, str):
        raise ApiError(400, "experimentName must be a string", 0)
    with ds._write_lock:
        if not isinstance(ws, str) or ws not in ds.workspaces:
            raise no_workspace()
        if not isinstance(pname, str) or not pname:
            raise ApiError(400, "No project name", 98219)
        ds._created += 1
        rng = random.Random("fake-comet-create/%s/%d" % (ds.seed_text(), ds._created))
        now = _now_ms()
        user = ds.account.get("userName")
        p = ds.project_by_name.get((ws, pname))
        if p is None:
            p = {"projectId": hexid(rng), "projectName": pname, "ownerUserName": user,
                 "projectDescription": "", "workspaceName": ws, "numberOfExperiments": 0,
                 "lastUpdated": now, "public": False}
            ds._add_project(p)
            ds.notes[p["projectId"]] = None
        key = hexid(rng)
        lst = {"experimentKey": key, "experimentName": name, "optimizationId": None,
               "projectId": p["projectId"], "projectName": pname, "workspaceName": ws,
               "filePath": None, "fileName": None, "durationMillis": 0,
               "startTimeMillis": now, "endTimeMillis": None, "archived": False,
               "userName": user, "running": True, "throttle": False}
        meta = {k: lst[k] for k in ("experimentKey", "experimentName", "projectId",
                                    "projectName", "workspaceName", "userName",
                                    "optimizationId", "fileName", "filePath",
                                    "startTimeMillis", "endTimeMillis", "durationMillis",
                                    "running", "archived", "throttle")}
        d = empty_details(meta)
        if name is not None:
            d["others"].append(value_entry("Name", name, now))
        ds._pinned[key] = d
        ds._add_experiment(lst)
        p["numberOfExperiments"] += 1
        p["lastUpdated"] = now
        ds._dump = None
    return {"experimentKey": key, "workspaceName": ws, "projectName": pname,
            "link": "https://www.comet.com/%s/%s/%s" % (ws, pname, key), "name": name}


def _hw_archive(archived, msg):
    def h(ds, q, body):
        with ds._write_lock:
            key = q.get("experimentKey")
            if not key:
                raise ApiError(400, "Experiment key not specified", 90998)
            d = ds.writable(key)
            e = ds.exp_by_key[key]
            e["archived"] = archived
            d["metadata"]["archived"] = archived
            p = ds.project_by_id.get(e["projectId"])
            if p is not None:
                p["numberOfExperiments"] = sum(
                    1 for x in ds.exps_by_project[p["projectId"]] if not x.get("archived"))
        return {"msg": msg}
    return h


def hw_project_notes(ds, q, body):
    body = _body_dict(body)
    with ds._write_lock:
        pid = body.get("projectId")
        if not pid:
            raise ApiError(400, "projectId is required", 0)
        if pid not in ds.project_by_id:
            raise no_project()
        notes = body.get("notes")
        if notes is not None and not isinstance(notes, str):
            raise ApiError(400, "notes must be a string", 0)
        ds.notes[pid] = notes
        ds._dump = None
    return SAVED


ENDPOINTS = {
    "account-details": ("GET", h_account),
    "workspaces": ("GET", h_workspaces),
    "projects": ("GET", h_projects),
    "project": ("GET", h_project),
    "project/notes": ("GET", h_project_notes),
    "project/column-names": ("GET", h_column_names),
    "project/query": ("POST", h_project_query),
    "experiments": ("GET", h_experiments),
    "experiment/metadata": ("GET", h_metadata),
    "experiment/metrics/summary": ("GET", h_summary),
    "experiment/metrics/get-metric": ("GET", h_get_metric),
    "experiments/multi-metric-chart": ("POST", h_multi_metric_chart),
    "experiment/parameters": ("GET", h_parameters),
    "experiment/log-other": ("GET", h_log_other),
    "experiment/tags": ("GET", h_tags),
    "experiment/html": ("GET", _text_field("html")),
    "experiment/output": ("GET", _text_field("output")),
    "experiment/code": ("GET", _text_field("code")),
    "experiment/graph": ("GET", _text_field("graph")),
    "experiment/git/metadata": ("GET", h_git),
    "experiment/system-details": ("GET", h_system),
    "experiment/asset/list": ("GET", h_assets),
    "registry-model": ("GET", h_registry),
    "registry-model/details": ("GET", h_registry_details),
    "registry-model/notes": ("GET", h_registry_notes),
    "experiment/model": ("GET", h_experiment_models),
    "artifacts/get-all": ("GET", h_artifacts),
    "artifacts/get": ("GET", h_artifact),
    "artifacts/version/files": ("GET", h_artifact_files),
    "project/get-project-share-links": ("GET", h_share_links),
    "experiment/git/patch": ("GET", h_git_patch),
    "experiment/asset/get-asset": ("GET", h_get_asset),
    "write/experiment/create": ("POST", hw_create),
    "write/experiment/tags": ("POST", hw_tags),
    "write/experiment/log-other": ("POST", hw_log_other),
    "write/experiment/parameter": ("POST", hw_parameter),
    "write/experiment/metric": ("POST", hw_metric),
    "write/experiment/archive": ("GET", _hw_archive(True, "Archived")),
    "write/experiment/restore": ("GET", _hw_archive(False, "Restored")),
    "write/project/notes": ("POST", hw_project_notes),
}


class Resp:
    """A normal (fault-free) answer: a JSON object, or verbatim recorded bytes."""

    def __init__(self, status, obj=None, raw=None, ctype="application/json"):
        self.status, self.obj, self.raw, self.ctype = status, obj, raw, ctype

    def body(self):
        return self.raw if self.raw is not None else to_json_bytes(self.obj)

    def json_obj(self):
        """The answer as JSON; None for bytes that are no JSON (an asset)."""
        if self.raw is None:
            return self.obj
        try:
            return json.loads(self.raw)
        except ValueError:
            return None


def api_response(state, method, path, query, headers, body):
    """The answer a healthy server gives (auth, recorded match, endpoint, errors)."""
    key = state.args.api_key
    if headers.get("Authorization", "").strip() != key and \
            headers.get("Comet-Sdk-Api", "").strip() != key:
        return Resp(401, envelope("Invalid or missing API key", 401, 90212))
    ep = ENDPOINTS.get(path)
    if ep is None:
        return Resp(404, envelope("Not found: %s" % path, 404, 0))
    if ep[0] != method:
        return Resp(405, envelope("Method %s not allowed" % method, 405, 0))
    body_json = None
    if method == "POST":
        try:
            body_json = json.loads(body.decode("utf-8")) if body else None
        except (ValueError, UnicodeDecodeError):
            return Resp(400, envelope("Invalid JSON body", 400, 0))
    raw = state.dataset.match_recorded(method, path, query, body_json)
    if raw is not None:
        return Resp(200, raw=raw)
    try:
        r = ep[1](state.dataset, query, body_json)
        if isinstance(r, RawBody):
            return Resp(200, raw=r.data, ctype=r.ctype)
        return Resp(200, r)
    except ApiError as e:
        return Resp(e.status, envelope(e.msg, e.status, e.sdk_error_code))
    except Exception:                   # a bug in this fake: say so loudly, answer 500
        traceback.print_exc()
        return Resp(500, envelope("fake_comet internal error", 500, 0))


# ---------------------------------------------------------------------------------------------
# 4. Fault engine and request counters
# ---------------------------------------------------------------------------------------------

FAULT_KINDS = {"latency", "status", "malformed", "truncated", "oversize", "hang", "slow_body",
               "close", "redirect", "html_error", "invalid_utf8", "wrong_type", "body"}
FAULT_CONFIG = {"path", "kind", "times", "rate", "status", "retry_after", "latency_ms", "bytes",
                "chunk_delay_ms", "body_b64", "skip"}


class FaultRule:
    def __init__(self, q):
        self.path = rel_path(q.get("path"))
        self.kind = q.get("kind") or "status"
        if self.kind not in FAULT_KINDS:
            raise ValueError("unknown kind %r (one of %s)" % (self.kind, ", ".join(
                sorted(FAULT_KINDS))))
        self.times = int(q["times"]) if q.get("times") else None
        # skip=N: the first N matching requests pass untouched (a fault on the Nth write)
        self.skip = int(q["skip"]) if q.get("skip") else 0
        self.rate = float(q["rate"]) if q.get("rate") else 1.0
        default_status = 502 if self.kind == "html_error" else 500
        self.status = int(q["status"]) if q.get("status") else default_status
        if not 100 <= self.status <= 599:
            raise ValueError("bad status")
        self.retry_after = q.get("retry_after") or None
        self.latency_ms = int(q["latency_ms"]) if q.get("latency_ms") else None
        self.bytes = int(q["bytes"]) if q.get("bytes") else 1048576
        self.chunk_delay_ms = int(q["chunk_delay_ms"]) if q.get("chunk_delay_ms") else None
        # kind=body: answer exactly these bytes (URL-safe base64: any byte can be sent)
        self.body = base64.urlsafe_b64decode(q.get("body_b64") or "")
        if self.kind == "body" and not q.get("status"):
            self.status = 200
        self.match = {k: v for k, v in q.items() if k not in FAULT_CONFIG}

    def describe(self):
        return {"path": self.path, "kind": self.kind, "times": self.times, "rate": self.rate,
                "status": self.status, "retry_after": self.retry_after,
                "latency_ms": self.latency_ms, "bytes": self.bytes,
                "chunk_delay_ms": self.chunk_delay_ms, "skip": self.skip, "match": self.match}


class FakeState:
    """Everything shared by the request threads; one lock guards counters, log and faults."""

    def __init__(self, args, dataset, make_dataset=None):
        self.args = args
        self.dataset = dataset
        self.make_dataset = make_dataset      # /_fake/restore builds a fresh one
        self.refuse_ms = None                 # /_fake/refuse: close the listener this long
        self.refusing = threading.Event()
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self._log_file = open(args.log, "a", encoding="utf-8") if args.log else None
        self._log_lock = threading.Lock()
        self.reset()

    def reset(self):
        with self.lock:
            # counts: (path, sorted query items) -> n; exact however many requests come
            self.counts = collections.Counter()
            self.requests = collections.deque(maxlen=REQUEST_LOG_MAX)
            # client (address, port) pairs that sent API requests: one per TCP connection
            self.clients = set()
            self.faults = []
            self.fault_rng = random.Random(self.args.seed)

    def clear_faults(self):
        with self.lock:
            self.faults = []

    def add_fault(self, q):
        rule = FaultRule(q)
        with self.lock:
            self.faults.append(rule)

    def record(self, method, path, query, client=None, body=None):
        entry = {"method": method, "path": path, "query": query, "status": None}
        if (path.startswith("write/") or method == "POST") and body:
            # what a write (or a POST read) carried, so that tests see batching and encoding
            try:
                entry["body"] = json.loads(body.decode("utf-8"))
            except (ValueError, UnicodeDecodeError):
                entry["body"] = body.decode("utf-8", "replace")
        with self.lock:
            if client is not None:
                self.clients.add(tuple(client[:2]))
            self.counts[(path, tuple(sorted(query.items())))] += 1
            self.requests.append(entry)
        return entry

    def set_status(self, entry, status):
        with self.lock:
            entry["status"] = status

    def count(self, path, wanted):
        with self.lock:
            return sum(n for (p, items), n in self.counts.items()
                       if (path is None or p == path) and query_matches(dict(items), wanted))

    def request_list(self):
        with self.lock:
            return list(self.requests)

    def match_fault(self, path, query):
        """The first applicable rule (path equal, given params equal, rate draw won)."""
        with self.lock:
            for rule in self.faults:
                if rule.path is not None and rule.path != path:
                    continue
                if not query_matches(query, rule.match):
                    continue
                if rule.rate < 1.0 and self.fault_rng.random() >= rule.rate:
                    continue
                if rule.skip > 0:
                    rule.skip -= 1
                    continue
                if rule.times is not None:
                    rule.times -= 1
                    if rule.times <= 0:
                        self.faults.remove(rule)
                return rule
        return None

    def log(self, line):
        if self._log_file is None:
            return
        with self._log_lock:
            self._log_file.write(line + "\n")
            self._log_file.flush()


# Response mutations used by faults ------------------------------------------------------------

_BAD_UTF8 = b"caf\xc3 \xff\xfe\xc3\x28 end"
_MARKER = "@@fake-comet-invalid-utf8@@"


def with_invalid_utf8(obj):
    """Serialized obj with invalid UTF-8 bytes inside the first string value (depth first)."""
    done = [False]

    def visit(x):
        if done[0]:
            return x
        if isinstance(x, str):
            done[0] = True
            return _MARKER
        if isinstance(x, list):
            return [visit(v) for v in x]
        if isinstance(x, dict):
            return {k: visit(v) for k, v in x.items()}
        return x

    out = visit(obj)
    if not done[0]:
        out = dict(out) if isinstance(out, dict) else {"values": out}
        out["futureField"] = _MARKER
    return to_json_bytes(out).replace(_MARKER.encode(), _BAD_UTF8)


def with_wrong_types(obj):
    """Strings inside list elements become {"x": 1} or 12345 (alternating).  An object answer
    without lists (metadata, html, ...) gets its top-level strings replaced instead."""
    n = [0]

    def repl():
        n[0] += 1
        return {"x": 1} if n[0] % 2 else 12345

    def elem(x):
        if isinstance(x, str):
            return repl()
        if isinstance(x, list):
            return [elem(v) for v in x]
        if isinstance(x, dict):
            return {k: elem(v) for k, v in x.items()}
        return x

    if not isinstance(obj, dict):
        return elem(obj)
    if any(isinstance(v, list) for v in obj.values()):
        return {k: ([elem(e) for e in v] if isinstance(v, list) else v) for k, v in obj.items()}
    return {k: (repl() if isinstance(v, str) else v) for k, v in obj.items()}


# ---------------------------------------------------------------------------------------------
# 5. HTTP layer
# ---------------------------------------------------------------------------------------------

class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"       # keep-alive; every answer has Content-Length
    server_version = "FakeComet/1.0"
    sys_version = ""
    timeout = MAX_BLOCK_S               # idle keep-alive connections end by themselves

    def log_message(self, fmt, *args):  # no default stderr request log
        pass

    def version_string(self):
        return self.server_version

    def do_GET(self):
        self._dispatch()

    do_POST = do_PUT = do_DELETE = do_PATCH = do_GET

    # --- plumbing --------------------------------------------------------------------------
    @property
    def state(self):
        return self.server.state

    def _read_body(self):
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            parts = []
            while True:
                line = self.rfile.readline(65537)
                size = int(line.split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline(65537) not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(parts)
                parts.append(self.rfile.read(size))
                self.rfile.readline(65537)
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def _send(self, status, body, ctype="application/json", extra=()):
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in extra:
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def _send_text(self, status, text):
        self._send(status, text.encode("utf-8"), "text/plain; charset=utf-8")

    def _sleep(self, seconds):
        """Interruptible by shutdown; bounded."""
        self.state.stopping.wait(min(max(seconds, 0.0), MAX_BLOCK_S))

    def _dispatch(self):
        t0 = time.monotonic()
        url = urlsplit(self.path)
        query = dict(parse_qsl(url.query, keep_blank_values=True, errors="replace"))
        try:
            body = self._read_body()
        except (ValueError, OSError):
            self.close_connection = True
            self._send(400, to_json_bytes(envelope("Bad request body", 400, 0)))
            return
        try:
            if url.path.startswith("/_fake/"):
                self._control(url.path[len("/_fake/"):], query)
                return
            m = API_RE.match(url.path)
            if m:
                self._api(m.group(1), query, body, t0)
            elif url.path.endswith("/clientlib/isAlive/ver"):
                self._send(200, to_json_bytes({"version": "3.0.0-fake"}))
            else:
                self._send(404, to_json_bytes(envelope("Not found", 404, 0)))
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError, socket.timeout):
            self.close_connection = True

    # --- control API (/_fake/, no auth, not counted) -------------------------------------------
    def _control(self, name, q):
        st = self.state
        if name == "reset":
            st.reset()
            self._send_text(200, "ok")
        elif name == "count":
            wanted = dict(q)
            path = rel_path(wanted.pop("path", None))
            self._send_text(200, str(st.count(path, wanted)))
        elif name == "requests":
            self._send(200, to_json_bytes(st.request_list()))
        elif name == "connections":
            # TCP connections that carried API requests since the last reset
            with st.lock:
                n = len(st.clients)
            self._send_text(200, str(n))
        elif name == "dataset":
            f, size = st.dataset.dump()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(size))
            self.end_headers()
            off = 0
            while off < size:            # pread: threads share the file without seeking
                chunk = os.pread(f.fileno(), min(1 << 20, size - off), off)
                if not chunk:
                    raise OSError("dataset dump shrank")
                self.wfile.write(chunk)
                off += len(chunk)
        elif name == "fault":
            try:
                st.add_fault(q)
            except (ValueError, TypeError) as e:
                self._send_text(400, "bad fault: %s" % e)
                return
            self._send_text(200, "ok")
        elif name == "restore":
            # the dataset as it was at start-up: every write undone
            if st.make_dataset is None:
                self._send_text(501, "no dataset factory")
                return
            st.dataset = st.make_dataset()
            self._send_text(200, "ok")
        elif name == "refuse":
            # close the listening socket for ms milliseconds: new connections are refused
            # (kept-alive ones go on); answers once the socket is closed
            try:
                ms = int(q.get("ms") or "1000")
            except ValueError:
                self._send_text(400, "bad ms")
                return
            st.refusing.clear()
            st.refuse_ms = max(0, min(ms, 60000))
            threading.Thread(target=self.server.shutdown, daemon=True).start()
            st.refusing.wait(5)
            self._send_text(200, "ok")
        elif name == "faults/clear":
            st.clear_faults()
            self._send_text(200, "ok")
        elif name == "faults":
            with st.lock:
                rules = [r.describe() for r in st.faults]
            self._send(200, to_json_bytes(rules))
        else:
            self._send_text(404, "unknown control path: %s" % name)

    # --- REST API ------------------------------------------------------------------------
    def _api(self, path, query, body, t0):
        st = self.state
        entry = st.record(self.command, path, query, self.client_address, body)
        rule = st.match_fault(path, query)
        if st.args.latency_ms:
            self._sleep(st.args.latency_ms / 1000.0)
        status = None
        kind = rule.kind if rule else None
        try:
            status = self._answer(rule, path, query, body)
        finally:
            st.set_status(entry, status)
            if st._log_file is not None:
                qs = "&".join("%s=%s" % kv for kv in query.items())
                st.log("%s %s %s %s%s -> %s %.1fms%s" % (
                    time.strftime("%Y-%m-%dT%H:%M:%S"), self.client_address[0], self.command,
                    path, "?" + qs if qs else "", status if status is not None else "-",
                    (time.monotonic() - t0) * 1000, " fault=%s" % kind if kind else ""))

    def _normal(self, path, query, body):
        return api_response(self.state, self.command, path, query, self.headers, body)

    def _answer(self, rule, path, query, body):
        """Sends the answer (normal or faulty); returns the status sent, None if none was."""
        kind = rule.kind if rule else None
        if kind == "latency":
            self._sleep((rule.latency_ms or 0) / 1000.0)
            kind = None
        if kind is None:
            r = self._normal(path, query, body)
            self._send(r.status, r.body(), r.ctype)
            return r.status
        if kind == "hang":
            self._hang(rule)
            return None
        if kind == "close":
            self.close_connection = True
            return None
        if kind == "status":
            extra = [("Retry-After", rule.retry_after)] if rule.retry_after else []
            phrase = _phrase(rule.status)
            self._send(rule.status, to_json_bytes(envelope(phrase, rule.status, 0)),
                       extra=extra)
            return rule.status
        if kind == "html_error":
            phrase = "%d %s" % (rule.status, _phrase(rule.status))
            html = ("<html>\r\n<head><title>%s</title></head>\r\n<body>\r\n<center><h1>%s</h1>"
                    "</center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"
                    % (phrase, phrase))
            extra = [("Retry-After", rule.retry_after)] if rule.retry_after else []
            self._send(rule.status, html.encode(), "text/html", extra)
            return rule.status
        if kind == "redirect":
            scheme = "https" if self.server.ssl_ctx else "http"
            loc = "%s://127.0.0.2:%d%s" % (scheme, self.server.server_address[1], self.path)
            self._send(302, b"", extra=[("Location", loc)])
            return 302
        if kind == "malformed":
            self._send(200, b'{"values": [{"name": "x",}')
            return 200
        if kind == "body":
            self._send(rule.status, rule.body)
            return rule.status
        r = self._normal(path, query, body)
        if kind == "truncated":
            full = r.body()
            self.close_connection = True
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(full) + 100))
            self.end_headers()
            self.wfile.write(full[:len(full) // 2])
            return 200
        if kind == "oversize":
            self._send_oversize(r, rule.bytes)
            return 200
        if kind == "slow_body":
            self._send_slow(r.status, r.body(), rule)
            return r.status
        if kind == "invalid_utf8":
            self._send(200, with_invalid_utf8(r.json_obj()))
            return 200
        if kind == "wrong_type":
            self._send(200, to_json_bytes(with_wrong_types(r.json_obj())))
            return 200
        raise AssertionError(kind)

    def _hang(self, rule):
        """Read nothing more, send nothing; end when the client closes, at shutdown or after
        latency_ms (default and cap: 120 s)."""
        self.close_connection = True
        limit = min((rule.latency_ms or MAX_BLOCK_S * 1000) / 1000.0, MAX_BLOCK_S)
        deadline = time.monotonic() + limit
        sock = self.connection
        while not self.state.stopping.is_set():
            left = deadline - time.monotonic()
            if left <= 0:
                return
            try:
                ready, _, _ = select.select([sock], [], [], min(0.5, left))
                if ready and not sock.recv(65536):
                    return                              # client closed
            except (OSError, ValueError, ssl.SSLError):
                return

    def _send_slow(self, status, body, rule):
        """Headers at once, then the body in pieces chunk_delay_ms apart, >= latency_ms in all."""
        delay = (rule.chunk_delay_ms if rule.chunk_delay_ms is not None else 100) / 1000.0
        total = (rule.latency_ms if rule.latency_ms is not None else 1000) / 1000.0
        pieces = max(2, math.ceil(total / delay)) if delay > 0 else 2
        if delay > 0:
            pieces = min(pieces, int(MAX_BLOCK_S / delay) or 1)
        size = max(1, math.ceil(len(body) / pieces))
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.flush()
        for i in range(pieces):
            self._sleep(delay)
            if self.state.stopping.is_set():
                self.close_connection = True
                return
            piece = body[i * size:(i + 1) * size]
            if piece:
                self.wfile.write(piece)
        rest = body[pieces * size:]
        if rest:
            self.wfile.write(rest)

    def _send_oversize(self, r, nbytes):
        """Valid JSON of >= nbytes: the normal object plus a big unknown string field, streamed."""
        obj = r.json_obj() if r.status == 200 else None
        if not isinstance(obj, dict):
            obj = {"values": []}
        base = to_json_bytes(obj)
        prefix = base[:-1] + (b", " if len(obj) else b"") + b'"futurePadding": "'
        suffix = b'"}'
        pad = max(0, nbytes - len(prefix) - len(suffix))
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(prefix) + pad + len(suffix)))
        self.end_headers()
        self.wfile.write(prefix)
        chunk = b"x" * 65536
        while pad > 0:
            if self.state.stopping.is_set():
                self.close_connection = True
                return
            self.wfile.write(chunk[:min(pad, len(chunk))])
            pad -= min(pad, len(chunk))
        self.wfile.write(suffix)


def _phrase(status):
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


class FakeServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 256

    def __init__(self, addr, state, ssl_ctx=None):
        if ":" in addr[0]:
            self.address_family = socket.AF_INET6
        self.state = state
        self.ssl_ctx = ssl_ctx
        super().__init__(addr, Handler)

    def finish_request(self, request, client_address):
        # headers and body go out as separate writes: without TCP_NODELAY, Nagle's algorithm
        # and the client's delayed ACK would add ~40 ms to every keep-alive answer
        try:
            request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError:
            pass
        # TLS handshake here, in the request's thread, so a slow client never blocks accept()
        if self.ssl_ctx is None:
            self.RequestHandlerClass(request, client_address, self)
            return
        try:
            request.settimeout(30)
            tls = self.ssl_ctx.wrap_socket(request, server_side=True)
        except (ssl.SSLError, OSError):
            return
        try:
            self.RequestHandlerClass(tls, client_address, self)
        finally:
            try:
                tls.close()
            except OSError:
                pass

    def handle_error(self, request, client_address):
        # a client that went away is no error worth a traceback on stderr
        exc = sys.exc_info()[1]
        if isinstance(exc, (ConnectionError, ssl.SSLError, socket.timeout)):
            return
        super().handle_error(request, client_address)


def write_port_file(path, port):
    tmp = "%s.tmp.%d" % (path, os.getpid())
    with open(tmp, "w") as f:
        f.write("%d\n" % port)
    os.replace(tmp, path)                 # readers never see a partial file


def parse_args(argv=None):
    p = argparse.ArgumentParser(
        description="Fake Comet ML REST API v2 server (tests and benchmarks of comet_fdw). "
                    "Control API: /_fake/reset, /_fake/count, /_fake/requests, /_fake/dataset, "
                    "/_fake/fault, /_fake/faults/clear, /_fake/faults.")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=0, help="0 = pick a free port")
    p.add_argument("--port-file", help="write the actual port here (atomically)")
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--api-key", default="test-key")
    p.add_argument("--workspaces", type=int, default=2)
    p.add_argument("--projects", type=int, default=2, help="per workspace")
    p.add_argument("--experiments", type=int, default=3, help="per project")
    p.add_argument("--metrics", type=int, default=3, help="per experiment")
    p.add_argument("--points", type=int, default=10, help="per metric")
    p.add_argument("--params", type=int, default=4, help="per experiment")
    p.add_argument("--others", type=int, default=3,
                   help="per experiment, besides Name and storage_size_bytes")
    p.add_argument("--tags", type=int, default=2, help="per experiment")
    p.add_argument("--assets", type=int, default=2, help="per experiment")
    p.add_argument("--latency-ms", type=int, default=0, help="added before every API answer")
    p.add_argument("--recorded", metavar="DIR",
                   help="serve recorded responses from DIR instead of generated data")
    p.add_argument("--dataset", choices=("generated", "demo", "empty"), default="generated",
                   help="generated: the seeded test dataset with its quirks (default; the "
                        "size options apply); demo: a small ML team's account for demo/demo.sh; "
                        "empty: a new account with one empty workspace")
    p.add_argument("--tls-cert", metavar="F")
    p.add_argument("--tls-key", metavar="F")
    p.add_argument("--log", metavar="F", help="one line per API request (never headers)")
    p.add_argument("--quiet", action="store_true",
                   help="print only the 'listening on' line")
    a = p.parse_args(argv)
    for name in ("workspaces", "projects", "experiments", "metrics", "points", "params",
                 "others", "tags", "assets", "latency_ms"):
        if getattr(a, name) < 0:
            p.error("--%s must be >= 0" % name.replace("_", "-"))
    if bool(a.tls_cert) != bool(a.tls_key):
        p.error("--tls-cert and --tls-key go together")
    return a


def main(argv=None):
    args = parse_args(argv)

    def warn(msg):
        if not args.quiet:
            print("fake_comet: %s" % msg, file=sys.stderr, flush=True)

    t0 = time.monotonic()
    def make_dataset():
        if args.recorded:
            return RecordedDataset(args.recorded, warn)
        if args.dataset != "generated":
            return DemoDataset(empty=args.dataset == "empty")
        return GeneratedDataset(args)

    dataset = make_dataset()
    state = FakeState(args, dataset, make_dataset)
    ctx = None
    if args.tls_cert:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(args.tls_cert, args.tls_key)
    server = FakeServer((args.host, args.port), state, ctx)
    port = server.server_address[1]

    def stop(signum, frame):
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    if args.port_file:
        write_port_file(args.port_file, port)
    host = "[%s]" % args.host if ":" in args.host else args.host
    print("listening on %s://%s:%d" % ("https" if ctx else "http", host, port), flush=True)
    warn("%d workspaces, %d projects, %d experiments (%.2fs)" % (
        len(dataset.workspaces), len(dataset.projects), len(dataset.experiments),
        time.monotonic() - t0))
    try:
        while True:
            server.serve_forever(poll_interval=0.2)
            ms, state.refuse_ms = state.refuse_ms, None
            if ms is None:
                break
            # /_fake/refuse: nothing listens for a while, then the same port again
            server.socket.close()
            state.refusing.set()
            state.stopping.wait(ms / 1000.0)
            server.socket = socket.socket(server.address_family, server.socket_type)
            server.server_bind()
            server.server_activate()
    finally:
        state.stopping.set()          # ends hang / slow faults
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
