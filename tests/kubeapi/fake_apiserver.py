#!/usr/bin/env python3
"""A small Kubernetes API server for remedy's tests.

It speaks the parts of the kube-apiserver protocol that remedyd uses (TLS,
bearer token and client-certificate auth, GET/LIST/WATCH/POST/PUT/PATCH/DELETE,
pagination, resourceVersions, dry-run, Status errors) and runs a tiny
Deployment -> ReplicaSet -> Pod controller plus a kubelet simulation, so that a
rollout with a bad image ends in ImagePullBackOff the way it does on a real
cluster.  The answers are held to real captures by test_fixtures.py; see
README.md in this folder for the contract.

Standard library only, plus the openssl command for the certificates.
"""

import argparse
import base64
import copy
import hashlib
import http.server
import json
import os
import random
import re
import signal
import ssl
import shlex
import subprocess
import sys
import threading
import time
import urllib.parse
import uuid

import faults as transport_faults   # tests/kubeapi/faults.py
import workloads                    # tests/kubeapi/workloads.py

MAX_BODY = 8 * 1024 * 1024          # largest request body accepted
MAX_LOG = 100000                    # request log entries kept
DEFAULT_WATCH_TIMEOUT = 1800        # seconds, when timeoutSeconds is absent
NAME_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"
REV_ANN = "deployment.kubernetes.io/revision"
LOG_ANN = "remedy.test/log"
# The executables of the built-in images (by repository), for the
# kubelet's start of a container whose command the pod overrides; an image
# not listed here runs any command.
PATH_DIRS = ("/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin")
IMAGE_FILES = {
    "nginx": {"/docker-entrypoint.sh", "/usr/sbin/nginx", "/bin/sh", "/bin/bash", "/bin/sleep",
              "/bin/cat", "/bin/echo", "/usr/bin/env", "/bin/ls"},
    "busybox": {"/bin/sh", "/bin/sleep", "/bin/cat", "/bin/echo", "/bin/ls", "/bin/true",
                "/bin/false", "/usr/bin/env", "/bin/wget"},
}
SHELLS = ("sh", "bash", "/bin/sh", "/bin/bash")
# The HTTP paths the built-in images' servers answer 200 on every port the
# container declares (any other path: 404); an image not listed answers
# every path.
IMAGE_HTTP_PATHS = {
    "nginx": ("/", "/index.html"),
}

# plural -> (group, version, kind, namespaced)
RESOURCES = {
    "namespaces": ("", "v1", "Namespace", False),
    "pods": ("", "v1", "Pod", True),
    "events": ("", "v1", "Event", True),
    "deployments": ("apps", "v1", "Deployment", True),
    "replicasets": ("apps", "v1", "ReplicaSet", True),
    "controllerrevisions": ("apps", "v1", "ControllerRevision", True),
    "leases": ("coordination.k8s.io", "v1", "Lease", True),
}
# The kinds remedyd's analyzers watch (objects kept as given; no controller).
RESOURCES.update({
    "nodes": ("", "v1", "Node", False),
    "services": ("", "v1", "Service", True),
    "persistentvolumeclaims": ("", "v1", "PersistentVolumeClaim", True),
    "statefulsets": ("apps", "v1", "StatefulSet", True),
    "daemonsets": ("apps", "v1", "DaemonSet", True),
    "jobs": ("batch", "v1", "Job", True),
    "cronjobs": ("batch", "v1", "CronJob", True),
    "endpointslices": ("discovery.k8s.io", "v1", "EndpointSlice", True),
    "ingresses": ("networking.k8s.io", "v1", "Ingress", True),
    "horizontalpodautoscalers": ("autoscaling", "v2", "HorizontalPodAutoscaler", True),
    "poddisruptionbudgets": ("policy", "v1", "PodDisruptionBudget", True),
    "storageclasses": ("storage.k8s.io", "v1", "StorageClass", False),
})
# plural -> the versions it is served at, preferred first (the first is the
# one objects are stored and answered in); --profile changes them
SERVED = {res: [v[1]] for res, v in RESOURCES.items()}
# What a real server of each release serves where remedy has a choice:
# Kubernetes 1.20 serves CronJob, PodDisruptionBudget and EndpointSlice
# only at their beta versions and the HPA at autoscaling/v2beta2 and v1 (the
# v1 paths of the others answer 404).
PROFILES = {
    "current": {},
    "v1.20": {"cronjobs": ["v1beta1"], "poddisruptionbudgets": ["v1beta1"],
              "horizontalpodautoscalers": ["v2beta2", "v1"], "endpointslices": ["v1beta1"]},
}
# (plural, version) pairs taken away at run time (POST /_test/served)
UNSERVED = set()
HPA_V1_CONDITIONS = "autoscaling.alpha.kubernetes.io/conditions"


def set_profile(name):
    for res, vers in PROFILES[name].items():
        g, _, kind, nsd = RESOURCES[res]
        RESOURCES[res] = (g, vers[0], kind, nsd)
        SERVED[res] = list(vers)


def served_versions(res):
    return [v for v in SERVED.get(res, ()) if (res, v) not in UNSERVED]


def version_key(v):
    """Kubernetes' version priority: GA before beta before alpha, then the
    higher major, then the higher minor (v1 < v2, v2beta2 before v2beta1)."""
    m = re.match(r"^v(\d+)(?:(alpha|beta)(\d+))?$", v)
    if not m:
        return (3, 0, 0, v)
    level = {None: 0, "beta": 1, "alpha": 2}[m.group(2)]
    return (level, -int(m.group(1)), -int(m.group(3) or 0), v)


def as_version(res, version, obj):
    """obj (stored at the resource's first version) as served at version.
    Only autoscaling/v1 has another shape: no metrics, the conditions in an
    annotation holding their JSON, targetCPUUtilizationPercentage."""
    if res != "horizontalpodautoscalers" or version != "v1" or not isinstance(obj, dict):
        return obj
    o = copy.deepcopy(obj)
    if "apiVersion" in o:
        o["apiVersion"] = "autoscaling/v1"
    spec, status = o.get("spec") or {}, o.get("status") or {}
    for m in spec.pop("metrics", None) or []:
        t = ((m.get("resource") or {}).get("target") or {})
        if m.get("type") == "Resource" and (m.get("resource") or {}).get("name") == "cpu" \
                and "averageUtilization" in t:
            spec["targetCPUUtilizationPercentage"] = t["averageUtilization"]
    spec.pop("behavior", None)
    status.pop("currentMetrics", None)
    conds = status.pop("conditions", None)
    if conds:
        o.setdefault("metadata", {}).setdefault("annotations", {})[HPA_V1_CONDITIONS] = \
            json.dumps(conds, separators=(",", ":"))
    return o
SUBRESOURCES = {"pods": ("status", "log"), "deployments": ("status",),
                "statefulsets": ("status",), "daemonsets": ("status",),
                "replicasets": ("status",), "namespaces": ("status",)}
KIND_TO_PLURAL = {v[2]: k for k, v in RESOURCES.items()}
GENERATION_KINDS = ("deployments", "replicasets", "statefulsets", "daemonsets")

VERSION = {
    "major": "1",
    "minor": "20",
    "gitVersion": "v1.20.2",
    "gitCommit": "faecb196815e248d3ecfb03c680a4507229c2a56",
    "gitTreeState": "clean",
    "buildDate": "2026-11-26T23:59:39Z",
    "goVersion": "go1.19.8",
    "compiler": "gc",
    "platform": "linux/amd64",
}

PATCH_TYPES = ("application/json-patch+json", "application/merge-patch+json",
               "application/strategic-merge-patch+json")


def now_ts():
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def api_version(res):
    group, version = RESOURCES[res][0], RESOURCES[res][1]
    return version if not group else group + "/" + version


def qualified(res):
    """deployments.apps, pods, leases.coordination.k8s.io"""
    group = RESOURCES[res][0]
    return res if not group else res + "." + group


def kind_qualified(res):
    """Deployment.apps, Pod"""
    group = RESOURCES[res][0]
    kind = RESOURCES[res][2]
    return kind if not group else kind + "." + group


class ApiError(Exception):
    """An answer in the shape of a metav1.Status."""

    def __init__(self, code, reason, message, details=None):
        super().__init__(message)
        self.code = code
        self.reason = reason
        self.message = message
        self.details = details

    def body(self):
        st = {"kind": "Status", "apiVersion": "v1", "metadata": {},
              "status": "Failure", "message": self.message,
              "reason": self.reason}
        if self.details is not None:
            st["details"] = self.details
        st["code"] = self.code
        return st


def err_details(res, name, kind=None):
    d = {"name": name}
    if RESOURCES[res][0]:
        d["group"] = RESOURCES[res][0]
    d["kind"] = kind if kind else res
    return d


def not_found(res, name):
    return ApiError(404, "NotFound", '%s "%s" not found' % (qualified(res), name),
                    err_details(res, name))


def conflict(res, name):
    return ApiError(409, "Conflict",
                    'Operation cannot be fulfilled on %s "%s": the object has been '
                    'modified; please apply your changes to the latest version and '
                    'try again' % (qualified(res), name), err_details(res, name))


def bad_request(msg):
    return ApiError(400, "BadRequest", msg)


def invalid(res, name, causes):
    """causes: list of (field, reason, message)"""
    parts = ["%s: %s" % (f, m) for f, _, m in causes]
    joined = parts[0] if len(parts) == 1 else "[" + ", ".join(parts) + "]"
    d = err_details(res, name, RESOURCES[res][2])
    d["causes"] = [{"reason": r, "message": m, "field": f} for f, r, m in causes]
    return ApiError(422, "Invalid", '%s "%s" is invalid: %s' % (kind_qualified(res), name, joined), d)


def patch_rejected():
    return ApiError(422, "Invalid",
                    "the server rejected our request due to an error in our request", {})


def unsupported_media():
    return ApiError(415, "UnsupportedMediaType",
                    "the body of the request was in an unknown format - accepted media "
                    "types include: application/json-patch+json, application/merge-patch+json, "
                    "application/strategic-merge-patch+json, application/apply-patch+yaml")


def unauthorized():
    return ApiError(401, "Unauthorized", "Unauthorized")


def go_json_error(raw, exc):
    """Describe a JSON decode error the way Go's encoding/json does for the
    common case of a bad first character."""
    s = raw.lstrip(b" \t\r\n")
    if s and s[:1] not in b'{["-0123456789tfn':
        c = s[0]
        q = "'%c'" % c if 0x20 <= c < 0x7f else "'\\u%04x'" % c
        return "invalid character %s looking for beginning of value" % q
    return str(exc)


# ---------------------------------------------------------------- JSON patch

def _ptr_tokens(path):
    if path == "":
        return []
    if not path.startswith("/"):
        raise ValueError("bad pointer %r" % path)
    return [t.replace("~1", "/").replace("~0", "~") for t in path[1:].split("/")]


def _ptr_parent(doc, tokens):
    cur = doc
    for t in tokens[:-1]:
        if isinstance(cur, dict) and t in cur:
            cur = cur[t]
        elif isinstance(cur, list) and t.isdigit() and int(t) < len(cur):
            cur = cur[int(t)]
        else:
            raise ValueError("path not found")
    return cur


def _ptr_get(doc, path):
    tokens = _ptr_tokens(path)
    if not tokens:
        return doc
    parent = _ptr_parent(doc, tokens)
    t = tokens[-1]
    if isinstance(parent, dict) and t in parent:
        return parent[t]
    if isinstance(parent, list) and t.isdigit() and int(t) < len(parent):
        return parent[int(t)]
    raise ValueError("path not found")


def _ptr_add(doc, path, value):
    tokens = _ptr_tokens(path)
    if not tokens:
        return value
    parent = _ptr_parent(doc, tokens)
    t = tokens[-1]
    if isinstance(parent, dict):
        parent[t] = value
    elif isinstance(parent, list):
        if t == "-":
            parent.append(value)
        elif t.isdigit() and int(t) <= len(parent):
            parent.insert(int(t), value)
        else:
            raise ValueError("bad index")
    else:
        raise ValueError("parent not a container")
    return doc


def _ptr_remove(doc, path):
    tokens = _ptr_tokens(path)
    if not tokens:
        raise ValueError("cannot remove root")
    parent = _ptr_parent(doc, tokens)
    t = tokens[-1]
    if isinstance(parent, dict) and t in parent:
        return parent.pop(t)
    if isinstance(parent, list) and t.isdigit() and int(t) < len(parent):
        return parent.pop(int(t))
    raise ValueError("path not found")


def json_equal(a, b):
    """Equality of JSON values that, unlike ==, tells true from 1."""
    return json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)


def json_patch(doc, ops):
    """RFC 6902 on a copy of doc; ValueError on any failed operation."""
    if not isinstance(ops, list):
        raise ValueError("patch is not a list")
    doc = copy.deepcopy(doc)
    for op in ops:
        if not isinstance(op, dict) or not isinstance(op.get("path"), str):
            raise ValueError("bad operation")
        kind, path = op.get("op"), op["path"]
        if kind == "add":
            doc = _ptr_add(doc, path, copy.deepcopy(op["value"]))
        elif kind == "remove":
            _ptr_remove(doc, path)
        elif kind == "replace":
            _ptr_get(doc, path)
            if path == "":
                doc = copy.deepcopy(op["value"])
            else:
                _ptr_remove(doc, path)
                doc = _ptr_add(doc, path, copy.deepcopy(op["value"]))
        elif kind == "move":
            v = _ptr_remove(doc, op["from"])
            doc = _ptr_add(doc, path, v)
        elif kind == "copy":
            doc = _ptr_add(doc, path, copy.deepcopy(_ptr_get(doc, op["from"])))
        elif kind == "test":
            if "value" not in op or not json_equal(_ptr_get(doc, path), op["value"]):
                raise ValueError("test failed")
        else:
            raise ValueError("unknown op %r" % kind)
    return doc


def merge_patch(target, patch):
    """RFC 7386."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    out = copy.deepcopy(target) if isinstance(target, dict) else {}
    for k, v in patch.items():
        if v is None:
            out.pop(k, None)
        else:
            out[k] = merge_patch(out.get(k), v)
    return out


# ---------------------------------------------------------------- selectors

def parse_label_selector(sel):
    """List of (key, op, values); raises ApiError on garbage."""
    reqs = []
    if not sel:
        return reqs
    parts = re.findall(r'(?:[^,(]|\([^)]*\))+', sel)
    for p in parts:
        p = p.strip()
        m = re.match(r'^(\S+)\s+(in|notin)\s+\(([^)]*)\)$', p)
        if m:
            reqs.append((m.group(1), m.group(2), [v.strip() for v in m.group(3).split(",")]))
            continue
        m = re.match(r'^([^=!\s]+)\s*(==|=|!=)\s*(\S*)$', p)
        if m:
            op = "!=" if m.group(2) == "!=" else "="
            reqs.append((m.group(1), op, [m.group(3)]))
            continue
        m = re.match(r'^(!?)([A-Za-z0-9._/-]+)$', p)
        if m:
            reqs.append((m.group(2), "!" if m.group(1) else "exists", []))
            continue
        raise bad_request("unable to parse requirement: invalid label selector %r" % sel)
    return reqs


def label_match(obj, reqs):
    labels = (obj.get("metadata") or {}).get("labels") or {}
    for key, op, vals in reqs:
        have = key in labels
        v = labels.get(key)
        if op == "=" and v != vals[0]:
            return False
        if op == "!=" and have and v == vals[0]:
            return False
        if op == "exists" and not have:
            return False
        if op == "!" and have:
            return False
        if op == "in" and v not in vals:
            return False
        if op == "notin" and have and v in vals:
            return False
    return True


def parse_field_selector(sel):
    reqs = []
    if not sel:
        return reqs
    for p in sel.split(","):
        m = re.match(r'^([A-Za-z0-9._]+)\s*(==|=|!=)\s*(.*)$', p.strip())
        if not m:
            raise bad_request("invalid field selector %r" % sel)
        reqs.append((m.group(1), m.group(2) == "!=", m.group(3)))
    return reqs


def field_match(obj, reqs):
    for path, negate, want in reqs:
        cur = obj
        for part in path.split("."):
            cur = cur.get(part) if isinstance(cur, dict) else None
        have = "" if cur is None else (str(cur).lower() if isinstance(cur, bool) else str(cur))
        if (have == want) == negate:
            return False
    return True


# ---------------------------------------------------------------- state

class State:
    """Every object, the watch history and the request log, behind one lock.

    Objects are never changed in place once stored: a write stores a fresh
    copy, so history entries can share them."""

    def __init__(self, args):
        self.args = args
        self.cond = threading.Condition(threading.RLock())
        self.rv = 0
        self.objects = {}           # (res, ns, name) -> obj
        self.history = []           # (rv, res, ns, name, type, obj, prev)
        self.min_rv = 0             # watches from below this are too old
        self.live_min_rv = 0        # running watches below this missed events
        self.watch_epoch = 0
        self.stopping = False
        self.requests = []
        self.injections = []    # POST /_test/inject: planned failures
        self.req_seq = 0
        self.registry = set(["nginx:1.25", "nginx:1.26", "busybox:1.36"])
        # --registry: docker.io images are pulled from that registry instead
        self.reg_kubelet = RegistryKubelet(args.registry) if getattr(args, "registry", "") else None
        self.manual_status = set()  # keys whose status tests set by hand
        self.claims_told = set()    # claim uids told their class is missing
        self.pull_fail_since = {}   # (ns, pod, container) -> monotonic time
        self.progress_since = {}    # (ns, deploy) -> (rs name, monotonic time)
        self.event_ttl = float(args.event_ttl)  # seconds, as kube-apiserver --event-ttl
        self.event_born = {}        # (ns, name) -> monotonic time the Event was stored
        self.next_event_sweep = 0.0

    # -- storage

    def _record(self, res, ns, name, etype, obj, prev):
        self.history.append((self.rv, res, ns, name, etype, obj, prev))
        limit = max(1, self.args.history)
        if len(self.history) > limit + limit // 10:
            del self.history[:len(self.history) - limit]
            self.min_rv = max(self.min_rv, self.history[0][0] - 1)
            self.live_min_rv = max(self.live_min_rv, self.min_rv)
        self.cond.notify_all()

    def put(self, res, obj):
        """Store obj (ADDED or MODIFIED) with a new resourceVersion."""
        md = obj["metadata"]
        ns = md.get("namespace", "") if RESOURCES[res][3] else ""
        key = (res, ns, md["name"])
        prev = self.objects.get(key)
        self.rv += 1
        obj = copy.deepcopy(obj)
        obj["metadata"]["resourceVersion"] = str(self.rv)
        self.objects[key] = obj
        self._record(res, ns, md["name"], "MODIFIED" if prev else "ADDED", obj, prev)
        return obj

    def remove(self, res, ns, name):
        key = (res, ns, name)
        prev = self.objects.pop(key)
        self.rv += 1
        gone = copy.deepcopy(prev)
        gone["metadata"]["resourceVersion"] = str(self.rv)
        self.manual_status.discard(key)
        self._record(res, ns, name, "DELETED", gone, prev)
        return gone

    def get(self, res, ns, name):
        return self.objects.get((res, ns if RESOURCES[res][3] else "", name))

    def compact(self):
        """Forget the watch history: a new watch from any resourceVersion
        handed out so far is too old; running watches that are caught up go on."""
        self.live_min_rv = self.rv
        self.rv += 1
        self.history = []
        self.min_rv = self.rv

    def snapshot(self, res, at_rv):
        """Objects of res as they were at at_rv, rebuilt from history."""
        state = {k: v for k, v in self.objects.items() if k[0] == res}
        for rv, r, ns, name, etype, obj, prev in reversed(self.history):
            if rv <= at_rv:
                break
            if r != res:
                continue
            if etype == "ADDED":
                state.pop((r, ns, name), None)
            else:
                state[(r, ns, name)] = prev
        return state

    def log_request(self, entry):
        self.req_seq += 1
        entry["seq"] = self.req_seq
        self.requests.append(entry)
        if len(self.requests) > MAX_LOG:
            del self.requests[:len(self.requests) - MAX_LOG]


# ---------------------------------------------------------------- defaults and validation

def default_pod_spec(spec):
    spec.setdefault("restartPolicy", "Always")
    spec.setdefault("terminationGracePeriodSeconds", 30)
    spec.setdefault("dnsPolicy", "ClusterFirst")
    spec.setdefault("securityContext", {})
    spec.setdefault("schedulerName", "default-scheduler")
    for c in spec.get("containers") or []:
        if isinstance(c, dict):
            c.setdefault("resources", {})
            c.setdefault("terminationMessagePath", "/dev/termination-log")
            c.setdefault("terminationMessagePolicy", "File")
            img = c.get("image") or ""
            c.setdefault("imagePullPolicy", "Always" if img.endswith(":latest") or ":" not in img else "IfNotPresent")


def default_pod_admission(spec):
    """What defaulting and admission add to a Pod (not to a template)."""
    default_pod_spec(spec)
    spec.setdefault("tolerations", [
        {"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300},
        {"key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoExecute",
         "tolerationSeconds": 300}])
    spec.setdefault("priority", 0)
    spec.setdefault("enableServiceLinks", True)
    spec.setdefault("preemptionPolicy", "PreemptLowerPriority")


def apply_defaults(res, obj):
    spec = obj.get("spec")
    if res in ("deployments", "replicasets") and isinstance(spec, dict):
        spec.setdefault("replicas", 1)
        if res == "deployments":
            spec.setdefault("strategy", {"type": "RollingUpdate",
                                         "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": "25%"}})
            spec.setdefault("revisionHistoryLimit", 10)
            spec.setdefault("progressDeadlineSeconds", 600)
        tmpl = spec.get("template")
        if isinstance(tmpl, dict):
            tmpl.setdefault("metadata", {}).setdefault("creationTimestamp", None)
            if isinstance(tmpl.get("spec"), dict):
                default_pod_spec(tmpl["spec"])
    elif res in ("statefulsets", "daemonsets") and isinstance(spec, dict):
        if res == "statefulsets":
            spec.setdefault("replicas", 1)
            spec.setdefault("podManagementPolicy", "OrderedReady")
            spec.setdefault("updateStrategy", {"type": "RollingUpdate", "rollingUpdate": {"partition": 0}})
        else:
            spec.setdefault("updateStrategy", {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1}})
        spec.setdefault("revisionHistoryLimit", 10)
        tmpl = spec.get("template")
        if isinstance(tmpl, dict):
            tmpl.setdefault("metadata", {}).setdefault("creationTimestamp", None)
            if isinstance(tmpl.get("spec"), dict):
                default_pod_spec(tmpl["spec"])
    elif res == "pods" and isinstance(spec, dict):
        default_pod_admission(spec)
    elif res == "services" and isinstance(spec, dict):
        # the API server's defaults for a Service port: TCP, and the
        # targetPort the same as the port when not given
        for port in spec.get("ports") or []:
            if isinstance(port, dict):
                port.setdefault("protocol", "TCP")
                if "port" in port:
                    port.setdefault("targetPort", port["port"])
    elif res == "namespaces":
        obj.setdefault("spec", {"finalizers": ["kubernetes"]})
        obj.setdefault("status", {"phase": "Active"})


def validate(res, obj):
    """Raise ApiError 422 with details.causes when obj is not acceptable."""
    md = obj.get("metadata")
    name = md.get("name", "") if isinstance(md, dict) else ""
    causes = []
    if not name:
        causes.append(("metadata.name", "FieldValueRequired",
                       "Required value: name or generateName is required"))
    spec = obj.get("spec")
    pod_spec, prefix = None, "spec"
    if res in ("deployments", "replicasets"):
        if not isinstance(spec, dict):
            spec = {}
            causes.append(("spec", "FieldValueRequired", "Required value"))
        r = spec.get("replicas", 0)
        if not isinstance(r, int) or isinstance(r, bool):
            causes.append(("spec.replicas", "FieldValueInvalid",
                           "Invalid value: %s: must be an integer" % json.dumps(r)))
        elif r < 0:
            causes.append(("spec.replicas", "FieldValueInvalid",
                           "Invalid value: %d: must be greater than or equal to 0" % r))
        tmpl = spec.get("template") if isinstance(spec.get("template"), dict) else {}
        pod_spec, prefix = tmpl.get("spec"), "spec.template.spec"
        if not isinstance(pod_spec, dict):
            pod_spec = {}
    elif res == "pods":
        pod_spec = spec if isinstance(spec, dict) else {}
    if pod_spec is not None:
        cs = pod_spec.get("containers")
        if not isinstance(cs, list) or not cs:
            causes.append((prefix + ".containers", "FieldValueRequired", "Required value"))
        else:
            for i, c in enumerate(cs):
                c = c if isinstance(c, dict) else {}
                if not c.get("name"):
                    causes.append(("%s.containers[%d].name" % (prefix, i), "FieldValueRequired", "Required value"))
                img = c.get("image")
                if not isinstance(img, str) or not img.strip():
                    causes.append(("%s.containers[%d].image" % (prefix, i), "FieldValueRequired", "Required value"))
    if causes:
        raise invalid(res, name, causes)


# ---------------------------------------------------------------- controller

def template_hash(tmpl):
    canon = json.dumps(tmpl, sort_keys=True, separators=(",", ":")).encode()
    digest = hashlib.sha256(canon).digest()
    return "".join(NAME_ALPHABET[b % len(NAME_ALPHABET)] for b in digest[:10])


def rand_suffix(n=5):
    return "".join(random.choice(NAME_ALPHABET) for _ in range(n))


def owner_ref(owner, kind, api_ver):
    return {"apiVersion": api_ver, "kind": kind, "name": owner["metadata"]["name"],
            "uid": owner["metadata"]["uid"], "controller": True, "blockOwnerDeletion": True}


def controller_uid(obj):
    for ref in (obj.get("metadata") or {}).get("ownerReferences") or []:
        if ref.get("controller"):
            return ref.get("uid")
    return None


def strip_zero(status, keys):
    for k in keys:
        if not status.get(k):
            status.pop(k, None)
    return status


def image_ref(img):
    return img if "/" in img else "docker.io/library/" + img


MANIFEST_ACCEPT = ", ".join((
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.v2+json"))


def split_image(img):
    """docker.io-style normalisation: -> (domain, path, tag or digest)."""
    name, ref = img, "latest"
    if "@" in name:
        name, ref = name.split("@", 1)
    else:
        head, _, tail = name.rpartition(":")
        if head and "/" not in tail:
            name, ref = head, tail
    first, _, rest = name.partition("/")
    if rest and ("." in first or ":" in first or first == "localhost"):
        domain, path = first, rest
    else:
        domain, path = "docker.io", name
    if domain == "docker.io" and "/" not in path:
        path = "library/" + path
    return domain, path, ref


class RegistryKubelet:
    """The kubelet's pulls of docker.io images, asked of a real registry
    (--registry URL, containerd's docker.io mirror): HEAD and GET of
    /v2/PATH/manifests/REF, and for an image index, whether it lists the
    node's platform.  -> (pulled, digest or None, containerd's message).
    Answers are kept `ttl` seconds: the kubelet's back-off, not one request
    per controller pass."""

    def __init__(self, url, ttl=1.0):
        self.url = url.rstrip("/")
        self.ttl = ttl
        self.cache = {}     # (img, arch) -> (monotonic time, answer)

    def pull(self, img, arch):
        import urllib.error
        import urllib.request
        key = (img, arch)
        hit = self.cache.get(key)
        if hit and time.monotonic() - hit[0] < self.ttl:
            return hit[1]
        domain, path, ref = split_image(img)
        full = "%s/%s%s%s" % (domain, path, "@" if ref.startswith("sha256:") else ":", ref)
        req = urllib.request.Request("%s/v2/%s/manifests/%s" % (self.url, path, ref),
                                     headers={"Accept": MANIFEST_ACCEPT})
        try:
            with urllib.request.urlopen(req, timeout=5) as r:
                body, digest = r.read(1 << 20), r.headers.get("Docker-Content-Digest")
                ctype = r.headers.get("Content-Type", "")
            ans = (True, digest, "")
            doc = json.loads(body)
            if "index" in ctype or "manifest.list" in ctype or "manifests" in doc:
                plats = [(m.get("platform") or {}) for m in doc.get("manifests") or []]
                if not any(p.get("os") == "linux" and p.get("architecture") == arch for p in plats):
                    ans = (False, None, 'rpc error: code = NotFound desc = failed to pull and unpack image '
                           '"%s": no match for platform in manifest: not found' % full)
        except urllib.error.HTTPError as e:
            ans = (False, None, 'rpc error: code = NotFound desc = failed to pull and unpack image '
                   '"%s": %s' % (full, "not found" if e.code == 404 else
                                 "unexpected status code %d" % e.code))
        except (OSError, ValueError) as e:
            ans = (False, None, 'rpc error: code = Unknown desc = failed to pull and unpack image '
                   '"%s": failed to do request: %s' % (full, e))
        self.cache[key] = (time.monotonic(), ans)
        return ans


class Controller:
    """Deployment, ReplicaSet, kubelet and garbage collector in one pass.

    Every step writes only when the computed object differs from the stored
    one, so a settled cluster causes no writes and no watch traffic."""

    def __init__(self, st):
        self.st = st
        self.due = None         # monotonic time of the next timed transition
        self.seen_rv = -1       # resourceVersion after the last full pass
        self.workloads = workloads.Workloads(self, owner_ref, default_pod_admission, rand_suffix)
        self.job_failures = {}  # Job uid -> [failed pods seen, when the count last grew]

    def due_at(self, t):
        self.due = t if self.due is None else min(self.due, t)

    def tick(self):
        """The 0.1 s tick: a full pass only when something was written or a
        timed transition (image pull back-off, progress deadline) is due, so
        an idle server costs no CPU; once a second, Events older than the
        event TTL are deleted (DELETED watch events), as the API server's
        storage does after --event-ttl."""
        now = time.monotonic()
        if now >= self.st.next_event_sweep:
            self.st.next_event_sweep = now + 1.0
            self.expire_events(now)
        if self.st.rv != self.seen_rv or (self.due is not None and time.monotonic() >= self.due):
            self.run()

    def expire_events(self, now):
        st = self.st
        for (ns, name), born in list(st.event_born.items()):
            if now - born < st.event_ttl:
                continue
            del st.event_born[(ns, name)]
            if st.get("events", ns, name) is not None:
                st.remove("events", ns, name)

    def new_meta(self, name, ns, labels=None):
        md = {"name": name, "namespace": ns, "uid": str(uuid.uuid4()),
              "creationTimestamp": now_ts()}
        if labels:
            md["labels"] = dict(labels)
        return md

    def event(self, obj, kind, etype, reason, message, component, field_path=None):
        st = self.st
        md = obj["metadata"]
        name = "%s.%s" % (md["name"], uuid.uuid4().hex[:16])
        ts = now_ts()
        inv = {"kind": kind, "namespace": md["namespace"], "name": md["name"],
               "uid": md["uid"], "apiVersion": obj.get("apiVersion", "v1"),
               "resourceVersion": md.get("resourceVersion", "")}
        if field_path:
            inv["fieldPath"] = field_path
        ev = {"kind": "Event", "apiVersion": "v1",
              "metadata": self.new_meta(name, md["namespace"]),
              "involvedObject": inv, "reason": reason, "message": message,
              "source": {"component": component},
              "firstTimestamp": ts, "lastTimestamp": ts, "count": 1, "type": etype,
              "eventTime": None, "reportingComponent": "", "reportingInstance": ""}
        if component == "kubelet":
            ev["source"]["host"] = "node-a"
        st.put("events", ev)
        st.event_born[(md["namespace"], name)] = time.monotonic()

    def run(self, max_passes=20):
        for _ in range(max_passes):
            self.due = None
            if not self.one_pass():
                break
        self.seen_rv = self.st.rv

    def one_pass(self):
        changed = False
        changed |= self.gc()
        for key in sorted(k for k in self.st.objects if k[0] == "deployments"):
            if key in self.st.objects:
                changed |= self.sync_deployment(self.st.objects[key])
        for key in sorted(k for k in self.st.objects if k[0] == "replicasets"):
            if key in self.st.objects:
                changed |= self.sync_replicaset(self.st.objects[key])
        for res, sync in (("statefulsets", self.workloads.sync_statefulset),
                          ("daemonsets", self.workloads.sync_daemonset)):
            for key in sorted(k for k in self.st.objects if k[0] == res):
                if key in self.st.objects:
                    changed |= sync(self.st.objects[key])
        for key in sorted(k for k in self.st.objects if k[0] == "pods"):
            if key in self.st.objects:
                changed |= self.schedule(self.st.objects[key])
                changed |= self.kubelet(self.st.objects[key])
        if self.st.args.endpointslices:
            changed |= self.sync_endpointslices()
        if self.st.args.jobs:
            for key in sorted(k for k in self.st.objects if k[0] == "jobs"):
                if key in self.st.objects:
                    changed |= self.sync_job(self.st.objects[key])
        if self.st.args.volumes:
            for key in sorted(k for k in self.st.objects if k[0] == "persistentvolumeclaims"):
                if key in self.st.objects:
                    changed |= self.sync_claim(self.st.objects[key])
        return changed

    @staticmethod
    def job_cond(job, ctype):
        for c in (job.get("status") or {}).get("conditions") or []:
            if c.get("type") == ctype and c.get("status") == "True":
                return c
        return None

    def sync_job(self, job):
        """--jobs: kube-controller-manager's Job controller (NonIndexed).
        It keeps min(parallelism, completions - succeeded) pods running
        (template labels plus job-name and controller-uid, owned by the
        Job, restartPolicy as the template says); after a failed pod, the
        next one is created after the back-off, --job-backoff seconds
        doubled for each failure so far (10 s in Kubernetes); once more
        pods failed than spec.backoffLimit (default 6) the Job gets
        Failed=True, reason BackoffLimitExceeded, and its running pods are
        deleted; once enough succeeded, Complete=True.  status.active,
        failed, succeeded and startTime follow its pods."""
        st = self.st
        md, spec = job["metadata"], job.get("spec") or {}
        ns = md["namespace"]
        if ("jobs", ns, md["name"]) in st.manual_status or not isinstance(spec.get("template"), dict):
            return False
        if self.job_cond(job, "Failed") or self.job_cond(job, "Complete"):
            return False
        pods = [p for p in self.owned("pods", job) if not p["metadata"].get("deletionTimestamp")]
        failed = sum(1 for p in pods if (p.get("status") or {}).get("phase") == "Failed")
        succeeded = sum(1 for p in pods if (p.get("status") or {}).get("phase") == "Succeeded")
        active = [p for p in pods if (p.get("status") or {}).get("phase") not in ("Failed", "Succeeded")]
        limit, completions = spec.get("backoffLimit", 6), spec.get("completions", 1)
        changed = False
        old = job.get("status") or {}
        status = {"startTime": old.get("startTime", now_ts()), "active": len(active),
                  "failed": failed, "succeeded": succeeded, "ready": 0,
                  "uncountedTerminatedPods": {}}
        now = time.monotonic()
        seen = self.job_failures.setdefault(md["uid"], [0, now])
        if failed != seen[0]:
            seen[0], seen[1] = failed, now
        if failed > limit:
            for p in active:
                st.remove("pods", ns, p["metadata"]["name"])
            status["active"] = 0
            status["conditions"] = [{"type": "Failed", "status": "True", "reason": "BackoffLimitExceeded",
                                     "message": "Job has reached the specified backoff limit",
                                     "lastProbeTime": now_ts(), "lastTransitionTime": now_ts()}]
            changed = True
        elif succeeded >= completions:
            status["conditions"] = [{"type": "Complete", "status": "True", "lastProbeTime": now_ts(),
                                     "lastTransitionTime": now_ts()}]
            status["completionTime"] = now_ts()
        else:
            want = min(spec.get("parallelism", 1), completions - succeeded)
            wait = seen[1] + st.args.job_backoff * (2 ** (failed - 1)) if failed else now
            if len(active) < want and now < wait:
                self.due_at(wait)
            while len(active) < want and now >= wait:
                name = "%s-%s" % (md["name"], rand_suffix())
                if st.get("pods", ns, name):
                    continue
                tmpl = spec["template"]
                labels = dict((tmpl.get("metadata") or {}).get("labels") or {})
                labels.update({"batch.kubernetes.io/job-name": md["name"], "job-name": md["name"],
                               "batch.kubernetes.io/controller-uid": md["uid"], "controller-uid": md["uid"]})
                pmd = self.new_meta(name, ns, labels)
                pmd["ownerReferences"] = [owner_ref(job, "Job", "batch/v1")]
                pspec = copy.deepcopy(tmpl.get("spec") or {})
                default_pod_admission(pspec)
                if not st.args.schedule:
                    pspec["nodeName"] = "node-a"
                active.append(st.put("pods", {"kind": "Pod", "apiVersion": "v1", "metadata": pmd,
                                              "spec": pspec, "status": {"phase": "Pending",
                                                                        "qosClass": "BestEffort"}}))
                changed = True
            status["active"] = len(active)
        strip_zero(status, ["active", "failed", "succeeded", "ready"])
        if old != status:
            j2 = copy.deepcopy(job)
            j2["status"] = status
            st.put("jobs", j2)
            changed = True
        return changed

    def sync_claim(self, pvc):
        """--volumes: kube-controller-manager's PersistentVolume controller
        with a provisioner that always succeeds.  A Pending claim whose
        class exists (its storageClassName, else the class annotated
        storageclass.kubernetes.io/is-default-class "true") becomes Bound to
        a volume pvc-<uid>; one naming a class that does not exist stays
        Pending with the controller's Warning Event ProvisioningFailed
        ('storageclass.storage.k8s.io "fast" not found'), recorded once;
        one naming none with no default class stays Pending, as a claim
        waiting for a volume to be bound by hand does."""
        st = self.st
        md, spec = pvc["metadata"], pvc.get("spec") or {}
        key = ("persistentvolumeclaims", md["namespace"], md["name"])
        if key in st.manual_status or (pvc.get("status") or {}).get("phase") not in (None, "Pending"):
            return False
        classes = {k[2]: o for k, o in st.objects.items() if k[0] == "storageclasses"}
        want = spec.get("storageClassName")
        if want is None:
            defaults = sorted(n for n, o in classes.items()
                              if (o["metadata"].get("annotations") or {}).get(
                                  "storageclass.kubernetes.io/is-default-class") == "true")
            want = defaults[0] if defaults else None
        if want and want in classes:
            p = copy.deepcopy(pvc)
            p["spec"]["volumeName"] = "pvc-" + md["uid"]
            p["status"] = {"phase": "Bound", "accessModes": spec.get("accessModes") or [],
                           "capacity": ((spec.get("resources") or {}).get("requests") or {})}
            st.put("persistentvolumeclaims", p)
            return True
        if not want or md.get("uid") in st.claims_told:
            if (pvc.get("status") or {}).get("phase") != "Pending":
                p = copy.deepcopy(pvc)
                p["status"] = {"phase": "Pending"}
                st.put("persistentvolumeclaims", p)
                return True
            return False
        st.claims_told.add(md["uid"])
        self.event(pvc, "PersistentVolumeClaim", "Warning", "ProvisioningFailed",
                   'storageclass.storage.k8s.io "%s" not found' % want, "persistentvolume-controller")
        if (pvc.get("status") or {}).get("phase") != "Pending":
            p = copy.deepcopy(pvc)
            p["status"] = {"phase": "Pending"}
            st.put("persistentvolumeclaims", p)
        return True

    @staticmethod
    def slice_port(pod, sp):
        """The container port of pod that Service port sp reaches: a
        numeric targetPort as it is, a named one looked up among the pod's
        container ports of the same protocol (None when the pod has no
        port of that name: the pod is left out for that port, as
        kube-controller-manager's FindPort does)."""
        tp = sp.get("targetPort", sp.get("port"))
        if isinstance(tp, int):
            return tp
        for c in (pod.get("spec") or {}).get("containers") or []:
            for cp in c.get("ports") or []:
                if cp.get("name") == tp and cp.get("protocol", "TCP") == sp.get("protocol", "TCP"):
                    return cp.get("containerPort")
        return None

    def sync_endpointslices(self):
        """--endpointslices: kube-controller-manager's EndpointSlice
        controller.  For each Service with a selector (not ExternalName),
        one slice labelled kubernetes.io/service-name and managed-by
        endpointslice-controller.k8s.io, owned by the Service, listing each
        pod the selector matches that has an IP, is not being deleted and
        has not finished: its address, the ready/serving/terminating
        conditions (ready = the pod's Ready condition), nodeName and
        targetRef; its ports are the Service's with each targetPort
        resolved on the pods.  A Service matching no pod keeps a slice
        with no endpoints (the controller's placeholder); the slices of a
        Service that is gone or lost its selector are deleted."""
        st = self.st
        changed = False
        mine = {}
        for k, o in list(st.objects.items()):
            labels = o["metadata"].get("labels") or {}
            if k[0] == "endpointslices" and labels.get("endpointslice.kubernetes.io/managed-by") == \
                    "endpointslice-controller.k8s.io":
                mine.setdefault((k[1], labels.get("kubernetes.io/service-name")), []).append(o)
        wanted = set()
        for k, svc in sorted((k, o) for k, o in st.objects.items() if k[0] == "services"):
            spec = svc.get("spec") or {}
            sel = spec.get("selector") or {}
            if not sel or spec.get("type") == "ExternalName":
                continue
            ns, name = k[1], k[2]
            wanted.add((ns, name))
            endpoints, ports = [], None
            for pk, pod in sorted((pk, p) for pk, p in st.objects.items()
                                  if pk[0] == "pods" and pk[1] == ns):
                labels = pod["metadata"].get("labels") or {}
                pst = pod.get("status") or {}
                if any(labels.get(lk) != lv for lk, lv in sel.items()) or \
                        pod["metadata"].get("deletionTimestamp") or not pst.get("podIP") or \
                        pst.get("phase") in ("Succeeded", "Failed"):
                    continue
                resolved = [self.slice_port(pod, sp) for sp in spec.get("ports") or []]
                if any(r is None for r in resolved):
                    continue
                if ports is None:
                    ports = [{"name": sp.get("name", ""), "protocol": sp.get("protocol", "TCP"), "port": r}
                             for sp, r in zip(spec.get("ports") or [], resolved)]
                ready = self.pod_ready(pod)
                endpoints.append({"addresses": [pst["podIP"]],
                                  "conditions": {"ready": ready, "serving": ready, "terminating": False},
                                  "nodeName": (pod.get("spec") or {}).get("nodeName"),
                                  "targetRef": {"kind": "Pod", "namespace": ns, "name": pk[2],
                                                "uid": pod["metadata"]["uid"]}})
            have = mine.get((ns, name)) or []
            if have:
                es = copy.deepcopy(have[0])
            else:
                es = {"kind": "EndpointSlice", "apiVersion": "discovery.k8s.io/v1",
                      "metadata": self.new_meta("%s-%s" % (name, rand_suffix(5)), ns,
                                                {"kubernetes.io/service-name": name,
                                                 "endpointslice.kubernetes.io/managed-by":
                                                     "endpointslice-controller.k8s.io"}),
                      "addressType": "IPv4"}
                es["metadata"]["ownerReferences"] = [owner_ref(svc, "Service", "v1")]
            es["endpoints"] = endpoints
            es["ports"] = ports or []
            if not have or es != have[0]:
                st.put("endpointslices", es)
                changed = True
        for (ns, name), slices in mine.items():
            if (ns, name) not in wanted:
                for o in slices:
                    st.remove("endpointslices", ns, o["metadata"]["name"])
                    changed = True
        return changed

    def gc(self):
        st = self.st
        uids = {o["metadata"].get("uid") for o in st.objects.values()}
        doomed = [k for k, o in st.objects.items()
                  if k[0] in ("replicasets", "pods", "controllerrevisions") and controller_uid(o) and controller_uid(o) not in uids]
        for k in doomed:
            st.remove(*k)
        return bool(doomed)

    def owned(self, res, owner):
        uid = owner["metadata"]["uid"]
        ns = owner["metadata"]["namespace"]
        return [o for k, o in sorted(self.st.objects.items())
                if k[0] == res and k[1] == ns and controller_uid(o) == uid]

    def sync_deployment(self, d):
        st = self.st
        md, spec = d["metadata"], d["spec"]
        ns, dname = md["namespace"], md["name"]
        changed = False
        tmpl = spec["template"]
        h = template_hash(tmpl)
        rss = self.owned("replicasets", d)

        def rev(rs):
            try:
                return int(rs["metadata"].get("annotations", {}).get(REV_ANN, "0"))
            except ValueError:
                return 0
        max_rev = max([rev(rs) for rs in rss] or [0])
        new = None
        for rs in rss:
            if (rs["metadata"].get("labels") or {}).get("pod-template-hash") == h:
                new = rs
        want = spec.get("replicas", 1)
        if new is None:
            labels = dict((tmpl.get("metadata") or {}).get("labels") or {})
            labels["pod-template-hash"] = h
            rst = copy.deepcopy(tmpl)
            rst.setdefault("metadata", {})["labels"] = dict(labels)
            sel = copy.deepcopy(spec.get("selector") or {"matchLabels": {}})
            sel.setdefault("matchLabels", {})["pod-template-hash"] = h
            rsmd = self.new_meta("%s-%s" % (dname, h), ns, labels)
            rsmd["annotations"] = {REV_ANN: str(max_rev + 1),
                                   "deployment.kubernetes.io/desired-replicas": str(want),
                                   "deployment.kubernetes.io/max-replicas": str(want + max(1, (want + 3) // 4))}
            rsmd["ownerReferences"] = [owner_ref(d, "Deployment", "apps/v1")]
            rsmd["generation"] = 1
            new = st.put("replicasets", {"kind": "ReplicaSet", "apiVersion": "apps/v1", "metadata": rsmd,
                                         "spec": {"replicas": want, "selector": sel, "template": rst},
                                         "status": {"replicas": 0}})
            self.event(d, "Deployment", "Normal", "ScalingReplicaSet",
                       "Scaled up replica set %s to %d" % (new["metadata"]["name"], want),
                       "deployment-controller")
            changed = True
        elif rev(new) != max_rev or new["spec"].get("replicas") != want:
            rs = copy.deepcopy(new)
            if rev(new) != max_rev:
                rs["metadata"].setdefault("annotations", {})[REV_ANN] = str(max_rev + 1)
            if rs["spec"].get("replicas") != want:
                self.event(d, "Deployment", "Normal", "ScalingReplicaSet",
                           "Scaled %s replica set %s to %d" % ("up" if want > rs["spec"].get("replicas", 0) else "down",
                                                               rs["metadata"]["name"], want),
                           "deployment-controller")
                rs["spec"]["replicas"] = want
                rs["metadata"]["generation"] = rs["metadata"].get("generation", 1) + 1
            new = st.put("replicasets", rs)
            changed = True
        new_name = new["metadata"]["name"]
        nst = new.get("status") or {}
        complete = (nst.get("availableReplicas", 0) == want and nst.get("replicas", 0) == want
                    and new["spec"].get("replicas") == want)
        if complete:
            for rs in self.owned("replicasets", d):
                if rs["metadata"]["name"] != new_name and rs["spec"].get("replicas", 0) != 0:
                    rs = copy.deepcopy(rs)
                    rs["spec"]["replicas"] = 0
                    rs["metadata"]["generation"] = rs["metadata"].get("generation", 1) + 1
                    st.put("replicasets", rs)
                    self.event(d, "Deployment", "Normal", "ScalingReplicaSet",
                               "Scaled down replica set %s to 0" % rs["metadata"]["name"],
                               "deployment-controller")
                    changed = True
        # the Deployment itself: revision annotation and status
        d2 = copy.deepcopy(st.get("deployments", ns, dname))
        new = st.get("replicasets", ns, new_name)
        d2["metadata"].setdefault("annotations", {})[REV_ANN] = new["metadata"]["annotations"][REV_ANN]
        if (("deployments", ns, dname)) not in st.manual_status:
            d2["status"] = self.deployment_status(d2, new, self.owned("replicasets", d2), complete)
        if d2 != st.get("deployments", ns, dname):
            st.put("deployments", d2)
            changed = True
        return changed

    def deployment_status(self, d, new, rss, complete):
        spec = d["spec"]
        ns, dname = d["metadata"]["namespace"], d["metadata"]["name"]
        want = spec.get("replicas", 1)
        old = d.get("status") or {}
        total = sum(rs["spec"].get("replicas", 0) for rs in rss)
        s = {"observedGeneration": d["metadata"].get("generation", 1),
             "replicas": sum((rs.get("status") or {}).get("replicas", 0) for rs in rss),
             "updatedReplicas": (new.get("status") or {}).get("replicas", 0),
             "readyReplicas": sum((rs.get("status") or {}).get("readyReplicas", 0) for rs in rss),
             "availableReplicas": sum((rs.get("status") or {}).get("availableReplicas", 0) for rs in rss)}
        s["unavailableReplicas"] = max(total - s["availableReplicas"], 0)
        strip_zero(s, ["replicas", "updatedReplicas", "readyReplicas", "availableReplicas", "unavailableReplicas"])
        max_unavail = want // 4
        ru = (spec.get("strategy") or {}).get("rollingUpdate") or {}
        mu = ru.get("maxUnavailable", "25%")
        if isinstance(mu, int):
            max_unavail = mu
        elif isinstance(mu, str) and mu.endswith("%") and mu[:-1].isdigit():
            max_unavail = want * int(mu[:-1]) // 100
        if s.get("availableReplicas", 0) >= want - max_unavail:
            avail = ("True", "MinimumReplicasAvailable", "Deployment has minimum availability.")
        else:
            avail = ("False", "MinimumReplicasUnavailable", "Deployment does not have minimum availability.")
        rsname = new["metadata"]["name"]
        key = (ns, dname)
        since = self.st.progress_since.get(key)
        if since is None or since[0] != rsname:
            since = (rsname, time.monotonic())
            self.st.progress_since[key] = since
        deadline = spec.get("progressDeadlineSeconds", 600)
        if complete:
            prog = ("True", "NewReplicaSetAvailable", 'ReplicaSet "%s" has successfully progressed.' % rsname)
        elif isinstance(deadline, int) and time.monotonic() - since[1] > deadline:
            prog = ("False", "ProgressDeadlineExceeded", 'ReplicaSet "%s" has timed out progressing.' % rsname)
        else:
            if isinstance(deadline, int):
                self.due_at(since[1] + deadline + 0.01)
            prog = ("True", "ReplicaSetUpdated", 'ReplicaSet "%s" is progressing.' % rsname)
        olds = {c.get("type"): c for c in old.get("conditions") or []}
        conds = []
        for ctype, (cs, reason, msg) in (("Available", avail), ("Progressing", prog)):
            o = olds.get(ctype) or {}
            ts = now_ts()
            same = o.get("status") == cs and o.get("reason") == reason and o.get("message") == msg
            conds.append({"type": ctype, "status": cs,
                          "lastUpdateTime": o.get("lastUpdateTime", ts) if same else ts,
                          "lastTransitionTime": o.get("lastTransitionTime", ts) if o.get("status") == cs else ts,
                          "reason": reason, "message": msg})
        s["conditions"] = conds
        return s

    def sync_replicaset(self, rs):
        st = self.st
        md = rs["metadata"]
        ns = md["namespace"]
        changed = False
        pods = self.owned("pods", rs)
        want = rs["spec"].get("replicas", 1)
        tmpl = rs["spec"].get("template") or {}
        while len(pods) < want:
            name = "%s-%s" % (md["name"], rand_suffix())
            if st.get("pods", ns, name):
                continue
            pmd = self.new_meta(name, ns, (tmpl.get("metadata") or {}).get("labels"))
            pmd["ownerReferences"] = [owner_ref(rs, "ReplicaSet", "apps/v1")]
            pspec = copy.deepcopy(tmpl.get("spec") or {})
            default_pod_admission(pspec)
            if not st.args.schedule:
                pspec["nodeName"] = "node-a"    # no scheduler: bound at once
            pod = st.put("pods", {"kind": "Pod", "apiVersion": "v1", "metadata": pmd, "spec": pspec,
                                  "status": {"phase": "Pending", "qosClass": "BestEffort"}})
            pods.append(pod)
            changed = True
        if len(pods) > want:
            pods.sort(key=lambda p: (p.get("status", {}).get("phase") == "Running", p["metadata"]["creationTimestamp"]))
            for p in pods[:len(pods) - want]:
                st.remove("pods", ns, p["metadata"]["name"])
            pods = pods[len(pods) - want:]
            changed = True
        if ("replicasets", ns, md["name"]) not in st.manual_status:
            ready = sum(1 for p in pods if self.pod_ready(p))
            s = {"replicas": len(pods), "fullyLabeledReplicas": len(pods), "readyReplicas": ready,
                 "availableReplicas": ready, "observedGeneration": md.get("generation", 1)}
            strip_zero(s, ["fullyLabeledReplicas", "readyReplicas", "availableReplicas"])
            cur = st.get("replicasets", ns, md["name"])
            if cur.get("status") != s:
                rs2 = copy.deepcopy(cur)
                rs2["status"] = s
                st.put("replicasets", rs2)
                changed = True
        return changed

    @staticmethod
    def pod_ready(p):
        for c in (p.get("status") or {}).get("conditions") or []:
            if c.get("type") == "Ready":
                return c.get("status") == "True"
        return False

    @staticmethod
    def probe_failure(c, field, ip, img):
        """The kubelet's message when c's probe `field` (readinessProbe,
        livenessProbe) fails, else None.  Modelled simply: a container
        serves exactly the ports it declares (containerPort), so an httpGet
        or tcpSocket probe on another number, or on a name no port of c
        carries, is refused; on a declared port a tcpSocket probe succeeds,
        and an httpGet probe succeeds unless the image is one whose HTTP
        paths IMAGE_HTTP_PATHS lists and the path is not one of them: then
        the server answers 404, as the kubelet reports it."""
        probe = c.get(field) or {}
        what = "Readiness" if field == "readinessProbe" else "Liveness"
        for kind in ("httpGet", "tcpSocket"):
            h = probe.get(kind)
            if not isinstance(h, dict) or "port" not in h:
                continue
            ports = c.get("ports") or []
            port = h["port"]
            if isinstance(port, str):
                declared = any(p.get("name") == port for p in ports)
            else:
                declared = any(p.get("containerPort") == port for p in ports)
            if not declared:
                if kind == "httpGet":
                    return ('%s probe failed: Get "http://%s:%s%s": dial tcp %s:%s: '
                            'connect: connection refused' % (what, ip, port, h.get("path", "/"), ip, port))
                return "%s probe failed: dial tcp %s:%s: connect: connection refused" % (what, ip, port)
            paths = IMAGE_HTTP_PATHS.get(split_image(img)[1].rsplit("/", 1)[-1].split(":")[0].split("@")[0])
            if kind == "httpGet" and paths is not None and h.get("path", "/") not in paths:
                return "%s probe failed: HTTP probe failed with statuscode: 404" % what
            return None
        return None

    @staticmethod
    def cpu_milli(q):
        if isinstance(q, (int, float)):
            return int(q * 1000)
        q = str(q)
        return int(float(q[:-1])) if q.endswith("m") else int(float(q) * 1000)

    @staticmethod
    def mem_bytes(q):
        if isinstance(q, (int, float)):
            return int(q)
        q = str(q)
        for suf, mul in (("Ki", 1 << 10), ("Mi", 1 << 20), ("Gi", 1 << 30), ("Ti", 1 << 40),
                         ("k", 10 ** 3), ("M", 10 ** 6), ("G", 10 ** 9), ("T", 10 ** 12)):
            if q.endswith(suf):
                return int(float(q[:-len(suf)]) * mul)
        return int(float(q))

    def pod_requests(self, spec):
        """cpu (millicores) and memory (bytes) a pod requests: the sum over
        its containers of requests, else limits (the API server's default)."""
        cpu = mem = 0
        for c in spec.get("containers") or []:
            res = c.get("resources") or {}
            req = dict(res.get("limits") or {})
            req.update(res.get("requests") or {})
            if "cpu" in req:
                cpu += self.cpu_milli(req["cpu"])
            if "memory" in req:
                mem += self.mem_bytes(req["memory"])
        return cpu, mem

    @staticmethod
    def affinity_ok(labels, spec):
        """Required node affinity: some term whose every matchExpression
        holds (In, NotIn, Exists, DoesNotExist, as the scheduler reads them)."""
        req = ((((spec.get("affinity") or {}).get("nodeAffinity") or {})
                .get("requiredDuringSchedulingIgnoredDuringExecution") or {}).get("nodeSelectorTerms"))
        if not req:
            return True
        for term in req:
            ok = True
            for e in term.get("matchExpressions") or []:
                k, op, vals = e.get("key"), e.get("operator"), e.get("values") or []
                if op == "In":
                    ok = labels.get(k) in vals
                elif op == "NotIn":
                    ok = labels.get(k) not in vals
                elif op == "Exists":
                    ok = k in labels
                elif op == "DoesNotExist":
                    ok = k not in labels
                else:
                    ok = False
                if not ok:
                    break
            if ok:
                return True
        return False

    @staticmethod
    def tolerated(taint, tolerations):
        for t in tolerations:
            if t.get("effect") and t.get("effect") != taint.get("effect"):
                continue
            if t.get("operator") == "Exists" and (not t.get("key") or t.get("key") == taint.get("key")):
                return True
            if t.get("key") == taint.get("key") and t.get("value", "") == taint.get("value", ""):
                return True
        return False

    @staticmethod
    def find_exec(files, name):
        """Where the image's runtime finds name: the path itself when it
        has a '/', else the first PATH directory holding it; None."""
        if "/" in name:
            return name if name in files else None
        for d in PATH_DIRS:
            if d + "/" + name in files:
                return d + "/" + name
        return None

    def start_failure(self, c, img):
        """Why container c of image img cannot start its command, as the
        runtime and the shell report it: (reason, exit code, message,
        log line), or None.  Only for the images whose files IMAGE_FILES
        lists, and only when the pod overrides command or args: runc's exec
        of a program the image does not have fails before the process runs
        (StartError, exit code 128); "sh -c" of a script whose first word
        the image does not have exits 127."""
        files = IMAGE_FILES.get(split_image(img)[1].rsplit("/", 1)[-1].split(":")[0].split("@")[0])
        cmd = c.get("command") or []
        if files is None or not cmd:
            return None
        prog = cmd[0]
        if self.find_exec(files, prog) is None:
            if "/" in prog:
                why = 'exec: "%s": stat %s: no such file or directory' % (prog, prog)
            else:
                why = 'exec: "%s": executable file not found in $PATH' % prog
            return ("StartError", 128,
                    "failed to create containerd task: failed to create shim task: OCI runtime create "
                    "failed: runc create failed: unable to start container process: %s: unknown" % why, None)
        argv = cmd[1:] + (c.get("args") or [])
        if prog in SHELLS and len(argv) >= 2 and argv[0] == "-c":
            word = (argv[1].split() or [""])[0]
            if word and self.find_exec(files, word) is None and word not in ("exec", "echo", "cd", "set", "export"):
                return ("Error", 127, None, "sh: 1: %s: not found" % word)
        return None

    def exit_code(self, c, img):
        """The exit code of a container that runs to completion: the
        start failure's (start_failure), the N of a shell script ending in
        "exit N", else 0."""
        fail = self.start_failure(c, img)
        if fail:
            return fail[0], fail[1], fail[2]
        argv = (c.get("command") or []) + (c.get("args") or [])
        if argv and argv[0] in SHELLS and len(argv) >= 3 and argv[1] == "-c":
            last = argv[2].replace(";", "\n").strip().splitlines()[-1].split() if argv[2].strip() else []
            if len(last) == 2 and last[0] == "exit" and last[1].isdigit():
                code = int(last[1]) % 256
                return ("Error" if code else "Completed"), code, None
        return "Completed", 0, None

    def run_once(self, pod):
        """The kubelet's part for a pod with restartPolicy Never whose
        images are there (a Job's): its containers run once and end with
        exit_code(); the pod is Succeeded when every one exited 0, else
        Failed.  A finished pod is never changed again."""
        st = self.st
        md, spec = pod["metadata"], pod.get("spec") or {}
        old = pod.get("status") or {}
        if old.get("phase") in ("Succeeded", "Failed"):
            return False
        if any(c.get("image", "") not in st.registry for c in spec.get("containers") or []):
            return False
        ts = now_ts()
        seed = hashlib.sha256(md["uid"].encode()).hexdigest()
        statuses, bad = [], 0
        for c in spec.get("containers") or []:
            reason, code, msg = self.exit_code(c, c.get("image", ""))
            term = {"reason": reason, "exitCode": code, "startedAt": ts, "finishedAt": ts,
                    "containerID": "containerd://" + hashlib.sha256((seed + c.get("name", "")).encode()).hexdigest()}
            if msg:
                term["message"] = msg
            bad += code != 0
            statuses.append({"name": c.get("name", ""), "state": {"terminated": term}, "lastState": {},
                             "ready": False, "restartCount": 0, "image": image_ref(c.get("image", "")),
                             "imageID": "%s@sha256:%s" % (image_ref(c.get("image", "")).rsplit(":", 1)[0],
                                                          hashlib.sha256(c.get("image", "").encode()).hexdigest()),
                             "started": False})
        phase = "Failed" if bad else "Succeeded"
        why = "PodFailed" if bad else "PodCompleted"
        ipn = int(seed[:4], 16) % 250 + 2
        p2 = copy.deepcopy(pod)
        p2["status"] = {"phase": phase, "startTime": old.get("startTime", ts), "hostIP": "10.0.0.1",
                        "podIP": "10.244.0.%d" % ipn, "podIPs": [{"ip": "10.244.0.%d" % ipn}],
                        "qosClass": "BestEffort", "containerStatuses": statuses,
                        "conditions": [{"type": "Initialized", "status": "True", "reason": why},
                                       {"type": "Ready", "status": "False", "reason": why},
                                       {"type": "ContainersReady", "status": "False", "reason": why},
                                       {"type": "PodScheduled", "status": "True"}]}
        st.put("pods", p2)
        return True

    def schedule(self, pod):
        """--schedule: kube-scheduler's part.  A pod created without
        spec.nodeName is bound to the first Node (by name) that takes it:
        not cordoned, its taints (NoSchedule, NoExecute) tolerated, its
        labels meeting the pod's nodeSelector and required node affinity,
        and its allocatable cpu and memory covering the requests of the
        pods bound to it plus this one.  Without any Node object every pod
        goes to node-a.  A pod no Node takes gets PodScheduled=False,
        reason Unschedulable, with the scheduler's message ("0/2 nodes are
        available: 1 Insufficient cpu, 1 node(s) didn't match Pod's node
        affinity/selector. preemption: ...") and a FailedScheduling Event.
        Off by default: the controllers then bind pods to node-a at once."""
        spec = pod.get("spec") or {}
        if not self.st.args.schedule or spec.get("nodeName"):
            return False
        md = pod["metadata"]
        if ("pods", md["namespace"], md["name"]) in self.st.manual_status or md.get("deletionTimestamp"):
            return False
        nodes = sorted((k[2], o) for k, o in self.st.objects.items() if k[0] == "nodes")
        why = {}
        chosen = None if nodes else "node-a"
        cpu, mem = self.pod_requests(spec)
        for name, n in nodes:
            labels = n["metadata"].get("labels") or {}
            alloc = (n.get("status") or {}).get("allocatable") or {}
            taints = [t for t in (n.get("spec") or {}).get("taints") or []
                      if t.get("effect") in ("NoSchedule", "NoExecute")
                      and not self.tolerated(t, spec.get("tolerations") or [])]
            reasons = []
            if (n.get("spec") or {}).get("unschedulable"):
                reasons.append("node(s) were unschedulable")
            elif taints:
                reasons.append("node(s) had untolerated taint {%s: %s}" % (taints[0].get("key"),
                                                                          taints[0].get("value", "")))
            elif any(labels.get(k) != v for k, v in (spec.get("nodeSelector") or {}).items()) or \
                    not self.affinity_ok(labels, spec):
                reasons.append("node(s) didn't match Pod's node affinity/selector")
            else:
                used_cpu = used_mem = 0
                for k, o in self.st.objects.items():
                    if k[0] == "pods" and (o.get("spec") or {}).get("nodeName") == name and \
                            (o.get("status") or {}).get("phase") not in ("Succeeded", "Failed"):
                        c, m = self.pod_requests(o.get("spec") or {})
                        used_cpu, used_mem = used_cpu + c, used_mem + m
                if "cpu" in alloc and used_cpu + cpu > self.cpu_milli(alloc["cpu"]):
                    reasons.append("Insufficient cpu")
                if "memory" in alloc and used_mem + mem > self.mem_bytes(alloc["memory"]):
                    reasons.append("Insufficient memory")
            if not reasons:
                chosen = name
                break
            for r in reasons:
                why[r] = why.get(r, 0) + 1
        p = copy.deepcopy(pod)
        if chosen is not None:
            p.setdefault("spec", {})["nodeName"] = chosen
            st = p.get("status") or {}
            st["conditions"] = [c for c in st.get("conditions") or [] if c.get("type") != "PodScheduled"]
            p["status"] = st
            self.st.put("pods", p)
            return True
        msg = "0/%d nodes are available: %s. preemption: 0/%d nodes are available: %d Preemption is " \
              "not helpful for scheduling." % (len(nodes), ", ".join(
                  "%d %s" % (c, r) for r, c in sorted(why.items())), len(nodes), len(nodes))
        old = pod.get("status") or {}
        oc = [c for c in old.get("conditions") or [] if c.get("type") == "PodScheduled"]
        if oc and oc[0].get("status") == "False" and oc[0].get("message") == msg:
            return False
        p["status"] = {"phase": "Pending", "qosClass": old.get("qosClass", "BestEffort"),
                       "conditions": [{"type": "PodScheduled", "status": "False", "reason": "Unschedulable",
                                       "message": msg, "lastProbeTime": None,
                                       "lastTransitionTime": now_ts()}]}
        p2 = self.st.put("pods", p)
        self.event(p2, "Pod", "Warning", "FailedScheduling", msg, "default-scheduler")
        return True

    def node_arch(self, node):
        """The architecture the Node object reports (amd64 without one)."""
        n = self.st.get("nodes", "", node) or {}
        return ((n.get("status") or {}).get("nodeInfo") or {}).get("architecture") or "amd64"

    def kubelet(self, pod):
        """Drive a scheduled pod's status from its images and the registry,
        and its readiness from its readiness and liveness probes
        (probe_failure)."""
        st = self.st
        md, spec = pod["metadata"], pod.get("spec") or {}
        ns, name = md["namespace"], md["name"]
        if not spec.get("nodeName") or ("pods", ns, name) in st.manual_status:
            return False
        old = pod.get("status") or {}
        if spec.get("restartPolicy") == "Never":
            return self.run_once(pod)
        olds = {c.get("name"): c for c in old.get("containerStatuses") or []}
        ts = now_ts()
        statuses, not_ready, events = [], [], []
        seed = hashlib.sha256(md["uid"].encode()).hexdigest()
        probe_ip = "10.244.0.%d" % (int(seed[:4], 16) % 250 + 2)
        unready = 0
        for c in spec.get("containers") or []:
            cname, img = c.get("name", ""), c.get("image", "")
            o = olds.get(cname) or {}
            running = o.get("state", {}).get("running") if o.get("image") == image_ref(img) else None
            fkey = (ns, name, cname)
            pulled, digest, pull_msg = bool(running) or img in st.registry, None, ""
            if not running and st.reg_kubelet is not None and split_image(img)[0] == "docker.io":
                pulled, digest, pull_msg = st.reg_kubelet.pull(img, self.node_arch(spec["nodeName"]))
                if not pulled:
                    self.due_at(time.monotonic() + st.reg_kubelet.ttl)
            fail = self.start_failure(c, img) if pulled else None
            if fail:
                st.pull_fail_since.pop(fkey, None)
                reason, code, fmsg, _ = fail
                term = {"reason": reason, "exitCode": code, "startedAt": ts, "finishedAt": ts,
                        "containerID": "containerd://" + hashlib.sha256((seed + cname).encode()).hexdigest()}
                if fmsg:
                    term["message"] = fmsg
                oterm = (o.get("lastState") or {}).get("terminated") or {}
                if oterm.get("reason") == reason and oterm.get("exitCode") == code:
                    term = oterm
                else:
                    fp = "spec.containers{%s}" % cname
                    events.append(("Failed", "Error: " + (fmsg or "container exited with code %d" % code), fp))
                    events.append(("BackOff", "Back-off restarting failed container %s in pod %s_%s(%s)"
                                   % (cname, name, ns, md["uid"]), fp))
                not_ready.append(cname)
                unready += 1
                statuses.append({"name": cname, "state": {"waiting": {
                    "reason": "CrashLoopBackOff",
                    "message": "back-off 10s restarting failed container=%s pod=%s_%s(%s)"
                               % (cname, name, ns, md["uid"])}},
                    "lastState": {"terminated": term}, "ready": False,
                    "restartCount": max(o.get("restartCount", 0), 1), "image": image_ref(img),
                    "imageID": "%s@sha256:%s" % (image_ref(img).rsplit(":", 1)[0],
                                                 hashlib.sha256(img.encode()).hexdigest()),
                    "containerID": term["containerID"], "started": False})
                continue
            if pulled:
                st.pull_fail_since.pop(fkey, None)
                cid = hashlib.sha256((seed + cname + img).encode()).hexdigest()
                refused = self.probe_failure(c, "readinessProbe", probe_ip, img)
                killed = self.probe_failure(c, "livenessProbe", probe_ip, img)
                restarts = o.get("restartCount", 0)
                # when it turns: the kubelet says so once, and a failing
                # liveness probe gets the container killed and started
                # again (one restart, not one per pass)
                if (refused or killed) and (o.get("ready", True) or not running):
                    fp = "spec.containers{%s}" % cname
                    if refused:
                        events.append(("Unhealthy", refused, fp))
                    if killed:
                        events.append(("Unhealthy", killed, fp))
                        events.append(("Killing", "Container %s failed liveness probe, will be "
                                       "restarted" % cname, fp))
                        restarts += 1 if running else 0
                refused = refused or killed
                if refused:
                    not_ready.append(cname)
                    unready += 1
                statuses.append({"name": cname, "state": {"running": {"startedAt": (running or {}).get("startedAt", ts)}},
                                 "lastState": {}, "ready": not refused, "restartCount": restarts,
                                 "image": image_ref(img),
                                 "imageID": o.get("imageID") if running and o.get("imageID") else
                                 "%s@%s" % (image_ref(img).rsplit(":", 1)[0],
                                            digest or "sha256:" + hashlib.sha256(img.encode()).hexdigest()),
                                 "containerID": "containerd://" + cid, "started": True})
                continue
            not_ready.append(cname)
            first = fkey not in st.pull_fail_since
            if first:
                st.pull_fail_since[fkey] = time.monotonic()
            waited = time.monotonic() - st.pull_fail_since[fkey]
            base = image_ref(img)
            why = pull_msg or ('rpc error: code = NotFound desc = failed to pull and unpack image '
                               '"%s": not found' % base)
            if waited >= self.st.args.pull_backoff:
                waiting = {"reason": "ImagePullBackOff", "message": 'Back-off pulling image "%s"' % img}
            else:
                self.due_at(st.pull_fail_since[fkey] + self.st.args.pull_backoff)
                waiting = {"reason": "ErrImagePull", "message": why}
            prev_reason = ((o.get("state") or {}).get("waiting") or {}).get("reason")
            fp = "spec.containers{%s}" % cname
            if waiting["reason"] != prev_reason:
                if waiting["reason"] == "ErrImagePull":
                    events.append(("Failed", 'Failed to pull image "%s": %s' % (img, waiting["message"]), fp))
                    events.append(("Failed", "Error: ErrImagePull", fp))
                elif prev_reason is None:
                    events.append(("Failed", 'Failed to pull image "%s": %s' % (img, why), fp))
                    events.append(("BackOff", waiting["message"], fp))
                    events.append(("Failed", "Error: ImagePullBackOff", fp))
                else:
                    events.append(("BackOff", waiting["message"], fp))
                    events.append(("Failed", "Error: ImagePullBackOff", fp))
            statuses.append({"name": cname, "state": {"waiting": waiting}, "lastState": {}, "ready": False,
                             "restartCount": 0, "image": img, "imageID": "", "started": False})
        ready = not not_ready
        oconds = {c.get("type"): c for c in old.get("conditions") or []}

        def cond(ctype, ok, reason=None, msg=None):
            c = {"type": ctype, "status": "True" if ok else "False", "lastProbeTime": None}
            o = oconds.get(ctype) or {}
            c["lastTransitionTime"] = o.get("lastTransitionTime", ts) if o.get("status") == c["status"] else ts
            if not ok:
                c["reason"], c["message"] = reason, msg
            return c
        msg = "containers with unready status: [%s]" % " ".join(not_ready)
        ipn = int(seed[:4], 16) % 250 + 2
        s = {"phase": "Running" if len(not_ready) == unready else "Pending",
             "conditions": [cond("Initialized", True), cond("Ready", ready, "ContainersNotReady", msg),
                            cond("ContainersReady", ready, "ContainersNotReady", msg), cond("PodScheduled", True)],
             "hostIP": "10.0.0.1", "podIP": "10.244.0.%d" % ipn, "podIPs": [{"ip": "10.244.0.%d" % ipn}],
             "startTime": old.get("startTime", ts), "containerStatuses": statuses, "qosClass": "BestEffort"}
        if s == old:
            return False
        p2 = copy.deepcopy(pod)
        p2["status"] = s
        p2 = st.put("pods", p2)
        for reason, message, fp in events:
            self.event(p2, "Pod", "Warning", reason, message, "kubelet", fp)
        return True


# ---------------------------------------------------------------- HTTP

def parse_api_path(path):
    """-> (res, ns, name, sub) or None.  ns is None for an all-namespace list."""
    r = parse_api_path_version(path)
    return r[:4] if r else None


def parse_api_path_version(path):
    """-> (res, ns, name, sub, version) or None: None also for a version
    the resource is not served at (as a real server, 404)."""
    segs = [s for s in path.split("/") if s]
    if len(segs) >= 2 and segs[0] == "api" and segs[1] == "v1":
        group, version, rest = "", "v1", segs[2:]
    elif len(segs) >= 3 and segs[0] == "apis":
        group, version, rest = segs[1], segs[2], segs[3:]
    else:
        return None
    ns = None
    if len(rest) >= 3 and rest[0] == "namespaces":
        ns, rest = rest[1], rest[2:]
    if not rest or rest[0] not in RESOURCES or RESOURCES[rest[0]][0] != group:
        return None
    res = rest[0]
    name = rest[1] if len(rest) > 1 else None
    sub = rest[2] if len(rest) > 2 else None
    if len(rest) > 3 or (sub and sub not in SUBRESOURCES.get(res, ())):
        return None
    if ns is not None and not RESOURCES[res][3]:
        return None
    if ns is None and RESOURCES[res][3] and name is not None:
        return None
    if version not in served_versions(res):
        return None
    return res, ns, name, sub, version


def served_groups():
    """group -> its served versions, preferred first (core "" included)."""
    out = {}
    for res, (g, _, _, _) in RESOURCES.items():
        for v in served_versions(res):
            out.setdefault(g, set()).add(v)
    out.setdefault("authorization.k8s.io", set()).add("v1")
    return {g: sorted(vs, key=version_key) for g, vs in out.items()}


def discovery(path):
    segs = [s for s in path.split("/") if s]
    if segs == ["api"]:
        return {"kind": "APIVersions", "versions": ["v1"],
                "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": "127.0.0.1:6443"}]}
    groups = served_groups()
    if segs == ["apis"]:
        return {"kind": "APIGroupList", "apiVersion": "v1", "groups": [
            {"name": g, "versions": [{"groupVersion": g + "/" + v, "version": v} for v in groups[g]],
             "preferredVersion": {"groupVersion": g + "/" + groups[g][0], "version": groups[g][0]}}
            for g in sorted(groups) if g]}
    gv = None
    if segs == ["api", "v1"]:
        gv, group, version = "v1", "", "v1"
    elif len(segs) == 3 and segs[0] == "apis" and segs[2] in groups.get(segs[1], ()):
        gv, group, version = segs[1] + "/" + segs[2], segs[1], segs[2]
    if gv is None:
        return None
    out = []
    if gv == "authorization.k8s.io/v1":
        out.append({"name": "selfsubjectaccessreviews", "singularName": "", "namespaced": False,
                    "kind": "SelfSubjectAccessReview", "verbs": ["create"]})
    for res, (g, _, kind, nsd) in sorted(RESOURCES.items()):
        if g != group or version not in served_versions(res):
            continue
        out.append({"name": res, "singularName": "", "namespaced": nsd, "kind": kind,
                    "verbs": ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"]})
        for sub in SUBRESOURCES.get(res, ()):
            out.append({"name": res + "/" + sub, "singularName": "", "namespaced": nsd, "kind": kind,
                        "verbs": ["get"] if sub == "log" else ["get", "patch", "update"]})
    return {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": gv, "resources": out}


def forbidden(user, verb, res, ns, name, opts):
    """None when user may do verb on res (in ns, None: cluster-wide), else
    the message of the 403 a real RBAC-enforcing server gives.
    "restricted" may only read; "nsuser" (--ns-token) holds RoleBindings in
    the --ns-token-namespaces (all when empty) and no cluster-wide grant
    for namespaced resources."""
    where = 'in the namespace "%s"' % ns if ns else "at the cluster scope"
    deny = False
    if user == "restricted" and verb not in ("get", "list", "watch"):
        deny = True
    if user == "nsuser" and RESOURCES[res][3]:
        allowed = [n for n in (opts.ns_token_namespaces or "").split(",") if n]
        deny = ns is None or (allowed and ns not in allowed)
    if user == "tester" and ns is None and RESOURCES[res][3] and \
            res in (opts.forbid_cluster_list or "").split(","):
        deny = True
    if not deny:
        return None
    if user == "restricted":
        where = 'in the namespace "%s"' % (ns or "")
    return '%s "%s" is forbidden: User "%s" cannot %s resource "%s" in API group "%s" %s' % (
        qualified(res), name or "", user, verb, res, RESOURCES[res][0], where) if name else \
        '%s is forbidden: User "%s" cannot %s resource "%s" in API group "%s" %s' % (
        qualified(res), user, verb, res, RESOURCES[res][0], where)


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "fake-apiserver"
    sys_version = ""

    def log_message(self, format, *args):
        if self.server.opts.verbose:
            sys.stderr.write("fake-apiserver: %s\n" % (format % args))

    def do_GET(self):
        self.dispatch()

    def do_POST(self):
        self.dispatch()

    def do_PUT(self):
        self.dispatch()

    def do_PATCH(self):
        self.dispatch()

    def do_DELETE(self):
        self.dispatch()

    # -- helpers

    def read_body(self):
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            data = b""
            while True:
                line = self.rfile.readline(64)
                size = int(line.split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline(1024) not in (b"\r\n", b"\n", b""):
                        pass
                    return data
                if len(data) + size > MAX_BODY:
                    raise ApiError(413, "RequestEntityTooLarge", "request body too large")
                data += self.rfile.read(size)
                self.rfile.readline(8)
        n = int(self.headers.get("Content-Length") or 0)
        if n > MAX_BODY:
            raise ApiError(413, "RequestEntityTooLarge", "request body too large")
        return self.rfile.read(n) if n > 0 else b""

    def pretty(self):
        return (self.headers.get("User-Agent") or "").startswith("curl")

    def encode(self, obj):
        if self.pretty():
            return json.dumps(obj, indent=2).encode()
        return json.dumps(obj, separators=(",", ":")).encode()

    def send_json(self, code, obj, extra=None):
        body = self.encode(obj)
        self.send_response(code)
        self.send_header("Cache-Control", "no-cache, private")
        self.send_header("Content-Type", "application/json")
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def send_raw(self, code, ctype, body):
        self.send_response(code)
        self.send_header("Cache-Control", "no-cache, private")
        if body or code != 204:
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if body:
            self.wfile.write(body)

    def peer_user(self):
        try:
            cert = self.connection.getpeercert()
        except (ValueError, AttributeError):
            cert = None
        if not cert:
            return None
        for rdn in cert.get("subject", ()):
            for k, v in rdn:
                if k == "commonName":
                    return v
        return None

    def authenticate(self):
        auth = self.headers.get("Authorization") or ""
        opts = self.server.opts
        if auth.startswith("Bearer "):
            tok = auth[7:].strip()
            if tok == opts.token:
                return "tester"
            if opts.restricted_token and tok == opts.restricted_token:
                return "restricted"
            if opts.ns_token and tok == opts.ns_token:
                return "nsuser"
            if self.server.faults.token_ok(tok):
                return "tester"
            return None
        return self.peer_user()

    # -- dispatch

    def dispatch(self):
        st = self.server.state
        parsed = urllib.parse.urlsplit(self.path)
        path, query = parsed.path, parsed.query
        params = {k: v[-1] for k, v in urllib.parse.parse_qs(query, keep_blank_values=True).items()}
        entry = None
        try:
            body = self.read_body()
        except (ApiError, ValueError) as e:
            self.close_connection = True
            err = e if isinstance(e, ApiError) else bad_request("bad request body")
            self.send_json(err.code, err.body())
            return
        if path.startswith("/_test/"):
            try:
                self.test_endpoint(path, params, body)
            except ApiError as e:
                self.send_json(e.code, e.body())
            return
        ctypes = self.headers.get_all("Content-Type") or []
        entry = {"time": time.time(), "method": self.command, "path": path, "query": query,
                 "content_type": ", ".join(ctypes), "body": body.decode("utf-8", "replace"),
                 "dry_run": params.get("dryRun") == "All", "status": 0,
                 "user_agent": self.headers.get("User-Agent") or ""}
        try:
            user = self.authenticate()
            if user is None:
                raise unauthorized()
            self.inject(path, entry)
            self.api(user, path, params, body, ctypes, entry)
        except ApiError as e:
            entry["status"] = e.code
            with st.cond:
                st.log_request(entry)
            self.send_json(e.code, e.body(), getattr(e, "headers", None))

    def inject(self, path, entry):
        """Fail this request if a planned failure (POST /_test/inject) matches
        it: same method, path prefix and, when given, dry-run flag.  An
        injection with "delay" (seconds) and no "status" only holds the
        request that long, then serves it normally."""
        st = self.server.state
        delay = 0.0
        with st.cond:
            for inj in st.injections:
                if inj["count"] <= 0 or inj.get("method", entry["method"]) != entry["method"]:
                    continue
                if not path.startswith(inj.get("path", "")):
                    continue
                if inj.get("exact") and path != inj.get("path"):
                    continue
                if inj.get("dry_run") is not None and inj["dry_run"] != entry["dry_run"]:
                    continue
                inj["count"] -= 1
                if "delay" in inj and "status" not in inj:
                    delay = float(inj["delay"])
                    inj["delayed"] = inj.get("delayed", 0) + 1
                    break
                raise ApiError(int(inj.get("status", 500)), inj.get("reason", "InternalError"),
                               inj.get("message", "injected failure"), inj.get("details"))
        if delay > 0:
            time.sleep(delay)

    def respond(self, entry, code, obj):
        entry["status"] = code
        with self.server.state.cond:
            self.server.state.log_request(entry)
        self.send_json(code, obj)

    def test_endpoint(self, path, params, body):
        st = self.server.state
        ctl = self.server.controller
        if self.command == "GET" and path == "/_test/requests":
            since = int(params.get("since") or 0)
            with st.cond:
                reqs = [r for r in st.requests if r["seq"] > since]
                out = self.encode({"requests": reqs})
            self.send_raw(200, "application/json", out)
            return
        if self.command == "GET" and path.startswith("/_test/objects/"):
            p = parse_api_path(path[len("/_test/objects"):])
            if not p or not p[2] or p[3]:
                raise bad_request("not an object path: %s" % path)
            res, ns, name, _ = p
            with st.cond:
                obj = st.get(res, ns or "", name)
                if obj is None:
                    raise not_found(res, name)
                out = self.encode(obj)
            self.send_raw(200, "application/json", out)
            return
        if self.command == "GET" and path == "/_test/inject":
            # the planned failures and holds, with "delayed": how many
            # requests a hold has caught so far (held now or already served)
            with st.cond:
                injections = [dict(i) for i in st.injections]
            self.send_json(200, {"injections": injections})
            return
        if self.command == "GET" and path == "/_test/faults":
            self.send_json(200, self.server.faults.state())
            return
        if self.command != "POST":
            raise ApiError(405, "MethodNotAllowed", "%s %s is not supported" % (self.command, path))
        try:
            doc = json.loads(body) if body.strip() else {}
        except ValueError as e:
            raise bad_request("%s: body is not JSON: %s" % (path, e))
        if path == "/_test/objects":
            items = doc if isinstance(doc, list) else (doc.get("items") if doc.get("kind") == "List" else [doc])
            with st.cond:
                out = [self.apply_manifest(m) for m in items]
                ctl.run()
            self.send_json(200, out[0] if len(out) == 1 and not isinstance(doc, list) and doc.get("kind") != "List"
                           else {"kind": "List", "apiVersion": "v1", "items": out})
        elif path == "/_test/compact":
            with st.cond:
                st.compact()
                out = {"resourceVersion": str(st.rv)}
            self.send_json(200, out)
        elif path == "/_test/close-watches":
            with st.cond:
                st.watch_epoch += 1
                st.cond.notify_all()
            self.send_json(200, {"closed": True})
        elif path == "/_test/inject":
            # {"method","path" (prefix),"dry_run"?,"status","reason","message",
            #  "details"?,"count"}: the next `count` matching requests fail
            # with that metav1.Status.
            doc.setdefault("count", 1)
            with st.cond:
                st.injections.append(doc)
            self.send_json(200, {"injected": doc})
        elif path == "/_test/event-ttl":
            # {"seconds": N}: Events the controller records from now on, and
            # those already recorded, are deleted N seconds after they were
            # stored
            try:
                ttl = float(doc.get("seconds"))
            except (TypeError, ValueError):
                raise bad_request("event-ttl: seconds must be a number")
            if ttl <= 0:
                raise bad_request("event-ttl: seconds must be > 0")
            with st.cond:
                st.event_ttl = ttl
            self.send_json(200, {"seconds": ttl})
        elif path == "/_test/faults":
            # transport faults, see faults.py
            self.server.faults.configure(doc)
            self.send_json(200, self.server.faults.state())
        elif path == "/_test/tokens":
            self.send_json(200, {"tokens": self.server.faults.set_tokens(doc)})
        elif path == "/_test/served":
            # {"remove": [...], "add": [...]}: "plural" (every version it
            # is served at) or "plural/version"; discovery and the paths
            # follow at once
            def pairs(items):
                out = set()
                for it in items or []:
                    r, _, v = str(it).partition("/")
                    if r not in SERVED or (v and v not in SERVED[r]):
                        raise bad_request("served: %r is not a resource (or version) of this server" % it)
                    out |= {(r, v)} if v else {(r, x) for x in SERVED[r]}
                return out
            rm, add = pairs(doc.get("remove")), pairs(doc.get("add"))
            with st.cond:
                UNSERVED.update(rm)
                UNSERVED.difference_update(add)
                out = sorted("%s/%s" % p for p in UNSERVED)
            self.send_json(200, {"unserved": out})
        elif path == "/_test/registry":
            with st.cond:
                st.registry |= set(doc.get("add") or [])
                st.registry -= set(doc.get("remove") or [])
                ctl.run()
                out = {"registry": sorted(st.registry)}
            self.send_json(200, out)
        else:
            raise ApiError(404, "NotFound", "no such test endpoint: %s" % path)

    def apply_manifest(self, m):
        """Create or replace like kubectl apply; status kept unless given."""
        st = self.server.state
        if not isinstance(m, dict) or m.get("kind") not in KIND_TO_PLURAL:
            raise bad_request("manifest kind %r is not served" % (m.get("kind") if isinstance(m, dict) else m))
        res = KIND_TO_PLURAL[m["kind"]]
        m = copy.deepcopy(m)
        m["apiVersion"] = api_version(res)
        md = m.setdefault("metadata", {})
        if RESOURCES[res][3]:
            md.setdefault("namespace", "demo")
        else:
            md.pop("namespace", None)
        apply_defaults(res, m)
        validate(res, m)
        ns = md.get("namespace", "")
        cur = st.get(res, ns, md["name"])
        key = (res, ns, md["name"])
        if "status" in m and res != "namespaces":
            st.manual_status.add(key)
        if cur is None:
            md["uid"] = md.get("uid") or str(uuid.uuid4())
            md.setdefault("creationTimestamp", now_ts())
            # a StatefulSet or DaemonSet with a status given is a picture
            # for the analyzers, not reconciled: it keeps the generation
            # the manifest gives (none: 0, as observedGeneration)
            if res in ("deployments", "replicasets") or (res in GENERATION_KINDS and key not in st.manual_status):
                md["generation"] = 1
            return st.put(res, m)
        md["uid"] = cur["metadata"]["uid"]
        md["creationTimestamp"] = cur["metadata"].get("creationTimestamp")
        if "generation" in cur["metadata"]:
            md["generation"] = cur["metadata"]["generation"] + (1 if m.get("spec") != cur.get("spec") else 0)
        if "status" not in m and "status" in cur:
            m["status"] = cur["status"]
        return st.put(res, m)

    # -- the API proper

    def api(self, user, path, params, body, ctypes, entry):
        st = self.server.state
        if path in ("/healthz", "/readyz", "/livez"):
            entry["status"] = 200
            with st.cond:
                st.log_request(entry)
            self.send_raw(200, "text/plain; charset=utf-8", b"ok")
            return
        if path == "/version":
            return self.respond(entry, 200, VERSION)
        disc = discovery(path)
        if disc is not None and self.command == "GET":
            return self.respond(entry, 200, disc)
        if path == "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews" and self.command == "POST":
            return self.access_review(entry, user, body)
        p = parse_api_path_version(path)
        if p is None:
            raise ApiError(404, "NotFound", "the server could not find the requested resource", {})
        res, ns, name, sub, version = p
        self.version = version
        if "dryRun" in params and params["dryRun"] != "All":
            raise bad_request("Invalid dryRun value: %s" % params["dryRun"])
        verb = {"GET": "get", "POST": "create", "PUT": "update", "PATCH": "patch", "DELETE": "delete"}[self.command]
        if verb == "get" and name is None:
            verb = "watch" if params.get("watch") in ("1", "true") else "list"
        if verb == "get" and params.get("watch") in ("1", "true"):
            verb = "watch"
        msg = forbidden(user, verb, res, ns, name, self.server.opts)
        if msg is not None:
            raise ApiError(403, "Forbidden", msg, err_details(res, name or ""))
        fault = self.server.faults.on_request(verb, params)
        if fault is not None:
            err = ApiError(fault[0], fault[1], fault[2], {})
            err.headers = fault[3]
            raise err
        if verb == "watch":
            return self.watch(entry, res, ns, name, params)
        if verb == "list":
            with st.cond:
                out = self.list_objects(res, ns, params)
            if version != SERVED[res][0]:
                out["apiVersion"] = (RESOURCES[res][0] + "/" + version) if RESOURCES[res][0] else version
                out["items"] = [as_version(res, version, o) for o in out["items"]]
            return self.respond(entry, 200, out)
        if self.command == "POST":
            if name is not None:
                raise ApiError(405, "MethodNotAllowed", "the server does not allow this method on the requested resource")
            return self.create(entry, res, ns, params, body)
        if sub == "log":
            if self.command != "GET":
                raise ApiError(405, "MethodNotAllowed", "the server does not allow this method on the requested resource")
            return self.pod_log(entry, ns, name, params)
        if self.command == "GET":
            with st.cond:
                obj = st.get(res, ns, name)
            if obj is None:
                raise not_found(res, name)
            return self.respond(entry, 200, as_version(res, version, obj))
        if self.command == "DELETE":
            return self.delete(entry, res, ns, name, params, body)
        return self.update(entry, res, ns, name, sub, params, body, ctypes)

    def access_review(self, entry, user, body):
        """POST selfsubjectaccessreviews: allowed by the same rules as the
        requests themselves."""
        try:
            doc = json.loads(body)
            ra = doc["spec"]["resourceAttributes"]
            verb, group, res = ra["verb"], ra.get("group", ""), ra["resource"]
        except (ValueError, KeyError, TypeError):
            raise bad_request("SelfSubjectAccessReview: spec.resourceAttributes.verb and resource are required")
        ns = ra.get("namespace") or None
        msg = None
        if res in RESOURCES and RESOURCES[res][0] == group:
            msg = forbidden(user, verb, res, ns, ra.get("name"), self.server.opts)
        out = {"kind": "SelfSubjectAccessReview", "apiVersion": "authorization.k8s.io/v1",
               "metadata": {"creationTimestamp": None}, "spec": doc["spec"],
               "status": {"allowed": msg is None and res in RESOURCES}}
        if msg is not None:
            out["status"]["reason"] = ""
        return self.respond(entry, 201, out)

    def list_objects(self, res, ns, params):
        st = self.server.state
        lsel = parse_label_selector(params.get("labelSelector", ""))
        fsel = parse_field_selector(params.get("fieldSelector", ""))
        try:
            limit = int(params.get("limit") or 0)
        except ValueError:
            raise bad_request("invalid limit %r" % params.get("limit"))
        cont = params.get("continue") or ""
        start = None
        at_rv = st.rv
        if cont:
            try:
                raw = base64.urlsafe_b64decode(cont + "=" * (-len(cont) % 4))
            except ValueError as e:
                raise bad_request("invalid continue token: %s" % e)
            try:
                try:
                    tok = json.loads(raw)
                except ValueError as e:
                    raise ValueError(go_json_error(raw, e))
                if not isinstance(tok, dict) or tok.get("v") != "meta.k8s.io/v1":
                    raise ValueError("continue key is not valid: incorrect encoded start resourceVersion (version meta.k8s.io/v1)")
                at_rv, start = int(tok["rv"]), str(tok["start"])
            except (ValueError, KeyError, TypeError) as e:
                msg = str(e)
                if not msg.startswith("continue key"):
                    msg = "continue key is not valid: " + msg
                raise bad_request("invalid continue token: " + msg)
            if at_rv < st.min_rv:
                raise ApiError(410, "Expired",
                               "The provided continue parameter is too old to display a consistent list result. "
                               "You can start a new list without the continue parameter, or use the continue token "
                               "in this response to retrieve the remainder of the results. Continuing with the "
                               "provided token results in an inconsistent list - objects that were created, modified, "
                               "or deleted between the time the first chunk was returned and now may show up in the list.")
        objs = st.snapshot(res, at_rv) if cont else {k: v for k, v in st.objects.items() if k[0] == res}
        rows = []
        for (_, ons, oname), o in objs.items():
            if ns is not None and ons != ns:
                continue
            if not label_match(o, lsel) or not field_match(o, fsel):
                continue
            skey = oname if ns is not None or not RESOURCES[res][3] else ons + "/" + oname
            rows.append((skey, o))
        rows.sort(key=lambda r: r[0])
        if start is not None:
            rows = [r for r in rows if r[0] > start]
        meta = {"resourceVersion": str(at_rv)}
        if limit > 0 and len(rows) > limit:
            last = rows[limit - 1][0]
            tok = {"v": "meta.k8s.io/v1", "rv": at_rv, "start": last + "\x00"}
            meta["continue"] = base64.urlsafe_b64encode(
                json.dumps(tok, separators=(",", ":")).encode()).decode().rstrip("=")
            meta["remainingItemCount"] = len(rows) - limit
            rows = rows[:limit]
        items = []
        for _, o in rows:
            o = dict(o)
            o.pop("kind", None)
            o.pop("apiVersion", None)
            items.append(o)
        return {"kind": RESOURCES[res][2] + "List", "apiVersion": api_version(res), "metadata": meta, "items": items}

    def parse_obj(self, body):
        try:
            obj = json.loads(body)
        except ValueError as e:
            raise bad_request("the body of the request could not be decoded: %s" % e)
        if not isinstance(obj, dict):
            raise bad_request("the body of the request is not a JSON object")
        return obj

    def finish_write(self, entry, code, obj):
        """Log and answer, then let the controller react (the answer is the
        object as written, before the controller touched it)."""
        st = self.server.state
        with st.cond:
            out = self.encode(obj)
            entry["status"] = code
            st.log_request(entry)
            if not entry["dry_run"]:
                self.server.controller.run()
        self.send_response(code)
        self.send_header("Cache-Control", "no-cache, private")
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)

    def create(self, entry, res, ns, params, body):
        st = self.server.state
        obj = self.parse_obj(body)
        obj["apiVersion"] = api_version(res)
        obj["kind"] = RESOURCES[res][2]
        md = obj.setdefault("metadata", {})
        if not isinstance(md, dict):
            raise bad_request("metadata must be an object")
        if not md.get("name") and md.get("generateName"):
            md["name"] = md["generateName"] + rand_suffix()
        if RESOURCES[res][3]:
            if md.get("namespace") not in (None, "", ns):
                raise bad_request("the namespace of the provided object does not match the namespace sent on the request")
            md["namespace"] = ns
        for k in ("uid", "resourceVersion", "generation", "deletionTimestamp"):
            md.pop(k, None)
        md["uid"] = str(uuid.uuid4())
        md["creationTimestamp"] = now_ts()
        if res in GENERATION_KINDS:
            md["generation"] = 1
        apply_defaults(res, obj)
        validate(res, obj)
        with st.cond:
            if RESOURCES[res][3] and not st.get("namespaces", "", ns):
                raise ApiError(404, "NotFound", 'namespaces "%s" not found' % ns, {"name": ns, "kind": "namespaces"})
            if st.get(res, ns, md["name"]):
                raise ApiError(409, "AlreadyExists", '%s "%s" already exists' % (qualified(res), md["name"]),
                               err_details(res, md["name"]))
            if entry["dry_run"]:
                out = obj
            else:
                if res in ("pods",) and "status" not in obj:
                    obj["status"] = {"phase": "Pending", "qosClass": "BestEffort"}
                out = st.put(res, obj)
        self.finish_write(entry, 201, out)

    def update(self, entry, res, ns, name, sub, params, body, ctypes):
        st = self.server.state
        if self.command == "PATCH":
            if len(ctypes) != 1:
                raise unsupported_media()
            ctype = ctypes[0].split(";")[0].strip().lower()
            if "," in ctype or ctype not in PATCH_TYPES:
                raise unsupported_media()
            try:
                patch = json.loads(body)
            except ValueError as e:
                raise bad_request("error decoding patch: %s" % e)
        else:
            new = self.parse_obj(body)
        with st.cond:
            cur = st.get(res, ns, name)
            if cur is None:
                raise not_found(res, name)
            cur_rv = cur["metadata"]["resourceVersion"]
            if self.command == "PATCH":
                if ctype == "application/json-patch+json":
                    try:
                        new = json_patch(cur, patch)
                    except (ValueError, KeyError, TypeError, IndexError):
                        raise patch_rejected()
                else:
                    if not isinstance(patch, dict):
                        raise bad_request("patch body must be a JSON object")
                    new = merge_patch(cur, patch)
                if not isinstance(new, dict) or not isinstance(new.get("metadata"), dict):
                    raise patch_rejected()
                want_rv = new["metadata"].get("resourceVersion")
                if want_rv not in (None, "", cur_rv):
                    raise conflict(res, name)
            else:
                md = new.get("metadata")
                if not isinstance(md, dict):
                    raise bad_request("metadata must be an object")
                if md.get("name") not in (None, name):
                    raise bad_request("the name of the object (%s) does not match the name on the URL (%s)"
                                      % (md.get("name"), name))
                if md.get("resourceVersion") not in (None, "", cur_rv):
                    raise conflict(res, name)
            new["kind"], new["apiVersion"] = cur["kind"], cur["apiVersion"]
            md = new["metadata"]
            for k in ("name", "namespace", "uid", "creationTimestamp"):
                if k in cur["metadata"]:
                    md[k] = cur["metadata"][k]
            md["resourceVersion"] = cur_rv
            if sub == "status":
                merged = copy.deepcopy(cur)
                merged["status"] = new.get("status")
                if merged["status"] is None:
                    merged.pop("status")
                new = merged
                st.manual_status.add((res, ns or "", name))
            else:
                if "status" in cur:
                    new["status"] = copy.deepcopy(cur["status"])
                else:
                    new.pop("status", None)
                apply_defaults(res, new)
                if "generation" in cur["metadata"]:
                    md["generation"] = cur["metadata"]["generation"] + (1 if new.get("spec") != cur.get("spec") else 0)
            validate(res, new)
            if res == "pods" and sub != "status":
                causes = workloads.pod_update_causes(cur, new)
                if causes:
                    raise invalid(res, name, causes)
            if entry["dry_run"] or new == cur:
                out = new
            else:
                out = st.put(res, new)
        self.finish_write(entry, 200, out)

    def delete(self, entry, res, ns, name, params, body):
        st = self.server.state
        pre = {}
        if body.strip():
            # As kube-apiserver's DELETE handler: DeleteOptions in a body
            # are decoded from the body alone, and the query's dryRun is
            # ignored (a v1.20 server deleted a pod on `?dryRun=All` with a
            # preconditions body).  The request log says what happened.
            opts = self.parse_obj(body)
            pre = opts.get("preconditions") or {}
            dry = opts.get("dryRun") or []
            if dry not in ([], ["All"]):
                raise bad_request("Invalid dryRun value: %s" % dry)
            entry["dry_run"] = dry == ["All"]
        with st.cond:
            cur = st.get(res, ns, name)
            if cur is None:
                raise not_found(res, name)
            if (pre.get("uid") not in (None, cur["metadata"]["uid"])
                    or pre.get("resourceVersion") not in (None, cur["metadata"]["resourceVersion"])):
                raise conflict(res, name)
            gone = cur if entry["dry_run"] else st.remove(res, ns or "", name)
            if res in ("pods", "namespaces"):
                out = gone
            else:
                d = err_details(res, name)
                d["uid"] = cur["metadata"]["uid"]
                out = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "details": d}
        self.finish_write(entry, 200, out)

    @staticmethod
    def echoes(spec, cname):
        """What container cname's "sh -c" script prints with echo (its
        statements split at ";"), or None when it is not such a script."""
        c = next(c for c in spec["containers"] if c.get("name") == cname)
        argv = (c.get("command") or []) + (c.get("args") or [])
        if len(argv) < 3 or argv[0] not in SHELLS or argv[1] != "-c":
            return None
        out = []
        for stmt in argv[2].split(";"):
            words = shlex.split(stmt)
            if words[:1] == ["echo"]:
                out.append(" ".join(words[1:]) + "\n")
        return "".join(out)

    def pod_log(self, entry, ns, name, params):
        st = self.server.state
        with st.cond:
            pod = st.get("pods", ns, name)
            if pod is None:
                raise not_found("pods", name)
            spec = pod.get("spec") or {}
            names = [c.get("name") for c in spec.get("containers") or []]
            cname = params.get("container")
            if cname is None:
                if len(names) != 1:
                    raise bad_request("a container name must be specified for pod %s, choose one of: [%s]"
                                      % (name, " ".join(names)))
                cname = names[0]
            if cname not in names:
                raise bad_request("container %s is not valid for pod %s" % (cname, name))
            entry["status"] = 204 if not spec.get("nodeName") else 200
            st.log_request(entry)
            if not spec.get("nodeName"):
                text = None
            else:
                ann = (pod["metadata"].get("annotations") or {}).get(LOG_ANN)
                if ann is not None:
                    text = ann if ann.endswith("\n") or not ann else ann + "\n"
                elif self.echoes(spec, cname) is not None:
                    text = self.echoes(spec, cname)
                else:
                    img = next(c.get("image", "") for c in spec["containers"] if c.get("name") == cname)
                    text = "".join("%s container %s (%s) line %d\n" % (pod["metadata"].get("creationTimestamp"),
                                                                     cname, img, i) for i in range(1, 6))
        if text is None:
            self.send_raw(204, "", b"")
            return
        lines = text.splitlines(True)
        if params.get("tailLines", "").isdigit():
            n = int(params["tailLines"])
            lines = lines[len(lines) - n:] if n else []
        data = "".join(lines).encode()
        if params.get("limitBytes", "").isdigit():
            data = data[:int(params["limitBytes"])]
        self.send_raw(200, "text/plain", data)

    # -- watch

    def chunk(self, obj):
        data = json.dumps(obj, separators=(",", ":")).encode() + b"\n"
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        self.wfile.flush()

    def watch(self, entry, res, ns, name, params):
        """Stream events as chunks until timeoutSeconds, /_test/close-watches,
        server stop or the client going away."""
        st = self.server.state
        lsel = parse_label_selector(params.get("labelSelector", ""))
        fsel = parse_field_selector(params.get("fieldSelector", ""))
        if name is not None:
            fsel.append(("metadata.name", False, name))
        try:
            timeout = int(params.get("timeoutSeconds") or DEFAULT_WATCH_TIMEOUT)
        except ValueError:
            raise bad_request("invalid timeoutSeconds")
        bookmarks = params.get("allowWatchBookmarks") in ("1", "true")
        interval = self.server.opts.bookmark_interval
        rvs = params.get("resourceVersion", "")
        if rvs not in ("", "0"):
            try:
                rv = int(rvs)
            except ValueError:
                raise bad_request('invalid resource version: "%s"' % rvs)
        deadline = time.monotonic() + timeout

        def wanted(r, ons, o):
            return (r == res and (ns is None or ons == ns) and label_match(o, lsel) and field_match(o, fsel))

        with st.cond:
            epoch = st.watch_epoch
            initial = []
            if rvs in ("", "0"):
                rv = st.rv
                for k in sorted(st.objects):
                    if wanted(k[0], k[1], st.objects[k]):
                        initial.append({"type": "ADDED", "object": as_version(res, self.version, st.objects[k])})
                if params.get("sendInitialEvents") == "true":
                    initial.append({"type": "BOOKMARK", "object": {
                        "kind": RESOURCES[res][2], "apiVersion": api_version(res),
                        "metadata": {"resourceVersion": str(rv),
                                     "annotations": {"k8s.io/initial-events-end": "true"}}}})
            elif rv < st.min_rv:
                initial.append({"type": "ERROR", "object": {
                    "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                    "message": "too old resource version: %d (%d)" % (rv, st.min_rv),
                    "reason": "Expired", "code": 410}})
                rv = None
            initial = [json.loads(json.dumps(e)) for e in initial]
            entry["status"] = 200
            st.log_request(entry)
        self.send_response(200)
        self.send_header("Cache-Control", "no-cache, private")
        self.send_header("Content-Type", "application/json")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        try:
            for e in initial:
                self.server.faults.write_event(
                    self, json.dumps(e, separators=(",", ":")).encode() + b"\n")
            next_bm = time.monotonic() + interval
            while rv is not None:
                out = []
                with st.cond:
                    while True:
                        if st.stopping or st.watch_epoch != epoch or time.monotonic() >= deadline:
                            rv = None
                            break
                        if rv < st.live_min_rv:
                            out.append({"type": "ERROR", "object": {
                                "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                                "message": "too old resource version: %d (%d)" % (rv, st.min_rv),
                                "reason": "Expired", "code": 410}})
                            rv = None
                            break
                        if st.rv > rv:
                            for hrv, r, ons, oname, etype, obj, prev in st.history:
                                if hrv > rv and wanted(r, ons, obj):
                                    out.append(json.dumps({"type": etype, "object": as_version(res, self.version, obj)},
                                                          separators=(",", ":")))
                            rv = st.rv
                            if out:
                                break
                        if bookmarks and time.monotonic() >= next_bm:
                            out.append({"type": "BOOKMARK", "object": {
                                "kind": RESOURCES[res][2], "apiVersion": api_version(res),
                                "metadata": {"resourceVersion": str(rv)}}})
                            next_bm = time.monotonic() + interval
                            break
                        wait = min(deadline, next_bm if bookmarks else deadline) - time.monotonic()
                        st.cond.wait(max(0.01, min(wait, 0.5)))
                for e in out:
                    if isinstance(e, str):
                        data = e.encode() + b"\n"
                    else:
                        data = json.dumps(e, separators=(",", ":")).encode() + b"\n"
                    self.server.faults.write_event(self, data)
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()
        except transport_faults.WatchEnded:
            self.close_connection = True
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError, OSError):
            self.close_connection = True


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 64

    def finish_request(self, request, client_address):
        """TLS handshake in the connection's own thread, so a slow or bad
        client cannot stall accept()."""
        try:
            request.settimeout(30)
            conn = self.tls.wrap_socket(request, server_side=True)
        except (ssl.SSLError, OSError):
            return
        try:
            conn.settimeout(None)
            self.RequestHandlerClass(conn, client_address, self)
        except (ssl.SSLError, OSError):
            pass
        finally:
            try:
                conn.close()
            except OSError:
                pass

    def handle_error(self, request, client_address):
        if self.opts.verbose:
            super().handle_error(request, client_address)


# ---------------------------------------------------------------- setup

def openssl(*args):
    r = subprocess.run(["openssl"] + list(args), capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit("fake-apiserver: openssl %s failed: %s" % (args[0], r.stderr.strip()))


def make_certs(d):
    """CA, server (127.0.0.1, localhost) and client certificates; reused when
    already present so a restarted server keeps the kubeconfig valid."""
    names = ["ca.crt", "ca.key", "server.crt", "server.key", "client.crt", "client.key"]
    if all(os.path.exists(os.path.join(d, n)) for n in names):
        return
    p = lambda n: os.path.join(d, n)
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    openssl("req", "-x509", *ec, "-keyout", p("ca.key"), "-out", p("ca.crt"), "-days", "3650",
            "-subj", "/CN=remedy-fake-ca", "-addext", "basicConstraints=critical,CA:TRUE",
            "-addext", "keyUsage=critical,keyCertSign,cRLSign")
    for who, subj, ext in (("server", "/CN=127.0.0.1",
                            "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n"),
                           ("client", "/O=remedy/CN=remedy-client", "extendedKeyUsage=clientAuth\n")):
        extf = p(who + ".ext")
        with open(extf, "w") as f:
            f.write("basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\n" + ext)
        openssl("req", "-new", *ec, "-keyout", p(who + ".key"), "-out", p(who + ".csr"), "-subj", subj)
        openssl("x509", "-req", "-in", p(who + ".csr"), "-CA", p("ca.crt"), "-CAkey", p("ca.key"),
                "-set_serial", str(random.randrange(1, 2 ** 62)), "-days", "3650",
                "-extfile", extf, "-out", p(who + ".crt"))
        os.unlink(extf)
        os.unlink(p(who + ".csr"))
    for n in ("ca.key", "server.key", "client.key"):
        os.chmod(p(n), 0o600)


def write_atomic(path, text):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write(text)
    os.replace(tmp, path)


def write_kubeconfigs(d, port, token):
    with open(os.path.join(d, "ca.crt"), "rb") as f:
        ca = base64.b64encode(f.read()).decode()
    server = "https://127.0.0.1:%d" % port
    q = json.dumps
    write_atomic(os.path.join(d, "kubeconfig"), (
        "apiVersion: v1\nkind: Config\nclusters:\n- name: fake\n  cluster:\n"
        "    server: %s\n    certificate-authority-data: %s\n"
        "users:\n- name: tester\n  user:\n    token: %s\n"
        "contexts:\n- name: fake\n  context:\n    cluster: fake\n    user: tester\n    namespace: demo\n"
        "current-context: fake\npreferences: {}\n") % (server, ca, q(token)))
    write_atomic(os.path.join(d, "kubeconfig-certs"), (
        "apiVersion: v1\nkind: Config\nclusters:\n- name: fake\n  cluster:\n"
        "    server: %s\n    certificate-authority: ca.crt\n"
        "users:\n- name: remedy-client\n  user:\n    client-certificate: client.crt\n    client-key: client.key\n"
        "contexts:\n- name: fake-certs\n  context:\n    cluster: fake\n    user: remedy-client\n    namespace: demo\n"
        "current-context: fake-certs\npreferences: {}\n") % server)


def deployment_manifest(name, ns, image, replicas):
    return {"kind": "Deployment", "apiVersion": "apps/v1",
            "metadata": {"name": name, "namespace": ns, "labels": {"app": name}},
            "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": name}},
                     "template": {"metadata": {"labels": {"app": name}},
                                  "spec": {"containers": [{"name": "nginx", "image": image}]}}}}


def load_scenario(st, ctl, name, replicas):
    def put_new(res, obj):
        md = obj["metadata"]
        md["uid"] = str(uuid.uuid4())
        md["creationTimestamp"] = now_ts()
        if res in GENERATION_KINDS:
            md["generation"] = 1
        apply_defaults(res, obj)
        return st.put(res, obj)

    with st.cond:
        put_new("namespaces", {"kind": "Namespace", "apiVersion": "v1",
                               "metadata": {"name": "demo", "labels": {"kubernetes.io/metadata.name": "demo"}}})
        if name == "empty":
            return
        put_new("deployments", deployment_manifest("web", "demo", "nginx:1.25", replicas))
        ctl.run(100)
        if name == "healthy":
            return
        d = copy.deepcopy(st.get("deployments", "demo", "web"))
        d["spec"]["template"]["spec"]["containers"][0]["image"] = "nginx:1.27-typo"
        d["metadata"]["generation"] += 1
        st.put("deployments", d)
        ctl.run(100)
        # the scenario starts settled: the pulls have already backed off
        for k in list(st.pull_fail_since):
            st.pull_fail_since[k] -= st.args.pull_backoff
        ctl.run(100)


def main():
    ap = argparse.ArgumentParser(description="Kubernetes API server for remedy's tests")
    ap.add_argument("--dir", required=True)
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--token", default="remedy-test-token")
    ap.add_argument("--restricted-token", default="",
                    help="a second token whose user (\"restricted\") may only get, list and watch")
    ap.add_argument("--ns-token", default="",
                    help="a token whose user (\"nsuser\") is namespace-scoped: cluster-wide requests for "
                         "namespaced resources answer 403")
    ap.add_argument("--ns-token-namespaces", default="",
                    help="comma-separated namespaces nsuser may use (default: all)")
    ap.add_argument("--forbid-cluster-list", default="",
                    help="comma-separated resources the main token may not use cluster-wide "
                         "(its role is bound per namespace for them)")
    ap.add_argument("--profile", default="current", choices=sorted(PROFILES),
                    help="which versions the optional kinds are served at (v1.20: CronJob, PDB, "
                         "EndpointSlice only at v1beta1, the HPA at autoscaling/v2beta2 and v1)")
    ap.add_argument("--scenario", default="empty", choices=["empty", "healthy", "broken-rollout"])
    ap.add_argument("--replicas", type=int, default=2)
    ap.add_argument("--schedule", action="store_true",
                    help="kube-scheduler's part: controllers create pods without spec.nodeName and each is "
                         "bound to a Node that fits it (nodeSelector, required node affinity, taints, "
                         "allocatable cpu and memory), or marked Unschedulable with the scheduler's message")
    ap.add_argument("--jobs", action="store_true",
                    help="run the Job controller: pods for each Job, retried after a back-off up to "
                         "spec.backoffLimit (off by default: scenarios give Jobs their status)")
    ap.add_argument("--job-backoff", type=float, default=10.0,
                    help="seconds before the first retry of a failed Job pod, doubled for each failure "
                         "(Kubernetes: 10)")
    ap.add_argument("--volumes", action="store_true",
                    help="run the PersistentVolume controller: claims of an existing StorageClass are "
                         "bound, claims of a missing one get ProvisioningFailed (off by default)")
    ap.add_argument("--endpointslices", action="store_true",
                    help="run the EndpointSlice controller: a slice per Service with a selector, listing "
                         "the pods it matches (off by default: scenarios bring their own slices)")
    ap.add_argument("--registry", default="",
                    help="URL of a real registry (http://HOST:PORT) that is docker.io for the simulated "
                         "kubelet: an image of docker.io runs when that registry has its manifest (with "
                         "the node's platform), instead of the built-in list")
    ap.add_argument("--bookmark-interval", type=float, default=1.0)
    ap.add_argument("--pull-backoff", type=float, default=0.3)
    ap.add_argument("--history", type=int, default=10000)
    ap.add_argument("--event-ttl", type=float, default=3600.0,
                    help="seconds a recorded Event lives (kube-apiserver's default: 1h)")
    ap.add_argument("--verbose", action="store_true")
    args = ap.parse_args()
    if (args.replicas < 0 or args.history < 1 or args.bookmark_interval <= 0 or args.pull_backoff < 0
            or args.event_ttl <= 0):
        sys.exit("fake-apiserver: --replicas, --history, --bookmark-interval, --pull-backoff "
                 "or --event-ttl out of range")
    set_profile(args.profile)
    d = os.path.abspath(args.dir)
    os.makedirs(d, exist_ok=True)
    if os.path.exists(os.path.join(d, "ready")):
        os.unlink(os.path.join(d, "ready"))      # never let a waiter see a stale one
    make_certs(d)

    st = State(args)
    ctl = Controller(st)
    load_scenario(st, ctl, args.scenario, args.replicas)

    tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    tls.load_cert_chain(os.path.join(d, "server.crt"), os.path.join(d, "server.key"))
    tls.load_verify_locations(os.path.join(d, "ca.crt"))
    tls.verify_mode = ssl.CERT_OPTIONAL
    tls.set_alpn_protocols(["http/1.1"])

    try:
        srv = Server(("127.0.0.1", args.port), Handler)
    except OSError as e:
        sys.exit("fake-apiserver: cannot listen on 127.0.0.1:%d: %s" % (args.port, e.strerror))
    srv.tls, srv.opts, srv.state, srv.controller = tls, args, st, ctl
    srv.faults = transport_faults.Faults()
    port = srv.server_address[1]

    stop = threading.Event()

    def on_signal(signum, frame):
        stop.set()
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    def ticker():
        while not stop.wait(0.1):
            with st.cond:
                ctl.tick()
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    threading.Thread(target=ticker, daemon=True).start()

    write_kubeconfigs(d, port, args.token)
    write_atomic(os.path.join(d, "ready"), json.dumps(
        {"port": port, "pid": os.getpid(), "url": "https://127.0.0.1:%d" % port}) + "\n")
    while not stop.wait(1.0):
        pass
    with st.cond:
        st.stopping = True
        st.cond.notify_all()
    srv.shutdown()
    srv.server_close()
    return 0


# ---------------------------------------------------------------- for tests

class Harness:
    """Start this server in a directory, talk to it, stop it by pid.

    Used by the Python tests: `with Harness(tmpdir, "--scenario", "healthy") as h:`.
    Every wait has a deadline; nothing sleeps blindly."""

    def __init__(self, directory, *args, timeout=20.0):
        self.dir = directory
        self.args = list(args)
        self.timeout = timeout
        self.proc = None
        self.port = None
        self.token = "remedy-test-token"
        if "--token" in self.args:
            self.token = self.args[self.args.index("--token") + 1]

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.stop()

    def start(self):
        ready = os.path.join(self.dir, "ready")
        if os.path.exists(ready):
            os.unlink(ready)
        self.proc = subprocess.Popen([sys.executable, os.path.abspath(__file__), "--dir", self.dir] + self.args)
        deadline = time.monotonic() + self.timeout
        while True:
            if os.path.exists(ready):
                with open(ready) as f:
                    info = json.load(f)
                self.port = info["port"]
                if info["pid"] != self.proc.pid:
                    raise RuntimeError("ready file names pid %d, started %d" % (info["pid"], self.proc.pid))
                break
            if self.proc.poll() is not None:
                raise RuntimeError("fake_apiserver exited with %d before it was ready" % self.proc.returncode)
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("fake_apiserver not ready within %.0f s" % self.timeout)
            time.sleep(0.02)
        self.ctx = ssl.create_default_context(cafile=os.path.join(self.dir, "ca.crt"))

    def stop(self):
        if self.proc is None:
            return
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait(10)
        self.proc = None

    def conn(self, ctx=None, timeout=10):
        import http.client
        return http.client.HTTPSConnection("127.0.0.1", self.port, context=ctx or self.ctx, timeout=timeout)

    def request(self, method, path, body=None, headers=None, auth=True, ua="remedy-tests/1", ctx=None):
        """-> (status, headers as a lower-case dict, body bytes)"""
        h = {"User-Agent": ua}
        if auth:
            h["Authorization"] = "Bearer " + self.token
        if body is not None and not isinstance(body, (bytes, str)):
            body = json.dumps(body)
            h.setdefault("Content-Type", "application/json")
        h.update(headers or {})
        c = self.conn(ctx)
        try:
            c.request(method, path, body=body, headers=h)
            r = c.getresponse()
            data = r.read()
            return r.status, {k.lower(): v for k, v in r.getheaders()}, data
        finally:
            c.close()

    def json(self, method, path, body=None, headers=None, expect=200, **kw):
        status, _, data = self.request(method, path, body, headers, **kw)
        if status != expect:
            raise AssertionError("%s %s: HTTP %d, expected %d: %s" % (method, path, status, expect, data[:500]))
        return json.loads(data) if data else None

    def wait_for(self, what, fn, timeout=10.0):
        """Poll fn() until it returns something true; AssertionError after timeout."""
        deadline = time.monotonic() + timeout
        while True:
            v = fn()
            if v:
                return v
            if time.monotonic() > deadline:
                raise AssertionError("timed out waiting for %s" % what)
            time.sleep(0.05)


if __name__ == "__main__":
    sys.exit(main())
