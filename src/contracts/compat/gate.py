"""The compatibility gate: every subject against its history at its level, and the deployment check."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field, replace
from typing import Any

from contracts import schema as s
from contracts.catalog import Catalog
from contracts.compat.checker import Checker
from contracts.compat.deployments import deployment_findings
from contracts.compat.engine import ServicesOn, VersionedSchema, check_level
from contracts.compat.history import DEPLOYMENT_RULES, History, Override, Version, check_names
from contracts.compat.rules import BY_ID
from contracts.compat.states import SubjectState, subject_states
from contracts.compat.verdicts import Verdicts, engine
from contracts.datacontract.checks import BY_ID as CONTRACT_BY_ID
from contracts.datacontract.checks import CATEGORY as CONTRACT_CATEGORY
from contracts.datacontract.checks import compile_all, contract_findings
from contracts.findings import Finding, group_findings, with_lines
from contracts.textfiles import read_json


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


@dataclass
class _Task:
    """One subject's level check, self-contained so that a worker process can run it."""

    subject: str
    candidate: Any  # self-contained JSON
    level: str
    versions: list[tuple[int, str, Any]]  # (number, file, raw JSON or None to read the file)
    new_version: int
    file: str | None
    consumers_on: dict[int, list[str]]  # old version -> services deployed consuming it
    producers_on: dict[int, list[str]]
    strict: bool
    labels: dict[int, str] = field(default_factory=dict)  # version number -> its name in sentences, when not "v<n>"

    def key_parts(self) -> list[Any]:
        """All the task is but its versions' content (``Verdicts.subject_key`` adds that)."""
        return [
            engine(), self.subject, self.candidate, self.level, self.new_version, self.file,
            sorted(self.consumers_on.items()), sorted(self.producers_on.items()), self.strict, sorted(self.labels.items()),
        ]  # fmt: skip


def _run_tasks(tasks: Sequence[_Task]) -> list[list[Finding]]:
    """Each task's findings, in order."""
    with s.bulk():
        return [_run_task(task) for task in tasks]


def _run_task(task: _Task) -> list[Finding]:
    checker = Checker(strict_logical_types=task.strict)  # its memo serves one subject's versions
    shared: dict[str, Any] = {}  # versions of one subject share unchanged nested records
    candidate = s.SchemaParser(shared=shared).parse(task.candidate, file=task.file)
    hist = []
    for number, file, raw in task.versions:
        raw = read_json(file, file) if raw is None else raw
        hist.append(VersionedSchema(number, s.SchemaParser(shared=shared).parse(raw, file=file)))
    return check_level(
        checker,
        candidate,
        hist,
        task.level,
        subject=task.subject,
        new_version=task.new_version,
        file=task.file,
        consumers_on=_on(task.consumers_on),
        producers_on=_on(task.producers_on),
        label=_labeller(task.labels),
    )


def _labeller(labels: dict[int, str]) -> Callable[[int], str]:
    return lambda number: labels.get(number, f"v{number}")


def _on(table: dict[int, list[str]]) -> ServicesOn:
    return lambda version: table.get(version, [])


@dataclass
class _Pending:
    """A subject being checked now: its task, the versions it reads, and the key its verdict is remembered by."""

    task: _Task
    versions: list[tuple[int, str, Any, bool]]  # (number, file, raw JSON or None, on disk)
    key: str = ""


# Below this many subjects to check, worker processes cost more than they save.
PARALLEL_THRESHOLD = 200
CHUNK = 64  # tasks sent to a worker at a time, once there are workers


class _LevelChecks:
    """Level checks run as they are found: here, or, once there are many, in ``jobs`` worker processes.

    Tasks go to the workers while the gate is still finding more, so that reading the
    catalog's state and checking it overlap.
    """

    def __init__(self, jobs: int) -> None:
        self.jobs = jobs
        self._pending: list[_Task] = []
        self._futures: list[Future[list[list[Finding]]]] = []
        self._pool: ProcessPoolExecutor | None = None

    def add(self, task: _Task) -> None:
        self._pending.append(task)
        if self._pool is None and self.jobs > 1 and len(self._pending) >= PARALLEL_THRESHOLD:
            self._pool = ProcessPoolExecutor(max_workers=self.jobs)
        if self._pool is not None and len(self._pending) >= CHUNK:
            self._submit(self._pool)

    def _submit(self, pool: ProcessPoolExecutor) -> None:
        self._futures.append(pool.submit(_run_tasks, self._pending))
        self._pending = []

    def close(self) -> None:
        """Stop the workers (the gate failed on the way: nothing more is needed of them)."""
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)

    def results(self) -> list[list[Finding]]:
        """Each task's findings, in the order the tasks were added."""
        pool = self._pool
        if pool is None:
            return _run_tasks(self._pending)
        try:
            if self._pending:
                self._submit(pool)
            return [each for future in self._futures for each in future.result()]
        finally:
            pool.shutdown(cancel_futures=True)


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
    with s.bulk():
        return _run_gate(catalog, history, strict_logical_types, deployments, subjects, jobs, compile_rules, verdicts)


def _run_gate(
    catalog: Catalog,
    history: History,
    strict_logical_types: bool,
    deployments: bool,
    subjects: Sequence[str] | None,
    jobs: int | None,
    compile_rules: bool,
    verdicts: Verdicts | None,
) -> GateResult:
    check_names(history, {sub.name for sub in catalog.subjects()}, set(BY_ID) | set(DEPLOYMENT_RULES) | set(CONTRACT_BY_ID), catalog.services())
    checker = Checker(strict_logical_types=strict_logical_types)
    result = GateResult()
    outcomes: list[list[Finding] | _Pending] = []  # per subject to check: remembered findings, or the task and its key
    levels = _LevelChecks(jobs if jobs is not None else (os.cpu_count() or 1))
    try:
        fresh = iter(_find_levels(catalog, history, result, levels, outcomes, strict_logical_types, subjects, compile_rules, verdicts))
    except BaseException:
        levels.close()
        raise
    for outcome in outcomes:  # in the catalog's order, remembered or checked now
        if isinstance(outcome, _Pending):
            found = next(fresh)
            if verdicts:
                verdicts.remember_subject(outcome.key, found)
            outcome = found
        result.findings += outcome
    if deployments:
        result.findings += deployment_findings(catalog, history, checker, result.states)
    result.findings = group_findings(apply_overrides(result.findings, history.overrides))
    if history.labels or history.candidate_label:
        result.findings = _relabel(result.findings, history, {st.subject.name: st.next_version for st in result.states})
    result.findings = with_lines(result.findings, catalog.root.parent)
    return result


def _find_levels(
    catalog: Catalog,
    history: History,
    result: GateResult,
    levels: _LevelChecks,
    outcomes: list[list[Finding] | _Pending],
    strict_logical_types: bool,
    subjects: Sequence[str] | None,
    compile_rules: bool,
    verdicts: Verdicts | None,
) -> list[list[Finding]]:
    """Each subject's state and contract findings into ``result``; its level check remembered, or started: the checks' findings."""
    for state in subject_states(catalog, history):
        sub = state.subject
        if subjects and sub.name not in subjects:
            continue
        result.checked.append(sub.name)
        result.states.append(state)
        versions = history.versions(sub.name)
        result.findings += _contract_findings(catalog, history, state, versions, compile_rules)
        if sub.compatibility_group is not None:  # only the versions of the candidate's group
            value = sub.contract.metadata.properties.get(sub.compatibility_group)
            versions = [v for v in versions if v.contract.metadata.properties.get(sub.compatibility_group) == value]
        if not state.changed or not versions:
            continue  # unchanged, or a first version (of its group): always accepted
        task = _Task(
            sub.name,
            state.candidate_json,
            sub.compatibility,
            [(v.number, v.file, v.raw_if_loaded) for v in versions],
            state.next_version,
            sub.file,
            history.deployed(sub.name, "consumes"),
            history.deployed(sub.name, "produces"),
            strict_logical_types,
            {**history.labels.get(sub.name, {}), **({state.next_version: f"the {history.candidate_label}'s schema"} if history.candidate_label else {})},
        )
        pending = _Pending(task, [(v.number, v.file, v.raw_if_loaded, v.on_disk) for v in versions])
        remembered = None
        if verdicts is not None and verdicts.remembers_subjects:  # else keyed below, while the workers work
            pending.key = verdicts.subject_key(task.key_parts(), pending.versions)
            remembered = verdicts.subject(pending.key)
        if remembered is None:
            levels.add(task)
        outcomes.append(remembered if remembered is not None else pending)
    if verdicts is not None:
        for outcome in outcomes:
            if isinstance(outcome, _Pending) and not outcome.key:
                outcome.key = verdicts.subject_key(outcome.task.key_parts(), outcome.versions)
    return levels.results()


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
