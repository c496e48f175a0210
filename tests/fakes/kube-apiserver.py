#!/usr/bin/env python3
"""Test Kubernetes API server: the subset of the API that virtkube (and kubectl) use, in memory, over mutual TLS on 127.0.0.1."""

import argparse
import base64
import email.utils
import ipaddress
import json
import os
import secrets
import signal
import socket
import ssl
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlsplit

ALL_VERBS = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"]
NS_VERBS = ["create", "delete", "get", "list", "patch", "update", "watch"]
STATUS_VERBS = ["get", "patch", "update"]

# group, version, plural, kind, namespaced, shortNames, categories, has /status
_CORE = ("", "v1")
_T = [
    (_CORE, "namespaces", "Namespace", False, ["ns"], [], True),
    (_CORE, "services", "Service", True, ["svc"], ["all"], True),
    (_CORE, "configmaps", "ConfigMap", True, ["cm"], [], False),
    (_CORE, "secrets", "Secret", True, [], [], False),
    (_CORE, "serviceaccounts", "ServiceAccount", True, ["sa"], [], False),
    (_CORE, "pods", "Pod", True, ["po"], ["all"], True),
    (_CORE, "endpoints", "Endpoints", True, ["ep"], [], False),
    (_CORE, "nodes", "Node", False, ["no"], [], True),
    (_CORE, "events", "Event", True, ["ev"], [], False),
    (_CORE, "persistentvolumes", "PersistentVolume", False, ["pv"], [], True),
    (_CORE, "persistentvolumeclaims", "PersistentVolumeClaim", True, ["pvc"], [], True),
    (("apps", "v1"), "deployments", "Deployment", True, ["deploy"], ["all"], True),
    (("apps", "v1"), "daemonsets", "DaemonSet", True, ["ds"], ["all"], True),
    (("apps", "v1"), "replicasets", "ReplicaSet", True, ["rs"], ["all"], True),
    (("apps", "v1"), "statefulsets", "StatefulSet", True, ["sts"], ["all"], True),
    (("rbac.authorization.k8s.io", "v1"), "roles", "Role", True, [], [], False),
    (("rbac.authorization.k8s.io", "v1"), "rolebindings", "RoleBinding", True, [], [], False),
    (("rbac.authorization.k8s.io", "v1"), "clusterroles", "ClusterRole", False, [], [], False),
    (("rbac.authorization.k8s.io", "v1"), "clusterrolebindings", "ClusterRoleBinding", False, [], [], False),
    (("storage.k8s.io", "v1"), "storageclasses", "StorageClass", False, ["sc"], [], False),
    (("networking.k8s.io", "v1"), "ingresses", "Ingress", True, ["ing"], [], True),
    (("networking.k8s.io", "v1"), "ingressclasses", "IngressClass", False, [], [], False),
    (("networking.k8s.io", "v1"), "networkpolicies", "NetworkPolicy", True, ["netpol"], [], False),
    (("batch", "v1"), "jobs", "Job", True, [], ["all"], True),
    (("admissionregistration.k8s.io", "v1"), "validatingwebhookconfigurations",
     "ValidatingWebhookConfiguration", False, [], ["api-extensions"], False),
    (("admissionregistration.k8s.io", "v1"), "mutatingwebhookconfigurations",
     "MutatingWebhookConfiguration", False, [], ["api-extensions"], False),
    (("discovery.k8s.io", "v1"), "endpointslices", "EndpointSlice", True, [], [], False),
    (("policy", "v1"), "poddisruptionbudgets", "PodDisruptionBudget", True, ["pdb"], [], True),
    (("apiextensions.k8s.io", "v1"), "customresourcedefinitions", "CustomResourceDefinition", False,
     ["crd", "crds"], ["api-extensions"], True),
    (("apiregistration.k8s.io", "v1"), "apiservices", "APIService", False, [], ["api-extensions"], True),
]

# Kinds whose metadata.generation tracks spec changes, as in the real registry.
GENERATION_KINDS = {"Deployment", "DaemonSet", "ReplicaSet", "StatefulSet", "Job", "Ingress",
                    "NetworkPolicy", "PodDisruptionBudget", "CustomResourceDefinition"}
SCALABLE = {"Deployment", "ReplicaSet", "StatefulSet"}
INITIAL_NAMESPACES = ["default", "kube-node-lease", "kube-public", "kube-system"]
SERVICE_NET = ipaddress.ip_network("10.96.0.0/12")
# Dynamic ClusterIPs come from above the static band (the first 256 addresses),
# as the real allocator prefers, so a later fixed IP like 10.96.0.10 stays free.
DYNAMIC_IP_START = int(SERVICE_NET.network_address) + 257
NODEPORT_MIN, NODEPORT_MAX = 30000, 32767
DYNAMIC_NODEPORT_START = 31000
# The node's allocatable CPUs: pods whose requests are more stay Pending (Unschedulable).
NODE_CPUS = 2
# A pull that failed shows ErrImagePull, then the kubelet backs off: ImagePullBackOff.
PULL_BACKOFF_AFTER = 2.0
SLICE_SERVICE_LABEL = "kubernetes.io/service-name"
SLICE_MANAGED_BY = "endpointslice.kubernetes.io/managed-by"
SLICE_CONTROLLER = "endpointslice-controller.k8s.io"
# TokenRequest: the shortest a token may live, the audience tokens get by default, and who they name.
TOKEN_MIN_SECONDS = 600
TOKEN_AUDIENCE = "https://kubernetes.default.svc.cluster.local"
# What an unauthenticated client may read (the system:public-info-viewer role).
PUBLIC_PATHS = ("/healthz", "/livez", "/readyz", "/version")
SYSTEM_META = ("uid", "resourceVersion", "creationTimestamp", "generation", "managedFields",
               "deletionTimestamp", "selfLink")


class Resource:
    """One REST resource: where it lives in the URL space and what it is."""

    def __init__(self, group, version, plural, kind, namespaced, short=(), categories=(),
                 status=False, crd=False):
        self.group, self.version, self.plural, self.kind = group, version, plural, kind
        self.namespaced, self.short, self.categories = namespaced, list(short), list(categories)
        self.status, self.crd = status, crd
        self.api_version = version if not group else group + "/" + version
        self.verbs = NS_VERBS if plural == "namespaces" else ALL_VERBS

    def qualified(self):
        return self.plural if not self.group else self.plural + "." + self.group


class ApiError(Exception):
    """An error that becomes a metav1.Status response."""

    def __init__(self, code, reason, message, details=None):
        super().__init__(message)
        self.code, self.reason, self.message, self.details = code, reason, message, details


def status_body(code, reason, message, details=None):
    body = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
            "message": message, "reason": reason}
    if details is not None:
        body["details"] = details
    body["code"] = code
    return body


def not_found(res, name):
    d = {"name": name, "kind": res.plural}
    if res.group:
        d["group"] = res.group
    return ApiError(404, "NotFound", '%s "%s" not found' % (res.qualified(), name), d)


def invalid(res, name, causes):
    """causes: list of (field, message-after-field, cause-reason)."""
    msgs = ["%s: %s" % (f, m) for f, m, _ in causes]
    text = msgs[0] if len(msgs) == 1 else "[" + ", ".join(msgs) + "]"
    group_kind = res.kind if not res.group else res.kind + "." + res.group
    d = {"name": name, "kind": res.kind,
         "causes": [{"reason": r, "message": m, "field": f} for f, m, r in causes]}
    if res.group:
        d["group"] = res.group
    return ApiError(422, "Invalid", '%s "%s" is invalid: %s' % (group_kind, name, text), d)


def bad_request(message):
    return ApiError(400, "BadRequest", message, {})


def server_minor(version):
    """33 for "v1.33.0"."""
    try:
        return int(version.lstrip("v").split(".")[1])
    except (IndexError, ValueError):
        return 0


def short_hash(text, n):
    """N characters of the alphabet Kubernetes uses for generated name suffixes."""
    alphabet = "bcdfghjklmnpqrstvwxz2456789"
    v = int.from_bytes(uuid.uuid5(uuid.NAMESPACE_OID, text).bytes * 4, "big")
    out = ""
    for _ in range(n):
        v, r = divmod(v, len(alphabet))
        out += alphabet[r]
    return out


def now_ts(t=None):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() if t is None else t))


def deepcopy(o):
    # json round-trip is faster than copy.deepcopy for plain JSON trees
    return json.loads(json.dumps(o))


# ---------------------------------------------------------------- selectors

def _split_top(s):
    parts, depth, cur = [], 0, ""
    for ch in s:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append(cur)
            cur = ""
        else:
            cur += ch
    parts.append(cur)
    return [p.strip() for p in parts if p.strip()]


def parse_label_selector(s):
    """Returns a predicate over a labels dict; raises ApiError on bad syntax."""
    reqs = []
    for term in _split_top(s or ""):
        low = term.replace("\t", " ")
        for op in (" notin ", " in "):
            if op in low:
                key, vals = low.split(op, 1)
                vals = vals.strip()
                if not (vals.startswith("(") and vals.endswith(")")):
                    raise bad_request("unable to parse requirement: found '%s', expected: '('" % vals)
                vs = {v.strip() for v in vals[1:-1].split(",") if v.strip()}
                reqs.append((op.strip(), key.strip(), vs))
                break
        else:
            if "!=" in term:
                k, v = term.split("!=", 1)
                reqs.append(("!=", k.strip(), v.strip()))
            elif "==" in term:
                k, v = term.split("==", 1)
                reqs.append(("=", k.strip(), v.strip()))
            elif "=" in term:
                k, v = term.split("=", 1)
                reqs.append(("=", k.strip(), v.strip()))
            elif term.startswith("!"):
                reqs.append(("!", term[1:].strip(), None))
            else:
                if any(c in term for c in "<>() "):
                    raise bad_request("unable to parse requirement: invalid label key \"%s\"" % term)
                reqs.append(("exists", term, None))

    def match(labels):
        labels = labels or {}
        for op, k, v in reqs:
            has = k in labels
            if op == "=" and (not has or labels[k] != v):
                return False
            if op == "!=" and has and labels[k] == v:
                return False
            if op == "in" and (not has or labels[k] not in v):
                return False
            if op == "notin" and has and labels[k] in v:
                return False
            if op == "exists" and not has:
                return False
            if op == "!" and has:
                return False
        return True
    return match


def _field_value(obj, path):
    cur = obj
    for p in path.split("."):
        if not isinstance(cur, dict) or p not in cur:
            return ""
        cur = cur[p]
    return cur if isinstance(cur, str) else json.dumps(cur) if not isinstance(cur, bool) else str(cur).lower()


def parse_field_selector(s):
    reqs = []
    for term in _split_top(s or ""):
        if "!=" in term:
            k, v = term.split("!=", 1)
            reqs.append((False, k.strip(), v.strip()))
        elif "==" in term:
            k, v = term.split("==", 1)
            reqs.append((True, k.strip(), v.strip()))
        elif "=" in term:
            k, v = term.split("=", 1)
            reqs.append((True, k.strip(), v.strip()))
        else:
            raise bad_request('invalid selector: \'%s\'; can\'t understand \'%s\'' % (s, term))

    def match(obj):
        for eq, k, v in reqs:
            if (_field_value(obj, k) == v) != eq:
                return False
        return True
    return match


# ---------------------------------------------------------------- patches

def merge_patch(target, patch):
    """RFC 7386 JSON merge patch."""
    if not isinstance(patch, dict):
        return deepcopy(patch)
    out = dict(target) if isinstance(target, dict) else {}
    for k, v in patch.items():
        if v is None:
            out.pop(k, None)
        else:
            out[k] = merge_patch(out.get(k), v)
    return out


_SMP_KEYS = ("name", "containerPort", "port", "mountPath", "devicePath", "ip", "type", "topologyKey")


def strategic_merge(target, patch):
    """A useful subset of strategic merge patch: maps merge, lists of objects merge by a
    well-known key (name, port, ...), $patch/$setElementOrder directives are honoured or dropped."""
    if not isinstance(patch, dict):
        return deepcopy(patch)
    if patch.get("$patch") == "replace":
        return {k: v for k, v in patch.items() if k != "$patch"}
    if patch.get("$patch") == "delete":
        return None
    out = dict(target) if isinstance(target, dict) else {}
    for k, v in patch.items():
        if k.startswith("$"):
            continue
        if v is None:
            out.pop(k, None)
            continue
        old = out.get(k)
        if isinstance(v, list) and isinstance(old, list) and v and all(isinstance(e, dict) for e in v) \
                and all(isinstance(e, dict) for e in old):
            key = next((mk for mk in _SMP_KEYS if all(mk in e for e in v)), None)
            if key is None:
                out[k] = deepcopy(v)
                continue
            merged = [dict(e) for e in old]
            for e in v:
                idx = next((i for i, o in enumerate(merged) if o.get(key) == e.get(key)), None)
                if e.get("$patch") == "delete":
                    if idx is not None:
                        merged.pop(idx)
                elif idx is None:
                    merged.append(strategic_merge({}, e))
                else:
                    merged[idx] = strategic_merge(merged[idx], e)
            out[k] = merged
        elif isinstance(v, dict):
            r = strategic_merge(old, v)
            if r is None:
                out.pop(k, None)
            else:
                out[k] = r
        else:
            out[k] = deepcopy(v)
    return out


def _pointer(path):
    if path == "":
        return []
    if not path.startswith("/"):
        raise bad_request("invalid JSON pointer %r" % path)
    return [p.replace("~1", "/").replace("~0", "~") for p in path[1:].split("/")]


def json_patch(doc, ops):
    doc = deepcopy(doc)
    if not isinstance(ops, list):
        raise bad_request("json patch must be a list of operations")
    for op in ops:
        parts = _pointer(op.get("path", ""))
        if not parts:
            raise bad_request("json patch on the whole document is not supported")
        parent = doc
        for p in parts[:-1]:
            try:
                parent = parent[int(p)] if isinstance(parent, list) else parent[p]
            except (KeyError, IndexError, ValueError):
                raise ApiError(422, "Invalid", "the server rejected our request due to an error in our "
                               "request: doc is missing path: \"%s\"" % op.get("path"), {})
        last, kind = parts[-1], op.get("op")
        try:
            if kind == "add":
                if isinstance(parent, list):
                    parent.insert(len(parent) if last == "-" else int(last), op.get("value"))
                else:
                    parent[last] = op.get("value")
            elif kind == "replace":
                if isinstance(parent, list):
                    parent[int(last)] = op.get("value")
                else:
                    if last not in parent:
                        raise KeyError(last)
                    parent[last] = op.get("value")
            elif kind == "remove":
                if isinstance(parent, list):
                    parent.pop(int(last))
                else:
                    del parent[last]
            elif kind == "test":
                cur = parent[int(last)] if isinstance(parent, list) else parent[last]
                if cur != op.get("value"):
                    raise ApiError(422, "Invalid", "the server rejected our request due to an error in "
                                   "our request: testing value %s failed" % op.get("path"), {})
            else:
                raise bad_request("unsupported json patch operation %r" % kind)
        except (KeyError, IndexError, ValueError):
            raise ApiError(422, "Invalid", "the server rejected our request due to an error in our "
                           "request: doc is missing path: \"%s\"" % op.get("path"), {})
    return doc


# ---------------------------------------------------------------- managed fields
# Ownership is tracked per manager as a set of leaf paths. Maps are walked,
# lists and scalars are atomic leaves: coarser than the real structured-merge
# (which merges lists by key) but with the same shape of behaviour: conflicts
# between managers, force, and removal of fields a manager stops applying.

def leaf_paths(obj, prefix=()):
    out = set()
    for k, v in obj.items():
        p = prefix + (k,)
        if isinstance(v, dict) and v:
            out |= leaf_paths(v, p)
        else:
            out.add(p)
    return out


def applied_paths(cfg):
    out = set()
    for p in leaf_paths(cfg):
        if p[0] in ("apiVersion", "kind", "status"):
            continue
        if p[0] == "metadata" and (len(p) < 2 or p[1] in ("name", "namespace") + SYSTEM_META):
            continue
        out.add(p)
    return out


def get_path(obj, p):
    cur = obj
    for k in p:
        if not isinstance(cur, dict) or k not in cur:
            return None, False
        cur = cur[k]
    return cur, True


def set_path(obj, p, v):
    cur = obj
    for k in p[:-1]:
        if not isinstance(cur.get(k), dict):
            cur[k] = {}
        cur = cur[k]
    cur[p[-1]] = deepcopy(v)


def del_path(obj, p):
    chain = [obj]
    cur = obj
    for k in p[:-1]:
        cur = cur.get(k) if isinstance(cur, dict) else None
        if not isinstance(cur, dict):
            return
        chain.append(cur)
    chain[-1].pop(p[-1], None)
    for i in range(len(p) - 2, 0, -1):  # prune maps left empty, never the top-level ones
        if not chain[i + 1]:
            chain[i].pop(p[i], None)


def is_subset(a, b):
    if isinstance(a, dict):
        return isinstance(b, dict) and all(k in b and is_subset(v, b[k]) for k, v in a.items())
    if isinstance(a, list):
        return isinstance(b, list) and len(a) == len(b) and all(is_subset(x, y) for x, y in zip(a, b))
    return a == b


def paths_to_fields(paths):
    tree = {}
    for p in sorted(paths):
        cur = tree
        for k in p:
            cur = cur.setdefault("f:" + k, {})
    return tree


def fields_to_paths(tree, prefix=()):
    out = set()
    for k, v in tree.items():
        if not k.startswith("f:"):
            continue
        p = prefix + (k[2:],)
        if v:
            out |= fields_to_paths(v, p)
        else:
            out.add(p)
    return out


def changed_paths(old, new):
    """Leaf paths of new whose value differs from old (user-visible fields only)."""
    return {p for p in applied_paths(new) if get_path(old, p) != get_path(new, p)}


# ---------------------------------------------------------------- the store

class Store:
    def __init__(self, args):
        self.lock = threading.Lock()
        self.changed = threading.Condition(self.lock)
        self.args = args
        self.rv = 0
        self.objs = {}          # (group, plural) -> {(ns, name): obj}
        self.created = {}       # uid -> float creation time (finer than the timestamp)
        self.pod_ip = {}        # uid -> last octet of the fake pod IP
        self.next_pod_ip = 10
        self.pod_owner = {}     # (ns, pod name) -> uid of the workload whose pod it is
        self.terminating = {}   # namespace -> time it is finally removed
        self.next_ip = DYNAMIC_IP_START
        self.next_nodeport = DYNAMIC_NODEPORT_START
        self.resources = {}     # (group, version, plural) -> Resource
        self.tokens = {}        # bearer token -> (user name, expiry time) from TokenRequest
        self.by_group = {}      # group -> [versions]
        for (g, v), plural, kind, nsd, short, cats, st in _T:
            self.add_resource(Resource(g, v, plural, kind, nsd, short, cats, st))
        self.pull_errors = dict(spec.partition("=")[::2] for spec in args.image_pull_error or [])
        self.crash_images = set(args.crash_loop or [])
        self.not_ready_images = set(args.not_ready or [])
        self.pod_logs = {k: v.replace("\\n", "\n") for k, v in
                         (spec.partition("=")[::2] for spec in args.pod_log or [])}
        self.deny = {}
        for spec in args.admission_deny or []:
            target, _, msg = spec.partition("=")
            kind, _, name = target.partition("/")
            self.deny[(kind.lower(), name)] = msg or "denied by --admission-deny"
        with self.lock:
            self.seed()

    # --- resources

    def add_resource(self, r):
        self.resources[(r.group, r.version, r.plural)] = r
        vs = self.by_group.setdefault(r.group, [])
        if r.version not in vs:
            vs.append(r.version)

    def remove_crd_resources(self, group, plural):
        for key in [k for k, r in self.resources.items() if r.crd and r.group == group and r.plural == plural]:
            del self.resources[key]
        if not any(r.group == group for r in self.resources.values()):
            self.by_group.pop(group, None)
        else:
            self.by_group[group] = sorted({r.version for r in self.resources.values() if r.group == group},
                                          key=lambda v: self.by_group[group].index(v)
                                          if v in self.by_group[group] else 99)

    def register_crd(self, crd):
        spec = crd.get("spec", {})
        names = spec.get("names", {})
        group, plural = spec.get("group"), names.get("plural")
        if not group or not plural:
            return
        self.remove_crd_resources(group, plural)
        for ver in spec.get("versions", []):
            if ver.get("served", True):
                self.add_resource(Resource(group, ver.get("name"), plural, names.get("kind", ""),
                                           spec.get("scope", "Namespaced") == "Namespaced",
                                           names.get("shortNames", []), names.get("categories", []),
                                           "status" in (ver.get("subresources") or {}), crd=True))
        crd["status"] = {
            "acceptedNames": {k: v for k, v in names.items() if k in ("kind", "listKind", "plural",
                                                                      "singular", "shortNames")},
            "conditions": [
                {"type": "NamesAccepted", "status": "True", "reason": "NoConflicts",
                 "message": "no conflicts found", "lastTransitionTime": now_ts()},
                {"type": "Established", "status": "True", "reason": "InitialNamesAccepted",
                 "message": "the initial names have been accepted", "lastTransitionTime": now_ts()}],
            "storedVersions": [v.get("name") for v in spec.get("versions", []) if v.get("storage")]}

    def lookup(self, group, version, plural):
        return self.resources.get((group, version, plural))

    def group_resources(self, group, version):
        return [r for (g, v, _), r in self.resources.items() if g == group and v == version]

    # --- bookkeeping

    def bump(self):
        self.rv += 1
        self.changed.notify_all()
        return str(self.rv)

    def table(self, res):
        return self.objs.setdefault((res.group, res.plural), {})

    def res_for_kind(self, group, kind):
        for r in self.resources.values():
            if r.group == group and r.kind == kind:
                return r
        return None

    def ns_exists(self, ns):
        return ("", ns) in self.objs.get(("", "namespaces"), {})

    def require_live_ns(self, res, ns, name):
        """The NamespaceLifecycle admission: nothing new in a namespace being deleted."""
        if res.namespaced and ns in self.terminating:
            raise ApiError(403, "Forbidden", '%s "%s" is forbidden: unable to create new content in namespace %s '
                           'because it is being terminated' % (res.qualified(), name, ns),
                           dict({"name": name, "kind": res.plural,
                                 "causes": [{"reason": "NamespaceTerminating",
                                             "message": "namespace %s is being terminated" % ns,
                                             "field": "metadata.namespace"}]},
                                **({"group": res.group} if res.group else {})))

    def terminate_namespace(self, name):
        """DELETE of a namespace: its content goes at once; with --namespace-terminate-after the
        Namespace itself stays, Terminating, for that long (the namespace controller's work)."""
        nsr = self.lookup("", "v1", "namespaces")
        obj = self.table(nsr)[("", name)]
        if name not in self.terminating:
            for (g, plural), tbl in list(self.objs.items()):
                for key in [k for k in tbl if k[0] == name and plural != "namespaces"]:
                    del tbl[key]
            self.terminating[name] = time.time() + self.args.namespace_terminate_after
            obj["metadata"]["deletionTimestamp"] = now_ts()
            obj["status"] = {"phase": "Terminating", "conditions": [
                {"type": "NamespaceContentRemaining", "status": "False", "reason": "ContentRemoved",
                 "message": "All content successfully removed", "lastTransitionTime": now_ts()}]}
            obj["metadata"]["resourceVersion"] = self.bump()
        return obj

    def tick(self):
        """What controllers would have done by now: terminated namespaces go, workloads have pods."""
        for name, until in list(self.terminating.items()):
            if time.time() >= until:
                del self.terminating[name]
                self.remove(self.lookup("", "v1", "namespaces"), None, name)
        self.sync_pods()

    def seed(self):
        nsr = self.lookup("", "v1", "namespaces")
        for ns in INITIAL_NAMESPACES:
            self.insert(nsr, None, {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}},
                        "kube-apiserver", "Update")
        node = {"apiVersion": "v1", "kind": "Node", "metadata": {"name": self.args.node_name, "labels": {
            "beta.kubernetes.io/arch": "amd64", "beta.kubernetes.io/os": "linux",
            "kubernetes.io/arch": "amd64", "kubernetes.io/hostname": self.args.node_name,
            "kubernetes.io/os": "linux", "node-role.kubernetes.io/control-plane": "",
            "node.kubernetes.io/exclude-from-external-load-balancers": ""}},
            "spec": {"podCIDR": "10.244.0.0/24", "podCIDRs": ["10.244.0.0/24"]}}
        self.insert(self.lookup("", "v1", "nodes"), None, node, "kubelet", "Update")
        t = now_ts()
        node["status"] = {
            "addresses": [{"type": "InternalIP", "address": self.args.node_ip},
                          {"type": "Hostname", "address": self.args.node_name}],
            "allocatable": {"cpu": "2", "memory": "3800Mi", "pods": "110", "ephemeral-storage": "18Gi"},
            "capacity": {"cpu": "2", "memory": "4000Mi", "pods": "110", "ephemeral-storage": "20Gi"},
            "conditions": [
                {"type": "MemoryPressure", "status": "False", "reason": "KubeletHasSufficientMemory",
                 "message": "kubelet has sufficient memory available",
                 "lastHeartbeatTime": t, "lastTransitionTime": t},
                {"type": "DiskPressure", "status": "False", "reason": "KubeletHasNoDiskPressure",
                 "message": "kubelet has no disk pressure", "lastHeartbeatTime": t, "lastTransitionTime": t},
                {"type": "PIDPressure", "status": "False", "reason": "KubeletHasSufficientPID",
                 "message": "kubelet has sufficient PID available",
                 "lastHeartbeatTime": t, "lastTransitionTime": t},
                {"type": "Ready", "status": "True", "reason": "KubeletReady",
                 "message": "kubelet is posting ready status", "lastHeartbeatTime": t, "lastTransitionTime": t}],
            "nodeInfo": {"architecture": "amd64", "containerRuntimeVersion": "containerd://1.7.24",
                         "kernelVersion": "5.14.0", "kubeProxyVersion": self.args.kubernetes_version,
                         "kubeletVersion": self.args.kubernetes_version, "operatingSystem": "linux",
                         "osImage": "CentOS Stream 9", "machineID": "0" * 32, "systemUUID": str(uuid.uuid4()),
                         "bootID": str(uuid.uuid4())}}
        svc = {"apiVersion": "v1", "kind": "Service",
               "metadata": {"name": "kubernetes", "namespace": "default",
                            "labels": {"component": "apiserver", "provider": "kubernetes"}},
               "spec": {"clusterIP": str(SERVICE_NET.network_address + 1),
                        "ports": [{"name": "https", "port": 443, "protocol": "TCP", "targetPort": 6443}]}}
        self.insert(self.lookup("", "v1", "services"), "default", svc, "kube-apiserver", "Update")

    # --- admission, defaults, validation

    def admit(self, res, name):
        for key in ((res.kind.lower(), name), (res.plural, name), (res.qualified(), name)):
            if key in self.deny:
                raise ApiError(400, "BadRequest", self.deny[key], {})

    def used_ips(self, skip=None):
        used = set()
        for key, s in self.table(self.lookup("", "v1", "services")).items():
            if key != skip:
                used.update(s.get("spec", {}).get("clusterIPs") or [])
        return used

    def used_nodeports(self, skip=None):
        used = {}
        for key, s in self.table(self.lookup("", "v1", "services")).items():
            if key != skip:
                for p in s.get("spec", {}).get("ports") or []:
                    if p.get("nodePort"):
                        used[p["nodePort"]] = key
        return used

    def prepare_service(self, res, ns, obj, old):
        name = obj["metadata"]["name"]
        spec = obj.setdefault("spec", {})
        ospec = (old or {}).get("spec", {})
        stype = spec.setdefault("type", "ClusterIP")
        key = (ns, name)
        causes = []
        if stype == "ExternalName":
            spec.pop("clusterIP", None)
            spec.pop("clusterIPs", None)
        else:
            want = spec.get("clusterIP") or (spec.get("clusterIPs") or [None])[0]
            have = ospec.get("clusterIP")
            if old and have and want and want != have:
                causes.append(("spec.clusterIPs[0]", 'Invalid value: []string{"%s"}: may not change once set' % want,
                               "FieldValueInvalid"))
                causes.append(("spec.clusterIP", 'Invalid value: "%s": field is immutable' % want,
                               "FieldValueInvalid"))
                raise invalid(res, name, causes)
            if old and have:
                want = have
            elif want and want != "None":
                try:
                    ip = ipaddress.ip_address(want)
                except ValueError:
                    raise invalid(res, name, [("spec.clusterIPs[0]", 'Invalid value: "%s": must be a valid IP address'
                                               % want, "FieldValueInvalid")])
                if ip not in SERVICE_NET:
                    raise invalid(res, name, [("spec.clusterIPs", 'Invalid value: []string{"%s"}: failed to '
                                               'allocate IP %s: the provided IP (%s) is not in the valid range. '
                                               'The range of valid IPs is %s' % (want, want, want, SERVICE_NET),
                                               "FieldValueInvalid")])
                if want in self.used_ips(skip=key):
                    raise invalid(res, name, [("spec.clusterIPs", 'Invalid value: []string{"%s"}: failed to '
                                               'allocate IP %s: provided IP is already allocated' % (want, want),
                                               "FieldValueInvalid")])
            elif not want:
                used = self.used_ips(skip=key)
                hi = int(SERVICE_NET.broadcast_address)
                n = self.next_ip
                while str(ipaddress.ip_address(n)) in used:
                    n = n + 1 if n < hi - 1 else DYNAMIC_IP_START
                want = str(ipaddress.ip_address(n))
                self.next_ip = n + 1 if n < hi - 1 else DYNAMIC_IP_START
            spec["clusterIP"] = want
            spec["clusterIPs"] = [want]
            spec.setdefault("ipFamilies", ["IPv4"])
            spec.setdefault("ipFamilyPolicy", "SingleStack")
            spec.setdefault("sessionAffinity", "None")
            spec.setdefault("internalTrafficPolicy", "Cluster")
        needs_np = stype in ("NodePort", "LoadBalancer")
        if needs_np:
            spec.setdefault("externalTrafficPolicy", "Cluster")
        else:
            spec.pop("externalTrafficPolicy", None)
        old_np = {}
        for p in ospec.get("ports") or []:
            if p.get("nodePort"):
                old_np[(p.get("port"), p.get("protocol", "TCP"))] = p["nodePort"]
        used = self.used_nodeports(skip=key)
        mine = set()
        ports = spec.get("ports") or []
        for i, p in enumerate(ports):
            p.setdefault("protocol", "TCP")
            if "targetPort" not in p and "port" in p:
                p["targetPort"] = p["port"]
            np = p.get("nodePort")
            if np and not needs_np:
                if stype == "ClusterIP" and not old:
                    causes.append(("spec.ports[%d].nodePort" % i,
                                   "Forbidden: may not be used when `type` is 'ClusterIP'", "FieldValueForbidden"))
                p.pop("nodePort", None)
                continue
            if not needs_np:
                continue
            if np:
                if not NODEPORT_MIN <= np <= NODEPORT_MAX:
                    causes.append(("spec.ports[%d].nodePort" % i, "Invalid value: %d: provided port is not in the "
                                   "valid range. The range of valid ports is %d-%d" % (np, NODEPORT_MIN, NODEPORT_MAX),
                                   "FieldValueInvalid"))
                elif np in used or np in mine:
                    causes.append(("spec.ports[%d].nodePort" % i,
                                   "Invalid value: %d: provided port is already allocated" % np, "FieldValueInvalid"))
                mine.add(np)
        if causes:
            raise invalid(res, name, causes)
        if needs_np:
            for p in ports:
                if p.get("nodePort"):
                    continue
                reuse = old_np.get((p.get("port"), p.get("protocol")))
                if reuse and reuse not in used and reuse not in mine:
                    p["nodePort"] = reuse
                else:
                    n = self.next_nodeport
                    for _ in range(NODEPORT_MAX - NODEPORT_MIN + 1):
                        if n not in used and n not in mine:
                            break
                        n = n + 1 if n < NODEPORT_MAX else NODEPORT_MIN
                    else:
                        raise ApiError(500, "InternalError", "range is full", {})
                    p["nodePort"] = n
                    self.next_nodeport = n + 1 if n < NODEPORT_MAX else NODEPORT_MIN
                mine.add(p["nodePort"])
        if stype == "LoadBalancer":
            obj.setdefault("status", {}).setdefault("loadBalancer", {})
        else:
            obj["status"] = {"loadBalancer": {}}

    def prepare(self, res, ns, obj, old):
        """Defaults and kind-specific validation before a write."""
        kind = res.kind
        md = obj["metadata"]
        if kind == "Service":
            self.prepare_service(res, ns, obj, old)
        elif kind == "CustomResourceDefinition" and not res.crd:
            # KEP-1111: the API groups Kubernetes owns need an approval annotation.
            group = (obj.get("spec") or {}).get("group") or ""
            protected = any(group == d or group.endswith("." + d) for d in ("k8s.io", "kubernetes.io"))
            if protected and not (md.get("annotations") or {}).get("api-approved.kubernetes.io"):
                raise invalid(res, md["name"], [("metadata.annotations[api-approved.kubernetes.io]",
                                                 'Required value: protected groups must have approval annotation '
                                                 '"api-approved.kubernetes.io", see '
                                                 "https://github.com/kubernetes/enhancements/pull/1111",
                                                 "FieldValueRequired")])
        elif kind == "Namespace":
            md.setdefault("labels", {})["kubernetes.io/metadata.name"] = md["name"]
            obj["spec"] = {"finalizers": ["kubernetes"]}
            obj["status"] = {"phase": "Active"}
        elif kind in ("Deployment", "StatefulSet", "ReplicaSet"):
            spec = obj.setdefault("spec", {})
            spec.setdefault("replicas", 1)
            spec.setdefault("revisionHistoryLimit", 10)
            if kind == "Deployment":
                spec.setdefault("progressDeadlineSeconds", 600)
                spec.setdefault("strategy", {"type": "RollingUpdate",
                                             "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}})
            sel = (spec.get("selector") or {}).get("matchLabels") or {}
            tl = ((spec.get("template") or {}).get("metadata") or {}).get("labels") or {}
            if not spec.get("selector"):
                raise invalid(res, md["name"], [("spec.selector", "Required value", "FieldValueRequired")])
            if any(tl.get(k) != v for k, v in sel.items()):
                raise invalid(res, md["name"], [("spec.template.metadata.labels", 'Invalid value: %s: `selector` '
                                                 'does not match template `labels`' % json.dumps(tl),
                                                 "FieldValueInvalid")])
            if old and old.get("spec", {}).get("selector") != spec.get("selector"):
                raise invalid(res, md["name"], [("spec.selector", "Invalid value: %s: field is immutable"
                                                 % json.dumps(spec.get("selector")), "FieldValueInvalid")])
        elif kind == "DaemonSet":
            spec = obj.setdefault("spec", {})
            spec.setdefault("revisionHistoryLimit", 10)
            spec.setdefault("updateStrategy", {"type": "RollingUpdate",
                                               "rollingUpdate": {"maxSurge": 0, "maxUnavailable": 1}})
        elif kind == "StorageClass":
            obj.setdefault("reclaimPolicy", "Delete")
            obj.setdefault("volumeBindingMode", "Immediate")
            # storage/validation: these never change once the class exists
            changed = [f for f in ("parameters", "provisioner", "reclaimPolicy", "volumeBindingMode")
                       if old and old.get(f) != obj.get(f)]
            if changed:
                raise invalid(res, md["name"], [(f, "Forbidden: updates to %s are forbidden." % f,
                                                 "FieldValueForbidden") for f in changed])
        elif kind == "PersistentVolumeClaim":
            req = ((obj.get("spec") or {}).get("resources") or {}).get("requests") or {}
            obj["status"] = {"phase": "Bound", "accessModes": obj.get("spec", {}).get("accessModes", []),
                             "capacity": {"storage": req.get("storage", "1Gi")}}
        elif kind == "PersistentVolume":
            obj.setdefault("status", {"phase": "Available"})
        elif kind == "Pod":
            obj.setdefault("status", {"phase": "Pending"})
        elif kind == "ServiceAccount" or kind == "ConfigMap" or kind == "Secret":
            if kind == "Secret":
                obj.setdefault("type", "Opaque")

    # --- core writes (called with the lock held)

    def insert(self, res, ns, obj, manager, operation, dry_run=False):
        md = obj["metadata"]
        if not dry_run:
            uid = str(uuid.uuid4())
            md["uid"] = uid
            md["creationTimestamp"] = now_ts()
            self.created[uid] = time.time()
        else:
            md["uid"] = str(uuid.uuid4())
            md["creationTimestamp"] = now_ts()
        if res.namespaced:
            md["namespace"] = ns
        if res.kind in GENERATION_KINDS or res.crd:
            md["generation"] = 1
        paths = applied_paths(obj)  # before defaulting: nobody owns defaulted fields
        self.prepare(res, ns, obj, None)
        md["managedFields"] = [self.mf_entry(res, manager, operation, paths)] if paths else []
        if dry_run:
            md["resourceVersion"] = str(self.rv)
            return obj
        md["resourceVersion"] = self.bump()
        self.table(res)[(ns or "", md["name"])] = obj
        self.after_write(res, ns, obj, None)
        return obj

    def mf_entry(self, res, manager, operation, paths):
        return {"manager": manager, "operation": operation, "apiVersion": res.api_version,
                "time": now_ts(), "fieldsType": "FieldsV1", "fieldsV1": paths_to_fields(paths)}

    def replace(self, res, ns, old, new, manager, operation, owner_paths=None, dry_run=False, status=False):
        """Stores new in place of old, keeping system fields, bumping rv/generation when something changed."""
        omd, nmd = old["metadata"], new["metadata"]
        for k in ("uid", "creationTimestamp", "generation", "deletionTimestamp"):
            if k in omd:
                nmd[k] = omd[k]
            else:
                nmd.pop(k, None)
        nmd["name"] = omd["name"]
        if res.namespaced:
            nmd["namespace"] = ns
        new["apiVersion"], new["kind"] = old.get("apiVersion", res.api_version), old.get("kind", res.kind)
        if status:
            keep = deepcopy(old)
            keep["status"] = new.get("status", {})
            new = keep
            nmd = new["metadata"]
        elif "status" in old:
            new["status"] = deepcopy(old["status"])
        else:
            new.pop("status", None)
        self.prepare(res, ns, new, old)
        # managed fields
        entries = [e for e in (omd.get("managedFields") or [])]
        if owner_paths is None:  # an Update: the manager takes the fields it changed
            owner_paths = changed_paths(old, new)
            merge_into_existing = True
        else:
            merge_into_existing = False
        mf = []
        mine = None
        for e in entries:
            ps = fields_to_paths(e.get("fieldsV1") or {})
            if e["manager"] == manager and e.get("operation") == operation:
                mine = ps if merge_into_existing else set()
                continue
            ps -= owner_paths if operation == "Update" else set()
            if ps:
                mf.append((e, ps))
        newmine = (mine or set()) | owner_paths
        entries = [dict(e, fieldsV1=paths_to_fields(ps)) for e, ps in mf]
        if newmine:
            entries.append(self.mf_entry(res, manager, operation, newmine))
        nmd["managedFields"] = entries
        spec_changed = {k: v for k, v in old.items() if k not in ("metadata", "status")} != \
            {k: v for k, v in new.items() if k not in ("metadata", "status")}
        strip = ("resourceVersion", "managedFields")
        meta_changed = {k: v for k, v in omd.items() if k not in strip} != \
            {k: v for k, v in nmd.items() if k not in strip}
        if not spec_changed and not meta_changed and old.get("status") == new.get("status") \
                and self._same_owners(omd.get("managedFields"), entries):
            return old, False
        if spec_changed and "generation" in nmd:
            nmd["generation"] = nmd["generation"] + 1
        if dry_run:
            nmd["resourceVersion"] = omd["resourceVersion"]
            return new, True
        nmd["resourceVersion"] = self.bump()
        self.table(res)[(ns or "", nmd["name"])] = new
        self.after_write(res, ns, new, old)
        return new, True

    @staticmethod
    def _same_owners(a, b):
        def norm(es):
            return sorted((e["manager"], e.get("operation"), json.dumps(e.get("fieldsV1"), sort_keys=True))
                          for e in es or [])
        return norm(a) == norm(b)

    def remove(self, res, ns, name):
        obj = self.table(res).pop((ns or "", name))
        self.bump()
        self.created.pop(obj["metadata"].get("uid"), None)
        if res.kind == "Namespace":
            for (g, plural), tbl in list(self.objs.items()):
                for key in [k for k in tbl if k[0] == name and plural != "namespaces"]:
                    del tbl[key]
            self.bump()
        elif res.kind == "Service":
            eps = self.table(self.lookup("", "v1", "endpoints"))
            if eps.pop((ns, name), None) is not None:
                self.bump()
            slices = self.table(self.lookup("discovery.k8s.io", "v1", "endpointslices"))
            for key in [k for k, o in slices.items() if k[0] == ns and
                        (o["metadata"].get("labels") or {}).get(SLICE_SERVICE_LABEL) == name]:
                del slices[key]
                self.bump()
        elif res.kind == "CustomResourceDefinition":
            spec = obj.get("spec", {})
            self.remove_crd_resources(spec.get("group"), spec.get("names", {}).get("plural"))
            for key in [k for k in self.objs if k == (spec.get("group"), spec.get("names", {}).get("plural"))]:
                del self.objs[key]
        return obj

    def after_write(self, res, ns, obj, old):
        if res.kind == "Service" and obj.get("spec", {}).get("selector"):
            epr = self.lookup("", "v1", "endpoints")
            eps = self.table(epr)
            name = obj["metadata"]["name"]
            if (ns, name) not in eps:
                ep = {"apiVersion": "v1", "kind": "Endpoints",
                      "metadata": {"name": name, "namespace": ns}}
                if obj["metadata"].get("labels"):
                    ep["metadata"]["labels"] = dict(obj["metadata"]["labels"])
                self.insert(epr, ns, ep, "kube-controller-manager", "Update")
                ep["metadata"]["annotations"] = {"endpoints.kubernetes.io/managed-by": "fake-kube-apiserver"}
            self.refresh(epr, eps[(ns, name)])
            esr = self.lookup("discovery.k8s.io", "v1", "endpointslices")
            if not any((o["metadata"].get("labels") or {}).get(SLICE_SERVICE_LABEL) == name
                       for (sns, _), o in self.table(esr).items() if sns == ns):
                labels = dict(obj["metadata"].get("labels") or {})
                labels.update({SLICE_SERVICE_LABEL: name, SLICE_MANAGED_BY: SLICE_CONTROLLER})
                es = {"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
                      "metadata": {"name": "%s-%s" % (name, short_hash(obj["metadata"]["uid"], 5)),
                                   "labels": labels,
                                   "ownerReferences": [{"apiVersion": "v1", "kind": "Service", "name": name,
                                                        "uid": obj["metadata"]["uid"], "controller": True,
                                                        "blockOwnerDeletion": True}]},
                      "addressType": "IPv4", "endpoints": None, "ports": None}
                self.insert(esr, ns, es, "endpointslice-controller", "Update")
                self.refresh(esr, es)
        elif res.kind == "Namespace" and not old:
            sar = self.lookup("", "v1", "serviceaccounts")
            if (obj["metadata"]["name"], "default") not in self.table(sar):
                self.insert(sar, obj["metadata"]["name"],
                            {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "default"}},
                            "kube-controller-manager", "Update")
        elif res.kind == "CustomResourceDefinition":
            self.register_crd(obj)
        elif res.kind == "Job" and not old:
            t = now_ts()
            obj["status"] = {"startTime": t, "completionTime": t, "succeeded": 1, "active": 0,
                             "ready": 0, "terminating": 0, "uncountedTerminatedPods": {},
                             "conditions": [
                                 {"type": "SuccessCriteriaMet", "status": "True", "reason": "CompletionsReached",
                                  "message": "Reached expected number of succeeded pods",
                                  "lastProbeTime": t, "lastTransitionTime": t},
                                 {"type": "Complete", "status": "True", "reason": "CompletionsReached",
                                  "message": "Reached expected number of succeeded pods",
                                  "lastProbeTime": t, "lastTransitionTime": t}]}

    # --- status computed from time (at read time, stored when it changes)

    def ready_at(self, obj, delay):
        t0 = self.created.get(obj["metadata"].get("uid"), 0)
        spec = ((obj.get("spec") or {}).get("template") or {}).get("spec") or {}
        unready = any(c.get("image", "") in self.not_ready_images for c in spec.get("containers") or [])
        return t0 + delay, time.time() >= t0 + delay and not self.pod_problem(obj) and not unready

    # --- pods of workloads (what the ReplicaSet/DaemonSet/StatefulSet controllers, the scheduler
    # and the kubelet would make of a pod template)

    def pod_problem(self, w):
        """Why the workload's pods cannot run, as (container, image, kind, reason, message) or None:
        an image in --image-pull-error, an image in --crash-loop, or CPU requests above the node's."""
        spec = ((w.get("spec") or {}).get("template") or {}).get("spec") or {}
        cpu = 0.0
        for c in (spec.get("initContainers") or []) + (spec.get("containers") or []):
            req = str(((c.get("resources") or {}).get("requests") or {}).get("cpu", "0"))
            try:
                cpu += float(req[:-1]) / 1000 if req.endswith("m") else float(req)
            except ValueError:
                pass  # the real server would have refused the quantity; nothing to schedule by here
        if cpu > NODE_CPUS:
            return (None, None, "unschedulable", "Unschedulable",
                    "0/1 nodes are available: 1 Insufficient cpu. preemption: 0/1 nodes are available: "
                    "1 No preemption victims found for incoming pod.")
        for init in (True, False):
            for c in spec.get("initContainers" if init else "containers") or []:
                image = c.get("image", "")
                if image in self.pull_errors:
                    return (c.get("name"), image, "init" if init else "", "ErrImagePull", self.pull_errors[image])
                if image in self.crash_images:
                    return (c.get("name"), image, "init" if init else "", "CrashLoopBackOff", "")
        return None

    def pod_names(self, res, w):
        md = w["metadata"]
        uid = md["uid"]
        if res.kind == "DaemonSet":
            return ["%s-%s" % (md["name"], short_hash(uid, 5))]
        n = min(int((w.get("spec") or {}).get("replicas", 1)), 5)
        if res.kind == "StatefulSet":
            return ["%s-%d" % (md["name"], i) for i in range(n)]
        template_hash = short_hash(json.dumps((w.get("spec") or {}).get("template"), sort_keys=True), 10)
        return ["%s-%s-%s" % (md["name"], template_hash, short_hash(uid + str(i), 5)) for i in range(n)]

    def sync_pods(self):
        pr = self.lookup("", "v1", "pods")
        pods = self.table(pr)
        wanted = {}
        for kind in ("deployments", "daemonsets", "statefulsets"):
            wres = self.lookup("apps", "v1", kind)
            for (ns, _), w in self.table(wres).items():
                uid = w["metadata"]["uid"]
                if uid not in self.pod_ip:
                    self.pod_ip[uid] = self.next_pod_ip
                    self.next_pod_ip = self.next_pod_ip + 1 if self.next_pod_ip < 250 else 10
                for i, name in enumerate(self.pod_names(wres, w)):
                    wanted[(ns, name)] = (wres, w, i)
        for key in [k for k in self.pod_owner if k not in wanted]:
            del self.pod_owner[key]
            if pods.pop(key, None) is not None:
                self.bump()
        for key, (wres, w, i) in wanted.items():
            status = self.pod_status(wres, w, i, key[1])
            pod = pods.get(key)
            if pod is None:
                tmpl = (w.get("spec") or {}).get("template") or {}
                labels = dict((tmpl.get("metadata") or {}).get("labels") or {})
                owner_kind, owner = wres.kind, w["metadata"]["name"]
                if wres.kind == "Deployment":
                    owner_kind, owner = "ReplicaSet", key[1].rsplit("-", 1)[0]
                    labels["pod-template-hash"] = owner.rsplit("-", 1)[1]
                spec = deepcopy(tmpl.get("spec") or {})
                spec.setdefault("restartPolicy", "Always")
                spec.setdefault("serviceAccountName", "default")
                if status.get("phase") != "Pending" or status.get("containerStatuses"):
                    spec["nodeName"] = self.args.node_name
                pod = {"apiVersion": "v1", "kind": "Pod",
                       "metadata": {"name": key[1], "labels": labels,
                                    "ownerReferences": [{"apiVersion": "apps/v1", "kind": owner_kind,
                                                         "name": owner, "uid": w["metadata"]["uid"],
                                                         "controller": True, "blockOwnerDeletion": True}]},
                       "spec": spec}
                self.insert(pr, key[0], pod, "kube-controller-manager", "Update")
                self.pod_owner[key] = w["metadata"]["uid"]
            if pod.get("status") != status:
                pod["status"] = status
                pod["metadata"]["resourceVersion"] = self.bump()

    def pod_status(self, wres, w, i, pod_name):
        t0 = self.created.get(w["metadata"]["uid"], time.time())
        since = time.time() - t0
        delay = self.args.daemonset_ready_after if wres.kind == "DaemonSet" else self.args.deployment_ready_after
        ready = since >= delay
        problem = self.pod_problem(w)
        spec = ((w.get("spec") or {}).get("template") or {}).get("spec") or {}
        started = now_ts(t0)
        if problem and problem[2] == "unschedulable":
            return {"phase": "Pending", "qosClass": "Burstable", "conditions": [
                {"type": "PodScheduled", "status": "False", "reason": problem[3], "message": problem[4],
                 "lastProbeTime": None, "lastTransitionTime": started}]}

        def state(c, init):
            image = c.get("image", "")
            cs = {"name": c.get("name"), "image": image, "imageID": "", "ready": False, "restartCount": 0,
                  "started": False}
            if problem and problem[0] == c.get("name") and problem[1] == image:
                reason, msg = problem[3], problem[4]
                if reason == "ErrImagePull" and since >= PULL_BACKOFF_AFTER:
                    reason, msg = "ImagePullBackOff", 'Back-off pulling image "%s": ErrImagePull: %s' % (image, msg)
                elif reason == "CrashLoopBackOff":
                    msg = "back-off 10s restarting failed container=%s pod=%s_%s(%s)" % (
                        c.get("name"), pod_name, w["metadata"]["namespace"], w["metadata"]["uid"])
                    cs["restartCount"] = 1 + int(since // 10)
                    cs["lastState"] = {"terminated": {"exitCode": 1, "reason": "Error", "startedAt": started,
                                                      "finishedAt": started}}
                cs["state"] = {"waiting": {"reason": reason, "message": msg}}
            elif init:
                cs["state"] = {"terminated": {"exitCode": 0, "reason": "Completed", "startedAt": started,
                                              "finishedAt": started}}
                cs["ready"] = True
            elif not ready or problem:
                cs["state"] = {"waiting": {"reason": "PodInitializing" if problem else "ContainerCreating"}}
            elif image in self.not_ready_images:
                cs.update({"started": True, "state": {"running": {"startedAt": started}},
                           "imageID": image + "@sha256:" + "0" * 64,
                           "containerID": "containerd://" + short_hash(pod_name + c.get("name", ""), 64)})
            else:
                cs.update({"ready": True, "started": True, "state": {"running": {"startedAt": started}},
                           "imageID": image + "@sha256:" + "0" * 64,
                           "containerID": "containerd://" + short_hash(pod_name + c.get("name", ""), 64)})
            return cs

        ok = ready and not problem and not any(c.get("image", "") in self.not_ready_images
                                                for c in spec.get("containers") or [])
        st = {"phase": "Running" if ok else "Pending", "hostIP": self.args.node_ip,
              "podIP": "10.244.%d.%d" % (i, self.pod_ip[w["metadata"]["uid"]]), "startTime": started,
              "qosClass": "BestEffort",
              "conditions": [{"type": t, "status": "True" if ok or t == "PodScheduled" or
                              (t == "Initialized" and not (problem and problem[2] == "init")) else "False",
                              "lastProbeTime": None, "lastTransitionTime": started}
                             for t in ("Initialized", "Ready", "ContainersReady", "PodScheduled")],
              "containerStatuses": [state(c, False) for c in spec.get("containers") or []]}
        st["podIPs"] = [{"ip": st["podIP"]}]
        if spec.get("initContainers"):
            st["initContainerStatuses"] = [state(c, True) for c in spec["initContainers"]]
        return st

    def service_pods(self, ns, sel):
        """The workloads' pods in NS that SEL picks, with an IP (scheduled), and whether each is ready."""
        out = []
        for (pns, name), pod in sorted(self.table(self.lookup("", "v1", "pods")).items()):
            labels = pod["metadata"].get("labels") or {}
            st = pod.get("status") or {}
            if pns != ns or (pns, name) not in self.pod_owner or not st.get("podIP"):
                continue
            if any(labels.get(k) != v for k, v in sel.items()):
                continue
            ready = any(c.get("type") == "Ready" and c.get("status") == "True" for c in st.get("conditions") or [])
            out.append((pod, ready))
        return out

    def workload_status(self, res, obj):
        md, spec = obj["metadata"], obj.get("spec", {})
        gen = md.get("generation", 1)
        if res.kind == "Deployment":
            when, ready = self.ready_at(obj, self.args.deployment_ready_after)
            n = spec.get("replicas", 1)
            rs = '"%s-%s"' % (md["name"], md["uid"][:10].replace("-", ""))
            t = now_ts(when) if ready else md["creationTimestamp"]
            st = {"observedGeneration": gen}
            if n:
                st.update({"replicas": n, "updatedReplicas": n})
            if ready:
                if n:
                    st.update({"readyReplicas": n, "availableReplicas": n})
                conds = [{"type": "Available", "status": "True", "reason": "MinimumReplicasAvailable",
                          "message": "Deployment has minimum availability.",
                          "lastUpdateTime": t, "lastTransitionTime": t},
                         {"type": "Progressing", "status": "True", "reason": "NewReplicaSetAvailable",
                          "message": "ReplicaSet %s has successfully progressed." % rs,
                          "lastUpdateTime": t, "lastTransitionTime": md["creationTimestamp"]}]
            else:
                if n:
                    st["unavailableReplicas"] = n
                conds = [{"type": "Available", "status": "False", "reason": "MinimumReplicasUnavailable",
                          "message": "Deployment does not have minimum availability.",
                          "lastUpdateTime": t, "lastTransitionTime": t},
                         {"type": "Progressing", "status": "True", "reason": "ReplicaSetUpdated",
                          "message": "ReplicaSet %s is progressing." % rs,
                          "lastUpdateTime": t, "lastTransitionTime": t}]
            st["conditions"] = conds
            return st, ready
        if res.kind == "DaemonSet":
            _, ready = self.ready_at(obj, self.args.daemonset_ready_after)
            st = {"currentNumberScheduled": 1, "desiredNumberScheduled": 1, "numberMisscheduled": 0,
                  "numberReady": 1 if ready else 0, "observedGeneration": gen, "updatedNumberScheduled": 1}
            st["numberAvailable" if ready else "numberUnavailable"] = 1
            return st, ready
        if res.kind in ("StatefulSet", "ReplicaSet"):
            delay = self.args.deployment_ready_after if res.kind == "StatefulSet" else 0
            _, ready = self.ready_at(obj, delay)
            n = spec.get("replicas", 1)
            st = {"observedGeneration": gen, "replicas": n}
            if res.kind == "StatefulSet":
                st.update({"currentReplicas": n, "updatedReplicas": n, "collisionCount": 0,
                           "currentRevision": md["name"] + "-1", "updateRevision": md["name"] + "-1"})
            if ready:
                st.update({"readyReplicas": n, "availableReplicas": n})
            if res.kind == "ReplicaSet":
                st["fullyLabeledReplicas"] = n
            return st, ready
        return None, True

    def endpoints_subsets(self, ns, name):
        svc = self.table(self.lookup("", "v1", "services")).get((ns, name))
        if not svc:
            return None
        sel = svc.get("spec", {}).get("selector")
        if not sel:
            return None
        ready, notready = [], []
        for pod, ok in self.service_pods(ns, sel):
            md = pod["metadata"]
            addr = {"ip": pod["status"]["podIP"], "nodeName": self.args.node_name,
                    "targetRef": {"kind": "Pod", "namespace": ns, "name": md["name"], "uid": md["uid"]}}
            (ready if ok else notready).append(addr)
        if not ready and not notready:
            return []
        ports = []
        for p in svc.get("spec", {}).get("ports") or []:
            tp = p.get("targetPort", p.get("port"))
            ep = {"port": tp if isinstance(tp, int) else p.get("port"), "protocol": p.get("protocol", "TCP")}
            if p.get("name"):
                ep["name"] = p["name"]
            ports.append(ep)
        sub = {}
        if ready:
            sub["addresses"] = ready
        if notready:
            sub["notReadyAddresses"] = notready
        sub["ports"] = ports
        return [sub]

    def slice_content(self, ns, name):
        """endpoints and ports of the Service's EndpointSlice, as the endpointslice controller writes them."""
        svc = self.table(self.lookup("", "v1", "services")).get((ns, name))
        sel = (svc or {}).get("spec", {}).get("selector")
        if not sel:
            return None, None
        endpoints = []
        for pod, ok in self.service_pods(ns, sel):
            md = pod["metadata"]
            endpoints.append({"addresses": [pod["status"]["podIP"]],
                              "conditions": {"ready": ok, "serving": ok, "terminating": False},
                              "nodeName": self.args.node_name,
                              "targetRef": {"kind": "Pod", "namespace": ns, "name": md["name"], "uid": md["uid"]}})
        ports = []
        for p in svc.get("spec", {}).get("ports") or []:
            tp = p.get("targetPort", p.get("port"))
            ports.append({"name": p.get("name", ""), "port": tp if isinstance(tp, int) else p.get("port"),
                          "protocol": p.get("protocol", "TCP")})
        return endpoints or None, ports or None

    def refresh(self, res, obj):
        """Brings time-dependent status up to date; returns the (possibly updated) object."""
        if res.kind in ("Deployment", "DaemonSet", "StatefulSet", "ReplicaSet"):
            st, _ = self.workload_status(res, obj)
            if st is not None and obj.get("status") != st:
                obj["status"] = st
                obj["metadata"]["resourceVersion"] = self.bump()
        elif res.kind == "EndpointSlice":
            md = obj["metadata"]
            labels = md.get("labels") or {}
            if labels.get(SLICE_MANAGED_BY) == SLICE_CONTROLLER and labels.get(SLICE_SERVICE_LABEL):
                endpoints, ports = self.slice_content(md["namespace"], labels[SLICE_SERVICE_LABEL])
                if (obj.get("endpoints"), obj.get("ports")) != (endpoints, ports):
                    obj["endpoints"], obj["ports"] = endpoints, ports
                    md["resourceVersion"] = self.bump()
        elif res.kind == "Endpoints":
            md = obj["metadata"]
            if (md.get("annotations") or {}).get("endpoints.kubernetes.io/managed-by") == "fake-kube-apiserver":
                subs = self.endpoints_subsets(md["namespace"], md["name"])
                if subs is not None and obj.get("subsets", []) != subs:
                    if subs:
                        obj["subsets"] = subs
                    else:
                        obj.pop("subsets", None)
                    md["resourceVersion"] = self.bump()
        return obj


# ---------------------------------------------------------------- tables

TABLE_COLUMNS = {
    "Service": ["Type", "Cluster-IP", "External-IP", "Port(s)"],
    "Deployment": ["Ready", "Up-to-date", "Available"],
    "DaemonSet": ["Desired", "Current", "Ready", "Up-to-date", "Available"],
    "StatefulSet": ["Ready"],
    "Namespace": ["Status"],
    "Node": ["Status", "Roles", "Version"],
    "Endpoints": ["Endpoints"],
    "Job": ["Status", "Completions"],
    "PersistentVolumeClaim": ["Status"],
    "ConfigMap": ["Data"],
    "Secret": ["Type", "Data"],
}


def fmt_age(sec):
    if sec < 120:
        return "%ds" % sec
    if sec < 7200:
        return "%dm" % (sec // 60)
    return "%dh" % (sec // 3600)


def table_cells(kind, o):
    spec, st = o.get("spec") or {}, o.get("status") or {}
    if kind == "Service":
        ports = ",".join("%s%s/%s" % (p.get("port"), ":%d" % p["nodePort"] if p.get("nodePort") else "",
                                      p.get("protocol", "TCP")) for p in spec.get("ports") or [])
        ext = "<pending>" if spec.get("type") == "LoadBalancer" else \
            spec.get("externalName") or "<none>"
        return [spec.get("type", ""), spec.get("clusterIP", "<none>"), ext, ports or "<none>"]
    if kind == "Deployment":
        n = spec.get("replicas", 1)
        return ["%d/%d" % (st.get("readyReplicas", 0), n), str(st.get("updatedReplicas", 0)),
                str(st.get("availableReplicas", 0))]
    if kind == "DaemonSet":
        return [str(st.get(k, 0)) for k in ("desiredNumberScheduled", "currentNumberScheduled", "numberReady",
                                            "updatedNumberScheduled", "numberAvailable")]
    if kind == "StatefulSet":
        return ["%d/%d" % (st.get("readyReplicas", 0), spec.get("replicas", 1))]
    if kind == "Namespace":
        return [st.get("phase", "")]
    if kind == "Node":
        ready = any(c.get("type") == "Ready" and c.get("status") == "True" for c in st.get("conditions", []))
        roles = ",".join(k.split("/", 1)[1] for k in o["metadata"].get("labels", {})
                         if k.startswith("node-role.kubernetes.io/")) or "<none>"
        return ["Ready" if ready else "NotReady", roles, (st.get("nodeInfo") or {}).get("kubeletVersion", "")]
    if kind == "Endpoints":
        eps = ["%s:%s" % (a["ip"], p["port"]) for s in o.get("subsets") or [] for a in s.get("addresses") or []
               for p in s.get("ports") or []]
        return [",".join(eps) or "<none>"]
    if kind == "Job":
        done = any(c.get("type") == "Complete" for c in st.get("conditions", []))
        return ["Complete" if done else "Running", "%d/%d" % (st.get("succeeded", 0), spec.get("completions", 1))]
    if kind == "PersistentVolumeClaim":
        return [st.get("phase", "")]
    if kind == "ConfigMap":
        return [str(len(o.get("data") or {}) + len(o.get("binaryData") or {}))]
    if kind == "Secret":
        return [o.get("type", "Opaque"), str(len(o.get("data") or {}))]
    return []


# ---------------------------------------------------------------- HTTP

class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "fake-kube-apiserver"
    timeout = 300  # idle keep-alive connections are closed after this

    def log_message(self, fmt, *args):  # the --log file replaces stderr chatter
        pass

    def do_GET(self):
        self.dispatch("GET")

    def do_POST(self):
        self.dispatch("POST")

    def do_PUT(self):
        self.dispatch("PUT")

    def do_PATCH(self):
        self.dispatch("PATCH")

    def do_DELETE(self):
        self.dispatch("DELETE")

    def do_HEAD(self):
        self.dispatch("HEAD")

    def do_OPTIONS(self):
        self.dispatch("OPTIONS")

    # --- plumbing

    def read_body(self):
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            data = b""
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return data
                data += self.rfile.read(size)
                self.rfile.readline()
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def send(self, code, body, ctype="application/json", headers=()):
        if isinstance(body, (dict, list)):
            body = json.dumps(body, separators=(",", ":")).encode()
        elif isinstance(body, str):
            body = body.encode()
        reason = self.responses.get(code, ("",))[0]
        head = ["HTTP/1.1 %d %s" % (code, reason), "Content-Type: " + ctype,
                "Content-Length: %d" % len(body), "Cache-Control: no-cache, private",
                "Date: " + email.utils.formatdate(usegmt=True)]
        head.extend("%s: %s" % h for h in headers)
        head.extend('Warning: 299 - "%s"' % w for w in getattr(self, "warnings", ()))
        if self.close_connection:
            head.append("Connection: close")
        out = ("\r\n".join(head) + "\r\n\r\n").encode()
        self.wfile.write(out + (body if self.command != "HEAD" else b""))
        self.status_sent = code

    def log_request_line(self, ctype):
        log = self.server.log
        if log is None:
            return
        entry = {"time": round(time.time(), 3), "method": self.command, "path": self.path,
                 "contentType": ctype, "accept": self.headers.get("Accept", ""),
                 "userAgent": self.headers.get("User-Agent", ""), "status": getattr(self, "status_sent", 0)}
        if getattr(self, "warnings", None):
            entry["warnings"] = self.warnings
        if getattr(self, "user", None):
            entry["user"] = self.user
        line = json.dumps(entry)
        with self.server.log_lock:
            log.write(line + "\n")
            log.flush()

    def authenticate(self):
        """The user a request acts as: its client certificate's, its bearer token's (from TokenRequest),
        or system:anonymous with neither; None when what it presented is refused."""
        auth = self.headers.get("Authorization", "")
        if auth.startswith("Bearer "):
            st = self.server.store
            with st.lock:
                user, expiry = st.tokens.get(auth[7:].strip(), (None, 0))
            return user if user and time.time() < expiry else None
        cert = self.server.client_cert(self.request)
        if cert == "refused":
            return None
        return cert or "system:anonymous"

    def dispatch(self, method):
        self.status_sent = 0
        self.warnings = []
        ctype = self.headers.get("Content-Type", "")
        try:
            self.user = self.authenticate()
            if self.user is None:
                # kube-apiserver's x509 authenticator refuses the certificate for every path (so does its
                # token authenticator a token it did not issue). Over HTTP/1.1 the (small) body is
                # drained and the connection closed; over HTTP/2 the real server sends GOAWAY instead,
                # which this server cannot speak.
                self.read_body()
                self.close_connection = True
                return self.send(401, status_body(401, "Unauthorized", "Unauthorized"))
            path = urlsplit(self.path).path.rstrip("/") or "/"
            if self.user == "system:anonymous" and not path.startswith(PUBLIC_PATHS):
                # Neither a certificate nor a token: anonymous, which RBAC lets read only public info.
                self.read_body()
                return self.send(403, status_body(403, "Forbidden", 'forbidden: User "system:anonymous" cannot '
                                                  '%s path "%s"' % (method.lower(), path), {}))
            try:
                body = self.read_body()
                self.route(method, body)
            except ApiError as e:
                self.send(e.code, status_body(e.code, e.reason, e.message, e.details))
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError, socket.timeout):
            self.close_connection = True
        finally:
            self.log_request_line(ctype)

    # --- routing

    def route(self, method, body):
        url = urlsplit(self.path)
        path = url.path.rstrip("/") or "/"
        q = {k: v[-1] for k, v in parse_qs(url.query, keep_blank_values=True).items()}
        st = self.server.store
        if path in ("/healthz", "/livez", "/readyz") or path.startswith(("/healthz/", "/livez/", "/readyz/")):
            return self.send(200, "ok", "text/plain; charset=utf-8")
        if path == "/version":
            v = self.server.args.kubernetes_version
            major, minor = v.lstrip("v").split(".")[:2]
            return self.send(200, {"major": major, "minor": minor, "gitVersion": v,
                                   "gitCommit": "0" * 40, "gitTreeState": "clean",
                                   "buildDate": "2024-12-11T00:00:00Z", "goVersion": "go1.23.3",
                                   "compiler": "gc", "platform": "linux/amd64"})
        # percent-escapes are decoded, as the real server does (a client may send system%3Acoredns)
        parts = [unquote(p) for p in path.split("/") if p]
        if not parts or parts[0] not in ("api", "apis"):
            if parts[:2] == ["openapi", "v3"]:
                with st.lock:
                    return self.openapi_v3(st, parts[2:])
            return self.send(404, "404 page not found\n", "text/plain; charset=utf-8")
        if method not in ("GET", "HEAD") and len(parts) <= 3 and (parts[0] == "api" and len(parts) <= 2
                                                                   or parts[0] == "apis" and len(parts) <= 3):
            raise ApiError(405, "MethodNotAllowed",
                           "the server does not allow this method on the requested resource", {})
        with st.lock:
            st.tick()
            if parts[0] == "api":
                if len(parts) == 1:
                    return self.discovery_root(st, legacy=True)
                if parts[1] != "v1":
                    raise ApiError(404, "NotFound", "the server could not find the requested resource", {})
                group, version, rest = "", "v1", parts[2:]
            else:
                if len(parts) == 1:
                    return self.discovery_root(st, legacy=False)
                group = parts[1]
                if group not in st.by_group:
                    raise ApiError(404, "NotFound", "the server could not find the requested resource", {})
                if len(parts) == 2:
                    return self.send(200, dict(self.api_group(st, group), kind="APIGroup", apiVersion="v1"))
                version, rest = parts[2], parts[3:]
                if version not in st.by_group[group]:
                    raise ApiError(404, "NotFound", "the server could not find the requested resource", {})
            if not rest:
                return self.send(200, self.resource_list(st, group, version))
            # locate the resource
            ns = None
            if rest[0] == "namespaces" and len(rest) >= 3:
                cand = st.lookup(group, version, rest[2])
                if cand is not None and cand.namespaced:
                    ns, rest = rest[1], rest[2:]
            res = st.lookup(group, version, rest[0])
            if res is None or len(rest) > 3 or (ns is not None and not res.namespaced):
                raise ApiError(404, "NotFound", "the server could not find the requested resource", {})
            if res.kind == "Endpoints" and server_minor(self.server.args.kubernetes_version) >= 33:
                self.warnings.append("v1 Endpoints is deprecated in v1.33+; use discovery.k8s.io/v1 EndpointSlice")
            name = rest[1] if len(rest) > 1 else None
            sub = rest[2] if len(rest) > 2 else None
            if sub == "scale" and res.kind in SCALABLE and name is not None:
                return self.scale(st, res, ns, name, method, body, q)
            if sub == "token" and res.kind == "ServiceAccount" and not res.crd and name is not None:
                if method != "POST":
                    raise ApiError(405, "MethodNotAllowed",
                                   "the server does not allow this method on the requested resource", {})
                self.check_media_type(method)
                return self.token_request(st, res, ns, name, body)
            if sub == "log" and res.kind == "Pod" and not res.crd and name is not None and method == "GET":
                return self.pod_log(st, res, ns, name, q)
            if sub is not None and (sub != "status" or not res.status):
                raise ApiError(404, "NotFound", "the server could not find the requested resource", {})
            if res.namespaced and ns is None and name is not None:
                raise ApiError(404, "NotFound", "the server could not find the requested resource", {})
            if name is None:
                if method in ("GET", "HEAD"):
                    if q.get("watch") in ("true", "1"):
                        return self.watch(st, res, ns, q)
                    return self.list(st, res, ns, q)
                if method == "POST" and (ns is not None or not res.namespaced):
                    self.check_media_type(method)
                    return self.create(st, res, ns, body, q)
                if method == "DELETE" and (ns is not None or not res.namespaced) and res.plural != "namespaces":
                    return self.delete_collection(st, res, ns, q)
                raise ApiError(405, "MethodNotAllowed",
                               "the server does not allow this method on the requested resource", {})
            if method in ("POST", "PUT", "PATCH"):
                self.check_media_type(method)
            if method in ("GET", "HEAD"):
                return self.get(st, res, ns, name, q)
            if method == "PUT":
                return self.update(st, res, ns, name, body, q, sub == "status")
            if method == "PATCH":
                return self.patch(st, res, ns, name, body, q, sub == "status")
            if method == "DELETE" and sub is None:
                return self.delete(st, res, ns, name, body, q)
            raise ApiError(405, "MethodNotAllowed",
                           "the server does not allow this method on the requested resource", {})

    # --- pod logs (GET .../pods/NAME/log: text/plain)

    def pod_log(self, st, res, ns, name, q):
        pod = st.table(res).get((ns, name))
        if pod is None:
            raise not_found(res, name)
        spec = pod.get("spec") or {}
        containers = (spec.get("initContainers") or []) + (spec.get("containers") or [])
        cname = q.get("container") or (containers[0].get("name") if len(containers) == 1 else None)
        if cname is None:
            raise bad_request("a container name must be specified for pod %s, choose one of: %s" %
                              (name, [c.get("name") for c in containers]))
        c = next((c for c in containers if c.get("name") == cname), None)
        if c is None:
            raise bad_request("container %s is not valid for pod %s" % (cname, name))
        image = c.get("image", "")
        statuses = ((pod.get("status") or {}).get("containerStatuses") or []) + \
            ((pod.get("status") or {}).get("initContainerStatuses") or [])
        cs = next((x for x in statuses if x.get("name") == cname), {})
        previous = q.get("previous") in ("true", "1")
        if previous and not cs.get("lastState"):
            raise bad_request('previous terminated container "%s" in pod "%s" not found' % (cname, name))
        if not previous and "waiting" in (cs.get("state") or {}):
            raise bad_request('container "%s" in pod "%s" is waiting to start: %s' % (
                cname, name, cs["state"]["waiting"].get("reason", "")))
        text = st.pod_logs.get(image, "fake log of container %s\n" % cname)
        lines = text.splitlines()
        if q.get("tailLines", "").isdigit():
            lines = lines[-int(q["tailLines"]):] if int(q["tailLines"]) else []
        return self.send(200, "".join(l + "\n" for l in lines), ctype="text/plain")

    # --- discovery

    def api_group(self, st, group):
        vs = st.by_group[group]
        gvs = [{"groupVersion": group + "/" + v, "version": v} for v in vs]
        return {"name": group, "versions": gvs, "preferredVersion": gvs[0]}

    def resource_list(self, st, group, version):
        out = []
        for r in st.group_resources(group, version):
            e = {"name": r.plural, "singularName": r.kind.lower(), "namespaced": r.namespaced,
                 "kind": r.kind, "verbs": r.verbs}
            if r.short:
                e["shortNames"] = r.short
            if r.categories:
                e["categories"] = r.categories
            out.append(e)
            if r.status:
                out.append({"name": r.plural + "/status", "singularName": "", "namespaced": r.namespaced,
                            "kind": r.kind, "verbs": STATUS_VERBS})
            if r.kind in SCALABLE and not r.crd:
                out.append({"name": r.plural + "/scale", "singularName": "", "namespaced": r.namespaced,
                            "group": "autoscaling", "version": "v1", "kind": "Scale", "verbs": STATUS_VERBS})
        return {"kind": "APIResourceList", "apiVersion": "v1",
                "groupVersion": version if not group else group + "/" + version, "resources": out}

    def discovery_root(self, st, legacy):
        accept = self.headers.get("Accept", "")
        if "as=APIGroupDiscoveryList" in accept and "v=v2;" in accept.replace(" ", "") + ";":
            items = []
            groups = [""] if legacy else [g for g in st.by_group if g]
            for g in groups:
                versions = []
                for v in st.by_group[g]:
                    rs = []
                    for r in st.group_resources(g, v):
                        e = {"resource": r.plural, "responseKind": {"group": g, "version": v, "kind": r.kind},
                             "scope": "Namespaced" if r.namespaced else "Cluster",
                             "singularResource": r.kind.lower(), "verbs": r.verbs}
                        if r.short:
                            e["shortNames"] = r.short
                        if r.categories:
                            e["categories"] = r.categories
                        subs = []
                        if r.status:
                            subs.append({"subresource": "status", "responseKind":
                                         {"group": g, "version": v, "kind": r.kind}, "verbs": STATUS_VERBS})
                        if r.kind in SCALABLE and not r.crd:
                            subs.append({"subresource": "scale", "responseKind":
                                         {"group": "autoscaling", "version": "v1", "kind": "Scale"},
                                         "verbs": STATUS_VERBS})
                        if subs:
                            e["subresources"] = subs
                        rs.append(e)
                    versions.append({"version": v, "resources": rs, "freshness": "Current"})
                items.append({"metadata": {"name": g} if g else {}, "versions": versions})
            return self.send(200, {"kind": "APIGroupDiscoveryList", "apiVersion": "apidiscovery.k8s.io/v2",
                                   "metadata": {}, "items": items},
                             "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList")
        if legacy:
            return self.send(200, {"kind": "APIVersions", "versions": ["v1"], "serverAddressByClientCIDRs": [
                {"clientCIDR": "0.0.0.0/0", "serverAddress": "127.0.0.1:%d" % self.server.server_port}]})
        return self.send(200, {"kind": "APIGroupList", "apiVersion": "v1",
                               "groups": [self.api_group(st, g) for g in st.by_group if g]})

    def openapi_v3(self, st, gvparts):
        """Just enough OpenAPI v3 for kubectl: per group-version documents whose
        PATCH operations declare the fieldValidation parameter, so kubectl
        validates on the server (fieldValidation=Strict) instead of
        downloading schemas.  No schemas are served (the OpenAPI v2 endpoint
        is a 404), so tools that need schemas (kubectl explain, client-side
        apply's strategic merge) do not work."""
        gvs = {}
        for r in st.resources.values():
            key = "api/v1" if not r.group else "apis/%s/%s" % (r.group, r.version)
            gvs.setdefault(key, []).append(r)
        if not gvparts:
            return self.send(200, {"paths": {k: {"serverRelativeURL": "/openapi/v3/%s?hash=%s" % (k, st.rv)}
                                             for k in sorted(gvs)}})
        key = "/".join(gvparts)
        if key not in gvs:
            return self.send(404, "404 page not found\n", "text/plain; charset=utf-8")
        params = [{"name": n, "in": "query", "schema": {"type": "string"}, "uniqueItems": True}
                  for n in ("dryRun", "fieldManager", "fieldValidation", "force")]
        paths = {}
        for r in gvs[key]:
            gvk = {"group": r.group, "version": r.version, "kind": r.kind}
            base = "/" + key + ("/namespaces/{namespace}" if r.namespaced else "") + "/" + r.plural
            op = {"operationId": "patch" + r.kind, "parameters": params, "x-kubernetes-action": "patch",
                  "x-kubernetes-group-version-kind": gvk, "responses": {"200": {"description": "OK"}}}
            paths[base + "/{name}"] = {"patch": op, "parameters": [
                {"name": "name", "in": "path", "required": True, "schema": {"type": "string"}}]}
        return self.send(200, {"openapi": "3.0.0", "info": {"title": "Kubernetes", "version": st.args.kubernetes_version},
                               "paths": paths, "components": {"schemas": {}}})

    # --- reads

    def render(self, st, res, obj, q, in_list=False):
        st.refresh(res, obj)
        out = obj
        if in_list and not res.crd:
            out = {k: v for k, v in obj.items() if k not in ("apiVersion", "kind")}
        return out

    def get(self, st, res, ns, name, q):
        obj = st.table(res).get((ns or "", name))
        if obj is None:
            raise not_found(res, name)
        self.render(st, res, obj, q)
        if self.wants_table():
            return self.send(200, self.table(st, res, [obj], q), "application/json;as=Table;v=v1;g=meta.k8s.io")
        self.send(200, obj)

    def selected(self, st, res, ns, q):
        st.tick()
        lsel = parse_label_selector(q.get("labelSelector"))
        fsel = parse_field_selector(q.get("fieldSelector"))
        tbl = st.table(res)
        keys = sorted(tbl) if ns is None else sorted(k for k in tbl if k[0] == ns)
        out = []
        for k in keys:
            o = tbl[k]
            if lsel(o["metadata"].get("labels")) and fsel(o):
                out.append(o)
        return out

    def wants_table(self):
        return "as=Table" in self.headers.get("Accept", "")

    def table(self, st, res, objs, q):
        """A meta.k8s.io/v1 Table, as kubectl's human-readable get asks for."""
        cols = [("Name", "string", "name")] + [(c, "string", "") for c in TABLE_COLUMNS.get(res.kind, [])] + \
            [("Age", "string", "")]
        rows = []
        for o in objs:
            md = o["metadata"]
            age = max(0, int(time.time() - st.created.get(md.get("uid"), time.time())))
            cells = [md["name"]] + table_cells(res.kind, o) + [fmt_age(age)]
            meta = {k: v for k, v in md.items() if k != "managedFields"}
            obj = o if q.get("includeObject") == "Object" else \
                {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": meta}
            rows.append({"cells": cells, "object": obj})
        return {"kind": "Table", "apiVersion": "meta.k8s.io/v1", "metadata": {"resourceVersion": str(st.rv)},
                "columnDefinitions": [{"name": n, "type": t, "format": f, "description": n, "priority": 0}
                                      for n, t, f in cols], "rows": rows}

    def list(self, st, res, ns, q):
        items = self.selected(st, res, ns, q)
        if self.wants_table():
            for o in items:
                st.refresh(res, o)
            return self.send(200, self.table(st, res, items, q),
                             "application/json;as=Table;v=v1;g=meta.k8s.io")
        body = {"kind": res.kind + "List", "apiVersion": res.api_version, "metadata": {}, "items": None}
        items = [self.render(st, res, o, q, in_list=True) for o in items]
        body["metadata"]["resourceVersion"] = str(st.rv)
        body["items"] = items
        self.send(200, body)

    def watch(self, st, res, ns, q):
        """Streams events (chunked) until timeoutSeconds or the client goes away.
        Called with the store lock held; waits on the store's condition."""
        timeout = float(q.get("timeoutSeconds") or 1800)
        deadline = time.time() + timeout
        since = q.get("resourceVersion")
        seen = {}  # key -> (resourceVersion, object) as last sent
        for o in self.selected(st, res, ns, q):
            st.refresh(res, o)
            if since not in (None, "", "0") and int(o["metadata"]["resourceVersion"]) <= int(since):
                seen[(o["metadata"].get("namespace", ""), o["metadata"]["name"])] = \
                    (o["metadata"]["resourceVersion"], o)
        head = ("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n"
                "Cache-Control: no-cache, private\r\nDate: %s\r\n\r\n" % email.utils.formatdate(usegmt=True))
        self.wfile.write(head.encode())
        self.status_sent = 200
        while True:
            now = {}
            events = []
            for o in self.selected(st, res, ns, q):
                st.refresh(res, o)
                key = (o["metadata"].get("namespace", ""), o["metadata"]["name"])
                rv = o["metadata"]["resourceVersion"]
                now[key] = (rv, o)
                if key not in seen:
                    events.append(("ADDED", o))
                elif seen[key][0] != rv:
                    events.append(("MODIFIED", o))
            for key, (_, o) in seen.items():
                if key not in now:
                    events.append(("DELETED", o))
            seen = now
            if events:
                data = b"".join(json.dumps({"type": t, "object": o}, separators=(",", ":")).encode() + b"\n"
                                for t, o in events)
                st.lock.release()
                try:
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
                finally:
                    st.lock.acquire()
            left = deadline - time.time()
            if left <= 0:
                break
            # wake on any write, or periodically so time-based status changes are noticed
            st.changed.wait(min(left, 0.2))
        st.lock.release()
        try:
            self.wfile.write(b"0\r\n\r\n")
        finally:
            st.lock.acquire()

    # --- writes

    def parse_body(self, body, yaml_ok=False):
        try:
            obj = json.loads(body or b"null")
        except ValueError as e:
            if yaml_ok:
                raise bad_request("error decoding YAML: this test server only accepts the JSON form of "
                                  "YAML (%s)" % e)
            raise bad_request("couldn't get version/kind; json parse error: %s" % e)
        return obj

    def check_object(self, res, ns, obj, name=None):
        if not isinstance(obj, dict):
            raise bad_request("Object 'Kind' is missing in '%s'" % json.dumps(obj)[:200])
        if not obj.get("kind"):
            raise bad_request("Object 'Kind' is missing in '%s'" % json.dumps(obj)[:200])
        if not obj.get("apiVersion"):
            raise bad_request("Object 'apiVersion' is missing in '%s'" % json.dumps(obj)[:200])
        if obj["apiVersion"] != res.api_version:
            raise bad_request("the API version in the data (%s) does not match the expected API version (%s)"
                              % (obj["apiVersion"], res.api_version))
        if obj["kind"] != res.kind:
            raise bad_request("the kind in the data (%s) does not match the expected kind (%s)"
                              % (obj["kind"], res.kind))
        md = obj.setdefault("metadata", {})
        if not isinstance(md, dict):
            raise bad_request("metadata must be an object")
        if name is not None and md.get("name") not in (None, name):
            raise bad_request("the name of the object (%s) does not match the name on the URL (%s)"
                              % (md.get("name"), name))
        if name is not None:
            md["name"] = name
        if res.namespaced and md.get("namespace") not in (None, "", ns):
            raise bad_request("the namespace of the provided object does not match the namespace sent "
                              "on the request")
        if not res.namespaced:
            md.pop("namespace", None)
        for k in ("uid", "creationTimestamp", "generation", "deletionTimestamp", "selfLink"):
            md.pop(k, None)
        md.pop("managedFields", None)
        for k in ("labels", "annotations"):
            if k in md and md[k] is not None:
                if not isinstance(md[k], dict) or not all(isinstance(v, str) for v in md[k].values()):
                    raise invalid(res, md.get("name", ""), [("metadata." + k, "Invalid value: must be a map of "
                                                             "strings", "FieldValueInvalid")])
            elif k in md:
                del md[k]

    def require_ns(self, st, res, ns):
        if res.namespaced and not st.ns_exists(ns):
            raise ApiError(404, "NotFound", 'namespaces "%s" not found' % ns, {"name": ns, "kind": "namespaces"})

    def manager(self, q):
        m = q.get("fieldManager")
        if m:
            return m
        ua = self.headers.get("User-Agent", "unknown")
        return ua.split("/")[0] or "unknown"

    def dry_run(self, q):
        v = q.get("dryRun")
        if v not in (None, "", "All"):
            raise bad_request('Invalid dry run value: "%s"' % v)
        return v == "All"

    def check_media_type(self, method):
        ctype = self.headers.get("Content-Type", "").split(";")[0].strip()
        if method == "PATCH" or ctype in ("", "application/json", "*/*"):
            return
        raise ApiError(415, "UnsupportedMediaType", "the body of the request was in an unknown format - accepted "
                       "media types include: application/json (this test server speaks JSON only, not %s)"
                       % ctype, {})

    def token_request(self, st, res, ns, name, body):
        """POST serviceaccounts/NAME/token: a signed-looking JWT for the ServiceAccount, which this server
        then accepts as a bearer token until it expires."""
        req = self.parse_body(body)
        if not isinstance(req, dict) or req.get("kind") != "TokenRequest":
            raise bad_request("the body must be a TokenRequest")
        if (ns, name) not in st.table(res):
            raise not_found(res, name)
        spec = req.get("spec") or {}
        secs = spec.get("expirationSeconds", 3600)
        tr = Resource("authentication.k8s.io", "v1", "tokenrequests", "TokenRequest", True)
        if not isinstance(secs, int) or secs < TOKEN_MIN_SECONDS:
            raise invalid(tr, name, [("spec.expirationSeconds", "Invalid value: %s: may not specify a duration "
                                      "less than 10 minutes" % secs, "FieldValueInvalid")])
        if secs > 1 << 32:
            raise invalid(tr, name, [("spec.expirationSeconds", "Invalid value: %s: may not specify a duration "
                                      "larger than 2^32 seconds" % secs, "FieldValueInvalid")])
        now = int(time.time())
        user = "system:serviceaccount:%s:%s" % (ns, name)
        audiences = spec.get("audiences") or [TOKEN_AUDIENCE]
        sa = st.table(res)[(ns, name)]

        def b64(d):
            return base64.urlsafe_b64encode(json.dumps(d, separators=(",", ":")).encode()).rstrip(b"=").decode()
        claims = {"aud": audiences, "exp": now + secs, "iat": now, "iss": TOKEN_AUDIENCE, "nbf": now,
                  "sub": user, "kubernetes.io": {"namespace": ns, "serviceaccount": {
                      "name": name, "uid": sa["metadata"]["uid"]}}}
        token = "%s.%s.%s" % (b64({"alg": "RS256", "kid": "fake"}), b64(claims),
                              base64.urlsafe_b64encode(secrets.token_bytes(64)).rstrip(b"=").decode())
        st.tokens[token] = (user, now + secs)
        out = {"kind": "TokenRequest", "apiVersion": "authentication.k8s.io/v1",
               "metadata": {"name": name, "namespace": ns, "creationTimestamp": None},
               "spec": {"audiences": audiences, "expirationSeconds": secs, "boundObjectRef": None},
               "status": {"token": token, "expirationTimestamp": now_ts(now + secs)}}
        self.send(201, out)

    def scale(self, st, res, ns, name, method, body, q):
        """The autoscaling/v1 Scale subresource (kubectl scale)."""
        obj = st.table(res).get((ns or "", name))
        if obj is None:
            raise not_found(res, name)
        if method not in ("GET", "HEAD", "PUT", "PATCH"):
            raise ApiError(405, "MethodNotAllowed",
                           "the server does not allow this method on the requested resource", {})

        def as_scale(o):
            md = o["metadata"]
            sel = ((o.get("spec") or {}).get("selector") or {}).get("matchLabels") or {}
            return {"kind": "Scale", "apiVersion": "autoscaling/v1",
                    "metadata": {k: md[k] for k in ("name", "namespace", "uid", "resourceVersion",
                                                    "creationTimestamp") if k in md},
                    "spec": {"replicas": o.get("spec", {}).get("replicas", 1)},
                    "status": {"replicas": (o.get("status") or {}).get("replicas", 0),
                               "selector": ",".join("%s=%s" % kv for kv in sorted(sel.items()))}}
        st.refresh(res, obj)
        cur = as_scale(obj)
        if method in ("GET", "HEAD"):
            return self.send(200, cur)
        p = self.parse_body(body)
        if method == "PUT":
            new = p
        else:
            ctype = self.headers.get("Content-Type", "").split(";")[0].strip()
            new = json_patch(cur, p) if ctype == "application/json-patch+json" else merge_patch(cur, p)
        replicas = (new.get("spec") or {}).get("replicas") if isinstance(new, dict) else None
        if not isinstance(replicas, int) or replicas < 0:
            raise invalid(res, name, [("spec.replicas", "Invalid value: %s: must be greater than or equal to 0"
                                       % json.dumps(replicas), "FieldValueInvalid")])
        updated = deepcopy(obj)
        updated["spec"]["replicas"] = replicas
        out, _ = st.replace(res, ns, obj, updated, self.manager(q), "Update", dry_run=self.dry_run(q))
        self.send(200, as_scale(out))

    def create(self, st, res, ns, body, q):
        obj = self.parse_body(body)
        self.check_object(res, ns, obj)
        md = obj["metadata"]
        if not md.get("name"):
            if md.get("generateName"):
                md["name"] = md["generateName"] + uuid.uuid4().hex[:5]
            else:
                raise invalid(res, "", [("metadata.name", "Required value: name or generateName is required",
                                         "FieldValueRequired")])
        md.pop("resourceVersion", None)
        self.require_ns(st, res, ns)
        st.require_live_ns(res, ns, md["name"])
        if (ns or "", md["name"]) in st.table(res):
            raise ApiError(409, "AlreadyExists", '%s "%s" already exists' % (res.qualified(), md["name"]),
                           dict({"name": md["name"], "kind": res.plural},
                                **({"group": res.group} if res.group else {})))
        st.admit(res, md["name"])
        out = st.insert(res, ns, obj, self.manager(q), "Update", self.dry_run(q))
        self.send(201, out)

    def update(self, st, res, ns, name, body, q, status=False):
        obj = self.parse_body(body)
        self.check_object(res, ns, obj, name)
        old = st.table(res).get((ns or "", name))
        if old is None:
            self.require_ns(st, res, ns)
            raise not_found(res, name)
        want_rv = obj["metadata"].pop("resourceVersion", None)
        if want_rv and want_rv != old["metadata"]["resourceVersion"]:
            raise ApiError(409, "Conflict", 'Operation cannot be fulfilled on %s "%s": the object has been '
                           'modified; please apply your changes to the latest version and try again'
                           % (res.qualified(), name),
                           dict({"name": name, "kind": res.plural}, **({"group": res.group} if res.group else {})))
        st.admit(res, name)
        out, _ = st.replace(res, ns, old, obj, self.manager(q), "Update", dry_run=self.dry_run(q), status=status)
        self.send(200, out)

    def patch(self, st, res, ns, name, body, q, status=False):
        ctype = self.headers.get("Content-Type", "").split(";")[0].strip()
        if ctype == "application/apply-patch+yaml":
            return self.apply(st, res, ns, name, body, q, status)
        if ctype not in ("application/merge-patch+json", "application/strategic-merge-patch+json",
                         "application/json-patch+json"):
            raise ApiError(415, "UnsupportedMediaType", "the body of the request was in an unknown format - "
                           "accepted media types include: application/json-patch+json, "
                           "application/merge-patch+json, application/apply-patch+yaml", {})
        old = st.table(res).get((ns or "", name))
        if old is None:
            self.require_ns(st, res, ns)
            raise not_found(res, name)
        p = self.parse_body(body)
        if ctype == "application/json-patch+json":
            new = json_patch(old, p)
        elif ctype == "application/merge-patch+json":
            if not isinstance(p, dict):
                raise bad_request("merge patch must be a JSON object")
            new = merge_patch(deepcopy(old), p)
        else:
            if not isinstance(p, dict):
                raise bad_request("strategic merge patch must be a JSON object")
            new = strategic_merge(deepcopy(old), p)
        new = deepcopy(new)
        want_rv = (p.get("metadata") or {}).get("resourceVersion") if isinstance(p, dict) else None
        if want_rv and want_rv != old["metadata"]["resourceVersion"]:
            raise ApiError(409, "Conflict", 'Operation cannot be fulfilled on %s "%s": the object has been '
                           'modified; please apply your changes to the latest version and try again'
                           % (res.qualified(), name), {"name": name, "kind": res.plural})
        self.check_object(res, ns, new, name)
        st.admit(res, name)
        out, _ = st.replace(res, ns, old, new, self.manager(q), "Update", dry_run=self.dry_run(q), status=status)
        self.send(200, out)

    def apply(self, st, res, ns, name, body, q, status=False):
        mgr = q.get("fieldManager")
        if not mgr:
            raise ApiError(422, "Invalid", 'PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: '
                           'is required for apply patch', {"group": "meta.k8s.io", "kind": "PatchOptions",
                                                          "causes": [{"reason": "FieldValueRequired",
                                                                      "message": "Required value: is required "
                                                                      "for apply patch",
                                                                      "field": "fieldManager"}]})
        force = q.get("force") in ("true", "1")
        cfg = self.parse_body(body, yaml_ok=True)
        self.check_object(res, ns, cfg, name)
        dry = self.dry_run(q)
        want_rv = cfg["metadata"].pop("resourceVersion", None)
        old = st.table(res).get((ns or "", name))
        if old is None:
            self.require_ns(st, res, ns)
            st.require_live_ns(res, ns, name)
            if want_rv:
                raise ApiError(409, "Conflict", 'Operation cannot be fulfilled on %s "%s": the object has been '
                               'modified; please apply your changes to the latest version and try again'
                               % (res.qualified(), name), {"name": name, "kind": res.plural})
            st.admit(res, name)
            cfg.pop("status", None)
            out = st.insert(res, ns, deepcopy(cfg), mgr, "Apply", dry)
            return self.send(201, out)
        if want_rv and want_rv != old["metadata"]["resourceVersion"]:
            raise ApiError(409, "Conflict", 'Operation cannot be fulfilled on %s "%s": the object has been '
                           'modified; please apply your changes to the latest version and try again'
                           % (res.qualified(), name), {"name": name, "kind": res.plural})
        st.admit(res, name)
        if status:
            new = deepcopy(old)
            new["status"] = merge_patch(old.get("status") or {}, cfg.get("status") or {})
            out, _ = st.replace(res, ns, old, new, mgr, "Apply", owner_paths=set(), dry_run=dry, status=True)
            return self.send(200, out)
        cfg.pop("status", None)
        newpaths = applied_paths(cfg)
        owners = {}
        prev = set()
        for e in old["metadata"].get("managedFields") or []:
            ps = fields_to_paths(e.get("fieldsV1") or {})
            if e["manager"] == mgr and e.get("operation") == "Apply":
                prev = ps
            else:
                for p in ps:
                    owners.setdefault(p, []).append(e["manager"])
        conflicts = []
        for p in sorted(newpaths):
            if p in owners:
                cur, present = get_path(old, p)
                val, _ = get_path(cfg, p)
                if present and not is_subset(val, cur) and not force:
                    for m in owners[p]:
                        conflicts.append((m, p))
        if conflicts:
            fmt = ['conflict with "%s": .%s' % (m, ".".join(p)) for m, p in conflicts]
            if len(fmt) == 1:
                msg = "Apply failed with 1 conflict: " + fmt[0]
            else:
                msg = "Apply failed with %d conflicts: %s" % (len(fmt), "\n".join(fmt))
            raise ApiError(409, "Conflict", msg, {"causes": [
                {"reason": "FieldManagerConflict", "message": 'conflict with "%s"' % m, "field": "." + ".".join(p)}
                for m, p in conflicts]})
        new = deepcopy(old)
        new["metadata"].pop("managedFields", None)
        for p in prev - newpaths:
            if p not in owners:
                del_path(new, p)
        for p in newpaths:
            set_path(new, p, get_path(cfg, p)[0])
        # forced (or shared) fields leave the other managers' sets
        if force:
            for e in old["metadata"].get("managedFields") or []:
                ps = fields_to_paths(e.get("fieldsV1") or {})
                if e["manager"] != mgr or e.get("operation") != "Apply":
                    e["fieldsV1"] = paths_to_fields(ps - newpaths)
        for k in ("labels", "annotations"):
            if new["metadata"].get(k) == {}:
                del new["metadata"][k]
        out, _ = st.replace(res, ns, old, new, mgr, "Apply", owner_paths=newpaths, dry_run=dry)
        self.send(200, out)

    def delete_options(self, body, q):
        opts = {}
        if body and body.strip():
            try:
                opts = json.loads(body)
            except ValueError as e:
                raise bad_request("invalid DeleteOptions: %s" % e)
            if not isinstance(opts, dict):
                raise bad_request("invalid DeleteOptions")
        pol = q.get("propagationPolicy") or opts.get("propagationPolicy")
        if pol not in (None, "", "Orphan", "Background", "Foreground"):
            raise invalid(Resource("meta.k8s.io", "v1", "deleteoptions", "DeleteOptions", False), "",
                          [("propagationPolicy", 'Unsupported value: "%s": supported values: "Foreground", '
                            '"Background", "Orphan", "nil"' % pol, "FieldValueNotSupported")])
        return opts

    def delete(self, st, res, ns, name, body, q):
        self.delete_options(body, q)
        if res.namespaced:
            self.require_ns(st, res, ns)
        obj = st.table(res).get((ns or "", name))
        if obj is None:
            raise not_found(res, name)
        if self.dry_run(q):
            return self.send(200, obj)
        if res.kind == "Namespace" and self.server.args.namespace_terminate_after > 0:
            return self.send(200, st.terminate_namespace(name))
        obj = st.remove(res, ns, name)
        if res.kind == "Namespace":
            obj = deepcopy(obj)
            obj["metadata"]["deletionTimestamp"] = now_ts()
            obj["status"] = {"phase": "Terminating"}
            return self.send(200, obj)
        d = {"name": name, "kind": res.plural, "uid": obj["metadata"]["uid"]}
        if res.group:
            d["group"] = res.group
        self.send(200, {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "details": d})

    def delete_collection(self, st, res, ns, q):
        self.delete_options(b"", q)
        if ns is not None:
            self.require_ns(st, res, ns)
        items = self.selected(st, res, ns, q)
        if not self.dry_run(q):
            for o in items:
                st.remove(res, o["metadata"].get("namespace"), o["metadata"]["name"])
        self.send(200, {"kind": res.kind + "List", "apiVersion": res.api_version,
                        "metadata": {"resourceVersion": str(st.rv)},
                        "items": [{k: v for k, v in o.items() if k not in ("apiVersion", "kind")} for o in items]})


class Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    request_queue_size = 128

    def __init__(self, addr, ctx, store, args):
        self.ctx, self.store, self.args = ctx, store, args
        # With --untrusted-client-ca, a certificate is authenticated when its issuer is the --ca's
        # subject (the test CAs have distinct names).
        self.trusted_issuer = ssl._ssl._test_decode_cert(args.ca)["subject"] if args.untrusted_client_ca else None
        self.log_lock = threading.Lock()
        self.log = open(args.log, "a", buffering=1) if args.log else None
        super().__init__(addr, Handler)

    def finish_request(self, request, client_address):
        # The TLS handshake runs here, in the connection's own thread, so a
        # slow or rejected client never holds up accept().
        request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        request.settimeout(10)
        try:
            conn = self.ctx.wrap_socket(request, server_side=True)
        except (ssl.SSLError, OSError) as e:
            if self.log is not None:
                with self.log_lock:
                    self.log.write(json.dumps({"time": round(time.time(), 3), "tlsError": str(e)}) + "\n")
            return
        if conn.selected_alpn_protocol() == "h2":
            # --offer-h2: a client that would speak HTTP/2 is shown the door (this server speaks 1.1).
            if self.log is not None:
                with self.log_lock:
                    self.log.write(json.dumps({"time": round(time.time(), 3), "alpn": "h2",
                                               "error": "HTTP/2 chosen; this server speaks HTTP/1.1 only"}) + "\n")
            conn.close()
            return
        try:
            self.RequestHandlerClass(conn, client_address, self)
        finally:
            try:
                conn.close()
            except OSError:
                pass

    def handle_error(self, request, client_address):
        pass

    def client_cert(self, conn):
        """The user a verified client certificate names (its CN), None without one, "refused" for one
        from the --untrusted-client-ca."""
        peer = conn.getpeercert() or {}
        if not peer:
            return None
        if self.trusted_issuer is not None and peer.get("issuer") != self.trusted_issuer:
            return "refused"
        for rdn in peer.get("subject", ()):
            for k, v in rdn:
                if k == "commonName":
                    return v
        return "system:unknown"


def main(argv=None):
    ap = argparse.ArgumentParser(description="Fake Kubernetes API server for virtkube tests.")
    ap.add_argument("--port", type=int, default=0, help="TCP port on 127.0.0.1 (0: pick a free one)")
    ap.add_argument("--port-file", help="write the chosen port here once listening")
    ap.add_argument("--ca", required=True, help="CA that client certificates must chain to")
    ap.add_argument("--cert", required=True, help="server certificate")
    ap.add_argument("--key", required=True, help="server key")
    ap.add_argument("--log", help="append one JSON line per request to this file")
    ap.add_argument("--deployment-ready-after", type=float, default=0.0, metavar="SECONDS")
    ap.add_argument("--daemonset-ready-after", type=float, default=0.0, metavar="SECONDS")
    ap.add_argument("--admission-deny", action="append", metavar="KIND/NAME=MESSAGE",
                    help="reject writes of that object with 400 and MESSAGE (repeatable)")
    ap.add_argument("--image-pull-error", action="append", metavar="IMAGE=MESSAGE",
                    help="pods with a container of IMAGE fail to pull it: ErrImagePull with MESSAGE, then "
                    "ImagePullBackOff (repeatable)")
    ap.add_argument("--crash-loop", action="append", metavar="IMAGE",
                    help="containers of IMAGE exit at once: CrashLoopBackOff (repeatable)")
    ap.add_argument("--not-ready", action="append", metavar="IMAGE",
                    help="containers of IMAGE run but never become ready (a readiness probe failing; repeatable)")
    ap.add_argument("--pod-log", action="append", metavar="IMAGE=TEXT",
                    help="the log of containers of IMAGE (\\n between lines; repeatable)")
    ap.add_argument("--namespace-terminate-after", type=float, default=0.0, metavar="SECONDS",
                    help="a deleted Namespace stays Terminating this long, refusing new content (default 0: "
                    "gone at once)")
    ap.add_argument("--untrusted-client-ca", metavar="FILE",
                    help="client certificates from this CA pass the TLS handshake and get 401 Unauthorized, "
                    "as a real API server answers a certificate it does not authenticate")
    ap.add_argument("--offer-h2", action="store_true",
                    help="offer h2 in ALPN, as a real API server does; a client that picks it is logged and "
                    "disconnected (this server speaks HTTP/1.1 only)")
    ap.add_argument("--kubernetes-version", default="v1.32.0")
    ap.add_argument("--node-name", default="virtkube")
    ap.add_argument("--node-ip", default="127.0.0.1")
    args = ap.parse_args(argv)
    for spec in args.admission_deny or []:
        if "/" not in spec.partition("=")[0]:
            ap.error("--admission-deny wants KIND/NAME=MESSAGE, got %r" % spec)

    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(args.cert, args.key)
    ctx.load_verify_locations(args.ca)
    if args.untrusted_client_ca:
        ctx.load_verify_locations(args.untrusted_client_ca)
    # As kube-apiserver: a client certificate is verified when one is given; without one the request
    # needs a bearer token, or is anonymous.
    ctx.verify_mode = ssl.CERT_OPTIONAL
    ctx.set_alpn_protocols(["h2", "http/1.1"] if args.offer_h2 else ["http/1.1"])

    store = Store(args)
    srv = Server(("127.0.0.1", args.port), ctx, store, args)
    port = srv.server_address[1]
    if args.port_file:
        tmp = "%s.tmp.%d" % (args.port_file, os.getpid())
        with open(tmp, "w") as f:
            f.write("%d\n" % port)
        os.rename(tmp, args.port_file)

    def stop(signum, frame):
        raise SystemExit(0)
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    try:
        srv.serve_forever(poll_interval=0.5)
    except SystemExit:
        pass
    finally:
        srv.server_close()


if __name__ == "__main__":
    main()
