"""Findings and their output formats (text, JSON, JUnit XML, GitHub annotations).

Lint and the compatibility gate report the same shape so that CI tooling reads
one format whatever produced it.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

from contracts.errors import ContractsError, InfrastructureError, SchemaError
from contracts.redaction import redact
from contracts.schema.locate import field_line, parse_with_lines

FORMATS = ("text", "json", "junit", "github", "markdown")


@dataclass(frozen=True)
class Finding:
    """One problem: a stable rule id, where it is, and what breaks for whom."""

    rule: str
    message: str
    file: str | None = None
    path: str | None = None
    subject: str | None = None
    old_version: int | str | None = None
    new_version: int | str | None = None
    category: str = ""
    severity: str = "error"  # "error"; "accepted" when an override lets it through; "warning": reported, never blocking
    reason: str | None = None  # the override's reason, for accepted findings
    line: int | None = None
    services: tuple[str, ...] = ()  # the deployed services it breaks, where known
    versions: tuple[tuple[int | str | None, int | str | None], ...] = ()  # (old, new) pairs, when grouped
    details: tuple[str, ...] = ()  # the other sentences of a grouped finding

    @property
    def blocking(self) -> bool:
        return self.severity == "error"

    def versions_label(self) -> str:
        """``v1, v2 -> v3`` (grouped), ``v2 -> v3``, or empty when no versions are involved."""
        if len(self.versions) > 1:
            news = {new for _, new in self.versions}
            if len(news) == 1:
                return ", ".join(_v(old) for old, _ in self.versions) + f" -> {_v(next(iter(news)))}"
            return ", ".join(f"{_v(old)} -> {_v(new)}" for old, new in self.versions)
        if self.old_version is not None or self.new_version is not None:
            return f"{_v(self.old_version)} -> {_v(self.new_version)}"
        return ""

    def where(self) -> str:
        parts = []
        if self.file:
            parts.append(self.file + (f":{self.line}" if self.line else ""))
        if self.subject:
            versions = self.versions_label()
            parts.append(f"subject {self.subject}" + (f" {versions}" if versions else ""))
        if self.path:
            parts.append(f"{'enum' if self.rule.startswith('ENUM_') else 'field'} {self.path}")
        return ", ".join(parts)

    def sentences(self) -> list[str]:
        """What breaks for whom: the message, then the other sentences of a group."""
        return [self.message, *self.details]

    def to_dict(self) -> dict[str, Any]:
        out = {k: v for k, v in asdict(self).items() if v is not None and v != "" and v != ()}
        if self.versions:
            out["versions"] = [list(pair) for pair in self.versions]
        for key in ("services", "details"):
            if key in out:
                out[key] = list(out[key])
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Finding:
        """The finding ``to_dict`` gave (what it left out are the defaults)."""
        given = dict(data)
        given["versions"] = tuple(tuple(pair) for pair in given.get("versions", ()))
        for key in ("services", "details"):
            given[key] = tuple(given.get(key, ()))
        return cls(**given)


def _v(version: int | str | None) -> str:
    """``v3`` for a version number; a label (``origin/main``, ``working tree``) as it is."""
    return f"v{version}" if isinstance(version, int) else str(version)


def group_findings(findings: Sequence[Finding]) -> list[Finding]:
    """One finding per subject, rule, field and severity, listing every version pair and service it breaks.

    One change often breaks the same field against several versions and deployed services;
    reported once, with each sentence kept, it reads as the one problem it is.
    """
    groups: dict[tuple[Any, ...], list[Finding]] = {}
    for f in findings:
        groups.setdefault((f.subject, f.rule, f.path, f.severity, f.file), []).append(f)
    out = []
    for members in groups.values():
        first = members[0]
        if len(members) == 1 and not first.subject:
            out.append(first)
            continue
        pairs: list[tuple[int | str | None, int | str | None]] = []
        for f in members:
            for pair in f.versions or ((f.old_version, f.new_version),):
                if pair not in pairs and pair != (None, None):
                    pairs.append(pair)
        pairs.sort(key=lambda p: (_order(p[1]), _order(p[0])))
        sentences: list[str] = []
        covered: set[str] = set()
        # The deployment check's sentences name the service, its version and its producer: the most
        # specific, so they come first and a level sentence about the same services is left out.
        for f in sorted(members, key=lambda f: f.category != "deployment"):
            if f.services and covered.issuperset(f.services):
                continue  # one sentence per service is enough: an earlier one already says what breaks for it
            covered.update(f.services)
            sentences += [m for m in f.sentences() if m not in sentences]
        services = sorted({svc for f in members for svc in f.services})
        categories = sorted({f.category for f in members if f.category})
        out.append(
            replace(
                first,
                message=sentences[0],
                details=tuple(sentences[1:]),
                services=tuple(services),
                versions=tuple(pairs) if len(pairs) > 1 else (),
                old_version=min((p[0] for p in pairs), key=_order) if pairs else first.old_version,
                new_version=max((p[1] for p in pairs), key=_order) if pairs else first.new_version,
                category="+".join(categories),
            )
        )
    return out


def _order(version: int | str | None) -> tuple[int, str]:
    return (version, "") if isinstance(version, int) else (-1, str(version))


def render(findings: Sequence[Finding], fmt: str, *, tool: str, checked: Sequence[str] = ()) -> str:
    """Format findings; ``checked`` names the items (files, subjects) that were examined."""
    if fmt == "json":
        blocking = sum(f.blocking for f in findings)
        payload = {
            "tool": tool,
            "checked": len(checked),
            "errors": blocking,
            "accepted": sum(f.severity == "accepted" for f in findings),
            "warnings": sum(f.severity == "warning" for f in findings),
            "findings": [f.to_dict() for f in findings],
        }
        return json.dumps(payload, indent=2, default=str)
    if fmt == "junit":
        return _junit(findings, tool, checked)
    if fmt == "github":
        return "\n".join(_github(f) for f in findings)
    if fmt == "markdown":
        return _markdown(findings, tool, checked)
    return _text(findings, tool, checked)


def with_lines(findings: Sequence[Finding], base: Path) -> list[Finding]:
    """Each finding on a field of an ``.avsc`` file (``base`` / its file) with the line declaring that field."""
    documents: dict[str, Any] = {}
    out = []
    for f in findings:
        if f.line is None and f.file and f.path and f.file.endswith(".avsc"):
            if f.file not in documents:
                try:
                    documents[f.file] = parse_with_lines((base / f.file).read_text(encoding="utf-8"))
                except (OSError, UnicodeDecodeError, ValueError):  # not on disk (a git ref's file), or not JSON
                    documents[f.file] = None
            document = documents[f.file]
            line = field_line(document, f.path) if document is not None else None
            if line is not None:
                f = replace(f, line=line)
        out.append(f)
    return out


def error_finding(exc: ContractsError) -> Finding:
    """A bad input or an outage as a finding, so that CI formats show it where they show findings."""
    if isinstance(exc, SchemaError):
        loc = exc.location
        return Finding(rule=exc.rule, message=exc.message, file=loc.file, line=loc.line, path=loc.path, category="input")
    if isinstance(exc, InfrastructureError):
        return Finding(rule="UNREACHABLE", message=redact(str(exc)), category="infrastructure")
    return Finding(rule="BAD_INPUT", message=redact(str(exc)), category="input")


def _markdown(findings: Sequence[Finding], tool: str, checked: Sequence[str]) -> str:
    """A summary for a CI step summary or a pull-request comment: by subject, naming what each finding breaks."""
    errors = sum(f.blocking for f in findings)
    lines = [f"## {tool}: {errors} error(s) in {len(checked)} checked" + (", all clear" if not findings else "")]
    by_subject: dict[str, list[Finding]] = {}
    for f in findings:
        by_subject.setdefault(f.subject or f.file or "(input)", []).append(f)
    for subject in sorted(by_subject):
        lines += ["", f"### `{subject}`", ""]
        for f in by_subject[subject]:
            where = f" on `{f.path}`" if f.path else ""
            versions = f" ({f.versions_label()})" if f.versions_label() else ""
            breaks = f", breaks {', '.join(f.services)}" if f.services else ""
            state = "error" if f.blocking else "warning" if f.severity == "warning" else "accepted by override"
            lines.append(f"- **`{f.rule}`**{where}{versions}{breaks} ({state}): {f.message}")
            lines += [f"  - {d}" for d in f.details]
            if f.reason:
                lines.append(f"  - override reason: {f.reason}")
    return "\n".join(lines) + "\n"


def _text(findings: Sequence[Finding], tool: str, checked: Sequence[str]) -> str:
    lines = []
    for f in findings:
        tag = {"accepted": "ACCEPTED ", "warning": "WARNING "}.get(f.severity, "")
        lines.append(f"{tag}{f.rule}: {f.where()}")
        lines.extend(f"    {m}" for m in f.sentences())
        if f.services:
            lines.append(f"    breaks: {', '.join(f.services)}")
        if f.reason:
            lines.append(f"    override reason: {f.reason}")
    errors = sum(f.blocking for f in findings)
    accepted = sum(f.severity == "accepted" for f in findings)
    warnings = sum(f.severity == "warning" for f in findings)
    summary = f"{tool}: {len(checked)} checked, {errors} error(s)"
    if warnings:
        summary += f", {warnings} warning(s)"
    if accepted:
        summary += f", {accepted} accepted by override"
    lines.append(summary)
    return "\n".join(lines)


def _github(f: Finding) -> str:
    level = "error" if f.blocking else "warning" if f.severity == "warning" else "notice"
    props = []
    if f.file:
        props.append(f"file={_gh_escape(f.file, prop=True)}")
    if f.line:
        props.append(f"line={f.line}")
    props.append(f"title={_gh_escape(f.rule, prop=True)}")
    where = f" ({f.where()})" if f.subject or f.path else ""
    body = "\n".join([f.message + where, *f.details])
    return f"::{level} {','.join(props)}::{_gh_escape(body)}"


def _gh_escape(text: str, *, prop: bool = False) -> str:
    text = text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    if prop:
        text = text.replace(":", "%3A").replace(",", "%2C")
    return text


def _junit(findings: Sequence[Finding], tool: str, checked: Sequence[str]) -> str:
    suite = ET.Element("testsuite", name=tool)
    failures = 0
    for f in findings:
        case = ET.SubElement(suite, "testcase", classname=f.subject or f.file or tool, name=f"{f.rule} {f.path or ''}".strip())
        if f.blocking:
            failures += 1
            fail = ET.SubElement(case, "failure", type=f.rule, message=f.message)
            fail.text = "\n".join([f.where(), *f.sentences()])
        else:
            out = ET.SubElement(case, "system-out")
            out.text = f"warning: {f.message}" if f.severity == "warning" else f"accepted by override: {f.reason or ''}"
    failing = {f.subject or f.file for f in findings}
    for item in checked:
        if item not in failing:
            ET.SubElement(suite, "testcase", classname=item, name="compatible" if tool == "compat" else "clean")
    suite.set("failures", str(failures))
    suite.set("tests", str(len(suite)))
    root = ET.Element("testsuites")
    root.append(suite)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode")
