"""Avro schemas as a typed model: the model and its walker, parsing, JSON forms and identity, defaults, files.

``from contracts import schema as s`` gives every public name of the package's modules.
"""

from contracts.schema.defaults import check_defaults, default_error, default_problem, invalid_defaults
from contracts.schema.jsonform import canonical_form, compact, fingerprint, full_text, to_json
from contracts.schema.model import (
    LOGICAL_PHYSICAL,
    NAMED_KINDS,
    NO_DEFAULT,
    PRIMITIVES,
    Array,
    Enum,
    Field,
    Fixed,
    Map,
    Named,
    NamedSchema,
    Primitive,
    Record,
    Schema,
    Union,
    branch_key,
    children,
    fullname_of,
    type_label,
    walk_named,
)
from contracts.schema.parse import MAX_DEPTH, SchemaParser, bulk, parse_schema

__all__ = [
    "LOGICAL_PHYSICAL",
    "MAX_DEPTH",
    "NAMED_KINDS",
    "NO_DEFAULT",
    "PRIMITIVES",
    "Array",
    "Enum",
    "Field",
    "Fixed",
    "Map",
    "Named",
    "NamedSchema",
    "Primitive",
    "Record",
    "Schema",
    "SchemaParser",
    "Union",
    "branch_key",
    "bulk",
    "canonical_form",
    "children",
    "check_defaults",
    "compact",
    "default_error",
    "default_problem",
    "fingerprint",
    "full_text",
    "fullname_of",
    "invalid_defaults",
    "parse_schema",
    "to_json",
    "type_label",
    "walk_named",
]
