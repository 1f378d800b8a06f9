"""The deployment check: every deployed consumer must read what every deployed producer writes.

``deployments.toml`` says which version of each subject every service was built with;
the candidates in ``schemas/`` count as what the next deploy of the catalog's
producers and consumers will use.
"""

from __future__ import annotations

from collections.abc import Sequence

from contracts import schema as s
from contracts.catalog import Catalog, Subject
from contracts.compat.checker import Checker
from contracts.compat.history import DEPLOYMENT_RULES, History
from contracts.compat.rules import describe
from contracts.compat.states import SubjectState
from contracts.datacontract.model import DataContract, Rule
from contracts.findings import Finding


def migrated(history: History, sub: Subject, reader: int, writer: int, candidate: int) -> Rule | None:
    """The migration rule a reader on one compatibility group reads a writer's other group through, if any.

    As Confluent's deserializers do: data newer than its reader goes through the DOWNGRADE rules of
    the versions after the reader's, older data through the UPGRADE rules of the versions up to it.
    """
    group = sub.compatibility_group
    if group is None or reader == writer:
        return None

    def contract(number: int) -> DataContract:
        if number == candidate:
            return sub.contract
        version = history.version(sub.name, number)
        return version.contract if version is not None else DataContract()

    if contract(reader).metadata.properties.get(group) == contract(writer).metadata.properties.get(group):
        return None
    direction = "DOWNGRADE" if writer > reader else "UPGRADE"
    for number in range(min(reader, writer) + 1, max(reader, writer) + 1):
        for rule in contract(number).rule_set.migration_rules:
            if rule.applies(direction):
                return rule
    return None


def deployment_findings(catalog: Catalog, history: History, checker: Checker, states: Sequence[SubjectState]) -> list[Finding]:
    """Every deployed consumer must read what every deployed producer writes, candidates included."""
    findings: list[Finding] = []
    for state in states:
        sub = state.subject
        topic = catalog.topics[sub.topic]
        # (service, version label, version number or None for the candidate, schema)
        writers: list[tuple[str, int | None, s.Schema]] = []
        readers: list[tuple[str, int | None, s.Schema]] = []
        for d in history.deployments:
            for role, bucket in (("produces", writers), ("consumes", readers)):
                number = getattr(d, role).get(sub.name)
                if number is None:
                    continue
                version = history.version(sub.name, number)
                if version is None:
                    findings.append(
                        Finding(
                            rule=DEPLOYMENT_RULES[0],
                            message=f"{d.service} is deployed with v{number} of {sub.name}, which is not in compatibility/subjects/.",
                            file=str(history.root / "deployments.toml"),
                            subject=sub.name,
                            category="deployment",
                        )
                    )
                    continue
                bucket.append((d.service, number, version.schema))
        if state.changed:
            cand = state.next_version
            writers += [(svc, None, sub.schema) for svc in topic.producers]
            readers += [(svc, None, sub.schema) for svc in topic.consumers]
        else:
            cand = state.latest
        seen: set[tuple[str, int | None, str, int | None, str, str]] = set()
        for rsvc, rver, rschema in readers:
            for wsvc, wver, wschema in writers:
                if rver is None and wver is None:
                    continue  # both rebuilt from schemas/: the same schema
                if rver is not None and wver is not None and rver == wver:
                    continue
                rnum = rver if rver is not None else cand
                wnum = wver if wver is not None else cand
                through = migrated(history, sub, rnum, wnum, cand) if sub.compatibility_group else None
                if through is not None:  # another line of versions, read through a migration rule: say which
                    rlabel = f"built on v{rver}" if rver is not None else f"rebuilt on candidate v{cand}"
                    wlabel = f"v{wver}" if wver is not None else f"candidate v{cand}"
                    findings.append(Finding(
                        rule="READ_THROUGH_MIGRATION", severity="warning", category="deployment", file=sub.file, subject=sub.name,
                        message=f"{rsvc} (consumer, {rlabel}) reads {sub.schema.name} {wlabel} written by {wsvc} through {through.mode} rule {through.name}.",
                        old_version=min(rnum, wnum), new_version=max(rnum, wnum), services=(rsvc,),
                    ))  # fmt: skip
                    continue
                for inc in checker.check(rschema, wschema):
                    desc = describe(inc, reader_is_new=rnum > wnum)
                    key = (rsvc, rver, wsvc, wver, desc.rule, inc.path)
                    if key in seen:
                        continue
                    seen.add(key)
                    rlabel = f"built on v{rver}" if rver is not None else f"rebuilt on candidate v{cand}"
                    wlabel = f"v{wver}" if wver is not None else f"candidate v{cand}"
                    msg = (
                        f"{rsvc} (consumer, {rlabel}) cannot read {sub.schema.name} {wlabel} written by {wsvc}: "
                        f"{desc.what}."
                    )
                    findings.append(
                        Finding(
                            rule=desc.rule,
                            message=msg,
                            file=sub.file,
                            path=inc.path or None,
                            subject=sub.name,
                            old_version=min(rnum, wnum),
                            new_version=max(rnum, wnum),
                            category="deployment",
                            services=(rsvc,),
                        )
                    )
    return findings
