"""``contracts codegen``: regenerate (or check) the generated event package."""

from __future__ import annotations

import time
from pathlib import Path

import click

from contracts.cli._common import PACKAGE_NAME, schemas_option
from contracts.config import load_config, package_folder
from contracts.errors import EXIT_VIOLATION, BadInputError


@click.command("codegen")
@schemas_option
@click.option("--package", default=None, help="Import name of the generated package (default: [tool.contracts] package, or events).")
@click.option("--output", type=click.Path(file_okay=False, path_type=str), default=None, help="Generated package folder (default: follows from the package).")
@click.option("--check", is_flag=True, help="Change nothing; exit 1 naming the files that are out of date.")
@click.option("--force", is_flag=True, help="Ignore the content-hash cache.")
def codegen(schemas: str | None, package: str | None, output: str | None, check: bool, force: bool) -> None:
    """Generate typed pydantic classes from the Avro schemas (atomic, deterministic, cached).

    The generator owns its output folder: it refuses (exit 2) to write into a folder
    holding files it did not generate, and never deletes them.

    \b
    Examples:
      contracts codegen --package billing.events
      contracts codegen --check
    """
    from contracts.codegen import ForeignFilesError, generate
    from contracts.codegen import check as check_tree

    config = load_config()
    src = Path(schemas) if schemas else config.schemas
    name = package or config.package
    if not PACKAGE_NAME.match(name):
        raise BadInputError(f"--package {name!r} is not a Python import name (dotted identifiers, like mypkg.events)")
    out = Path(output) if output else config.events if package is None else package_folder(config.root, name)
    if check:
        stale = check_tree(src, out, name)
        if stale:
            click.echo(f"generated code in {out} is out of date with {src}; run `contracts codegen`:", err=True)
            for rel in stale:
                click.echo(f"  {(out / rel).as_posix()}", err=True)
            raise SystemExit(EXIT_VIOLATION)
        click.echo(f"{out} is up to date with {src}")
        return
    started = time.perf_counter()
    try:
        result = generate(src, out, cache_dir=config.root / ".contracts-cache", force=force, package=name)
    except ForeignFilesError as exc:
        raise BadInputError(str(exc)) from exc
    took = time.perf_counter() - started
    if result.cached:
        click.echo(f"{out}: up to date (cache hit, {took:.2f}s)")
    elif result.changed:
        click.echo(f"{out}: wrote {len(result.files)} files, {len(result.changed)} changed ({took:.2f}s)")
        for rel in result.changed:
            click.echo(f"  {rel}")
    else:
        click.echo(f"{out}: no changes ({took:.2f}s)")
