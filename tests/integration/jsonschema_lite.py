"""A JSON Schema (draft-07) validator for the subset proto/*.schema.json use.

Python standard library only.  Keywords: type, const, enum, properties,
required, additionalProperties, items, minimum, minLength, maxLength,
pattern, oneOf, anyOf, allOf, $ref ("#/definitions/x" and
"other.schema.json#/definitions/x", resolved in the same directory).  An
unknown keyword is an error, so a schema cannot silently use more than this
checks.
"""
import json
import os
import re

KNOWN = {"$schema", "$id", "title", "description", "type", "const", "enum",
         "properties", "required", "additionalProperties", "items", "minimum",
         "minLength", "maxLength", "pattern", "oneOf", "anyOf", "allOf", "$ref",
         "definitions"}

TYPES = {
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "string": lambda v: isinstance(v, str),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
    "boolean": lambda v: isinstance(v, bool),
    "null": lambda v: v is None,
}


class Schemas:
    def __init__(self, directory):
        self.dir = directory
        self.docs = {}

    def doc(self, name):
        if name not in self.docs:
            with open(os.path.join(self.dir, name)) as f:
                self.docs[name] = json.load(f)
        return self.docs[name]

    def resolve(self, ref, base):
        fname, _, frag = ref.partition("#")
        fname = fname or base
        node = self.doc(fname)
        for part in [p for p in frag.split("/") if p]:
            node = node[part]
        return node, fname

    def validate(self, value, name, fragment=""):
        """Errors (a list of strings) of value against name#fragment."""
        schema, base = self.resolve(name + "#" + fragment, name)
        errs = []
        self._check(value, schema, base, "$", errs)
        return errs

    def _check(self, v, s, base, path, errs):
        unknown = set(s) - KNOWN
        if unknown:
            errs.append("%s: schema uses unsupported keywords %s" % (path, sorted(unknown)))
            return
        if "$ref" in s:
            target, tbase = self.resolve(s["$ref"], base)
            self._check(v, target, tbase, path, errs)
        if "type" in s:
            types = s["type"] if isinstance(s["type"], list) else [s["type"]]
            if not any(TYPES[t](v) for t in types):
                errs.append("%s: expected %s, got %s" % (path, "/".join(types), type(v).__name__))
                return
        if "const" in s and not _same(v, s["const"]):
            errs.append("%s: expected %r, got %r" % (path, s["const"], v))
        if "enum" in s and not any(_same(v, e) for e in s["enum"]):
            errs.append("%s: %r is not one of %r" % (path, v, s["enum"]))
        if isinstance(v, str):
            if "minLength" in s and len(v) < s["minLength"]:
                errs.append("%s: shorter than %d" % (path, s["minLength"]))
            if "maxLength" in s and len(v) > s["maxLength"]:
                errs.append("%s: longer than %d" % (path, s["maxLength"]))
            if "pattern" in s and not re.search(s["pattern"], v):
                errs.append("%s: %r does not match %s" % (path, v, s["pattern"]))
        if TYPES["number"](v) and "minimum" in s and v < s["minimum"]:
            errs.append("%s: %r is below %r" % (path, v, s["minimum"]))
        if isinstance(v, dict):
            props = s.get("properties", {})
            for k in s.get("required", []):
                if k not in v:
                    errs.append("%s: missing %r" % (path, k))
            for k, item in v.items():
                if k in props:
                    self._check(item, props[k], base, "%s.%s" % (path, k), errs)
                elif s.get("additionalProperties") is False:
                    errs.append("%s: unexpected field %r" % (path, k))
                elif isinstance(s.get("additionalProperties"), dict):
                    self._check(item, s["additionalProperties"], base, "%s.%s" % (path, k), errs)
        if isinstance(v, list) and "items" in s:
            for i, item in enumerate(v):
                self._check(item, s["items"], base, "%s[%d]" % (path, i), errs)
        for sub in s.get("allOf", []):
            self._check(v, sub, base, path, errs)
        if "anyOf" in s:
            if not any(not self._sub(v, sub, base, path) for sub in s["anyOf"]):
                errs.append("%s: matches none of anyOf" % path)
        if "oneOf" in s:
            results = [self._sub(v, sub, base, path) for sub in s["oneOf"]]
            n = sum(1 for r in results if not r)
            if n != 1:
                detail = "" if n else ": " + "; ".join(min(results, key=len))
                errs.append("%s: matches %d of oneOf (must be 1)%s" % (path, n, detail))

    def _sub(self, v, s, base, path):
        e = []
        self._check(v, s, base, path, e)
        return e


def _same(a, b):
    """JSON equality: true is not 1."""
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    return a == b


def self_test():
    """The validator itself must reject what it should."""
    d = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "proto")
    s = Schemas(d)
    assert not s.validate({"v": 1, "id": 1, "cmd": "status"}, "request.schema.json")
    assert s.validate({"v": 2, "id": 1, "cmd": "status"}, "request.schema.json")
    assert s.validate({"v": 1, "id": 1, "cmd": "show"}, "request.schema.json")
    assert s.validate({"v": 1, "id": 1, "cmd": "show", "args": {"id": 0}}, "request.schema.json")
    assert s.validate({"v": 1, "id": 1, "ok": True}, "reply.schema.json")
    assert s.validate({"v": 1, "id": 1, "ok": False, "error": {"code": "nope", "message": "x"}},
                      "reply.schema.json")
    assert s.validate({"v": True, "id": 1, "ok": True, "result": {}}, "reply.schema.json")
    assert s.validate({"watching": 1}, "results.schema.json", "/definitions/watch")
    return True
