"""``contracts docs build``: a static event catalog from ``schemas/``, ``catalog.toml`` and ``compatibility/``.

Works offline (no CDN, no fonts or scripts from anywhere: open ``index.html`` from disk),
deterministic (a rebuild with no change writes identical files), always current: every
page is made from the files the gate reads. Pages: an index with search, one per event
type (fields, JSON schema, import line), per subject history (a diff between consecutive
versions), per topic and per service (with the versions from ``deployments.toml``), and
the topology picture.
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Callable, Mapping
from html import escape
from pathlib import Path

from contracts import schema as s
from contracts.catalog import Catalog
from contracts.compat.history import History
from contracts.datacontract.fields import field_tags
from contracts.datacontract.model import DataContract
from contracts.site.topology import Edge, Node, render

CSS = """body{font-family:system-ui,sans-serif;margin:0;color:#212121}header{background:#263238;color:#fff;padding:12px 24px}
header a{color:#fff;text-decoration:none;margin-right:16px}main{padding:16px 24px;max-width:1100px}
table{border-collapse:collapse;margin:8px 0}td,th{border:1px solid #cfd8dc;padding:4px 8px;text-align:left;vertical-align:top}
th{background:#eceff1}code,pre{font-family:ui-monospace,monospace;font-size:13px}pre{background:#f5f5f5;padding:8px;overflow:auto}
.add{color:#2e7d32}.del{color:#c62828}.tag{background:#eceff1;border-radius:4px;padding:1px 6px;font-size:12px}
#search{padding:6px;width:320px;font-size:14px}li.hidden,section.hidden{display:none}
.entries{columns:2;column-gap:32px}"""

SEARCH = """document.getElementById('search').addEventListener('input',function(e){var q=e.target.value.toLowerCase();
document.querySelectorAll('.entries li').forEach(function(li){li.className=li.textContent.toLowerCase().indexOf(q)<0?'hidden':''});
document.querySelectorAll('section.group').forEach(function(g){g.className='group'+(g.querySelector('li:not(.hidden)')?'':' hidden');});});"""


def summary(text: str, limit: int = 100) -> str:
    """``text`` cut at a word boundary within ``limit`` characters, with an ellipsis when cut."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = text[: limit - 1].rsplit(" ", 1)[0].rstrip(" ,;:.")
    return cut + "…"


def slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]", "_", text)


def _page(title: str, body: str, depth: int = 1) -> str:
    up = "../" * depth
    nav = f'<a href="{up}index.html">Catalog</a><a href="{up}topology.html">Topology</a>'
    return (
        f'<!doctype html>\n<html lang="en"><head><meta charset="utf-8"><title>{escape(title)}</title>'
        f'<style>{CSS}</style></head>\n<body><header>{nav}</header><main>\n<h1>{escape(title)}</h1>\n{body}\n</main></body></html>\n'
    )


def build(catalog: Catalog, history: History, output: Path, *, package: str, progress: Callable[[str], None] = lambda _: None) -> list[Path]:
    """Write the site into ``output``; the files written, in order."""
    pages: dict[str, str] = {}
    topics_of: dict[str, list[str]] = {}
    for topic in catalog.topics.values():
        for fullname in topic.value_types:
            topics_of.setdefault(fullname, []).append(topic.name)
    for fullname in sorted(catalog.types):
        progress(fullname)
        pages[f"events/{slug(fullname)}.html"] = _event_page(catalog, fullname, topics_of.get(fullname, []), package)
    for sub in catalog.subjects():
        pages[f"subjects/{slug(sub.name)}.html"] = _subject_page(sub.name, sub.compatibility, sub.fullname, history)
    for topic in sorted(catalog.topics.values(), key=lambda t: t.name):
        pages[f"topics/{slug(topic.name)}.html"] = _topic_page(catalog, topic.name)
    for service in _services(catalog, history):
        pages[f"services/{slug(service)}.html"] = _service_page(catalog, history, service)
    pages["topology.html"] = _page("Topology", _topology(catalog, history, depth=0), depth=0)
    pages["index.html"] = _index(catalog, history)
    written = []
    for rel, text in sorted(pages.items()):
        path = output / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8")
        written.append(path)
    return written


def _services(catalog: Catalog, history: History) -> list[str]:
    names = {svc for t in catalog.topics.values() for svc in (*t.producers, *t.consumers)}
    return sorted(names | {d.service for d in history.deployments})


def _fields(record: s.Record, tag_paths: Mapping[str, tuple[str, ...]]) -> str:
    rows = []
    for f in record.fields:
        logical = getattr(f.type, "logical", None) or ""
        default = json.dumps(f.default) if f.has_default else ""
        tags = " ".join(f"<span class='tag'>{escape(t)}</span>" for t in sorted(field_tags(record, f, tag_paths)))
        rows.append(
            f"<tr><td><code>{escape(f.name)}</code></td><td><code>{type_html(f.type)}</code></td><td>{escape(logical)}</td>"
            f"<td><code>{escape(default)}</code></td><td>{escape(f.doc or '')}</td><td>{escape(', '.join(f.aliases))}</td><td>{tags}</td></tr>"
        )
    return ('<table class="fields"><tr><th>field</th><th>type</th><th>logical type</th><th>default</th><th>doc</th><th>aliases</th><th>tags</th></tr>'
            + "".join(rows) + "</table>")  # fmt: skip


def _contract_html(contract: DataContract) -> str:
    """An event's data contract: its metadata properties and its rules."""
    if not contract:
        return ""
    out = ["<h2>Data contract</h2>"]
    props = contract.metadata.properties
    if props:
        out.append("<p>" + ", ".join(f"{escape(k)}: <code>{escape(v)}</code>" for k, v in sorted(props.items())) + "</p>")
    rules = list(contract.rule_set.rules())
    if rules:
        out.append("<table class='rules'><tr><th>rule</th><th>list</th><th>kind</th><th>mode</th><th>type</th><th>tags</th><th>expression</th><th>on failure</th><th>doc</th></tr>")
        for where, r in rules:
            out.append(
                f"<tr><td><code>{escape(r.name)}</code>{' (disabled)' if r.disabled else ''}</td><td>{escape(where)}</td><td>{r.kind}</td><td>{r.mode}</td>"
                f"<td>{escape(r.type)}</td><td>{escape(', '.join(r.tags))}</td><td><code>{escape(r.expr or '')}</code></td>"
                f"<td>{escape(r.on_failure or 'ERROR')}</td><td>{escape(r.doc or '')}</td></tr>"
            )
        out.append("</table>")
    return "\n".join(out)


def type_html(t: s.Schema) -> str:
    """``type_label``'s text, escaped, with each named type a link to its page (event pages sit side by side)."""
    return s.type_label(t, named=lambda n: f'<a href="{slug(n.fullname)}.html">{escape(n.fullname)}</a>', text=escape)


def _event_page(catalog: Catalog, fullname: str, topics: list[str], package: str) -> str:
    t = catalog.types[fullname]
    namespace = fullname.rpartition(".")[0]
    module = ".".join([package, *[p for p in namespace.split(".") if p]])
    body = [f"<p>{escape(t.doc or '')}</p>", f"<p><span class='tag'>{t.kind}</span> defined in <code>{escape(t.file or '')}</code></p>"]
    body.append(f'<p>Import: <code class="import">from {escape(module)} import {escape(t.name)}</code></p>')
    if topics:
        body.append("<p>Topics: " + ", ".join(f'<a href="../topics/{slug(n)}.html">{escape(n)}</a>' for n in topics) + "</p>")
    contract = catalog.contracts.get(fullname) or DataContract()
    if isinstance(t, s.Record):
        # A type nested in several events carries the tags any of their contracts give its fields.
        tag_paths: dict[str, tuple[str, ...]] = {}
        for c in catalog.contracts.values():
            for path, tags in c.metadata.tags.items():
                tag_paths[path] = (*tag_paths.get(path, ()), *tags)
        body.append("<h2>Fields</h2>" + _fields(t, tag_paths))
    elif isinstance(t, s.Enum):
        body.append("<h2>Symbols</h2><p>" + ", ".join(f"<code>{escape(x)}</code>" for x in t.symbols) + "</p>")
    body.append(_contract_html(contract))
    body.append(f"<h2>Schema</h2><pre class='schema'>{escape(json.dumps(s.to_json(t), indent=2, ensure_ascii=False))}</pre>")
    return _page(fullname, "\n".join(body))


def _subject_page(subject: str, level: str, fullname: str, history: History) -> str:
    versions = history.versions(subject)
    body = [f"<p>Event type <a href='../events/{slug(fullname)}.html'>{escape(fullname)}</a>, level <span class='tag'>{escape(level)}</span>, "
            f"{len(versions)} published version(s).</p>"]  # fmt: skip
    previous: list[str] = []
    for v in versions:
        # The schema and its data contract, one text: a version that changes only its rules shows that change.
        text = json.dumps(v.raw, indent=2, ensure_ascii=False).splitlines()
        if v.contract:
            text += ["", "data contract:", *json.dumps(v.contract.to_json(), indent=2, ensure_ascii=False).splitlines()]
        body.append(f"<h2 id='v{v.number}'>v{v.number}</h2>")
        if previous:
            diff = difflib.unified_diff(previous, text, f"v{v.number - 1}", f"v{v.number}", lineterm="", n=2)
            lines = [f"<span class='{'add' if d.startswith('+') else 'del' if d.startswith('-') else ''}'>{escape(d)}</span>" for d in diff]
            body.append("<pre class='diff'>" + "\n".join(lines) + "</pre>")
        else:
            body.append("<p>The first version.</p>")
        previous = text
    return _page(subject, "\n".join(body))


def _topic_page(catalog: Catalog, name: str) -> str:
    topic = catalog.topics[name]
    subjects = {sub.fullname: sub.name for sub in catalog.subjects() if sub.topic == name}
    rows = "".join(
        f"<tr><td><a href='../events/{slug(f)}.html'>{escape(f)}</a></td><td><a href='../subjects/{slug(subjects[f])}.html'>{escape(subjects[f])}</a></td></tr>"
        for f in topic.value_types
    )

    def services(names: list[str]) -> str:
        return ", ".join(f"<a href='../services/{slug(n)}.html'>{escape(n)}</a>" for n in names) or "none"

    body = (f"<p>{escape(topic.doc or '')}</p><table><tr><th>event type</th><th>subject</th></tr>{rows}</table>"
            f"<p>Subject naming: {escape(topic.strategy)}; level <span class='tag'>{escape(topic.compatibility)}</span>; "
            f"{topic.partitions} partitions; dead-letter topic <code>{escape(topic.dlq)}</code>.</p>"
            f"<p>Produced by {services(topic.producers)}; consumed by {services(topic.consumers)}.</p>")  # fmt: skip
    return _page(name, body)


def _service_page(catalog: Catalog, history: History, service: str) -> str:
    deployed = next((d for d in history.deployments if d.service == service), None)
    rows = []
    for topic in sorted(catalog.topics.values(), key=lambda t: t.name):
        for role, names, versions in (("produces", topic.producers, deployed.produces if deployed else {}), ("consumes", topic.consumers, deployed.consumes if deployed else {})):
            if service not in names:
                continue
            for sub in (x for x in catalog.subjects() if x.topic == topic.name):
                version = versions.get(sub.name)
                rows.append(f"<tr><td>{role}</td><td><a href='../topics/{slug(topic.name)}.html'>{escape(topic.name)}</a></td>"
                            f"<td><a href='../subjects/{slug(sub.name)}.html'>{escape(sub.name)}</a></td>"
                            f"<td>{f'v{version}' if version else 'not in deployments.toml'}</td></tr>")  # fmt: skip
    body = "<table class='service'><tr><th>role</th><th>topic</th><th>subject</th><th>deployed version</th></tr>" + "".join(rows) + "</table>"
    return _page(service, body)


def _topology(catalog: Catalog, history: History, depth: int) -> str:
    up = "../" * depth
    topics = sorted(catalog.topics.values(), key=lambda t: t.name)
    producers = sorted({p for t in topics for p in t.producers})
    consumers = sorted({c for t in topics for c in t.consumers})
    deployed = {d.service: d for d in history.deployments}
    edges = []
    for t in topics:
        subjects = [x.name for x in catalog.subjects() if x.topic == t.name]
        for p in t.producers:
            edges.append(Edge(f"svc:{p}", f"topic:{t.name}"))
        for c in t.consumers:
            skew = None
            for sub in subjects:
                read = deployed[c].consumes.get(sub) if c in deployed else None
                written = [deployed[p].produces.get(sub) for p in t.producers if p in deployed and deployed[p].produces.get(sub)]
                if read and written and read < max(v for v in written if v):
                    skew = f"v{read} < v{max(v for v in written if v)}"
            edges.append(Edge(f"topic:{t.name}", f"svc:{c}", skew))
    svg = render(
        [Node(f"svc:{p}", p, f"{up}services/{slug(p)}.html", "service") for p in producers],
        [Node(f"topic:{t.name}", t.name, f"{up}topics/{slug(t.name)}.html", "topic") for t in topics],
        [Node(f"svc:{c}", c, f"{up}services/{slug(c)}.html", "service") for c in consumers],
        edges,
    )
    return svg + "<p>Producing services, topics, consuming services. A red dashed edge: a consumer deployed on an older version than its producer.</p>"


def _index(catalog: Catalog, history: History) -> str:
    on_topics = {name for t in catalog.topics.values() for name in t.value_types}

    def item(href: str, label: str, tag: str, doc: str = "") -> str:
        return f"<li><a href='{href}'>{escape(label)}</a> <span class='tag'>{tag}</span> {escape(summary(doc))}</li>"

    types = [catalog.types[n] for n in sorted(catalog.types)]
    groups = [
        ("Events", "the records topics carry",
         [item(f"events/{slug(t.fullname)}.html", t.fullname, "event", t.doc or "") for t in types if t.fullname in on_topics]),
        ("Types", "records, enums and fixed types the events use",
         [item(f"events/{slug(t.fullname)}.html", t.fullname, t.kind, t.doc or "") for t in types if t.fullname not in on_topics]),
        ("Topics", "", [item(f"topics/{slug(t)}.html", t, "topic") for t in sorted(catalog.topics)]),
        ("Subjects", "each with its version history", [item(f"subjects/{slug(x.name)}.html", x.name, x.compatibility) for x in catalog.subjects()]),
        ("Services", "", [item(f"services/{slug(x)}.html", x, "service") for x in _services(catalog, history)]),
    ]  # fmt: skip
    sections = "".join(
        f'<section class="group"><h2>{title}</h2>' + (f"<p>{about}</p>" if about else "") + f'<ul class="entries">{"".join(items)}</ul></section>'
        for title, about, items in groups
        if items
    )
    body = ('<input id="search" type="search" placeholder="Search events, topics, subjects, services">'
            f'{sections}<h2>Topology</h2>{_topology(catalog, history, depth=0)}<script>{SEARCH}</script>')  # fmt: skip
    return _page("Event catalog", body, depth=0)
