"""The project's TOML files, one typed definition each: ``catalog.toml``, ``deployments.toml``,
``overrides.toml`` and ``[tool.contracts]`` in ``pyproject.toml``.

``validate`` checks a file's data against its definition and reports the first problem
as a ``SchemaError`` naming the file, the key (``topics.orders.partitions``), what was
expected and what was found, with a suggestion for a misspelt key. Rules that need
more than one file (a deployed subject must exist) stay with their loaders.
"""

from __future__ import annotations

import difflib
import json
from typing import Annotated, Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, StrictStr, ValidationError

from contracts.errors import Location, SchemaError

PositiveInt = Annotated[StrictInt, Field(ge=1)]
NonEmptyStr = Annotated[StrictStr, Field(min_length=1)]


class Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True, populate_by_name=True)


# -- catalog.toml -------------------------------------------------------------------
class CatalogDefaults(Spec):
    compatibility: StrictStr = "BACKWARD"
    subject_name_strategy: StrictStr = "topic"


class TopicSpec(Spec):
    value: NonEmptyStr | Annotated[list[NonEmptyStr], Field(min_length=1)]
    subject_name_strategy: StrictStr | None = None
    compatibility: StrictStr | None = None
    producers: list[NonEmptyStr] = []
    consumers: list[NonEmptyStr] = []
    partitions: PositiveInt = 4
    dead_letter_topic: NonEmptyStr | None = None
    key: NonEmptyStr = "string"
    idempotency_key: NonEmptyStr | dict[NonEmptyStr, NonEmptyStr] | None = None
    doc: StrictStr | None = None
    compatibility_group: NonEmptyStr | None = None


class EventSpec(Spec):
    """``[events."<full name>"]``: an event type's data contract (docs/configuration.md)."""

    owner: NonEmptyStr | None = None
    description: StrictStr | None = None
    properties: dict[str, StrictStr] = {}
    tags: dict[str, list[NonEmptyStr]] = {}
    sensitive: list[NonEmptyStr] = []
    rules: list[dict[str, Any]] = []
    migrations: list[dict[str, Any]] = []
    encoding: list[dict[str, Any]] = []


class CatalogSpec(Spec):
    defaults: CatalogDefaults = CatalogDefaults()
    topics: dict[str, TopicSpec] = {}
    events: dict[str, EventSpec] = {}


# -- compatibility/deployments.toml and overrides.toml ----------------------------------------
class ServiceSpec(Spec):
    produces: dict[str, PositiveInt] = {}
    consumes: dict[str, PositiveInt] = {}


class DeploymentsSpec(Spec):
    services: dict[str, ServiceSpec] = {}


class OverrideSpec(Spec):
    subject: NonEmptyStr
    version: PositiveInt
    rule: NonEmptyStr
    reason: Annotated[StrictStr, Field(pattern=r"\S")]
    path: NonEmptyStr | None = None
    against: PositiveInt | None = None


class OverridesSpec(Spec):
    override: list[OverrideSpec] = []


# -- [tool.contracts] in pyproject.toml ---------------------------------------------------------
class LintSpec(Spec):
    disable: list[StrictStr] = []
    per_path: dict[str, list[StrictStr]] = {}


class CompatSpec(Spec):
    strict_logical_types: StrictBool = False


class ToolSpec(Spec):
    schemas: NonEmptyStr = "schemas"
    compatibility: NonEmptyStr = "compatibility"
    events: NonEmptyStr | None = None
    package: NonEmptyStr | None = None
    lint: LintSpec = LintSpec()
    compat: CompatSpec = CompatSpec()


S = TypeVar("S", bound=Spec)

_EXPECTED = {
    "string_type": "a string",
    "int_type": "an integer",
    "bool_type": "true or false",
    "list_type": "a list",
    "dict_type": "a table",
    "model_type": "a table",
    "model_attributes_type": "a table",
    "greater_than_equal": "a positive integer",
    "string_too_short": "a non-empty string",
    "too_short": "a non-empty list",
    "string_pattern_mismatch": "text that reviewers can read",
    "missing": "a value",
}


def validate(spec: type[S], data: Any, *, file: str, rule: str, prefix: str = "") -> S:
    """``data`` as ``spec``, or a ``SchemaError`` naming ``file``, the key and what it should hold."""
    try:
        return spec.model_validate(data)
    except ValidationError as exc:
        raise _error(spec, exc, data, file, rule, prefix) from None


def _error(spec: type[Spec], exc: ValidationError, data: Any, file: str, rule: str, prefix: str) -> SchemaError:
    errors = exc.errors()
    # A union (``value = 5``) reports each alternative; the first one names the key well enough.
    first = errors[0]
    loc = [p for p in first["loc"] if not (isinstance(p, str) and ("[" in p or p in ("str", "list", "int")))]
    key = _key(prefix, loc)
    if first["type"] == "extra_forbidden":
        known = _fields_at(spec, loc[:-1])
        close = difflib.get_close_matches(str(loc[-1]), known, n=1)
        hint = f"; did you mean '{close[0]}'?" if close else f"; expected one of: {', '.join(known)}" if known else ""
        return SchemaError(f"unknown key '{loc[-1]}'{hint}", Location(file=file, path=key), rule)
    if first["type"] == "missing":
        return SchemaError(f"'{loc[-1]}' is required", Location(file=file, path=key), rule)
    expected = _EXPECTED.get(first["type"], first["msg"].removeprefix("Input should be ").lower())
    if len(errors) > 1 and first["type"] in ("string_type", "list_type"):
        expected = "a string or a list of strings"
    return SchemaError(f"expected {expected}, got {_show(first.get('input'))}", Location(file=file, path=key or "<root>"), rule)


def _key(prefix: str, loc: list[Any]) -> str:
    out = prefix
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def _fields_at(spec: type[Spec], loc: list[Any]) -> list[str]:
    """The keys the definition allows at ``loc`` (tables of tables descend through their values)."""
    model: Any = spec
    for part in loc:
        if isinstance(part, int):
            continue
        field = model.model_fields.get(str(part)) if isinstance(model, type) and issubclass(model, BaseModel) else None
        if field is None:
            continue  # a key of a ``dict[str, Spec]`` table: the value's model is the one to use
        model = _inner(field.annotation)
    if isinstance(model, type) and issubclass(model, BaseModel):
        return list(model.model_fields)
    return []


def _inner(annotation: Any) -> Any:
    """The model a field's annotation holds (``dict[str, TopicSpec]`` -> ``TopicSpec``)."""
    args = getattr(annotation, "__args__", ())
    for arg in reversed(args):
        found = _inner(arg)
        if isinstance(found, type) and issubclass(found, BaseModel):
            return found
    return annotation


def _show(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return "a table"
    try:
        return json.dumps(value, default=str)[:60]
    except (TypeError, ValueError):
        return type(value).__name__
