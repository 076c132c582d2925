"""StatefulSet and DaemonSet controllers of the test API server.

Modelled on kube-controller-manager v1.20 (pkg/controller/statefulset,
pkg/controller/daemon, pkg/controller/history):

- Each distinct pod template of a StatefulSet or DaemonSet is stored once as
  an apps/v1 ControllerRevision owned (controller reference) by it, named
  <owner>-<hash>, labelled controller-revision-hash=<hash>, with
  data = {"spec": {"template": {..., "$patch": "replace"}}} and a
  `revision` number.  A template that matches an existing revision (a
  rollback) reuses it and bumps its revision to max + 1, so the current
  template always holds the highest revision; `kubectl rollout undo` picks
  the highest revision below it.
- StatefulSet pods are <name>-<ordinal>, labelled
  controller-revision-hash=<revision name> (the StatefulSet's label value is
  the ControllerRevision's name) and statefulset.kubernetes.io/pod-name.
  status.currentRevision / updateRevision name revisions.
  RollingUpdate, from the highest ordinal down: a pod on another revision
  is deleted (and re-created from updateRevision by the next pass); an
  unhealthy pod on the update revision stops the update.  With
  podManagementPolicy OrderedReady (the default) the pass first walks the
  ordinals in order and returns at the first pod that is not Running and
  Ready: a pod stuck in ImagePullBackOff on a bad revision therefore blocks
  the rollout forever, even after the template is reverted -- the
  "forced rollback" trap of the Kubernetes documentation; only deleting
  that pod lets it go on.  With Parallel the walk does not wait, and a
  reverted template rolls out by itself.
- DaemonSet pods are <name>-<5 random chars>, one per Node (one node
  "node-a" when no Node object exists), labelled controller-revision-hash=
  <hash> and pod-template-generation.  RollingUpdate with maxUnavailable
  (default 1): old pods that are unavailable are deleted at once, available
  old pods only while fewer than maxUnavailable are unavailable; missing
  pods are created from the current template.

A StatefulSet or DaemonSet whose status a test set by hand (`status` in the
manifest, or a write to /status) is left alone, as before, so detection
scenarios can describe any state.
"""

import copy
import hashlib
import json

STS_REV_LABEL = "controller-revision-hash"
STS_POD_NAME = "statefulset.kubernetes.io/pod-name"
DS_GEN_LABEL = "pod-template-generation"
ALPHABET = "bcdfghjklmnpqrstvwxz2456789"


def revision_hash(tmpl):
    """The 10-character hash of a pod template (as ComputeHash: stable,
    from the template alone)."""
    canon = json.dumps(tmpl, sort_keys=True, separators=(",", ":")).encode()
    digest = hashlib.sha256(b"cr:" + canon).digest()
    return "".join(ALPHABET[b % len(ALPHABET)] for b in digest[:10])


def revision_template(cr):
    t = copy.deepcopy(((cr.get("data") or {}).get("spec") or {}).get("template") or {})
    t.pop("$patch", None)
    return t


def pod_healthy(p):
    """Running and Ready, not terminating (isRunningAndReady)."""
    if (p.get("status") or {}).get("phase") != "Running" or (p.get("metadata") or {}).get("deletionTimestamp"):
        return False
    for c in (p.get("status") or {}).get("conditions") or []:
        if c.get("type") == "Ready":
            return c.get("status") == "True"
    return False


def int_or_percent(v, total, default):
    if isinstance(v, int) and not isinstance(v, bool):
        return v
    if isinstance(v, str) and v.endswith("%") and v[:-1].isdigit():
        return max(total * int(v[:-1]) // 100, 0)
    return default


class Workloads:
    """Held by the fake's Controller (ctl): uses ctl.st, ctl.owned() and
    ctl.new_meta(), and fake_apiserver's owner_ref(), default_pod_admission()
    and rand_suffix(), passed in at construction (no import cycle)."""

    def __init__(self, ctl, owner_ref, default_pod_admission, rand_suffix):
        self.ctl = ctl
        self.st = ctl.st
        self.owner_ref = owner_ref
        self.admit = default_pod_admission
        self.rand_suffix = rand_suffix

    # -- ControllerRevisions (pkg/controller/history)

    def revisions(self, owner):
        return sorted(self.ctl.owned("controllerrevisions", owner),
                      key=lambda r: (r.get("revision", 0), r["metadata"]["name"]))

    def sync_revision(self, owner, kind):
        """The ControllerRevision of owner's current template, created or
        bumped to the highest revision; returns (revision, changed)."""
        st = self.st
        md = owner["metadata"]
        tmpl = owner["spec"].get("template") or {}
        h = revision_hash(tmpl)
        revs = self.revisions(owner)
        top = max([r.get("revision", 0) for r in revs] or [0])
        for r in revs:
            if r["metadata"].get("labels", {}).get(STS_REV_LABEL) == h:
                if r.get("revision", 0) == top:
                    return r, False
                r = copy.deepcopy(r)
                r["revision"] = top + 1
                return st.put("controllerrevisions", r), True
        labels = dict((tmpl.get("metadata") or {}).get("labels") or {})
        labels[STS_REV_LABEL] = h
        rmd = self.ctl.new_meta("%s-%s" % (md["name"], h), md["namespace"], labels)
        rmd["ownerReferences"] = [self.owner_ref(owner, kind, "apps/v1")]
        data_tmpl = copy.deepcopy(tmpl)
        data_tmpl["$patch"] = "replace"
        cr = {"kind": "ControllerRevision", "apiVersion": "apps/v1", "metadata": rmd,
              "data": {"spec": {"template": data_tmpl}}, "revision": top + 1}
        return st.put("controllerrevisions", cr), True

    def trim_history(self, owner, keep_names):
        """Keep at most revisionHistoryLimit (default 10) revisions besides
        the live ones."""
        limit = owner["spec"].get("revisionHistoryLimit", 10)
        old = [r for r in self.revisions(owner) if r["metadata"]["name"] not in keep_names]
        changed = False
        while len(old) > limit:
            r = old.pop(0)
            self.st.remove("controllerrevisions", r["metadata"]["namespace"], r["metadata"]["name"])
            changed = True
        return changed

    def new_pod(self, owner, kind, name, tmpl, labels, node):
        pmd = self.ctl.new_meta(name, owner["metadata"]["namespace"], labels)
        pmd["ownerReferences"] = [self.owner_ref(owner, kind, "apps/v1")]
        pspec = copy.deepcopy(tmpl.get("spec") or {})
        self.admit(pspec)
        if node is not None:
            pspec["nodeName"] = node
        return self.st.put("pods", {"kind": "Pod", "apiVersion": "v1", "metadata": pmd, "spec": pspec,
                                    "status": {"phase": "Pending", "qosClass": "BestEffort"}})

    def put_status(self, res, obj, status):
        cur = self.st.get(res, obj["metadata"]["namespace"], obj["metadata"]["name"])
        if cur.get("status") == status:
            return False
        o = copy.deepcopy(cur)
        o["status"] = status
        self.st.put(res, o)
        return True

    # -- StatefulSet (pkg/controller/statefulset/stateful_set_control.go)

    def sync_statefulset(self, s):
        st = self.st
        md, spec = s["metadata"], s.get("spec") or {}
        ns = md["namespace"]
        if ("statefulsets", ns, md["name"]) in st.manual_status or not isinstance(spec.get("template"), dict):
            return False
        update, changed = self.sync_revision(s, "StatefulSet")
        s = st.get("statefulsets", ns, md["name"])
        status = s.get("status") or {}
        current_name = status.get("currentRevision") or update["metadata"]["name"]
        current = st.get("controllerrevisions", ns, current_name) or update
        want = spec.get("replicas", 1)
        monotonic = spec.get("podManagementPolicy", "OrderedReady") != "Parallel"
        pods = {}
        for p in self.ctl.owned("pods", s):
            name = p["metadata"]["name"]
            suffix = name[len(md["name"]) + 1:]
            if name.startswith(md["name"] + "-") and suffix.isdigit():
                pods[int(suffix)] = p

        def rev_of(p):
            return (p["metadata"].get("labels") or {}).get(STS_REV_LABEL)

        def make(i):
            rev = update
            strategy = (spec.get("updateStrategy") or {}).get("type", "RollingUpdate")
            if strategy == "OnDelete" or (strategy == "RollingUpdate"
                                          and i < ((spec.get("updateStrategy") or {}).get("rollingUpdate")
                                                   or {}).get("partition", 0)):
                rev = current
            tmpl = revision_template(rev)
            labels = dict((tmpl.get("metadata") or {}).get("labels") or {})
            labels[STS_REV_LABEL] = rev["metadata"]["name"]
            labels[STS_POD_NAME] = "%s-%d" % (md["name"], i)
            return self.new_pod(s, "StatefulSet", "%s-%d" % (md["name"], i), tmpl, labels,
                                None if self.st.args.schedule else "node-a")

        blocked = False
        for i in range(want):
            p = pods.get(i)
            if p is None:
                pods[i] = make(i)
                changed = True
                if monotonic:
                    blocked = True
                    break
                continue
            if monotonic and not pod_healthy(p):
                blocked = True
                break
        for i in sorted(k for k in pods if k >= want):
            if not blocked:
                st.remove("pods", ns, pods.pop(i)["metadata"]["name"])
                changed = True
                if monotonic:
                    blocked = True
                    break
        if not blocked and (spec.get("updateStrategy") or {}).get("type", "RollingUpdate") == "RollingUpdate":
            partition = ((spec.get("updateStrategy") or {}).get("rollingUpdate") or {}).get("partition", 0)
            for i in range(want - 1, partition - 1, -1):
                p = pods.get(i)
                if p is None:
                    break
                if rev_of(p) != update["metadata"]["name"]:
                    st.remove("pods", ns, p["metadata"]["name"])
                    del pods[i]
                    changed = True
                    break
                if not pod_healthy(p):
                    break
        live = [p for i, p in pods.items() if i < want]
        ready = sum(1 for p in live if pod_healthy(p))
        updated = sum(1 for p in live if rev_of(p) == update["metadata"]["name"])
        cur_count = sum(1 for p in live if rev_of(p) == current["metadata"]["name"])
        new = {"observedGeneration": md.get("generation", 1), "replicas": len(live),
               "readyReplicas": ready, "currentReplicas": cur_count, "updatedReplicas": updated,
               "currentRevision": current["metadata"]["name"], "updateRevision": update["metadata"]["name"],
               "collisionCount": 0}
        if updated == want and ready == want and len(live) == want:
            new["currentRevision"] = update["metadata"]["name"]
            new["currentReplicas"] = updated
        for k in ("readyReplicas", "currentReplicas", "updatedReplicas"):
            if not new[k]:
                del new[k]
        changed |= self.put_status("statefulsets", s, new)
        changed |= self.trim_history(s, {new["currentRevision"], new["updateRevision"]})
        return changed

    # -- DaemonSet (pkg/controller/daemon/daemon_controller.go, update.go)

    def nodes(self):
        names = sorted(k[2] for k in self.st.objects if k[0] == "nodes")
        return names or ["node-a"]

    def sync_daemonset(self, d):
        st = self.st
        md, spec = d["metadata"], d.get("spec") or {}
        ns = md["namespace"]
        if ("daemonsets", ns, md["name"]) in st.manual_status or not isinstance(spec.get("template"), dict):
            return False
        cur, changed = self.sync_revision(d, "DaemonSet")
        d = st.get("daemonsets", ns, md["name"])
        h = cur["metadata"]["labels"][STS_REV_LABEL]
        nodes = self.nodes()
        by_node = {}
        for p in self.ctl.owned("pods", d):
            by_node.setdefault(p["spec"].get("nodeName"), []).append(p)
        for node, ps in by_node.items():
            for p in ps[1:] if node in nodes else ps:
                st.remove("pods", ns, p["metadata"]["name"])
                changed = True
        by_node = {n: ps[0] for n, ps in by_node.items() if n in nodes}
        tmpl = revision_template(cur)
        for node in nodes:
            if node not in by_node:
                labels = dict((tmpl.get("metadata") or {}).get("labels") or {})
                labels[STS_REV_LABEL] = h
                labels[DS_GEN_LABEL] = str(md.get("generation", 1))
                by_node[node] = self.new_pod(d, "DaemonSet", "%s-%s" % (md["name"], self.rand_suffix()),
                                             tmpl, labels, node)
                changed = True
        strategy = spec.get("updateStrategy") or {}
        if strategy.get("type", "RollingUpdate") == "RollingUpdate":
            max_unavail = int_or_percent((strategy.get("rollingUpdate") or {}).get("maxUnavailable", 1),
                                         len(nodes), 1)
            unavailable = sum(1 for p in by_node.values() if not pod_healthy(p))
            for node in nodes:
                p = by_node[node]
                if (p["metadata"].get("labels") or {}).get(STS_REV_LABEL) == h:
                    continue
                if not pod_healthy(p):
                    st.remove("pods", ns, p["metadata"]["name"])
                    changed = True
                elif unavailable < max_unavail:
                    st.remove("pods", ns, p["metadata"]["name"])
                    unavailable += 1
                    changed = True
        pods = [p for p in self.ctl.owned("pods", d) if p["spec"].get("nodeName") in nodes]
        avail = sum(1 for p in pods if pod_healthy(p))
        updated = sum(1 for p in pods if (p["metadata"].get("labels") or {}).get(STS_REV_LABEL) == h)
        new = {"currentNumberScheduled": len(pods), "numberMisscheduled": 0,
               "desiredNumberScheduled": len(nodes), "numberReady": avail,
               "observedGeneration": md.get("generation", 1), "updatedNumberScheduled": updated,
               "numberAvailable": avail, "numberUnavailable": len(nodes) - avail}
        for k in ("updatedNumberScheduled", "numberAvailable", "numberUnavailable"):
            if not new[k]:
                del new[k]
        changed |= self.put_status("daemonsets", d, new)
        changed |= self.trim_history(d, {cur["metadata"]["name"]})
        return changed


# -- what a Pod update may change (pkg/apis/core/validation ValidatePodUpdate)

POD_UPDATE_FORBIDDEN = ("pod updates may not change fields other than `spec.containers[*].image`, "
                        "`spec.initContainers[*].image`, `spec.activeDeadlineSeconds` or `spec.tolerations` "
                        "(only additions to existing tolerations)")


def pod_update_causes(old, new):
    """The 422 causes [(field, reason, message)] of a Pod update that
    changes more than a running Pod allows; [] when it is allowed."""
    o = copy.deepcopy(old.get("spec") or {})
    n = copy.deepcopy(new.get("spec") or {})
    causes = []
    oad, nad = o.pop("activeDeadlineSeconds", None), n.pop("activeDeadlineSeconds", None)
    if oad is not None and (nad is None or not isinstance(nad, int) or nad > oad):
        causes.append(("spec.activeDeadlineSeconds", "FieldValueInvalid",
                       "Invalid value: %s: must be less than or equal to previous value" % json.dumps(nad)))
    for key in ("containers", "initContainers"):
        oc, nc = o.get(key) or [], n.get(key) or []
        if isinstance(oc, list) and isinstance(nc, list) and len(oc) == len(nc):
            for a, b in zip(oc, nc):
                if isinstance(a, dict) and isinstance(b, dict):
                    a.pop("image", None)
                    b.pop("image", None)
    ot, nt = o.pop("tolerations", None) or [], n.pop("tolerations", None) or []
    if not isinstance(nt, list) or any(t not in nt for t in ot):
        causes.append(("spec", "FieldValueForbidden", "Forbidden: " + POD_UPDATE_FORBIDDEN))
    elif o != n:
        causes.append(("spec", "FieldValueForbidden", "Forbidden: " + POD_UPDATE_FORBIDDEN))
    return causes
