"""Parse a registered schema together with its references (other subjects' versions).

One resolver for the server and every client: ``reference_names`` collects what the
references define, given how to load one; ``parse_with_references`` loads them by
fetching ``(subject, version)`` as ``(schema text, [(subject, version), ...])``, caching
parsed references so shared types (a diamond of references) are parsed once.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable

from contracts import schema as s

Fetch = Callable[[str, int], tuple[str, list[tuple[str, int]]]]
Names = dict[str, s.NamedSchema]
Load = Callable[[str, int], tuple[s.Schema, Names]]
"""A reference ``(subject, version)`` parsed, with the names it brings (its own references' included)."""
RefCache = dict[tuple[str, int], tuple[s.Schema, Names]]


def reference_names(refs: Iterable[tuple[str, int]], load: Load) -> Names:
    """Every named type the references define, for parsing the schema that uses them.

    The registry server (loading from its store) and every client (fetching over the API)
    resolve references with this one function; each says how to ``load`` one reference.
    """
    names: Names = {}
    for subject, version in refs:
        parsed, inherited = load(subject, version)
        for name, t in inherited.items():
            names.setdefault(name, t)
        for t in s.walk_named(parsed):
            names.setdefault(t.fullname, t)
    return names


def parse_with_references(text: str, refs: Iterable[tuple[str, int]], fetch: Fetch, cache: RefCache | None = None, *, file: str | None = None) -> s.Schema:
    """Parse ``text``, fetching (and caching by ``(subject, version)``) the references it needs."""
    cache = {} if cache is None else cache

    def load(subject: str, version: int) -> tuple[s.Schema, Names]:
        hit = cache.get((subject, version))
        if hit is None:
            ref_text, ref_refs = fetch(subject, version)
            names = reference_names(ref_refs, load)
            parsed = s.SchemaParser(dict(names)).parse(json.loads(ref_text), file=f"registry:{subject}/v{version}")
            hit = cache[(subject, version)] = (parsed, names)
        return hit

    return s.SchemaParser(reference_names(refs, load)).parse(json.loads(text), file=file)
