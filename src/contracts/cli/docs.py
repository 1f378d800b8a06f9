"""``contracts docs build``: the event catalog as a static site."""

from __future__ import annotations

from pathlib import Path

import click

from contracts.cli._common import history_option, progress_bar, project_catalog, schemas_option


@click.group("docs")
def command() -> None:
    """The event catalog as a static site: events, subjects and their history, topics, services, topology.

    \b
    Example:
      contracts docs build -o site
    """


@command.command("build")
@schemas_option
@history_option
@click.option("--output", "-o", type=click.Path(file_okay=False, path_type=Path), default=Path("site"), show_default=True, help="Where to write the site.")
def build(schemas: str | None, history: str | None, output: Path) -> None:
    """Write the catalog site (offline: open index.html from disk; a rebuild with no change writes identical files).

    \b
    Example:
      contracts docs build -o site && open site/index.html
    """
    from contracts.compat import load_history
    from contracts.site import build as build_site

    config, catalog = project_catalog(schemas)
    hist = load_history(Path(history) if history else config.compatibility)
    with progress_bar("event pages") as update:
        update(-len(catalog.types))
        written = build_site(catalog, hist, output, package=config.package, progress=lambda _: update(1))
    click.echo(f"wrote {len(written)} pages to {output}; open {output / 'index.html'}")


@command.command("cli-reference")
def cli_reference() -> None:
    """Print the command reference (every command's help) as markdown.

    \b
    Example:
      contracts docs cli-reference > docs/cli.md
    """
    from contracts.cli import main
    from contracts.cli.reference import markdown

    click.echo(markdown(main), nl=False)
