"""Every bad input, in every file kind and flag: exit 2, the file and key named, one clear line, no traceback.

The corpus grows with each new input kind: add a case (what to break, the command, what the message must name).
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner

from contracts.cli import main

ORDER = "schemas/com/acme/orders/OrderCreated.avsc"
CREATED = "orders-com.acme.orders.OrderCreated"


@dataclass
class Case:
    name: str
    setup: Callable[[Path], None]
    args: list[str]
    says: list[str]  # each must appear in the output


def _write(rel: str, text: str | bytes) -> Callable[[Path], None]:
    def setup(root: Path) -> None:
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(text, bytes):
            path.write_bytes(text)
        else:
            path.write_text(text)

    return setup


def _append(rel: str, text: str) -> Callable[[Path], None]:
    def setup(root: Path) -> None:
        path = root / rel
        path.write_text(path.read_text() + text)

    return setup


def _replace(rel: str, old: str, new: str) -> Callable[[Path], None]:
    def setup(root: Path) -> None:
        path = root / rel
        text = path.read_text()
        assert old in text, (rel, old)
        path.write_text(text.replace(old, new))

    return setup


def _nested_record(depth: int) -> str:
    text = '{"type": "record", "name": "R0", "namespace": "deep", "fields": [{"name": "x", "type": "int"}]}'
    for i in range(1, depth):
        text = f'{{"type": "record", "name": "R{i}", "fields": [{{"name": "inner", "type": {text}}}]}}'
    return text


def _nothing(root: Path) -> None:
    pass


def _remove(rel: str) -> Callable[[Path], None]:
    def setup(root: Path) -> None:
        target = root / rel
        if target.is_dir():
            shutil.rmtree(target)
        else:
            target.unlink()

    return setup


def _empty_schemas(root: Path) -> None:
    shutil.rmtree(root / "schemas")
    (root / "schemas").mkdir()


OVERRIDE = f'[[override]]\nsubject = "{CREATED}"\nversion = 3\nrule = "FIELD_REMOVED_WITHOUT_DEFAULT"\nreason = "migrated"\n'

CASES = [
    # .avsc files
    Case("avsc nested 400 deep", _write("schemas/deep/Deep.avsc", _nested_record(400)), ["lint"], ["Deep.avsc", "nest"]),
    Case("avsc nested past the limit", _write("schemas/deep/Deep.avsc", _nested_record(120)), ["lint"], ["Deep.avsc", "NESTING_TOO_DEEP"]),
    Case("avsc with a trailing comma", _write("schemas/x/X.avsc", '{"type": "record", "name": "X", "fields": [],}'), ["lint"],
         ["X.avsc:1", "trailing comma"]),
    Case("avsc not UTF-8", _write("schemas/x/X.avsc", b'{"type": "record", "name": "X\xff", "fields": []}'), ["lint"], ["X.avsc", "UTF-8"]),
    Case("unknown type close to a primitive", _write("schemas/x/X.avsc", '{"type": "record", "name": "X", "fields": [{"name": "a", "type": "strin"}]}'),
         ["lint"], ["X.avsc", "at a", "did you mean string"]),
    Case("unknown type close to a logical type", _write("schemas/x/X.avsc", '{"type": "record", "name": "X", "fields": [{"name": "a", "type": "uuid"}]}'),
         ["lint"], ["X.avsc", '"logicalType": "uuid"']),
    # catalog.toml
    Case("catalog not UTF-8", _write("schemas/catalog.toml", b"[defaults]\ncompatibility = \"BACKWARD\xff\"\n"), ["lint"], ["catalog.toml", "UTF-8"]),
    Case("catalog TOML syntax", _append("schemas/catalog.toml", "\n[topics.x\n"), ["lint"], ["catalog.toml:"]),
    Case("catalog dead_letter_topic = 5", _replace("schemas/catalog.toml", "partitions = 4\nproducers = [\"orders-service\"]", "partitions = 4\ndead_letter_topic = 5\nproducers = [\"orders-service\"]"),
         ["lint"], ["catalog.toml", "topics.orders.dead_letter_topic", "expected a string, got 5"]),
    Case("catalog key = [1]", _replace("schemas/catalog.toml", "partitions = 4\nproducers = [\"orders-service\"]", "partitions = 4\nkey = [1]\nproducers = [\"orders-service\"]"),
         ["lint"], ["catalog.toml", "topics.orders.key", "expected a string"]),
    Case("catalog key typo", _replace("schemas/catalog.toml", 'compatibility = "FULL_TRANSITIVE"', 'compatibilty = "FULL_TRANSITIVE"'),
         ["lint"], ["catalog.toml", "topics.orders.compatibilty", "did you mean 'compatibility'"]),
    Case("catalog partitions = 0", _replace("schemas/catalog.toml", "partitions = 4", "partitions = 0"), ["lint"], ["topics.orders.partitions", "positive"]),
    Case("catalog value = 5", _replace("schemas/catalog.toml", 'value = "com.acme.notifications.EmailRequested"', "value = 5"),
         ["lint"], ["topics.notifications.value", "a string or a list of strings"]),
    Case("catalog unknown level", _replace("schemas/catalog.toml", '"FULL_TRANSITIVE"', '"SIDEWAYS"'), ["lint"], ["topics.orders.compatibility", "SIDEWAYS"]),
    # deployments.toml
    Case("deployments version = true", _append("compatibility/deployments.toml", '\n[services.billing]\nconsumes = { "notifications-value" = true }\n'),
         ["compat", "check"], ["deployments.toml", "services.billing.consumes.notifications-value", "expected an integer, got true"]),
    Case("deployments version = 'one'", _append("compatibility/deployments.toml", "\n[services.billing]\nconsumes = { \"notifications-value\" = 'one' }\n"),
         ["compat", "check"], ["deployments.toml", "services.billing.consumes"]),
    Case("deployments unknown subject", _append("compatibility/deployments.toml", '\n[services.billing]\nconsumes = { "notification-value" = 1 }\n'),
         ["compat", "check"], ["deployments.toml", "services.billing.consumes", "unknown subject 'notification-value'", "did you mean 'notifications-value'"]),
    Case("deployments unknown key", _append("compatibility/deployments.toml", '\n[services.billing]\nconsume = { "notifications-value" = 1 }\n'),
         ["compat", "check"], ["deployments.toml", "services.billing.consume", "did you mean 'consumes'"]),
    # overrides.toml
    Case("override version = 'three'", _write("compatibility/overrides.toml", OVERRIDE.replace("version = 3", 'version = "three"')),
         ["compat", "check"], ["overrides.toml", "override[0].version", "expected an integer"]),
    Case("override version = [1]", _write("compatibility/overrides.toml", OVERRIDE.replace("version = 3", "version = [1]")),
         ["compat", "check"], ["overrides.toml", "override[0].version"]),
    Case("override = 5", _write("compatibility/overrides.toml", "override = 5\n"), ["compat", "check"], ["overrides.toml", "override", "expected a list"]),
    Case("override unknown rule id", _write("compatibility/overrides.toml", OVERRIDE.replace("FIELD_REMOVED_WITHOUT_DEFAULT", "FIELD_REMOVED")),
         ["compat", "check"], ["overrides.toml", "override[0].rule", "unknown rule id 'FIELD_REMOVED'"]),
    Case("override unknown subject", _write("compatibility/overrides.toml", OVERRIDE.replace(CREATED, "orders-value")),
         ["compat", "check"], ["overrides.toml", "override[0].subject", "unknown subject 'orders-value'"]),
    Case("override against = 'x'", _write("compatibility/overrides.toml", OVERRIDE + 'against = "x"\n'),
         ["compat", "check"], ["overrides.toml", "override[0].against", "expected an integer"]),
    Case("override without reason", _write("compatibility/overrides.toml", OVERRIDE.replace('reason = "migrated"', 'reason = "  "')),
         ["compat", "check"], ["overrides.toml", "override[0].reason"]),
    # history files
    Case("history file named v0.avsc", _write(f"compatibility/subjects/{CREATED}/v0.avsc", "{}"), ["compat", "check"], ["v0.avsc", "from 1"]),
    Case("history file nested 5000 deep", _write(f"compatibility/subjects/{CREATED}/v3.avsc", "[" * 5000 + "]" * 5000),
         ["compat", "check"], ["v3.avsc", "nested too deeply"]),
    Case("history file with bad JSON", _write(f"compatibility/subjects/{CREATED}/v3.avsc", '{"type": "record",}'), ["compat", "check"], ["v3.avsc:1"]),
    # [tool.contracts] in pyproject.toml
    Case("tool.contracts schemas = 5", _write("pyproject.toml", "[tool.contracts]\nschemas = 5\n"), ["lint"], ["pyproject.toml", "tool.contracts.schemas", "expected a string"]),
    Case("tool.contracts compatibility = 5", _write("pyproject.toml", "[tool.contracts]\ncompatibility = 5\n"), ["compat", "check"],
         ["pyproject.toml", "tool.contracts.compatibility"]),
    Case("tool.contracts = 'x'", _write("pyproject.toml", '[tool]\ncontracts = "x"\n'), ["lint"], ["pyproject.toml", "tool.contracts", "expected a table"]),
    Case("tool = 'x'", _write("pyproject.toml", 'tool = "x"\n'), ["lint"], ["pyproject.toml", "tool", "expected a table"]),
    Case("tool.contracts lint = 5", _write("pyproject.toml", "[tool.contracts]\nlint = 5\n"), ["lint"], ["pyproject.toml", "tool.contracts.lint", "expected a table"]),
    Case("tool.contracts compat = 'x'", _write("pyproject.toml", '[tool.contracts]\ncompat = "x"\n'), ["lint"], ["pyproject.toml", "tool.contracts.compat"]),
    Case("tool.contracts per_path = []", _write("pyproject.toml", "[tool.contracts.lint]\nper_path = []\n"), ["lint"],
         ["pyproject.toml", "tool.contracts.lint.per_path", "expected a table"]),
    Case("tool.contracts key typo", _write("pyproject.toml", '[tool.contracts]\nschema = "schemas"\n'), ["lint"], ["tool.contracts.schema", "did you mean 'schemas'"]),
    Case("pyproject.toml syntax", _write("pyproject.toml", "[tool.contracts\n"), ["lint"], ["pyproject.toml:1"]),
    # the gate never passes on nothing
    Case("no catalog.toml: compat check", _remove("schemas/catalog.toml"), ["compat", "check"], ["no catalog.toml", "contracts init"]),
    Case("no catalog.toml: compat publish", _remove("schemas/catalog.toml"), ["compat", "publish"], ["no catalog.toml"]),
    Case("no catalog.toml: lint", _remove("schemas/catalog.toml"), ["lint"], ["no catalog.toml"]),
    Case("misnamed schemas folder", _nothing, ["compat", "check", "--schemas", "schema"], ["'schema' does not exist"]),
    Case("no schemas at all", _empty_schemas, ["compat", "check"], ["no .avsc files"]),
    Case("a catalog without topics", _write("schemas/catalog.toml", '[defaults]\ncompatibility = "BACKWARD"\n'), ["compat", "check"], ["names no topics"]),
    # flags
    Case("compat publish --subject nope", _nothing, ["compat", "publish", "--subject", "nope"], ["unknown subject 'nope'"]),
    Case("compat check --subject nope", _nothing, ["compat", "check", "--subject", "nope"], ["unknown subject 'nope'"]),
    Case("--format yaml", _nothing, ["compat", "check", "--format", "yaml"], ["yaml"]),
    Case("--schemas missing", _nothing, ["lint", "--schemas", "no-such-folder"], ["no-such-folder"]),
    Case("serve --data under a file", _write("file.toml", "x"), ["registry", "serve", "--port", "0", "--data", "file.toml/x.sqlite"], ["file.toml/x.sqlite", "is a file"]),
    Case("serve --auth @missing", _nothing, ["registry", "serve", "--port", "0", "--auth", "@missing-file"], ["missing-file", "No such file"]),
    Case("registry URL scheme", _nothing, ["registry", "plan", "--registry-url", "ftp://x"], ["http:// or https://"]),
    Case("replay without a destination", _nothing, ["replay", "--bootstrap-servers", "127.0.0.1:1", "--topic", "t"], ["--to-topic", "--to-original"]),
]


def _changed_order(root: Path) -> None:
    """A compatible change, so that the gate reads the history of the subject."""
    path = root / ORDER
    data = json.loads(path.read_text())
    data["fields"].append({"name": "coupon", "type": ["null", "string"], "default": None})
    path.write_text(json.dumps(data))


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_bad_input_is_exit_2_naming_file_and_key(project: Path, case: Case) -> None:
    _changed_order(project)
    case.setup(project)
    result = CliRunner().invoke(main, case.args)
    out = result.output
    assert result.exit_code == 2, (result.exit_code, out, result.exception)
    assert isinstance(result.exception, SystemExit), result.exception
    assert "Traceback" not in out
    for needle in case.says:
        assert needle in out, (needle, out)
