"""The compatibility gate: every subject against its history at its level, and the deployment check."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from contracts import schema as s
from contracts.catalog import Catalog, Subject
from contracts.compat.checker import Checker
from contracts.compat.history import History, Override
from contracts.compat.rules import describe
from contracts.findings import Finding

LEVELS: dict[str, tuple[bool, bool, bool]] = {
    # level: (new reads old, old reads new, against every version)
    "BACKWARD": (True, False, False),
    "BACKWARD_TRANSITIVE": (True, False, True),
    "FORWARD": (False, True, False),
    "FORWARD_TRANSITIVE": (False, True, True),
    "FULL": (True, True, False),
    "FULL_TRANSITIVE": (True, True, True),
    "NONE": (False, False, False),
}


@dataclass
class VersionedSchema:
    """A schema with its version number (``None`` for the candidate not yet published)."""

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
    consumers: Sequence[str] = (),
) -> list[Finding]:
    """Findings for ``candidate`` as the next version of ``subject`` under ``level``."""
    backward, forward, transitive = LEVELS[level]
    against = list(history) if transitive else list(history[-1:])
    name = type_name or (candidate.name if isinstance(candidate, s.Record | s.Enum | s.Fixed) else subject)
    findings: list[Finding] = []
    who = f" ({', '.join(consumers)})" if consumers else ""
    for old in reversed(against):
        if backward:
            for inc in checker.check(candidate, old.schema):
                d = describe(inc, reader_is_new=True)
                msg = f"consumers using v{new_version}{who} cannot read {name} v{old.number} data: {d.what}."
                findings.append(_finding(d.rule, d.category, msg, file, inc.path, subject, old.number, new_version))
        if forward:
            for inc in checker.check(old.schema, candidate):
                d = describe(inc, reader_is_new=False)
                msg = f"consumers still on v{old.number}{who} cannot read {name} data written with v{new_version}: {d.what}."
                findings.append(_finding(d.rule, d.category, msg, file, inc.path, subject, old.number, new_version))
    return findings


def _finding(rule: str, category: str, message: str, file: str | None, path: str, subject: str, old: int | str, new: int | str) -> Finding:
    return Finding(
        rule=rule,
        message=message[0].upper() + message[1:],
        file=file,
        path=path or None,
        subject=subject,
        old_version=old,
        new_version=new,
        category=category,
    )


def apply_overrides(findings: list[Finding], overrides: Sequence[Override]) -> list[Finding]:
    """Mark findings an override accepts; they stay visible, but no longer block."""
    out = []
    for f in findings:
        o = next((o for o in overrides if o.matches(f.subject or "", f.new_version, f.rule, f.path, f.old_version)), None)
        if o is not None:
            f = Finding(**{**f.__dict__, "severity": "accepted", "reason": o.reason})
        out.append(f)
    return out


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


@dataclass
class GateResult:
    findings: list[Finding] = field(default_factory=list)
    checked: list[str] = field(default_factory=list)
    states: list[SubjectState] = field(default_factory=list)

    @property
    def blocking(self) -> list[Finding]:
        return [f for f in self.findings if f.blocking]


def subject_states(catalog: Catalog, history: History) -> list[SubjectState]:
    out = []
    for subject in catalog.subjects():
        candidate_json = s.to_json(subject.schema)
        versions = history.versions(subject.name)
        changed = not versions or versions[-1].raw != candidate_json
        out.append(SubjectState(subject, candidate_json, versions[-1].number if versions else 0, changed))
    return out


def run_gate(
    catalog: Catalog,
    history: History,
    *,
    strict_logical_types: bool = False,
    deployments: bool = True,
    subjects: Sequence[str] | None = None,
) -> GateResult:
    """Check every subject of the catalog (or those named) against its history and the deployments."""
    checker = Checker(strict_logical_types=strict_logical_types)
    result = GateResult()
    for state in subject_states(catalog, history):
        sub = state.subject
        if subjects and sub.name not in subjects:
            continue
        result.checked.append(sub.name)
        result.states.append(state)
        versions = history.versions(sub.name)
        if not state.changed or not versions:
            continue  # unchanged, or a first version: always accepted
        hist = [VersionedSchema(v.number, v.schema) for v in versions]
        result.findings += check_level(
            checker,
            sub.schema,
            hist,
            sub.compatibility,
            subject=sub.name,
            new_version=state.next_version,
            file=sub.file,
            consumers=catalog.topics[sub.topic].consumers,
        )
    if deployments:
        result.findings += deployment_findings(catalog, history, checker, [st for st in result.states])
    result.findings = apply_overrides(result.findings, history.overrides)
    return result


def deployment_findings(catalog: Catalog, history: History, checker: Checker, states: Sequence[SubjectState]) -> list[Finding]:
    """Every deployed consumer must read what every deployed producer writes, candidates included."""
    findings: list[Finding] = []
    for state in states:
        sub = state.subject
        topic = catalog.topics[sub.topic]
        # (service, version label, version number or None for the candidate, schema)
        writers: list[tuple[str, int | None, s.Schema]] = []
        readers: list[tuple[str, int | None, s.Schema]] = []
        for d in history.deployments:
            for role, bucket in (("produces", writers), ("consumes", readers)):
                number = getattr(d, role).get(sub.name)
                if number is None:
                    continue
                version = history.version(sub.name, number)
                if version is None:
                    findings.append(
                        Finding(
                            rule="DEPLOYMENT_UNKNOWN_VERSION",
                            message=f"{d.service} is deployed with v{number} of {sub.name}, which is not in compatibility/subjects/.",
                            file=str(history.root / "deployments.toml"),
                            subject=sub.name,
                            category="deployment",
                        )
                    )
                    continue
                bucket.append((d.service, number, version.schema))
        if state.changed:
            cand = state.next_version
            writers += [(svc, None, sub.schema) for svc in topic.producers]
            readers += [(svc, None, sub.schema) for svc in topic.consumers]
        else:
            cand = state.latest
        seen: set[tuple[str, int | None, str, int | None, str, str]] = set()
        for rsvc, rver, rschema in readers:
            for wsvc, wver, wschema in writers:
                if rver is None and wver is None:
                    continue  # both rebuilt from schemas/: the same schema
                if rver is not None and wver is not None and rver == wver:
                    continue
                rnum = rver if rver is not None else cand
                wnum = wver if wver is not None else cand
                for inc in checker.check(rschema, wschema):
                    desc = describe(inc, reader_is_new=rnum > wnum)
                    key = (rsvc, rver, wsvc, wver, desc.rule, inc.path)
                    if key in seen:
                        continue
                    seen.add(key)
                    rlabel = f"built on v{rver}" if rver is not None else f"rebuilt on candidate v{cand}"
                    wlabel = f"v{wver}" if wver is not None else f"candidate v{cand}"
                    msg = (
                        f"{rsvc} (consumer, {rlabel}) cannot read {sub.schema.name} {wlabel} written by {wsvc}: "
                        f"{desc.what}."
                    )
                    findings.append(
                        Finding(
                            rule=desc.rule,
                            message=msg,
                            file=sub.file,
                            path=inc.path or None,
                            subject=sub.name,
                            old_version=min(rnum, wnum),
                            new_version=max(rnum, wnum),
                            category="deployment",
                        )
                    )
    return findings
