"""``contracts init``: start using event contracts in any repository."""

from __future__ import annotations

from pathlib import Path

import click

from contracts import scaffold
from contracts.cli._common import PACKAGE_NAME
from contracts.errors import BadInputError


@click.command("init")
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path), default=".")
@click.option("--package", default="events", show_default=True, help="Import name for the generated classes (mypkg.events).")
@click.option("--install", "install", default=None, help="What the CI workflow pip-installs (default: where this tool came from).")
@click.option("--force", is_flag=True, help="Overwrite files that exist (an existing [tool.contracts] is kept).")
def init(directory: Path, package: str, install: str | None, force: bool) -> None:
    """Scaffold schemas/, a catalog, compatibility/, [tool.contracts], pre-commit hooks and a CI workflow.

    Refuses (exit 2, naming them) to overwrite files unless --force. Then
    `contracts codegen` and `contracts compat check` pass in DIRECTORY.

    \b
    Example:
      contracts init . --package billing.events
    """
    if not PACKAGE_NAME.match(package):
        raise BadInputError(f"--package {package!r} is not a Python import name (dotted identifiers, like mypkg.events)")
    directory.mkdir(parents=True, exist_ok=True)
    source = scaffold.InstallSource(install, "--install") if install else scaffold.install_source()
    written = scaffold.write(directory, scaffold.plan(package, install=source.spec), force=force)
    for rel in written:
        click.echo(f"  wrote {rel}")
    if source.spec:
        click.echo(f'CI installs the tool with: pip install "{source.spec}" ({source.how})')
    else:
        click.echo(
            f"warning: CI cannot install this copy of event-contracts ({source.how}); the workflow's install step fails "
            "until you set it: rerun with --install SPEC (a git URL, an index name) or edit .github/workflows/contracts.yml",
            err=True,
        )
    here = directory.resolve() == Path.cwd().resolve()
    click.echo(("next: " if here else f"next: cd {directory} && ") + "contracts codegen && contracts compat check")
