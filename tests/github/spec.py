"""GitHub's official OpenAPI description, as the fake uses it to judge requests and answers.

The description is ``generated/api.github.com.json`` of the npm package ``@octokit/openapi``
(installed into ``tests/github/node_modules`` by ``scripts/setup-test.sh`` at the version
pinned in ``tests/github/package.json``). It is OpenAPI 3.0.3 and describes REST API version
2022-11-28; later versions are ``x-github-breaking-changes`` patches on operations and
components, applied here per ``X-GitHub-Api-Version``.

Schemas are checked with ``openapi-schema-validator`` (jsonschema with OpenAPI 3.0's
``nullable``, ``readOnly``/``writeOnly`` and formats); ``$ref``s resolve inside the whole
document through a ``referencing`` registry.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema.protocols import Validator
from jsonschema.validators import extend
from openapi_schema_validator import (
    OAS30ReadValidator,
    OAS30Validator,
    OAS30WriteValidator,
    oas30_format_checker,
)
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4

PACKAGE = Path(__file__).parent / "node_modules" / "@octokit" / "openapi"
SPEC_FILE = PACKAGE / "generated" / "api.github.com.json"
BASE_VERSION = "2022-11-28"  # what GitHub assumes without X-GitHub-Api-Version
_URI = "urn:perfagent:api.github.com"
_CHANGES = "x-github-breaking-changes"
_NULLABLE_KEYWORDS = ("enum", "anyOf", "oneOf", "allOf")
_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
Json = Any


def _escape(key: str) -> str:
    return key.replace("~", "~0").replace("/", "~1")


def _pointer(*keys: str | int) -> str:
    return "".join(f"/{_escape(str(k))}" for k in keys)


@dataclass(frozen=True)
class Operation:
    method: str
    template: str
    operation_id: str
    pointer: str
    node: Mapping[str, Json]
    params: Mapping[tuple[str, str], tuple[str, Mapping[str, Json]]]  # (in, name) → (ptr, obj)


@dataclass(frozen=True)
class Match:
    operation: Operation
    path_params: dict[str, str]


@dataclass
class RequestProblems:
    """``errors`` the real API rejects (422/400); ``notes`` it ignores but a client should
    not send (unknown query parameters, a body where none is expected)."""

    errors: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    status: int = 422


class Spec:
    """One REST API version of the description."""

    def __init__(self, document: Mapping[str, Json], version: str) -> None:
        self.version = version
        self.document = document
        self._registry: Registry[Any] = Registry().with_resource(
            _URI, Resource(contents=document, specification=DRAFT4)
        )
        self._routes: list[tuple[re.Pattern[str], int, str, dict[str, Operation]]] = []
        for template, item in document["paths"].items():
            ops = {
                method.upper(): self._operation(template, method, item)
                for method in _METHODS
                if method in item
            }
            regex = re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(template))
            literal = len(re.sub(r"\{\w+\}", "", template))
            self._routes.append((re.compile(regex + "$"), literal, template, ops))
        self._routes.sort(key=lambda route: -route[1])  # /pulls/comments before /pulls/{n}

    # -- lookup --------------------------------------------------------------------------
    def resolve(self, pointer: str) -> tuple[str, Json]:
        """The node at ``pointer``, following ``$ref``s; returns (final pointer, node)."""
        node: Json = self.document
        for part in pointer.split("/")[1:]:
            key = part.replace("~1", "/").replace("~0", "~")
            node = node[int(key)] if isinstance(node, list) else node[key]
        if isinstance(node, dict) and "$ref" in node:
            pointer = node["$ref"].removeprefix("#")
            return self.resolve(pointer)
        return pointer, node

    def _operation(self, template: str, method: str, item: Mapping[str, Json]) -> Operation:
        pointer = _pointer("paths", template, method)
        params: dict[tuple[str, str], tuple[str, Mapping[str, Json]]] = {}
        for owner, where in ((item, _pointer("paths", template)), (item[method], pointer)):
            for i, _ in enumerate(owner.get("parameters", [])):
                ptr, param = self.resolve(f"{where}/parameters/{i}")
                params[(param["in"], param["name"])] = (ptr, param)
        node = item[method]
        return Operation(method.upper(), template, node["operationId"], pointer, node, params)

    def match(self, method: str, path: str) -> Match | None:
        for regex, _, _, ops in self._routes:
            found = regex.match(path)
            if found and method in ops:
                return Match(ops[method], dict(found.groupdict()))
        return None

    def operation(self, operation_id: str) -> Operation:
        for _, _, _, ops in self._routes:
            for op in ops.values():
                if op.operation_id == operation_id:
                    return op
        raise KeyError(operation_id)

    # -- requests ------------------------------------------------------------------------
    def check_request(
        self, match: Match, query: Mapping[str, list[str]], body: bytes, content_type: str
    ) -> RequestProblems:
        op, out = match.operation, RequestProblems()
        for name, value in match.path_params.items():
            ptr, param = op.params[("path", name)]
            out.errors += self._param_errors(f"path parameter {name}", ptr, param, value)
        for (where, name), (_, param) in op.params.items():
            if where == "query" and param.get("required") and name not in query:
                out.errors.append(f"query parameter {name} is required")
        for name, values in query.items():
            if ("query", name) not in op.params:
                out.notes.append(f"unknown query parameter {name!r}")
                continue
            ptr, param = op.params[("query", name)]
            if len(values) > 1:
                out.errors.append(f"query parameter {name} given {len(values)} times")
            out.errors += self._param_errors(f"query parameter {name}", ptr, param, values[-1])
        self._check_body(op, body, content_type, out)
        return out

    def _param_errors(self, label: str, ptr: str, param: Mapping[str, Json], raw: str) -> list[str]:
        _, schema = self.resolve(f"{ptr}/schema")
        value = _coerce(raw, schema)
        validator = self._validator(f"{ptr}/schema", "plain")
        return [f"{label}={raw!r}: {e.message}" for e in validator.iter_errors(value)]

    def _check_body(
        self, op: Operation, body: bytes, content_type: str, out: RequestProblems
    ) -> None:
        if "requestBody" not in op.node:
            if body.strip():
                out.notes.append("a body was sent to an operation that takes none")
            return
        body_ptr, request_body = self.resolve(f"{op.pointer}/requestBody")
        if not body.strip():
            if request_body.get("required"):
                out.errors.append("a request body is required")
            return
        if "application/json" not in request_body["content"]:
            out.errors.append(f"unsupported body type {content_type!r}")
            return
        if content_type.split(";")[0].strip() not in ("application/json", ""):
            out.notes.append(f"body sent as {content_type!r}, not application/json")
        try:
            payload = json.loads(body)
        except ValueError as exc:
            out.errors.append(f"body is not JSON: {exc}")
            out.status = 400
            return
        schema_ptr = f"{body_ptr}/content/{_escape('application/json')}/schema"
        for error in self._validator(schema_ptr, "write").iter_errors(payload):
            where = "/".join(str(p) for p in error.absolute_path) or "(body)"
            out.errors.append(f"body {where}: {error.message}")

    # -- responses -----------------------------------------------------------------------
    def response(self, op: Operation, status: int, overlay: Json) -> tuple[Json, list[str]]:
        """An answer for ``op`` with ``status``: the smallest instance of the documented
        schema with ``overlay`` merged over it, and the ways it breaks the schema."""
        responses = op.node["responses"]
        if str(status) not in responses:
            return overlay, []  # not documented (e.g. 401 on most operations): as is
        ptr, resp = self.resolve(f"{op.pointer}/responses/{status}")
        if "application/json" not in resp.get("content", {}):
            return None, []
        schema_ptr = f"{ptr}/content/{_escape('application/json')}/schema"
        instance = merge(self.minimal(schema_ptr), overlay)
        errors = [
            f"{'/'.join(str(p) for p in e.absolute_path) or '(answer)'}: {e.message[:200]}"
            for e in self._validator(schema_ptr, "read").iter_errors(instance)
        ]
        return instance, errors

    def minimal(self, pointer: str, depth: int = 0, *, nullable: bool = True) -> Json:
        """The smallest instance of the schema at ``pointer``: required properties only,
        ``null`` where nullable (but not at the top with ``nullable=False``), first enum
        value, first ``oneOf``/``anyOf`` branch."""
        if depth > 60:
            raise RecursionError(f"schema too deep at {pointer}")
        ptr, schema = self.resolve(pointer)
        if nullable and schema.get("nullable"):
            return None
        if "enum" in schema:
            return schema["enum"][0]
        if "allOf" in schema:
            merged: Json = {}
            for i, _ in enumerate(schema["allOf"]):
                merged = merge(merged, self.minimal(f"{ptr}/allOf/{i}", depth + 1))
            return merged
        for key in ("oneOf", "anyOf"):
            if key in schema:
                return self.minimal(f"{ptr}/{key}/0", depth + 1)
        kind = schema.get("type") or ("object" if "properties" in schema else None)
        if kind == "object":
            props = schema.get("properties", {})
            return {
                name: self.minimal(f"{ptr}/properties/{_escape(name)}", depth + 1)
                if name in props
                else None
                for name in schema.get("required", [])
            }
        if kind == "array":
            return [self.minimal(f"{ptr}/items", depth + 1)] * schema.get("minItems", 0)
        if kind == "string":
            fmt = schema.get("format")
            fixed = {"date-time": "2024-01-01T00:00:00Z", "uri": "https://github.invalid/"}
            return fixed.get(fmt, "x" * schema.get("minLength", 0))
        if kind in ("integer", "number"):
            return schema.get("minimum", 0)
        if kind == "boolean":
            return False
        return None

    def _validator(self, pointer: str, mode: str) -> Validator:
        return _validator(self, pointer, mode)


def _null_allowed(keyword: Any) -> Any:
    """GitHub's description writes ``nullable: true`` beside ``enum``/``anyOf``/``oneOf``
    meaning "or null" (its answers carry ``conclusion: null``); OAS 3.0.3's strict reading
    would reject that null, so these keywords let null through where nullable is set."""

    def check(validator: Any, value: Any, instance: Any, schema: Mapping[str, Json]) -> Any:
        if instance is None and schema.get("nullable") is True:
            return
        yield from keyword(validator, value, instance, schema)

    return check


_VALIDATORS = {
    mode: extend(base, {k: _null_allowed(base.VALIDATORS[k]) for k in _NULLABLE_KEYWORDS})
    for mode, base in (
        ("read", OAS30ReadValidator),
        ("write", OAS30WriteValidator),
        ("plain", OAS30Validator),
    )
}


@cache
def _validator(spec: Spec, pointer: str, mode: str) -> Validator:
    return _VALIDATORS[mode](  # type: ignore[no-any-return]
        {"$ref": f"{_URI}#{pointer}"}, registry=spec._registry, format_checker=oas30_format_checker
    )


def _coerce(raw: str, schema: Mapping[str, Json]) -> Json:
    """A path or query string as the schema's type (``form`` style: arrays comma-separated)."""
    kind = schema.get("type")
    if kind == "integer" and re.fullmatch(r"-?\d+", raw):
        return int(raw)
    if kind == "number" and re.fullmatch(r"-?\d+(\.\d+)?", raw):
        return float(raw)
    if kind == "boolean" and raw in ("true", "false"):
        return raw == "true"
    if kind == "array":
        return [_coerce(part, schema.get("items", {})) for part in raw.split(",")]
    return raw


def merge(base: Json, overlay: Json) -> Json:
    """``overlay`` over ``base``: objects merged key by key, anything else replaced."""
    if isinstance(base, dict) and isinstance(overlay, dict):
        out = dict(base)
        for key, value in overlay.items():
            out[key] = merge(base.get(key), value)
        return out
    return overlay


# -- versions ----------------------------------------------------------------------------------
class SpecSet:
    """The description per REST API version, built on first use."""

    def __init__(self, path: Path = SPEC_FILE) -> None:
        if not path.is_file():
            raise FileNotFoundError(
                f"{path} is missing: run scripts/setup-test.sh (npm ci in tests/github)"
            )
        self.path = path
        self.base: dict[str, Json] = json.loads(path.read_text(encoding="utf-8"))
        self._sites = list(_change_sites(self.base, ()))
        names = {c["version"] for _, node in self._sites for c in node[_CHANGES]}
        self.versions = frozenset({BASE_VERSION, *names})
        self._specs: dict[str, Spec] = {}

    def get(self, version: str) -> Spec:
        if version not in self.versions:
            raise KeyError(version)
        if version not in self._specs:
            self._specs[version] = Spec(self._document(version), version)
        return self._specs[version]

    def _document(self, version: str) -> dict[str, Json]:
        if version == BASE_VERSION:
            return self.base
        doc = dict(self.base)
        copied = {id(doc)}
        # Inner sites first, so an outer patch sees (and copies) the patched inner node.
        for path, node in sorted(self._sites, key=lambda site: -len(site[0])):
            changes = [c for c in node[_CHANGES] if c["version"] <= version]
            if not changes:
                continue
            parent: Json = doc
            for key in path[:-1]:
                child = parent[key]
                if id(child) not in copied:
                    child = copy.copy(child)
                    copied.add(id(child))
                    parent[key] = child
                parent = child
            patched = copy.deepcopy(parent[path[-1]])
            for change in changes:
                patched = _apply(patched, change["patch"])
            parent[path[-1]] = patched
            copied.add(id(patched))
        return doc


def _change_sites(node: Json, path: tuple[str | int, ...]) -> Any:
    if isinstance(node, dict):
        if _CHANGES in node:
            yield path, node
        for key, value in node.items():
            yield from _change_sites(value, (*path, key))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _change_sites(value, (*path, i))


def _apply(target: Json, patch: Json) -> Json:
    """A JSON Patch (a list of operations) or a JSON Merge Patch (an object)."""
    if isinstance(patch, list):
        for op in patch:
            target = _json_patch(target, op)
        return target
    return _merge_patch(target, patch)


def _merge_patch(target: Json, patch: Json) -> Json:
    if not isinstance(patch, dict):
        return patch
    out = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            out.pop(key, None)
        else:
            out[key] = _merge_patch(out.get(key), value)
    return out


def _json_patch(target: Json, op: Mapping[str, Json]) -> Json:
    keys = [k.replace("~1", "/").replace("~0", "~") for k in op["path"].split("/")[1:]]
    parent = target
    for key in keys[:-1]:
        parent = parent[int(key)] if isinstance(parent, list) else parent[key]
    last: Any = int(keys[-1]) if isinstance(parent, list) and keys[-1] != "-" else keys[-1]
    if op["op"] == "remove":
        del parent[last]
    elif op["op"] == "add" and isinstance(parent, list):
        parent.insert(len(parent) if last == "-" else last, op["value"])
    elif op["op"] in ("add", "replace"):
        parent[last] = op["value"]
    else:
        raise ValueError(f"unsupported JSON Patch op {op['op']!r}")
    return target
