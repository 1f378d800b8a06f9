"""The compatibility gate: every subject against its history at its level, and the deployment check."""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from contracts import schema as s
from contracts.catalog import Catalog
from contracts.compat.checker import Checker
from contracts.compat.deployments import deployment_findings
from contracts.compat.engine import VersionedSchema, check_level
from contracts.compat.history import DEPLOYMENT_RULES, History, Override, Version, check_names
from contracts.compat.levelchecks import Digests, LevelChecks, LevelTask
from contracts.compat.rules import BY_ID
from contracts.compat.states import SubjectState, subject_states
from contracts.compat.verdicts import Verdicts
from contracts.datacontract.checks import BY_ID as CONTRACT_BY_ID
from contracts.datacontract.checks import CATEGORY as CONTRACT_CATEGORY
from contracts.datacontract.checks import compile_all, contract_findings
from contracts.findings import Finding, group_findings, with_lines


def apply_overrides(findings: list[Finding], overrides: Sequence[Override]) -> list[Finding]:
    """Mark findings an override accepts; they stay visible, but no longer block."""
    out = []
    for f in findings:
        o = next((o for o in overrides if o.matches(f.subject or "", f.new_version, f.rule, f.path, f.old_version)), None)
        if o is not None:
            f = replace(f, severity="accepted", reason=o.reason)
        out.append(f)
    return out


@dataclass
class GateResult:
    findings: list[Finding] = field(default_factory=list)
    checked: list[str] = field(default_factory=list)
    states: list[SubjectState] = field(default_factory=list)

    @property
    def blocking(self) -> list[Finding]:
        return [f for f in self.findings if f.blocking]


def run_gate(
    catalog: Catalog,
    history: History,
    *,
    strict_logical_types: bool = False,
    deployments: bool = True,
    subjects: Sequence[str] | None = None,
    jobs: int | None = None,
    compile_rules: bool = True,
    verdicts: Verdicts | None = None,
) -> GateResult:
    """Check every subject of the catalog (or those named) against its history and the deployments.

    Large catalogs are checked in ``jobs`` worker processes (default: one per CPU). ``compile_rules=False``
    leaves the data contracts' expressions uncompiled (where the rule engines are not installed). With
    ``verdicts``, a subject whose level check has nothing new to read is answered from memory.
    """
    options = _Options(strict_logical_types, subjects, compile_rules)
    with s.bulk():
        check_names(history, {sub.name for sub in catalog.subjects()}, set(BY_ID) | set(DEPLOYMENT_RULES) | set(CONTRACT_BY_ID), catalog.services())
        result = GateResult()
        levels = LevelChecks(jobs if jobs is not None else (os.cpu_count() or 1))
        try:
            outcomes = _find_levels(catalog, history, result, levels, options, verdicts)
            result.findings += _level_findings(outcomes, levels.results(), verdicts)
        finally:
            levels.close()
        if deployments:
            result.findings += deployment_findings(catalog, history, Checker(strict_logical_types=strict_logical_types), result.states)
        result.findings = group_findings(apply_overrides(result.findings, history.overrides))
        if history.labels or history.candidate_label:
            result.findings = _relabel(result.findings, history, {st.subject.name: st.next_version for st in result.states})
        result.findings = with_lines(result.findings, catalog.root.parent)
        return result


@dataclass(frozen=True)
class _Options:
    strict_logical_types: bool
    subjects: Sequence[str] | None
    compile_rules: bool


@dataclass
class _Pending:
    """A subject being checked now: its task, the versions it reads, and the key its verdict is remembered by."""

    task: LevelTask
    versions: list[tuple[int, str, Any, bool]]  # (number, file, raw JSON or None, on disk)
    known: Digests  # the versions' files this process has read already (the latest, to compare with the candidate)
    key: str = ""


def _find_levels(
    catalog: Catalog, history: History, result: GateResult, levels: LevelChecks, options: _Options, verdicts: Verdicts | None
) -> list[list[Finding] | _Pending]:
    """Each subject's state and contract findings into ``result``; per subject to check, its remembered findings or its started check."""
    outcomes: list[list[Finding] | _Pending] = []
    for state in subject_states(catalog, history):
        sub = state.subject
        if options.subjects and sub.name not in options.subjects:
            continue
        result.checked.append(sub.name)
        result.states.append(state)
        versions = history.versions(sub.name)
        result.findings += _contract_findings(catalog, history, state, versions, options.compile_rules)
        if sub.compatibility_group is not None:  # only the versions of the candidate's group
            value = sub.contract.metadata.properties.get(sub.compatibility_group)
            versions = [v for v in versions if v.contract.metadata.properties.get(sub.compatibility_group) == value]
        if not state.changed or not versions:
            continue  # unchanged, or a first version (of its group): always accepted
        candidate_label = {state.next_version: f"the {history.candidate_label}'s schema"} if history.candidate_label else {}
        task = LevelTask(
            sub.name,
            state.candidate_json,
            sub.compatibility,
            [(v.number, v.file, v.raw_if_loaded) for v in versions],
            state.next_version,
            sub.file,
            history.deployed(sub.name, "consumes"),
            history.deployed(sub.name, "produces"),
            options.strict_logical_types,
            {**history.labels.get(sub.name, {}), **candidate_label},
            digests=verdicts is not None,
        )
        known = {v.file: v.entry for v in versions if v.entry is not None}
        pending = _Pending(task, [(v.number, v.file, v.raw_if_loaded, v.on_disk) for v in versions], known)
        remembered = None
        if verdicts is not None:
            verdicts.files.adopt(known)
            if verdicts.remembers_subjects:  # else keyed once checked, from the digests the checks took
                pending.key = verdicts.subject_key(task.key_parts(), pending.versions, known)
                remembered = verdicts.subject(pending.key)
        if remembered is None:
            levels.add(task)
        outcomes.append(remembered if remembered is not None else pending)
    return outcomes


def _level_findings(outcomes: list[list[Finding] | _Pending], checked: Iterator[tuple[list[Finding], Digests]], verdicts: Verdicts | None) -> list[Finding]:
    """Every subject's level findings in the catalog's order, remembered or checked now; what was checked now is remembered.

    ``checked`` comes in as the workers finish: the first are keyed and remembered while the rest are checked.
    """
    findings: list[Finding] = []
    for outcome in outcomes:
        if isinstance(outcome, _Pending):
            found, read = next(checked)
            if verdicts is not None:
                verdicts.files.adopt(read)
                read = {**outcome.known, **read}
                verdicts.remember_subject(outcome.key or verdicts.subject_key(outcome.task.key_parts(), outcome.versions, read), found)
            outcome = found
        findings += outcome
    for _ in checked:  # none should be left; taking them lets the workers' pool close
        pass
    return findings


def _contract_findings(catalog: Catalog, history: History, state: SubjectState, versions: list[Version], compile_rules: bool) -> list[Finding]:
    """The data contract's checks: its expressions compile (else bad input), its rules and tags against the latest version."""
    sub = state.subject
    file = catalog.catalog_file or "catalog.toml"
    if sub.contract and compile_rules:
        compile_all(sub.name, sub.contract, file, f'events."{sub.fullname}"')
    before = versions[-1].contract if versions and state.changed else None
    if not sub.contract and not before:
        return []  # no contract on either side: the latest version's schema need not even be parsed
    previous = (versions[-1].schema, before) if before is not None else None
    producers = sorted({svc for names in history.deployed(sub.name, "produces").values() for svc in names})

    def make(rule: str, message: str, path: str | None) -> Finding:
        return Finding(
            rule, message, file=file, path=path, subject=sub.name, old_version=state.latest or None, new_version=state.next_version,
            category=CONTRACT_CATEGORY, severity=CONTRACT_BY_ID[rule].severity,
        )  # fmt: skip

    consumers = sorted({svc for names in history.deployed(sub.name, "consumes").values() for svc in names})

    def breaks() -> bool:  # whether the latest version's readers cannot read the candidate, at the subject's level
        latest = [VersionedSchema(versions[-1].number, versions[-1].schema)]
        return bool(check_level(Checker(), sub.schema, latest, sub.compatibility, subject=sub.name, new_version=state.next_version))

    return contract_findings(make, sub.schema, sub.contract, previous, producers, group=sub.compatibility_group, consumers=consumers, breaks=breaks)


def _relabel(findings: list[Finding], history: History, candidates: dict[str, int]) -> list[Finding]:
    """Versions as the history names them (``origin/main -> working tree``), once overrides have matched numbers."""
    out = []
    for f in findings:
        if f.subject is None:
            out.append(f)
            continue
        new = candidates.get(f.subject)

        def name(n: int | str | None, subject: str = f.subject, new: int | None = new) -> int | str | None:
            return history.label(subject, n, new)

        out.append(replace(f, old_version=name(f.old_version), new_version=name(f.new_version), versions=tuple((name(a), name(b)) for a, b in f.versions)))
    return out
