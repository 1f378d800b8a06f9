"""``contracts lint``: schema and catalog lint."""

from __future__ import annotations

import json

import click

from contracts.cli._common import errors_in_format, project_catalog, schemas_option
from contracts.errors import EXIT_VIOLATION
from contracts.findings import render
from contracts.lint import RULES
from contracts.lint import lint as run_lint


@click.command("lint")
@schemas_option
@click.option(
    "--format", "fmt", type=click.Choice(["text", "json", "junit", "github", "markdown"]), default="text", show_default=True,
    help="Output format (markdown: with --list-rules, the docs page).",
)
@click.option("--list-rules", is_flag=True, help="List the lint rules and exit.")
@errors_in_format("lint")
def lint(schemas: str | None, fmt: str, list_rules: bool) -> None:
    """Parse every schema and the catalog, and check the lint rules.

    \b
    Examples:
      contracts lint
      contracts lint --format github
    """
    if list_rules:
        if fmt == "markdown":
            click.echo(_markdown(), nl=False)
            return
        if fmt == "json":
            click.echo(json.dumps([{"id": r.id, "category": r.category, "summary": r.summary} for r in RULES], indent=2))
        else:
            for r in RULES:
                click.echo(f"{r.id:<36} {r.category:<14} {r.summary}")
        return
    config, catalog = project_catalog(schemas, defaults=False)
    findings = run_lint(catalog, config.lint)
    checked = [f.path for f in catalog.files]
    click.echo(render(findings, fmt, tool="lint", checked=checked))
    if any(f.blocking for f in findings):
        raise SystemExit(EXIT_VIOLATION)


def _markdown() -> str:
    lines = [
        "# Lint rules\n",
        "`contracts lint` parses every schema and `catalog.toml`, then checks these rules. Disable one",
        "globally or per path in `pyproject.toml`:\n",
        "```toml\n[tool.contracts.lint]\ndisable = [\"ENUM_WITHOUT_DEFAULT\"]\n\n[tool.contracts.lint.per_path]",
        "\"schemas/legacy/**\" = [\"MISSING_DOC\"]\n```\n",
        "A lint finding exits 1, except a warning (`INVALID_LOGICAL_TYPE`: an invalid logical type, such as",
        "a decimal whose scale exceeds its precision, is ignored as the Avro specification says, and the",
        "field is read and written as its underlying type everywhere: codegen, the gate, the registry and",
        "the serializers). A schema that cannot be parsed exits 2 with the file, the position or field path,",
        "and one of the parse rules (`INVALID_JSON`, `UNKNOWN_TYPE`, `DUPLICATE_NAME`,",
        "`FILE_REFERENCE_CYCLE`, `INVALID_SCHEMA`, `INVALID_NAME`, `NESTING_TOO_DEEP`,",
        "`INVALID_CATALOG`, `NO_CATALOG`, `NO_SCHEMAS`). Lint never passes on nothing: no schemas, no",
        "catalog or a catalog without topics is exit 2.\n",
        "| rule | category | what it asks |",
        "| --- | --- | --- |",
    ]
    lines += [f"| `{r.id}` | {r.category} | {r.summary} |" for r in RULES]
    return "\n".join(lines) + "\n"
