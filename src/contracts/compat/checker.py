"""Reader/writer compatibility per the Avro specification's schema resolution.

Verdicts follow Apache Avro Java's ``SchemaCompatibility`` (what Confluent Schema
Registry runs): named types match on their short name or on a reader alias of the
writer's full name; a reader field matches a writer field by name or by one of its
aliases, and matching two writer fields is an error; a reader enum default absorbs
unknown writer symbols; recursive pairs are assumed compatible while in progress.
Logical types are ignored unless ``strict_logical_types`` is set (as Confluent does).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from contracts import schema as s

# Kinds of incompatibility, close to Java's SchemaIncompatibilityType; the gate
# turns them into rule ids once it knows which side is the new schema.
TYPE_MISMATCH = "TYPE_MISMATCH"
NAME_MISMATCH = "NAME_MISMATCH"
FIXED_SIZE_MISMATCH = "FIXED_SIZE_MISMATCH"
MISSING_ENUM_SYMBOLS = "MISSING_ENUM_SYMBOLS"
READER_FIELD_MISSING_DEFAULT = "READER_FIELD_MISSING_DEFAULT"
MISSING_UNION_BRANCH = "MISSING_UNION_BRANCH"
AMBIGUOUS_FIELD = "AMBIGUOUS_FIELD"
DECIMAL_SCALE = "DECIMAL_SCALE"
DECIMAL_PRECISION = "DECIMAL_PRECISION"
LOGICAL_TYPE = "LOGICAL_TYPE"

_PROMOTIONS = frozenset(
    {
        ("int", "long"), ("int", "float"), ("int", "double"), ("long", "float"), ("long", "double"),
        ("float", "double"), ("string", "bytes"), ("bytes", "string"),
    }
)  # fmt: skip  (writer type, reader type)


@dataclass(frozen=True)
class Incompatibility:
    """Why a reader cannot read a writer's data, at a path within the schema."""

    kind: str
    path: str
    reader: s.Schema
    writer: s.Schema
    detail: str = ""

    def under(self, prefix: str) -> Incompatibility:
        return replace(self, path=join_path(prefix, self.path))


def join_path(prefix: str, rest: str) -> str:
    if not prefix:
        return rest
    if not rest:
        return prefix
    return prefix + rest if rest[0] in "[{<" else f"{prefix}.{rest}"


def branch_label(schema: s.Schema) -> str:
    if isinstance(schema, s.Record | s.Enum | s.Fixed):
        return schema.name
    if isinstance(schema, s.Primitive):
        return schema.type
    return schema.kind


def _names_match(reader: s.NamedSchema, writer: s.NamedSchema) -> bool:
    return reader.name == writer.name or writer.fullname in reader.aliases


class Checker:
    """Checks reader/writer pairs; one instance memoizes across many checks of the same schemas."""

    def __init__(self, *, strict_logical_types: bool = False) -> None:
        self.strict = strict_logical_types
        self._memo: dict[tuple[int, int], tuple[s.Schema, s.Schema, list[Incompatibility]]] = {}
        self._busy: set[tuple[int, int]] = set()
        self._fingerprints: dict[int, tuple[s.Schema, str]] = {}
        self._field_maps: dict[int, tuple[s.Record, dict[str, s.Field]]] = {}

    def check(self, reader: s.Schema, writer: s.Schema) -> list[Incompatibility]:
        """Every reason ``reader`` cannot read data written with ``writer`` (empty: compatible)."""
        if isinstance(reader, s.Record) and isinstance(writer, s.Record):
            # Root records are checked because they differ; fingerprinting them would be wasted.
            return self._memoized(reader, writer)
        return self._check(reader, writer)

    def compatible(self, reader: s.Schema, writer: s.Schema) -> bool:
        return not self._check(reader, writer)

    def _fingerprint(self, schema: s.Schema) -> str:
        entry = self._fingerprints.get(id(schema))
        if entry is None:
            # The schema is kept alongside so that its id is not reused while cached.
            entry = (schema, s.full_text(schema))
            self._fingerprints[id(schema)] = entry
        return entry[1]

    def _check(self, reader: s.Schema, writer: s.Schema) -> list[Incompatibility]:
        if reader is writer:
            return []  # a schema always reads its own data
        if not isinstance(reader, s.Record | s.Union) and not isinstance(writer, s.Record | s.Union):
            return self._compute(reader, writer)
        if isinstance(reader, s.Record) and isinstance(writer, s.Record) and self._fingerprint(reader) == self._fingerprint(writer):
            return []
        return self._memoized(reader, writer)

    def _memoized(self, reader: s.Schema, writer: s.Schema) -> list[Incompatibility]:
        key = (id(reader), id(writer))
        found = self._memo.get(key)
        if found is not None:
            return found[2]
        if key in self._busy:
            return []  # recursion: compatible unless proven otherwise
        self._busy.add(key)
        try:
            result = self._compute(reader, writer)
        finally:
            self._busy.discard(key)
        # The pair is kept with its result so that neither id is reused while the entry lives.
        self._memo[key] = (reader, writer, result)
        return result

    def _compute(self, r: s.Schema, w: s.Schema) -> list[Incompatibility]:
        if isinstance(w, s.Union) and not isinstance(r, s.Union):
            out: list[Incompatibility] = []
            for b in w.branches:
                for inc in self._check(r, b):
                    # A writer branch the (non-union) reader cannot take.
                    if inc.path == "" and inc.kind == TYPE_MISMATCH:
                        out.append(Incompatibility(MISSING_UNION_BRANCH, "", r, b, branch_label(b)))
                    else:
                        out.append(inc)
            return out
        if isinstance(r, s.Union):
            if isinstance(w, s.Union):
                out = []
                for b in w.branches:
                    out.extend(self._check(r, b))
                return out
            return self._reader_union(r, w)
        if isinstance(r, s.Primitive) and isinstance(w, s.Primitive):
            if r.type == w.type:
                return self._logical(r, w) if self.strict else []
            if (w.type, r.type) in _PROMOTIONS:
                return []
            return [Incompatibility(TYPE_MISMATCH, "", r, w)]
        if isinstance(r, s.Record) and isinstance(w, s.Record):
            return self._records(r, w)
        if isinstance(r, s.Enum) and isinstance(w, s.Enum):
            if not _names_match(r, w):
                return [Incompatibility(NAME_MISMATCH, "", r, w, w.fullname)]
            missing = sorted(set(w.symbols) - set(r.symbols))
            if missing and not (r.default is not None and r.default in r.symbols):
                return [Incompatibility(MISSING_ENUM_SYMBOLS, "", r, w, ", ".join(missing))]
            return []
        if isinstance(r, s.Fixed) and isinstance(w, s.Fixed):
            out = []
            if not _names_match(r, w):
                out.append(Incompatibility(NAME_MISMATCH, "", r, w, w.fullname))
            if r.size != w.size:
                out.append(Incompatibility(FIXED_SIZE_MISMATCH, "", r, w, f"{w.size} -> {r.size}"))
            if not out and self.strict:
                out.extend(self._logical(r, w))
            return out
        if isinstance(r, s.Array) and isinstance(w, s.Array):
            return [i.under("[]") for i in self._check(r.items, w.items)]
        if isinstance(r, s.Map) and isinstance(w, s.Map):
            return [i.under("{}") for i in self._check(r.values, w.values)]
        return [Incompatibility(TYPE_MISMATCH, "", r, w)]

    def _reader_union(self, r: s.Union, w: s.Schema) -> list[Incompatibility]:
        for b in r.branches:
            if not self._check(b, w):
                return []
        # Explain with the branch of the same name or kind, when there is one.
        for b in r.branches:
            same = (
                isinstance(b, s.Record | s.Enum | s.Fixed)
                and type(b) is type(w)
                and _names_match(b, w)
            ) or (isinstance(b, s.Array | s.Map) and type(b) is type(w))
            if same:
                return [i.under(f"<union:{branch_label(b)}>") for i in self._check(b, w)]
        return [Incompatibility(MISSING_UNION_BRANCH, "", r, w, branch_label(w))]

    def _fields_of(self, record: s.Record) -> dict[str, s.Field]:
        entry = self._field_maps.get(id(record))
        if entry is None:
            entry = (record, {f.name: f for f in record.fields})
            self._field_maps[id(record)] = entry
        return entry[1]

    def _records(self, r: s.Record, w: s.Record) -> list[Incompatibility]:
        out: list[Incompatibility] = []
        if not _names_match(r, w):
            out.append(Incompatibility(NAME_MISMATCH, "", r, w, w.fullname))
        by_name = self._fields_of(w)
        for rf in r.fields:
            wf = by_name.get(rf.name)
            if rf.aliases:
                matches = [by_name[n] for n in (rf.name, *rf.aliases) if n in by_name]
                if len(matches) > 1:
                    names = ", ".join(f.name for f in matches)
                    out.append(Incompatibility(AMBIGUOUS_FIELD, rf.name, r, w, names))
                    continue
                wf = matches[0] if matches else None
            if wf is None:
                if not rf.has_default:
                    out.append(Incompatibility(READER_FIELD_MISSING_DEFAULT, rf.name, r, w, rf.name))
                continue
            if rf.type is wf.type:
                continue
            sub = self._check(rf.type, wf.type)
            if sub:
                out.extend(i.under(rf.name) for i in sub)
        return out

    def _logical(self, r: s.Primitive | s.Fixed, w: s.Primitive | s.Fixed) -> list[Incompatibility]:
        if r.logical == "decimal" and w.logical == "decimal":
            rs, ws = r.props.get("scale", 0), w.props.get("scale", 0)
            if rs != ws:
                return [Incompatibility(DECIMAL_SCALE, "", r, w, f"scale {ws} -> {rs}")]
            rp, wp = r.props.get("precision", 0), w.props.get("precision", 0)
            if rp < wp:
                return [Incompatibility(DECIMAL_PRECISION, "", r, w, f"precision {wp} -> {rp}")]
            return []
        if r.logical != w.logical:
            return [Incompatibility(LOGICAL_TYPE, "", r, w, f"{w.logical or 'none'} -> {r.logical or 'none'}")]
        return []
