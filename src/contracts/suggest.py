"""Did-you-mean: the one way every error message suggests a name (types, rule ids, subjects, keys, services).

Plain string similarity misleads on the names this tool deals in: a bare ``Money`` is
closer, letter by letter, to another type of the same namespace than to
``com.example.common.Money``, and ``FIELD_REMOVED`` to ``ENUM_SYMBOL_REMOVED`` than to
``FIELD_REMOVED_WITHOUT_DEFAULT``. So the same last segment comes first, then names that
extend the one given (or that it extends), then names similar by their last segment,
then by the whole.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable


def did_you_mean(name: str, pool: Iterable[str], n: int = 3) -> list[str]:
    """Up to ``n`` names of ``pool`` that ``name`` was probably meant to be, best first."""
    names = sorted(set(pool))
    if not name or not names:
        return []
    out: list[str] = []

    def add(found: Iterable[str]) -> None:
        for candidate in found:
            if candidate not in out and candidate != name:
                out.append(candidate)

    last = _last(name).lower()
    add(c for c in names if _last(c).lower() == last)
    if out:
        return out[:n]
    lowered = name.lower()
    add(c for c in names if c.lower().startswith(lowered) or lowered.startswith(c.lower()))
    by_last: dict[str, list[str]] = {}
    for c in names:
        by_last.setdefault(_last(c).lower(), []).append(c)
    for close in difflib.get_close_matches(last, list(by_last), n=n, cutoff=0.75):
        add(by_last[close])
    add(difflib.get_close_matches(name, names, n=n, cutoff=0.6))
    return out[:n]


def hint(name: str, pool: Iterable[str], n: int = 3) -> str:
    """``"; did you mean 'a', 'b'?"``, or empty when nothing is close."""
    found = did_you_mean(name, pool, n)
    return f"; did you mean {', '.join(repr(f) for f in found)}?" if found else ""


def _last(name: str) -> str:
    return name.rsplit(".", 1)[-1]
