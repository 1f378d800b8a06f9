"""Data contracts as a repository keeps them: ``[events."<full name>"]`` in ``catalog.toml`` and inline field tags.

::

    [events."com.acme.orders.OrderCreated"]
    owner = "orders-team"
    properties = { major_version = "1" }
    tags = { "com.acme.orders.Customer.email" = ["PII"] }

    [[events."com.acme.orders.OrderCreated".rules]]
    name = "total_not_negative"
    expr = "message.total.amount >= 0.0"
    onFailure = "DLQ"

``owner`` and ``description`` are metadata properties of those names; ``rules`` are domain
rules, ``migrations`` migration rules, ``encoding`` encoding rules, each in Confluent's fields.
"""

from __future__ import annotations

from collections.abc import Mapping

from contracts import schema as s
from contracts.datacontract.fields import pattern
from contracts.datacontract.model import ContractError, DataContract, Metadata, RuleSet, parse_rules
from contracts.errors import Location, SchemaError
from contracts.specs import EventSpec
from contracts.suggest import did_you_mean

RULE = "INVALID_CONTRACT"


def event_contracts(events: Mapping[str, EventSpec], types: Mapping[str, s.NamedSchema], file: str) -> dict[str, DataContract]:
    """Each event type's contract from the catalog, checked against the schemas it is about."""
    out: dict[str, DataContract] = {}
    for name, spec in events.items():
        base = f'events."{name}"'
        schema = types.get(name)
        if schema is None:
            close = did_you_mean(name, types, n=3)
            hint = f"; did you mean {', '.join(close)}?" if close else ""
            raise SchemaError(f"unknown event type '{name}'{hint}", Location(file=file, path=base), "UNKNOWN_TYPE")
        try:
            out[name] = _contract(spec, base)
        except ContractError as exc:
            raise SchemaError(exc.message, Location(file=file, path=exc.key), RULE) from None
        _check_tag_paths(out[name].metadata, schema, base, file)
    for schema in types.values():  # every named type in turn: each checks only its own fields
        check_inline_tags(schema, nested=False)
    return out


def _contract(spec: EventSpec, base: str) -> DataContract:
    properties = dict(spec.properties)
    for key, value in (("owner", spec.owner), ("description", spec.description)):
        if value is not None:
            properties[key] = value
    metadata = Metadata({k: tuple(v) for k, v in spec.tags.items()}, properties, tuple(spec.sensitive))
    rule_set = RuleSet(
        parse_rules(spec.migrations, f"{base}.migrations", migration=True), parse_rules(spec.rules, f"{base}.rules"), parse_rules(spec.encoding, f"{base}.encoding")
    )
    return DataContract(metadata, rule_set)


def field_names(schema: s.Schema) -> list[str]:
    """Every field's full name (``com.acme.orders.Customer.email``) in ``schema`` and the records it holds."""
    return [f"{r.fullname}.{f.name}" for r in s.walk_named(schema) if isinstance(r, s.Record) for f in r.fields]


def _check_tag_paths(metadata: Metadata, schema: s.Schema, base: str, file: str) -> None:
    """A tag path that matches no field tags nothing: a typo that would leave personal data unmasked."""
    names = field_names(schema)
    for path in metadata.tags:
        if not any(pattern(path).fullmatch(n) for n in names):
            close = did_you_mean(path, names, n=2)
            hint = f"; did you mean {', '.join(close)}?" if close else "; a path is a field's full name, `*` and `**` match parts of it"
            raise SchemaError(f"tag path '{path}' matches no field of the event{hint}", Location(file=file, path=f"{base}.tags"), RULE)


def check_inline_tags(schema: s.Schema, *, nested: bool = True) -> None:
    """``confluent:tags`` on a field must be a list of strings (``nested=False``: only on ``schema``'s own fields)."""
    for r in s.walk_named(schema) if nested else (schema,):
        if not isinstance(r, s.Record):
            continue
        for f in r.fields:
            tags = f.props.get("confluent:tags")
            if tags is not None and not (isinstance(tags, list) and all(isinstance(t, str) and t for t in tags)):
                where = Location(file=r.file, path=f"{r.fullname}.{f.name}")
                raise SchemaError(f"'confluent:tags' must be a list of tag names, got {tags!r}", where, RULE)
