"""Parse a registered schema together with its references (other subjects' versions).

One resolver for every client: the caller says how to fetch ``(subject, version)``
as ``(schema text, [(subject, version), ...])``; parsed references are cached by
``(subject, version)`` so shared types (a diamond of references) are parsed once.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable

from contracts import schema as s

Fetch = Callable[[str, int], tuple[str, list[tuple[str, int]]]]


def parse_with_references(
    text: str,
    refs: Iterable[tuple[str, int]],
    fetch: Fetch,
    cache: dict[tuple[str, int], s.Schema] | None = None,
    *,
    file: str | None = None,
) -> s.Schema:
    cache = {} if cache is None else cache
    names: dict[str, s.NamedSchema] = {}

    def load(pending: Iterable[tuple[str, int]]) -> None:
        for key in pending:
            parsed = cache.get(key)
            if parsed is None:
                ref_text, ref_refs = fetch(*key)
                load(ref_refs)
                parsed = s.SchemaParser(dict(names)).parse(json.loads(ref_text), file=f"registry:{key[0]}/v{key[1]}")
                cache[key] = parsed
            for t in s.walk_named(parsed):
                names.setdefault(t.fullname, t)

    load(refs)
    return s.SchemaParser(names).parse(json.loads(text), file=file)
