"""``contracts compat``: the compatibility gate, the rule list and publishing new versions."""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar, cast

import click

from contracts.cli._common import (
    config_catalog,
    errors_in_format,
    format_option,
    history_option,
    make_client,
    project_catalog,
    registry_auth_options,
    schemas_option,
)
from contracts.compat.verdicts import NO_CACHE_ENV, Verdicts, cache_folder
from contracts.config import load_config
from contracts.errors import EXIT_VIOLATION
from contracts.findings import Finding, render
from contracts.schema import bulk

if TYPE_CHECKING:
    from contracts.catalog import Catalog

F = TypeVar("F", bound=Callable[..., Any])


@click.group("compat")
def command() -> None:
    """Compatibility gate: check schemas/ against what has been published.

    \b
    Example:
      contracts compat check
    """


def _known_subjects(catalog: Catalog, subjects: tuple[str, ...]) -> None:
    for name in subjects:
        catalog.subject(name)  # raises for an unknown subject: exit 2


def without_collector(fn: F) -> F:
    """Run the command with the cyclic collector paused: tens of thousands of files' worth of small objects, no garbage worth collecting."""

    @functools.wraps(fn)
    def run(*args: Any, **kwargs: Any) -> Any:
        with bulk():
            return fn(*args, **kwargs)

    return cast(F, run)


@command.command("check")
@schemas_option
@history_option
@format_option
@click.option("--against-registry", "registry", default=None, metavar="URL", help="Also check against a live registry's versions.")
@click.option("--registry-only", is_flag=True, help="With --against-registry: ignore compatibility/ versions.")
@click.option("--against-git", "git_ref", default=None, metavar="REF", help="Check against the schemas at a git ref (main, origin/main, a tag) instead of compatibility/.")
@click.option("--strict-logical-types", is_flag=True, default=None, help="Report decimal scale/precision and time unit changes.")
@click.option("--subject", "subjects", multiple=True, help="Only these subjects (repeatable).")
@click.option("--no-deployments", is_flag=True, help="Skip the producer/consumer deployment check.")
@click.option("--no-cache", is_flag=True, help=f"Check everything again: neither read nor write the remembered verdicts (.contracts-cache/gate; env {NO_CACHE_ENV}=1).")
@registry_auth_options
@errors_in_format("compat")
@without_collector
def check(
    schemas: str | None,
    history: str | None,
    fmt: str,
    registry: str | None,
    registry_only: bool,
    strict_logical_types: bool | None,
    subjects: tuple[str, ...],
    no_deployments: bool,
    git_ref: str | None,
    no_cache: bool,
    **tls: str | None,
) -> None:
    """Check every schema against its subject's history at the subject's level.

    Exit 0 when all pass, 1 on any finding not accepted by an override,
    2 on bad input, 3 when the registry is unreachable.

    \b
    Examples:
      contracts compat check --format github
      contracts compat check --against-git origin/main --format markdown >> "$GITHUB_STEP_SUMMARY"
    """
    config = load_config()
    strict = config.strict_logical_types if strict_logical_types is None else strict_logical_types
    # The gate's engine and the catalog are imported once they are needed: not by a run answered from memory.
    from contracts.compat.gate import run_gate
    from contracts.compat.history import load_history

    history_root = Path(history) if history else config.compatibility
    verdicts = Verdicts(None if no_cache else cache_folder(config.root))
    options = {"strict": strict, "deployments": not no_deployments, "subjects": sorted(subjects)}
    remember = not registry and verdicts.folder is not None  # a live registry is asked every time; files and a commit can be remembered
    roots = [Path(schemas) if schemas else config.schemas, history_root, config.root / "pyproject.toml"]
    if remember and verdicts.remembers_runs:
        run_key = _run_key(verdicts, roots, git_ref, options)
        remembered = verdicts.run(run_key) if run_key else None
        if remembered is not None:
            _report(*remembered, fmt, verdicts)
            return
    elif remember:  # nothing to look up: the key is taken at the end, of the files as they are now (looked at meanwhile)
        verdicts.files.look_ahead(roots)
    catalog = config_catalog(config, schemas)
    _known_subjects(catalog, subjects)
    hist = load_history(history_root)
    findings: list[Finding] = []
    checked: list[str] = []
    if git_ref:  # another source of history for the same gate
        from contracts.compat.against_git import history_at

        hist = history_at(catalog, git_ref, hist)
    if not registry_only:
        remembering = verdicts if verdicts.folder is not None else None
        result = run_gate(catalog, hist, strict_logical_types=strict, deployments=not no_deployments, subjects=subjects or None, verdicts=remembering)
        findings += result.findings
        checked = result.checked
    if registry:
        from contracts.registry.snapshot import fetch_history

        client = make_client(registry, **tls)
        live = fetch_history(client, [s.name for s in catalog.subjects() if not subjects or s.name in subjects])
        live.overrides = hist.overrides
        live_result = run_gate(catalog, live, strict_logical_types=strict, deployments=False, subjects=subjects or None)
        for f in live_result.findings:
            findings.append(replace(f, message=f"[registry {client.url}] {f.message}"))
        checked = checked or live_result.checked
    run_key = _run_key(verdicts, roots, git_ref, options) if remember else None
    if run_key:
        verdicts.remember_run(run_key, findings, checked)
    _report(findings, checked, fmt, verdicts)


def _run_key(verdicts: Verdicts, roots: list[Path], git_ref: str | None, options: dict[str, object]) -> str | None:
    """What the whole gate reads: every file under the schemas and history folders, the configuration, the options and the ref's commit."""
    options = {**options, "roots": [str(r.resolve()) for r in roots]}
    if git_ref:
        from contracts.compat.against_git import commit_of

        commit = commit_of(git_ref, roots[0])
        if commit is None:
            return None  # the gate itself says what is wrong with the ref
        options["commit"] = commit
    return verdicts.run_key(roots, options)


def _report(findings: list[Finding], checked: list[str], fmt: str, verdicts: Verdicts) -> None:
    verdicts.save()
    click.echo(render(findings, fmt, tool="compat", checked=checked))
    if any(f.blocking for f in findings):
        raise SystemExit(EXIT_VIOLATION)


@command.command("rules")
@click.option("--format", "fmt", type=click.Choice(["text", "json", "markdown"]), default="text", show_default=True)
def rules(fmt: str) -> None:
    """List every compatibility and data-contract rule id with its meaning (markdown: the docs page).

    \b
    Example:
      contracts compat rules --format json
    """
    if fmt == "markdown":
        from contracts.compat.docs import markdown

        click.echo(markdown(), nl=False)
        return
    from contracts.compat.rules import RULES
    from contracts.datacontract.checks import CATEGORY as CONTRACT_CATEGORY
    from contracts.datacontract.checks import CONTRACT_RULES

    if fmt == "json":
        listed = [{"id": r.id, "category": r.category, "summary": r.summary, "fails_at": r.level} for r in RULES]
        listed += [{"id": r.id, "category": CONTRACT_CATEGORY, "summary": r.summary, "severity": r.severity} for r in CONTRACT_RULES]
        click.echo(json.dumps(listed, indent=2))
        return
    for r in RULES:
        click.echo(f"{r.id:<30} {r.category:<24} {r.summary}")
    for c in CONTRACT_RULES:
        click.echo(f"{c.id:<30} {CONTRACT_CATEGORY:<24} {c.summary}")


@command.command("publish")
@schemas_option
@history_option
@format_option
@click.option("--subject", "subjects", multiple=True, help="Only these subjects (repeatable).")
@click.option("--dry-run", is_flag=True, help="Say what would be published; write nothing.")
@errors_in_format("compat")
def publish(schemas: str | None, history: str | None, fmt: str, subjects: tuple[str, ...], dry_run: bool) -> None:
    """Append each changed schema as the next version of its subject.

    Refuses (exit 1, writing nothing) when any change breaks its subject's level
    and no override in compatibility/overrides.toml accepts it. A subject's
    first version is always accepted.

    \b
    Examples:
      contracts compat publish --dry-run
      contracts compat publish --subject orders-value
    """
    from contracts.compat.gate import run_gate
    from contracts.compat.history import load_history, write_version

    config, catalog = project_catalog(schemas)
    _known_subjects(catalog, subjects)
    root = Path(history) if history else config.compatibility
    hist = load_history(root)
    result = run_gate(catalog, hist, strict_logical_types=config.strict_logical_types, deployments=False, subjects=subjects or None)
    if result.blocking:
        click.echo(render(result.findings, fmt, tool="compat", checked=result.checked))
        click.echo("publish refused: nothing was written", err=True)
        raise SystemExit(EXIT_VIOLATION)
    changed = [st for st in result.states if st.changed]
    if not changed:
        click.echo("nothing to publish: every subject matches its latest version")
        return
    for st in changed:
        verb = "would publish" if dry_run else "published"
        if not dry_run:
            write_version(root, st.subject.name, st.next_version, st.candidate_json, st.subject.contract)
        click.echo(f"{verb} {st.subject.name} v{st.next_version} ({st.subject.compatibility})")
    accepted = [f for f in result.findings if f.severity == "accepted"]
    if accepted:
        click.echo(render(accepted, "text", tool="compat", checked=result.checked))
