"""``contracts init``: the files a team needs to start, written only where nothing is.

One example event with a shared type in another file and namespace, a commented
catalog, the ``compatibility/`` folder, ``[tool.contracts]`` in ``pyproject.toml``,
pre-commit hooks and a CI workflow. Right after it, ``contracts codegen`` and
``contracts compat check`` pass.
"""

from __future__ import annotations

import json
import subprocess
import tomllib
import urllib.parse
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from contracts.errors import BadInputError

MONEY = {
    "type": "record",
    "name": "Money",
    "namespace": "com.example.common",
    "doc": "An amount of money in one currency.",
    "fields": [
        {"name": "amount", "type": {"type": "bytes", "logicalType": "decimal", "precision": 18, "scale": 2}, "doc": "The amount, two decimals."},
        {"name": "currency", "type": "string", "doc": "ISO 4217 code, such as EUR."},
    ],
}

INVOICE_ISSUED = {
    "type": "record",
    "name": "InvoiceIssued",
    "namespace": "com.example.billing",
    "doc": "An invoice was issued to a customer. Replace it with your own events; keep the shape: doc on every field, defaults on optional ones.",
    "fields": [
        {"name": "invoice_id", "type": {"type": "string", "logicalType": "uuid"}, "doc": "Unique per invoice; also the event's idempotency key."},
        {"name": "customer_id", "type": "string", "doc": "Who is billed."},
        {"name": "total", "type": "com.example.common.Money", "doc": "What is owed (a type shared from common/Money.avsc)."},
        {"name": "issued_at", "type": {"type": "long", "logicalType": "timestamp-millis"}, "doc": "When the invoice was issued (UTC)."},
        {"name": "note", "type": ["null", "string"], "default": None, "doc": "Optional free text. New fields like this one, with a default, are compatible changes."},
    ],
}

CATALOG = """# The event catalog: which event types travel on which topic, how their registry subjects are
# named, how strictly each must evolve, and which services produce and consume it.
# `contracts lint` checks this file; docs/configuration.md describes every key.

[defaults]
compatibility = "BACKWARD"                 # BACKWARD, FORWARD, FULL, their _TRANSITIVE forms, or NONE
subject_name_strategy = "TopicNameStrategy"  # or RecordNameStrategy, TopicRecordNameStrategy

[topics.invoices]
doc = "Invoices, keyed by invoice id."
value = "com.example.billing.InvoiceIssued"  # a list needs TopicRecordNameStrategy
partitions = 4
idempotency_key = "invoice_id"             # the field that identifies one event: consumers skip a resent one
producers = ["billing-service"]
consumers = ["ledger-service"]
# dead_letter_topic = "invoices.dlq"       # the default: <topic>.dlq
"""

COMPAT_README = """# compatibility/

What has been published, for the offline gate (`contracts compat check`):

- `subjects/<subject>/v1.avsc, v2.avsc, ...`: each published version, written by `contracts compat publish`
  (or `contracts registry pull` from a live registry). Commit them.
- `deployments.toml`: which version of each subject every deployed service was built with; the gate checks
  that every deployed consumer can read what every deployed producer writes.
- `overrides.toml`: deliberate breaking changes, reviewed like code.

Teams that keep no history here can check against a git ref instead: `contracts compat check --against-git main`.
"""

DEPLOYMENTS = """# What runs in production: for each service, the version of each subject it was built with.
# Update a service's line when you deploy it.
#
# [services.billing-service]
# produces = { "invoices-value" = 1 }
#
# [services.ledger-service]
# consumes = { "invoices-value" = 1 }
"""

OVERRIDES = """# Deliberate breaking changes, reviewed like code. Each entry lets findings of one rule through for
# one subject at one new version; the gate still prints them as ACCEPTED with the reason.
#
# [[override]]
# subject = "invoices-value"
# version = 2                              # the version being introduced
# rule = "FIELD_REMOVED_WITHOUT_DEFAULT"   # `contracts compat rules` lists the ids
# path = "note"                            # optional: only this field
# reason = "note was never populated; consumers confirmed in TICKET-1"
"""

PRE_COMMIT = """# Schema checks before each commit: lint, generated code in sync, and the compatibility gate.
# These run the `contracts` command installed in your environment (see the hook ids in
# event-contracts' .pre-commit-hooks.yaml to use them from its repository instead).
repos:
  - repo: local
    hooks:
      - id: contracts-lint
        name: contracts lint
        entry: contracts lint
        language: system
        pass_filenames: false
        files: ^({schemas}/|pyproject\\.toml$)
      - id: contracts-codegen-check
        name: contracts codegen --check
        entry: contracts codegen --check
        language: system
        pass_filenames: false
        files: ^({schemas}/|pyproject\\.toml$)
      - id: contracts-compat
        name: contracts compat check
        entry: contracts compat check
        language: system
        pass_filenames: false
        files: ^({schemas}/|{compatibility}/|pyproject\\.toml$)
"""

WORKFLOW = """# Event contracts: lint, generated code in sync, and the compatibility gate, with annotations on the
# pull request and a summary naming the services each finding breaks.
name: contracts
on:
  pull_request:
  push:
    branches: [main]
jobs:
  contracts:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
        with:
          fetch-depth: 0   # the gate may compare with other commits (--against-git)
      - uses: actions/setup-python@v5
        with:
          python-version: "3.11"
      - name: Install event-contracts
        run: {install}
      - name: Lint
        run: contracts lint --format github
      - name: Generated code in sync
        run: contracts codegen --check
      - name: The gate's remembered verdicts   # unchanged subjects are not checked again
        uses: actions/cache@v4
        with:
          path: .contracts-cache/gate
          key: contracts-gate-${{{{ github.sha }}}}
          restore-keys: contracts-gate-
      - name: Compatibility gate
        run: |
          contracts compat check --format markdown >> "$GITHUB_STEP_SUMMARY" || true
          contracts compat check --format github
"""


@dataclass(frozen=True)
class Plan:
    """What ``init`` writes: file path (relative) -> text, and the ``[tool.contracts]`` table to add."""

    files: dict[str, str]
    tool_table: str


@dataclass(frozen=True)
class InstallSource:
    """What CI should pip-install, and how that was decided (``spec`` is ``None`` when it cannot be told)."""

    spec: str | None
    how: str


def install_source() -> InstallSource:
    """Where this tool came from (PEP 610's ``direct_url.json``), as a line CI can install from.

    A VCS URL is kept as it is; a local checkout becomes its git remote at its commit; a
    package index install keeps the name; a wheel or folder with no remote cannot be
    reached from CI, so there is no spec and ``init`` says so.
    """
    try:
        dist = metadata.distribution("event-contracts")
    except metadata.PackageNotFoundError:
        return InstallSource(None, "event-contracts is not installed as a distribution")
    direct = dist.read_text("direct_url.json")
    if not direct:
        return InstallSource("event-contracts", "installed from a package index")
    data = json.loads(direct)
    url = str(data.get("url", ""))
    vcs = data.get("vcs_info")
    if vcs and url:
        return InstallSource(f"event-contracts @ {vcs.get('vcs', 'git')}+{url}@{vcs.get('commit_id', '')}".rstrip("@"), "the VCS URL it was installed from")
    if "dir_info" in data and url.startswith("file://"):
        remote = _git_remote(Path(urllib.parse.unquote(urllib.parse.urlsplit(url).path)))
        if remote:
            return InstallSource(f"event-contracts @ git+{remote[0]}@{remote[1]}", "the git remote and commit of the checkout it was installed from")
        return InstallSource(None, f"installed from the folder {urllib.parse.unquote(url)}, which has no git remote CI could clone")
    return InstallSource(None, f"installed from the file {urllib.parse.unquote(url)}, which CI cannot reach")


def _git_remote(folder: Path) -> tuple[str, str] | None:
    """``(remote URL, commit)`` of a git checkout, or ``None``."""
    try:
        remote = subprocess.run(["git", "-C", str(folder), "remote", "get-url", "origin"], capture_output=True, text=True, timeout=10)
        commit = subprocess.run(["git", "-C", str(folder), "rev-parse", "HEAD"], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    if remote.returncode or commit.returncode or not remote.stdout.strip():
        return None
    url = remote.stdout.strip()
    if url.startswith("git@") and ":" in url:  # scp-like syntax is not a URL pip takes
        host, _, path = url[4:].partition(":")
        url = f"ssh://git@{host}/{path}"
    return url, commit.stdout.strip()


UNKNOWN_INSTALL = (
    'echo "::error::edit .github/workflows/contracts.yml: say where CI installs event-contracts from '
    '(contracts init --install SPEC writes it)" && exit 1'
)


def plan(package: str, *, schemas: str = "schemas", compatibility: str = "compatibility", install: str | None = None) -> Plan:
    files = {
        f"{schemas}/com/example/common/Money.avsc": json.dumps(MONEY, indent=2) + "\n",
        f"{schemas}/com/example/billing/InvoiceIssued.avsc": json.dumps(INVOICE_ISSUED, indent=2) + "\n",
        f"{schemas}/catalog.toml": CATALOG,
        f"{compatibility}/README.md": COMPAT_README,
        f"{compatibility}/deployments.toml": DEPLOYMENTS,
        f"{compatibility}/overrides.toml": OVERRIDES,
        ".pre-commit-config.yaml": PRE_COMMIT.format(schemas=schemas, compatibility=compatibility),
        ".github/workflows/contracts.yml": WORKFLOW.format(install=f'pip install "{install}"' if install else UNKNOWN_INSTALL),
    }
    tool = (
        "[tool.contracts]\n"
        f'schemas = "{schemas}"              # the .avsc files and catalog.toml\n'
        f'compatibility = "{compatibility}"  # published versions, deployments, overrides\n'
        f'package = "{package}"          # import name of the generated classes (their folder follows from it)\n'
    )
    return Plan(files, tool)


LOCAL_ONLY = (".contracts-cache/", ".contracts-dev/")
"""The codegen cache and `contracts dev`'s state: local, never committed."""


def conflicts(root: Path, p: Plan) -> list[str]:
    """What ``init`` would overwrite: existing files, and a ``[tool.contracts]`` table already there."""
    found = [rel for rel in p.files if (root / rel).exists()]
    pyproject = root / "pyproject.toml"
    if pyproject.exists():
        try:
            data = tomllib.loads(pyproject.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise BadInputError(f"{pyproject}: cannot add [tool.contracts] to it: {exc}") from exc
        if isinstance(data.get("tool"), dict) and "contracts" in data["tool"]:
            found.append("pyproject.toml [tool.contracts]")
    return found


def write(root: Path, p: Plan, *, force: bool) -> list[str]:
    """Write the plan under ``root``; refuse (naming them) to overwrite anything unless ``force``."""
    clash = conflicts(root, p)
    if clash and not force:
        raise BadInputError(f"contracts init would overwrite {', '.join(clash)} in {root}; nothing was written (--force overwrites)")
    written = []
    for rel, text in p.files.items():
        target = root / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
        written.append(rel)
    ignore = root / ".gitignore"
    lines = ignore.read_text(encoding="utf-8").splitlines() if ignore.exists() else []
    missing = [entry for entry in LOCAL_ONLY if entry not in lines]
    if missing:
        ignore.write_text("\n".join([*lines, *missing]) + "\n", encoding="utf-8")
        written.append(".gitignore")
    pyproject = root / "pyproject.toml"
    if "pyproject.toml [tool.contracts]" not in clash:
        existing = pyproject.read_text(encoding="utf-8") if pyproject.exists() else ""
        joiner = "" if not existing else ("\n" if existing.endswith("\n") else "\n\n")
        pyproject.write_text(existing + joiner + p.tool_table, encoding="utf-8")
        written.append("pyproject.toml")
    return written
