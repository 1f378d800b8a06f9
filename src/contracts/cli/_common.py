"""Shared CLI plumbing: error handling with documented exit codes, common options."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any, TypeVar

import click

from contracts.errors import EXIT_BAD_INPUT, ContractsError, redact
from contracts.findings import FORMATS
from contracts.shutdown import Stopped

F = TypeVar("F", bound=Callable[..., Any])


class ContractsGroup(click.Group):
    """A group that turns ``ContractsError`` into a one-line message and its exit code."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except ContractsError as exc:
            click.echo(f"error: {redact(str(exc))}", err=True)
            sys.exit(exc.exit_code)
        except (click.exceptions.Exit, click.exceptions.Abort, click.ClickException):
            raise
        except OSError as exc:
            click.echo(f"error: {redact(str(exc))}", err=True)
            sys.exit(EXIT_BAD_INPUT)
        except Stopped as exc:  # SIGTERM or SIGINT: the command cleaned up on its way out
            click.echo(str(exc), err=True)
            sys.exit(exc.exit_code)
        except KeyboardInterrupt:
            click.echo("interrupted", err=True)
            sys.exit(130)


def format_option(f: F) -> F:
    return click.option(
        "--format",
        "fmt",
        type=click.Choice(FORMATS),
        default="text",
        show_default=True,
        help="Output: human text, JSON, JUnit XML, or GitHub workflow annotations.",
    )(f)


def schemas_option(f: F) -> F:
    return click.option(
        "--schemas",
        type=click.Path(file_okay=False, path_type=str),
        default=None,
        help="Schemas folder (default: [tool.contracts] schemas, or ./schemas).",
    )(f)
