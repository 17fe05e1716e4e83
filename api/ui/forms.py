"""HTML forms from the API's own pydantic schemas: the same fields, rules and messages.

A form field is derived from the schema's JSON Schema (so Annotated constraints, enums and
references come along), and a posted form becomes the dict the API would have received, which the
schema then validates exactly as it validates a JSON body.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ValidationError
from starlette.datastructures import FormData

from ipam.errors import DomainError

# Numbers fixed once given: an empty box leaves them as they are (as a PUT that omits them does).
KEEP_WHEN_EMPTY = frozenset({"install_number", "network_number"})
LONG_TEXT = 300  # longer strings get a text area


@dataclass(frozen=True)
class FormField:
    """One input of a form."""

    name: str
    label: str
    widget: str  # text, textarea, number, checkbox, select, date, datetime, lines
    required: bool
    choices: tuple[str, ...] = ()
    step: str = "any"
    hint: str = ""


def _resolve(prop: dict[str, Any], defs: dict[str, Any]) -> dict[str, Any]:
    if "$ref" in prop:
        return defs[prop["$ref"].rsplit("/", 1)[-1]]
    branches = [b for b in prop.get("anyOf", []) if b.get("type") != "null"]
    if branches:
        # A reference is "a UUID or an object with id": the UUID branch is what a person types.
        uuid_branch = next((b for b in branches if b.get("format") == "uuid"), None)
        return _resolve(uuid_branch or branches[0], defs)
    return prop


def _field(name: str, prop: dict[str, Any], defs: dict[str, Any], required: bool) -> FormField:
    label = prop.get("title") or name.replace("_", " ").capitalize()
    spec = _resolve(prop, defs)
    kind = spec.get("type")
    if kind == "array":
        item = _resolve(spec.get("items", {}), defs)
        hint = "one UUID per line" if item.get("format") == "uuid" else "one per line"
        return FormField(name, label, "lines", required, hint=hint)
    if "enum" in spec:
        return FormField(name, label, "select", required, tuple(str(v) for v in spec["enum"]))
    if kind == "boolean":
        return FormField(name, label, "checkbox", False)
    if kind in ("integer", "number"):
        return FormField(name, label, "number", required, step="1" if kind == "integer" else "any")
    fmt = spec.get("format")
    if fmt == "date":
        return FormField(name, label, "date", required)
    if fmt == "date-time":
        return FormField(name, label, "datetime", required)
    hint = "a UUID" if fmt == "uuid" else ""
    if spec.get("maxLength", 0) > LONG_TEXT or name == "notes":
        return FormField(name, label, "textarea", required, hint=hint)
    return FormField(name, label, "text", required, hint=hint)


def fields_of(schema: type[BaseModel]) -> list[FormField]:
    """The form fields of a request schema, in its order."""
    doc = schema.model_json_schema()
    defs = doc.get("$defs", {})
    required = set(doc.get("required", []))
    return [
        _field(name, prop, defs, name in required)
        for name, prop in doc.get("properties", {}).items()
    ]


def posted(form: FormData, fields: list[FormField]) -> dict[str, Any]:
    """The body a posted form stands for: empty boxes are null, lists one entry per line."""
    values: dict[str, Any] = {}
    for f in fields:
        raw = form.get(f.name)
        text = raw.strip() if isinstance(raw, str) else ""
        if f.widget == "checkbox":
            values[f.name] = raw is not None
        elif f.widget == "lines":
            values[f.name] = [line.strip() for line in text.splitlines() if line.strip()]
        elif text:
            values[f.name] = text
        elif f.name not in KEEP_WHEN_EMPTY:
            values[f.name] = None
    return values


def shown(record: dict[str, Any], fields: list[FormField]) -> dict[str, str | bool]:
    """A record as the API answers it, as the values its form's boxes show."""

    def text(value: Any) -> str:
        if value is None:
            return ""
        if isinstance(value, dict):
            return str(value.get("id", ""))
        return str(value)

    out: dict[str, str | bool] = {}
    for f in fields:
        value = record.get(f.name)
        if f.widget == "checkbox":
            out[f.name] = bool(value)
        elif f.widget == "lines":
            out[f.name] = "\n".join(text(v) for v in value or [])
        elif f.widget == "date":
            out[f.name] = text(value)[:10]
        elif f.widget == "datetime":
            out[f.name] = text(value)[:16]
        else:
            out[f.name] = text(value)
    return out


def problems(exc: ValidationError | DomainError) -> list[tuple[str, str]]:
    """(field, message) pairs, the same messages the API's 4xx bodies carry."""
    if isinstance(exc, DomainError):
        # A domain error may carry one item per field (the join form's address checks).
        items = exc.extra.get("errors") or [{"field": exc.field, "message": exc.message}]
        return [(str(i.get("field") or ""), str(i["message"])) for i in items]
    return [(".".join(str(p) for p in err["loc"]) or "", err["msg"]) for err in exc.errors()]


def by_field(found: list[tuple[str, str]]) -> dict[str, list[str]]:
    """The messages to show beside each box: a nested field's go beside its top-level box."""
    out: dict[str, list[str]] = {}
    for name, message in found:
        if name:
            out.setdefault(name.split(".")[0], []).append(message)
    return out
