"""``contracts asyncapi``: the catalog as an AsyncAPI 3.0 document."""

from __future__ import annotations

import json
from pathlib import Path

import click

from contracts.cli._common import project_catalog, schemas_option
from contracts.errors import BadInputError


@click.command("asyncapi")
@schemas_option
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path), default=None, help="Write here (default: standard output).")
@click.option("--server", "servers", multiple=True, metavar="NAME=HOST:PORT", help="A Kafka server for the document (repeatable).")
@click.option("--title", default="Event contracts", show_default=True, help="The document's title.")
@click.option("--version", "doc_version", default="1.0.0", show_default=True, help="The document's version.")
@click.option("--format", "fmt", type=click.Choice(["yaml", "json"]), default=None, help="Default: from the output's suffix, else yaml.")
def asyncapi(schemas: str | None, output: Path | None, servers: tuple[str, ...], title: str, doc_version: str, fmt: str | None) -> None:
    """Write an AsyncAPI 3.0 document: channels = topics, messages = event types (self-contained Avro), operations per service.

    \b
    Examples:
      contracts asyncapi -o asyncapi.yaml --server production=kafka.internal:9092
      contracts asyncapi --format json > asyncapi.json
    """
    from contracts.asyncapi import document

    parsed: dict[str, str] = {}
    for item in servers:
        name, sep, host = item.partition("=")
        if not sep or not name or not host:
            raise BadInputError(f"--server {item!r}: expected NAME=HOST:PORT")
        parsed[name] = host
    _, catalog = project_catalog(schemas)
    doc = document(catalog, title=title, version=doc_version, servers=parsed)
    fmt = fmt or ("json" if output is not None and output.suffix == ".json" else "yaml")
    if fmt == "json":
        text = json.dumps(doc, indent=2, ensure_ascii=False) + "\n"
    else:
        import yaml

        text = yaml.safe_dump(doc, sort_keys=False, allow_unicode=True, width=120)
    if output is None:
        click.echo(text, nl=False)
    else:
        output.write_text(text, encoding="utf-8")
        click.echo(f"wrote {output}", err=True)
