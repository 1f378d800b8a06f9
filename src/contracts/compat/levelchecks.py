"""The level checks of changed subjects: each a self-contained task, run here or, for many, in worker processes."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from contracts import schema as s
from contracts.compat.checker import Checker
from contracts.compat.engine import ServicesOn, VersionedSchema, check_level
from contracts.compat.verdicts import engine
from contracts.filedigests import Entry
from contracts.findings import Finding
from contracts.textfiles import read_json, read_json_with_entry

Digests = dict[str, Entry]
"""What a task read from disk, by the path it was given: the verdict cache keys on exactly what was checked, without reading it again."""


@dataclass
class LevelTask:
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
    digests: bool = False  # report what was read from disk, with its digest

    def key_parts(self) -> list[Any]:
        """All the task is but its versions' content (``Verdicts.subject_key`` adds that)."""
        return [
            engine(), self.subject, self.candidate, self.level, self.new_version, self.file,
            sorted(self.consumers_on.items()), sorted(self.producers_on.items()), self.strict, sorted(self.labels.items()),
        ]  # fmt: skip


def run_tasks(tasks: Sequence[LevelTask]) -> list[tuple[list[Finding], Digests]]:
    """Each task's findings and what it read, in order."""
    with s.bulk():
        return [run_task(task) for task in tasks]


def run_task(task: LevelTask) -> tuple[list[Finding], Digests]:
    checker = Checker(strict_logical_types=task.strict)  # its memo serves one subject's versions
    shared: dict[str, Any] = {}  # versions of one subject share unchanged nested records
    candidate = s.SchemaParser(shared=shared).parse(task.candidate, file=task.file)
    hist = []
    read: Digests = {}
    for number, file, raw in task.versions:
        if raw is None and task.digests:
            raw, read[file] = read_json_with_entry(file, file)
        elif raw is None:
            raw = read_json(file, file)
        hist.append(VersionedSchema(number, s.SchemaParser(shared=shared).parse(raw, file=file)))
    findings = check_level(
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
    return findings, read


def _labeller(labels: dict[int, str]) -> Callable[[int], str]:
    return lambda number: labels.get(number, f"v{number}")


def _on(table: dict[int, list[str]]) -> ServicesOn:
    return lambda version: table.get(version, [])


# Below this many subjects to check, worker processes cost more than they save.
PARALLEL_THRESHOLD = 200
CHUNK = 64  # tasks sent to a worker at a time, once there are workers


class LevelChecks:
    """Level checks run as they are found: here, or, once there are many, in ``jobs`` worker processes.

    Tasks go to the workers while the gate is still finding more, so that reading the
    catalog's state and checking it overlap.
    """

    def __init__(self, jobs: int) -> None:
        self.jobs = jobs
        self._pending: list[LevelTask] = []
        self._futures: list[Future[list[tuple[list[Finding], Digests]]]] = []
        self._pool: ProcessPoolExecutor | None = None

    def add(self, task: LevelTask) -> None:
        self._pending.append(task)
        if self._pool is None and self.jobs > 1 and len(self._pending) >= PARALLEL_THRESHOLD:
            self._pool = ProcessPoolExecutor(max_workers=self.jobs)
        if self._pool is not None and len(self._pending) >= CHUNK:
            self._submit(self._pool)

    def _submit(self, pool: ProcessPoolExecutor) -> None:
        self._futures.append(pool.submit(run_tasks, self._pending))
        self._pending = []

    def close(self) -> None:
        """Stop the workers (the gate failed on the way: nothing more is needed of them)."""
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)

    def results(self) -> Iterator[tuple[list[Finding], Digests]]:
        """Each task's findings and what it read, in the order the tasks were added, as they come in.

        Taken one by one, the first results are dealt with while the workers check the rest.
        """
        pool = self._pool
        if pool is None:
            yield from run_tasks(self._pending)
            return
        try:
            if self._pending:
                self._submit(pool)
            for future in self._futures:
                yield from future.result()
        finally:
            pool.shutdown(cancel_futures=True)
