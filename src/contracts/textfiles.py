"""Reading the project's JSON and TOML files: every failure is a ``SchemaError`` naming the file and position.

Not UTF-8, a syntax error (with line and column, and a word on the usual cause),
nesting too deep for the parser, or a file that cannot be read: all exit 2 with
one line, never a traceback.
"""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path
from typing import Any

from contracts.errors import Location, SchemaError
from contracts.filedigests import Entry, read_with_entry


def _text(path: Path | str, display: str, rule: str) -> str:
    try:
        with open(path, encoding="utf-8") as fh:
            return fh.read()
    except UnicodeDecodeError as exc:
        raise SchemaError(f"not UTF-8 text (byte {exc.start}: {exc.reason})", Location(file=display), rule) from exc
    except OSError as exc:
        raise SchemaError(f"cannot read it: {exc.strerror or exc}", Location(file=display), rule) from exc


def read_json(path: Path | str, display: str) -> Any:
    """Load a JSON file; a syntax error names the file, line and column."""
    return parse_json(_text(path, display, "INVALID_JSON"), display)


def read_json_with_entry(path: str, display: str) -> tuple[Any, Entry]:
    """Load a JSON file, and its entry (stat and digest) from the same read: for a cache keyed on what was read."""
    try:
        data, entry = read_with_entry(path)
    except OSError as exc:
        raise SchemaError(f"cannot read it: {exc.strerror or exc}", Location(file=display), "INVALID_JSON") from exc
    return parse_json(data, display), entry


def parse_json(text: str | bytes, display: str) -> Any:
    """JSON read from ``display`` (text, or bytes that must be UTF-8); a syntax error names the file, line and column."""
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise SchemaError(f"not UTF-8 text (byte {exc.start}: {exc.reason})", Location(file=display), "INVALID_JSON") from exc
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise SchemaError(exc.msg + _json_hint(text, exc.pos), Location(file=display, line=exc.lineno, column=exc.colno), "INVALID_JSON") from exc
    except RecursionError as exc:
        raise SchemaError("nested too deeply to read", Location(file=display), "NESTING_TOO_DEEP") from exc


def _json_hint(text: str, pos: int) -> str:
    before = text[:pos].rstrip()
    if before.endswith(",") and text[pos : pos + 1] in ("}", "]"):
        return " (a trailing comma: JSON allows none before } or ])"
    if text[pos : pos + 1] == "'":
        return " (JSON strings take double quotes)"
    return ""


_TOML_POSITION = re.compile(r"\(at line (\d+), column (\d+)\)")


def read_toml(path: Path, display: str, rule: str) -> dict[str, Any]:
    """Load a TOML file (``{}`` when it does not exist)."""
    if not path.exists():
        return {}
    text = _text(path, display, rule)
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        message = str(exc)
        m = _TOML_POSITION.search(message)
        line, column = (int(m.group(1)), int(m.group(2))) if m else (None, None)
        raise SchemaError(_TOML_POSITION.sub("", message).strip(), Location(file=display, line=line, column=column), rule) from exc
    except RecursionError as exc:
        raise SchemaError("nested too deeply to read", Location(file=display), rule) from exc
