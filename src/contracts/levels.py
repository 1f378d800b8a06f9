"""Compatibility levels, as Confluent Schema Registry defines them: the one table every part reads.

BACKWARD: the new schema reads data written with the previous one (TRANSITIVE: with
every previous one). FORWARD: data written with the new schema is read with the
previous one(s). FULL: both. NONE: no check.
"""

from __future__ import annotations

from typing import NamedTuple


class Level(NamedTuple):
    new_reads_old: bool
    old_reads_new: bool
    transitive: bool  # against every earlier version, not just the latest


LEVELS: dict[str, Level] = {
    "BACKWARD": Level(True, False, False),
    "BACKWARD_TRANSITIVE": Level(True, False, True),
    "FORWARD": Level(False, True, False),
    "FORWARD_TRANSITIVE": Level(False, True, True),
    "FULL": Level(True, True, False),
    "FULL_TRANSITIVE": Level(True, True, True),
    "NONE": Level(False, False, False),
}
LEVEL_NAMES = tuple(LEVELS)
DEFAULT_LEVEL = "BACKWARD"  # as in Confluent's registry


def parse_level(value: object) -> str | None:
    """The level's canonical name for any spelling (``full_transitive``), or ``None`` when it is none."""
    if isinstance(value, str) and value.upper() in LEVELS:
        return value.upper()
    return None
