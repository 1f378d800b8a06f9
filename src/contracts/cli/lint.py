"""``contracts lint``: schema and catalog lint."""

from __future__ import annotations

import json
from pathlib import Path

import click

from contracts.catalog import load_catalog
from contracts.cli._common import format_option, schemas_option
from contracts.config import load_config
from contracts.errors import EXIT_VIOLATION
from contracts.findings import render
from contracts.lint import RULES
from contracts.lint import lint as run_lint


@click.command("lint")
@schemas_option
@format_option
@click.option("--list-rules", is_flag=True, help="List the lint rules and exit.")
def lint(schemas: str | None, fmt: str, list_rules: bool) -> None:
    """Parse every schema and the catalog, and check the lint rules."""
    if list_rules:
        if fmt == "json":
            click.echo(json.dumps([{"id": r.id, "category": r.category, "summary": r.summary} for r in RULES], indent=2))
        else:
            for r in RULES:
                click.echo(f"{r.id:<36} {r.category:<14} {r.summary}")
        return
    config = load_config()
    catalog = load_catalog(Path(schemas) if schemas else config.schemas)
    findings = run_lint(catalog, config.lint)
    checked = [f.path for f in catalog.files]
    click.echo(render(findings, fmt, tool="lint", checked=checked))
    if any(f.blocking for f in findings):
        raise SystemExit(EXIT_VIOLATION)
