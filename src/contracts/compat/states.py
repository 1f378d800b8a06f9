"""Where each subject stands: its candidate schema from ``schemas/`` against its latest published version."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from contracts import schema as s
from contracts.catalog import Catalog, Subject
from contracts.compat.history import History


@dataclass
class SubjectState:
    """Where a subject stands: its candidate schema and whether it differs from the latest version."""

    subject: Subject
    candidate_json: Any
    latest: int  # 0 when nothing is published
    changed: bool

    @property
    def next_version(self) -> int:
        return self.latest + 1 if self.changed else self.latest



def subject_states(catalog: Catalog, history: History) -> Iterator[SubjectState]:
    """Each subject's state, in the catalog's order, as it is found: the gate starts checking the first while it reads the rest."""
    with s.bulk():
        for subject in catalog.subjects():
            candidate_json = s.to_json(subject.schema)
            versions = history.versions(subject.name)
            # A new contract (rules, tags, metadata) on the same schema is a new version, as a registry numbers it.
            changed = not versions or versions[-1].raw != candidate_json or versions[-1].contract != subject.contract
            yield SubjectState(subject, candidate_json, versions[-1].number if versions else 0, changed)
