"""Parsing Avro JSON into the model, with errors that name the file and the field path."""

from __future__ import annotations

import difflib
import gc
import json
import re
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from contracts.errors import Location, SchemaError
from contracts.schema import model
from contracts.schema.model import (
    NO_DEFAULT,
    PRIMITIVES,
    NamedSchema,
    Record,
    Schema,
    Union,
    branch_key,
    fullname_of,
    walk_named,
)
from contracts.suggest import did_you_mean

_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_SYMBOL_RE = _NAME_RE
# What Avro itself defines on each; any other key is a custom property (``confluent:tags``), kept as written.
_RECORD_KEYS = frozenset({"type", "name", "namespace", "doc", "aliases", "fields"})
_ENUM_KEYS = frozenset({"type", "name", "namespace", "doc", "aliases", "symbols", "default"})
_FIELD_KEYS = frozenset({"name", "type", "default", "doc", "aliases", "order"})
_PLAIN_FIELD_KEYS = frozenset({"name", "type", "default", "doc"})
# Names already found valid: a catalog's field names repeat across its records and their versions.
_VALID_NAMES: set[str] = set()


def _valid_name(name: str) -> None:
    if len(_VALID_NAMES) >= 4096:  # a few common names pay; a registry parsing huge schemas must not keep them all
        _VALID_NAMES.clear()
    _VALID_NAMES.add(name)


MAX_DEPTH = 100
"""How deeply schemas may nest (records, arrays, maps, unions, wrapped types), in every parse.

Everything downstream (canonical form, the compatibility checker, codegen) walks the model
recursively; one limit at parse time keeps every later walk far from Python's stack limit,
so a schema that was accepted can always be read again."""


_FIXED_SIZES = {"duration": 12, "uuid": 16}


def _decimal_problem(props: Mapping[str, Any], size: int | None) -> str | None:
    """What makes a decimal invalid (so Avro ignores its logical type), or None."""
    precision = props.get("precision")
    scale = props.get("scale", 0)
    if not isinstance(precision, int) or isinstance(precision, bool) or precision < 1:
        return "decimal needs a positive integer 'precision'"
    if not isinstance(scale, int) or isinstance(scale, bool) or not 0 <= scale <= precision:
        return "decimal 'scale' must be an integer between 0 and precision"
    if size is not None:
        max_precision = int((8 * size - 1) * 0.30102999566398120)  # log10(2)
        if precision > max_precision:
            return f"decimal precision {precision} does not fit in fixed of size {size} (max {max_precision})"
    return None


class SchemaParser:
    """Parses Avro JSON into the typed model, sharing named types across files.

    ``names`` accumulates every named type parsed so far so that later files may
    reference earlier ones by full name; the loader orders files accordingly.
    """

    def __init__(self, names: dict[str, NamedSchema] | None = None, *, shared: dict[str, Any] | None = None, known: Iterable[str] = ()) -> None:
        self.names: dict[str, NamedSchema] = names if names is not None else {}
        self.defined: list[NamedSchema] = []  # what this parser defined, in order (``names`` may hold others' too)
        # Names other files define, not parsed yet: suggestions for an unknown type draw on them too.
        self.known = frozenset(known)
        # With ``shared``, a nested record whose JSON was seen before (and that refers to no
        # type outside itself) is the same object: many versions of one subject then share it.
        self._shared = shared
        self._refs: list[NamedSchema] = []  # named types resolved by reference, in order
        self._depth = 0

    def parse(self, data: Any, *, file: str | None = None, namespace: str | None = None) -> Schema:
        return self._parse(data, namespace or "", file, "")

    # -- internals -------------------------------------------------------
    def _error(self, message: str, file: str | None, path: str, rule: str = "INVALID_SCHEMA") -> SchemaError:
        return SchemaError(message, Location(file=file, path=path or "<root>"), rule)

    def _parse(self, data: Any, namespace: str, file: str | None, path: str) -> Schema:
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                shown = path if len(path) <= 80 else path[:77] + "..."
                raise self._error(f"the schema nests more than {MAX_DEPTH} levels deep", file, shown, "NESTING_TOO_DEEP")
            return self._parse_node(data, namespace, file, path)
        finally:
            self._depth -= 1

    def _parse_node(self, data: Any, namespace: str, file: str | None, path: str) -> Schema:
        if isinstance(data, str):
            return self._reference(data, namespace, file, path)
        if isinstance(data, list):
            return self._union(data, namespace, file, path)
        if not isinstance(data, dict):
            raise self._error(f"a schema must be a string, an object or an array, not {json.dumps(data)}", file, path)
        type_ = data.get("type")
        if isinstance(type_, dict | list):
            # {"type": {...}} and {"type": [...]} wrap a nested schema.
            return self._parse(type_, namespace, file, path)
        if not isinstance(type_, str):
            raise self._error("missing or invalid 'type' attribute", file, path)
        if type_ in PRIMITIVES:
            return self._primitive(type_, data, file, path)
        if type_ in ("record", "error"):
            return self._record(data, namespace, file, path, is_error=type_ == "error")
        if type_ == "enum":
            return self._enum(data, namespace, file, path)
        if type_ == "fixed":
            return self._fixed(data, namespace, file, path)
        if type_ == "array":
            if "items" not in data:
                raise self._error("array schema needs 'items'", file, path)
            return model.intern(model.Array(self._parse(data["items"], namespace, file, f"{path}[]")))
        if type_ == "map":
            if "values" not in data:
                raise self._error("map schema needs 'values'", file, path)
            return model.intern(model.Map(self._parse(data["values"], namespace, file, f"{path}{{}}")))
        # {"type": "com.acme.Money"} is a reference written as an object.
        return self._reference(type_, namespace, file, path)

    def _reference(self, name: str, namespace: str, file: str | None, path: str) -> Schema:
        if name in PRIMITIVES:
            return model.PLAIN[name]
        full = fullname_of(name, namespace)
        found = self.names.get(full) or (self.names.get(name) if "." not in name else None)
        if found is None:
            raise self._error(f"unknown type '{name}' (resolved as '{full}'){self._suggest(name, full)}", file, path, "UNKNOWN_TYPE")
        if self._shared is not None:
            self._refs.append(found)
        return found

    def _suggest(self, name: str, full: str) -> str:
        """Close names among the defined types, the primitives and the logical types."""
        suggestions = did_you_mean(name if "." in name else full, [*self.names, *self.known])
        suggestions += difflib.get_close_matches(name, sorted(PRIMITIVES), n=2, cutoff=0.6)
        for logical in difflib.get_close_matches(name, sorted(model.LOGICAL_PHYSICAL), n=2, cutoff=0.6):
            physical = sorted(model.LOGICAL_PHYSICAL[logical] - {"fixed"})[0]
            suggestions.append(f'{{"type": "{physical}", "logicalType": "{logical}"}}')
        return f"; did you mean {', '.join(suggestions)}?" if suggestions else ""

    def _primitive(self, type_: str, data: Mapping[str, Any], file: str | None, path: str) -> model.Primitive:
        if len(data) == 1:
            return model.PLAIN[type_]
        given = data.get("logicalType")
        props = {k: v for k, v in data.items() if k not in ("type", "logicalType")}
        logical = given if isinstance(given, str) else None
        ignored = None
        if logical is not None and type_ not in model.LOGICAL_PHYSICAL.get(logical, {type_}):
            ignored = f"logical type '{logical}' does not apply to {type_}"
        elif logical == "decimal":
            ignored = _decimal_problem(props, size=None)
        if ignored:  # the spec: an invalid logical type is ignored and the underlying type used, as Avro Java does
            logical = None
        try:
            key: tuple[Any, ...] = ("p", type_, logical, ignored, *sorted(props.items()))
            hash(key)
        except TypeError:  # a property holding a list or an object
            key = ("p", type_, logical, ignored, json.dumps(props, sort_keys=True))
        found = model.INTERNED.get(key)
        if found is None:
            found = model.INTERNED[key] = model.Primitive(type_, logical, props, ignored)
            model.SHARED.add(id(found))
        return found  # type: ignore[return-value]

    def _define_name(self, data: Mapping[str, Any], namespace: str, file: str | None, path: str) -> tuple[str, str]:
        name = data.get("name")
        if not isinstance(name, str) or not name:
            raise self._error(f"{data.get('type')} schema needs a string 'name'", file, path)
        explicit_ns = data.get("namespace")
        if explicit_ns is not None and not isinstance(explicit_ns, str):
            raise self._error("'namespace' must be a string", file, path)
        if "." in name:
            full = name
        else:
            ns = explicit_ns if explicit_ns is not None else namespace
            full = fullname_of(name, ns)
        for part in full.split("."):
            if not _NAME_RE.match(part):
                raise self._error(f"invalid Avro name '{full}'", file, path, "INVALID_NAME")
        if full.rsplit(".", 1)[-1] in PRIMITIVES:
            raise self._error(f"'{full}' redefines a primitive type", file, path, "INVALID_NAME")
        if full in self.names:
            other = self.names[full].file
            where = f" (first defined in {other})" if other and other != file else ""
            raise self._error(f"duplicate definition of '{full}'{where}", file, path, "DUPLICATE_NAME")
        new_ns = full.rsplit(".", 1)[0] if "." in full else ""
        return full, new_ns

    def _name(self, full: str, schema: NamedSchema) -> None:
        self.names[full] = schema
        self.defined.append(schema)

    def _aliases(self, data: Mapping[str, Any], namespace: str, file: str | None, path: str) -> list[str]:
        aliases = data.get("aliases", [])
        if not isinstance(aliases, list) or not all(isinstance(a, str) for a in aliases):
            raise self._error("'aliases' must be a list of strings", file, path)
        return [fullname_of(a, namespace) for a in aliases]

    def _doc(self, data: Mapping[str, Any], file: str | None, path: str) -> str | None:
        doc = data.get("doc")
        if doc is not None and not isinstance(doc, str):
            raise self._error("'doc' must be a string", file, path)
        return doc

    def _record(self, data: Mapping[str, Any], namespace: str, file: str | None, path: str, *, is_error: bool) -> Record:
        if self._shared is not None and path:
            key = namespace + "\0" + repr(data)  # equal JSON read in the same key order: as exact as a canonical dump, cheaper
            found = self._shared.get(key)
            if isinstance(found, Record) and all(t.fullname not in self.names for t in walk_named(found)):
                for t in walk_named(found):
                    self._name(t.fullname, t)
                return found
            start = len(self._refs)
            record = self._record_body(data, namespace, file, path, is_error=is_error)
            inside = {id(t) for t in walk_named(record)}
            if all(id(r) in inside for r in self._refs[start:]):
                self._shared[key] = record
            return record
        return self._record_body(data, namespace, file, path, is_error=is_error)

    def _record_body(self, data: Mapping[str, Any], namespace: str, file: str | None, path: str, *, is_error: bool) -> Record:
        full, ns = self._define_name(data, namespace, file, path)
        props = {k: v for k, v in data.items() if k not in _RECORD_KEYS}
        record = Record(full, self._aliases(data, ns, file, path), self._doc(data, file, path), file, is_error=is_error, props=props)
        self._name(full, record)  # registered before fields so recursion resolves
        raw_fields = data.get("fields")
        if not isinstance(raw_fields, list):
            raise self._error(f"record '{full}' needs a 'fields' list", file, path)
        seen: set[str] = set()
        append = record.fields.append
        for raw in raw_fields:
            if not isinstance(raw, dict):
                raise self._error(f"record '{full}' has a field that is not an object", file, path)
            fname = raw.get("name")
            if type(fname) is not str or fname not in _VALID_NAMES:
                if not isinstance(fname, str) or not _NAME_RE.match(fname):
                    raise self._error(f"invalid field name {json.dumps(fname)}", file, path, "INVALID_NAME")
                _valid_name(fname)
            if fname in seen:
                raise self._error(f"duplicate field '{fname}' in '{full}'", file, f"{path}.{fname}" if path else fname, "DUPLICATE_FIELD")
            seen.add(fname)
            raw_type = raw.get("type")
            if raw_type is None:
                raise self._error(f"field '{fname}' needs a 'type'", file, f"{path}.{fname}" if path else fname)
            plain = model.PLAIN.get(raw_type) if isinstance(raw_type, str) else None
            fkey = named_key = None
            if self._shared is not None:
                if plain is not None or (type(raw_type) is list and all(type(b) is str and b in model.PLAIN for b in raw_type)):
                    # A field of primitives (or a union of them) reads the same in every version: parsed once, then shared.
                    fkey = "\1" + repr(raw)
                    same = self._shared.get(fkey)
                    if same is not None:
                        append(same)
                        continue
                else:
                    # Any other field is shared too, with the named types it defines, when it refers to none outside itself.
                    named_key = f"\2{self._depth}\0{ns}\0{raw!r}"
                    kept = self._shared.get(named_key)
                    if kept is not None and not any(t.fullname in self.names for t in kept[1]):
                        for t in kept[1]:
                            self._name(t.fullname, t)
                        append(kept[0])
                        continue
                    refs_before, defined_before = len(self._refs), len(self.defined)
            ftype = plain if plain is not None else self._parse(raw_type, ns, file, f"{path}.{fname}" if path else fname)
            if raw.keys() <= _PLAIN_FIELD_KEYS:  # the usual field: no aliases, order or properties of its own
                doc = raw.get("doc")
                if doc is not None and not isinstance(doc, str):
                    raise self._error("'doc' must be a string", file, f"{path}.{fname}" if path else fname)
                made = model.Field(fname, ftype, raw.get("default", NO_DEFAULT), doc, [], "ascending", {})
                if fkey is not None:
                    self._shared[fkey] = made  # type: ignore[index]
                elif named_key is not None:
                    self._keep_field(named_key, made, refs_before, defined_before)
                append(made)
                continue
            fpath = f"{path}.{fname}" if path else fname
            faliases: Any = raw.get("aliases")
            if faliases is None:
                faliases = []
            elif not isinstance(faliases, list) or not all(isinstance(a, str) for a in faliases):
                raise self._error("'aliases' must be a list of strings", file, fpath)
            order = raw.get("order", "ascending")
            if order != "ascending" and order not in ("descending", "ignore"):
                raise self._error(f"invalid field order {json.dumps(order)}", file, fpath)
            doc = raw.get("doc")
            if doc is not None and not isinstance(doc, str):
                raise self._error("'doc' must be a string", file, fpath)
            fprops = {k: v for k, v in raw.items() if k not in _FIELD_KEYS}
            made = model.Field(fname, ftype, raw.get("default", NO_DEFAULT), doc, list(faliases), order, fprops)
            if named_key is not None:
                self._keep_field(named_key, made, refs_before, defined_before)
            append(made)
        return record

    def _keep_field(self, key: str, made: model.Field, refs_before: int, defined_before: int) -> None:
        """Share a parsed field with later versions, if every type it refers to is one it defines."""
        assert self._shared is not None
        named = self.defined[defined_before:]
        inside = {id(t) for t in named}
        if all(id(r) in inside for r in self._refs[refs_before:]):
            self._shared[key] = (made, named)

    def _enum(self, data: Mapping[str, Any], namespace: str, file: str | None, path: str) -> model.Enum:
        full, ns = self._define_name(data, namespace, file, path)
        symbols = data.get("symbols")
        if not isinstance(symbols, list) or not symbols or not all(isinstance(s, str) for s in symbols):
            raise self._error(f"enum '{full}' needs a non-empty list of string 'symbols'", file, path)
        for s in symbols:
            if not _SYMBOL_RE.match(s):
                raise self._error(f"invalid enum symbol '{s}' in '{full}'", file, path, "INVALID_NAME")
        if len(set(symbols)) != len(symbols):
            raise self._error(f"enum '{full}' has duplicate symbols", file, path)
        default = data.get("default")
        if default is not None and default not in symbols:
            raise self._error(
                f"enum '{full}' default '{default}' is not one of its symbols", file, path, "INVALID_DEFAULT"
            )
        props = {k: v for k, v in data.items() if k not in _ENUM_KEYS}
        enum = model.Enum(full, self._aliases(data, ns, file, path), self._doc(data, file, path), file, list(symbols), default, props)
        self._name(full, enum)
        return enum

    def _fixed(self, data: Mapping[str, Any], namespace: str, file: str | None, path: str) -> model.Fixed:
        full, ns = self._define_name(data, namespace, file, path)
        size = data.get("size")
        if not isinstance(size, int) or isinstance(size, bool) or size < 0:
            raise self._error(f"fixed '{full}' needs a non-negative integer 'size'", file, path)
        given = data.get("logicalType")
        props = {k: v for k, v in data.items() if k not in ("type", "name", "namespace", "aliases", "size", "logicalType", "doc")}
        logical = given if isinstance(given, str) else None
        ignored = None
        if logical == "decimal":
            ignored = _decimal_problem(props, size=size)
        elif logical in _FIXED_SIZES and size != _FIXED_SIZES[logical]:
            ignored = f"logical type '{logical}' needs a fixed of size {_FIXED_SIZES[logical]}, not {size}"
        elif logical in model.LOGICAL_PHYSICAL and "fixed" not in model.LOGICAL_PHYSICAL[logical]:
            ignored = f"logical type '{logical}' does not apply to fixed"
        if ignored or logical not in model.LOGICAL_PHYSICAL:  # ignored, or a logical type Avro does not know
            logical = None
        fixed = model.Fixed(full, self._aliases(data, ns, file, path), self._doc(data, file, path), file, size, logical, props, ignored)
        self._name(full, fixed)
        return fixed

    def _union(self, data: list[Any], namespace: str, file: str | None, path: str) -> Union:
        if all(isinstance(b, str) and b in model.PLAIN for b in data) and len(set(data)) == len(data):
            found = model.INTERNED.get(("union", *(id(model.PLAIN[b]) for b in data)))
            if isinstance(found, Union):
                return found
        branches: list[Schema] = []
        keys: set[str] = set()
        for i, raw in enumerate(data):
            bpath = f"{path}<union:{i}>"
            branch = self._parse(raw, namespace, file, bpath)
            if isinstance(branch, Union):
                raise self._error("a union may not directly contain another union", file, bpath)
            key = branch_key(branch)
            if key in keys:
                raise self._error(f"union has two branches of type '{key}'", file, bpath)
            keys.add(key)
            branches.append(branch)
        return model.intern(Union(branches))


def parse_schema(data: Any, *, names: dict[str, NamedSchema] | None = None, file: str | None = None) -> Schema:
    """Parse one Avro schema given as JSON text or already-loaded JSON."""
    if isinstance(data, str) and data.lstrip()[:1] in ("{", "[", '"'):
        try:
            data = json.loads(data)
        except json.JSONDecodeError as exc:
            raise SchemaError(exc.msg, Location(file=file, line=exc.lineno, column=exc.colno), "INVALID_JSON") from exc
    return SchemaParser(dict(names) if names else None).parse(data, file=file)


@contextmanager
def bulk() -> Iterator[None]:
    """Pause the cyclic garbage collector while parsing many schemas.

    Parsing allocates many small objects and no garbage worth collecting; with the
    collector on, its passes over the growing heap cost a third of the time.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
