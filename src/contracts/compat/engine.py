"""One subject's candidate against its history at a level: the check the gate, the registry and sync share."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from contracts import schema as s
from contracts.compat.checker import Checker
from contracts.compat.rules import describe
from contracts.findings import Finding
from contracts.levels import LEVELS

ServicesOn = Callable[[int], Sequence[str]]
"""The services deployed on a version of the subject (none known: empty)."""


def _nobody(version: int) -> Sequence[str]:
    return ()


@dataclass
class VersionedSchema:
    """A schema with its version number."""

    number: int
    schema: s.Schema


def check_level(
    checker: Checker,
    candidate: s.Schema,
    history: Sequence[VersionedSchema],
    level: str,
    *,
    subject: str,
    new_version: int,
    file: str | None = None,
    type_name: str | None = None,
    consumers_on: ServicesOn = _nobody,
    producers_on: ServicesOn = _nobody,
    label: Callable[[int], str] = lambda number: f"v{number}",
) -> list[Finding]:
    """Findings for ``candidate`` as the next version of ``subject`` under ``level``.

    ``consumers_on`` and ``producers_on`` say who is deployed on an old version, so that a
    finding names only the services it breaks: the consumers still on the old version (the
    new schema's data reaches them), or the producers still writing it (new readers get it).
    """
    rule = LEVELS[level]
    against = list(history) if rule.transitive else list(history[-1:])
    name = type_name or (candidate.name if isinstance(candidate, s.Record | s.Enum | s.Fixed) else subject)
    findings: list[Finding] = []
    for old in reversed(against):
        if rule.new_reads_old:
            writers = _named(producers_on(old.number), "still written by")
            for inc in checker.check(candidate, old.schema):
                d = describe(inc, reader_is_new=True)
                msg = f"consumers using {label(new_version)} cannot read {name} {label(old.number)} data{writers}: {d.what}."
                findings.append(_finding(d.rule, d.category, msg, file, inc.path, subject, old.number, new_version))
        if rule.old_reads_new:
            readers = _named(consumers_on(old.number), "")
            for inc in checker.check(old.schema, candidate):
                d = describe(inc, reader_is_new=False)
                msg = f"consumers still on {label(old.number)}{readers} cannot read {name} data written with {label(new_version)}: {d.what}."
                broken = tuple(sorted(consumers_on(old.number)))  # named, so a grouped finding says it once per service
                findings.append(_finding(d.rule, d.category, msg, file, inc.path, subject, old.number, new_version, broken))
    return findings


def _named(services: Sequence[str], lead: str) -> str:
    if not services:
        return ""
    return f" ({lead + ' ' if lead else ''}{', '.join(sorted(services))})"


def _finding(
    rule: str, category: str, message: str, file: str | None, path: str, subject: str, old: int, new: int, services: tuple[str, ...] = ()
) -> Finding:
    return Finding(
        rule=rule,
        message=message[0].upper() + message[1:],
        file=file,
        path=path or None,
        subject=subject,
        old_version=old,
        new_version=new,
        category=category,
        services=services,
    )
