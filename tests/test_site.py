"""The event catalog site: offline, deterministic, complete, and what a browser shows of it (headless Chromium)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st

from contracts.cli import main
from tests.conftest import ROOT
from tests.test_compat_differential import field_types

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run",
         "--disable-component-update", "--disable-sync"]  # fmt: skip


def _build(out: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    result = CliRunner().invoke(main, ["docs", "build", "-o", str(out)])
    assert result.exit_code == 0, result.output


def _tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_the_site_is_deterministic_offline_and_its_links_resolve(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _build(tmp_path / "one", monkeypatch)
    _build(tmp_path / "two", monkeypatch)
    one = _tree(tmp_path / "one")
    assert one == _tree(tmp_path / "two"), "a rebuild with no change gives identical files"
    for rel, data in one.items():
        text = data.decode()
        remote = re.findall(r"""(?:src|href)=["']?(https?:)|url\((https?:)""", text)
        assert not remote, f"{rel} loads something from the network"
        for link in re.findall(r"""href=["']([^"'#]+)""", text):
            assert (tmp_path / "one" / rel).parent.joinpath(link).resolve().is_file(), f"{rel}: broken link {link}"
    assert "events/com.acme.orders.OrderCreated.html" in one and "services/payments-service.html" in one
    assert "subjects/orders-com.acme.orders.OrderCreated.html" in one and "topology.html" in one


def _dom(page: Path, profile: Path) -> str:
    assert CHROMIUM is not None
    done = subprocess.run([CHROMIUM, *FLAGS, f"--user-data-dir={profile}", "--dump-dom", page.as_uri()],
                          capture_output=True, text=True, timeout=60, check=False)  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def _screenshot(page: Path, profile: Path, png: Path) -> None:
    assert CHROMIUM is not None
    subprocess.run([CHROMIUM, *FLAGS, f"--user-data-dir={profile}", f"--screenshot={png}", "--window-size=1200,1400", page.as_uri()],
                   capture_output=True, timeout=60, check=False)  # fmt: skip
    assert png.is_file() and png.stat().st_size > 10_000, f"no screenshot of {page}"


@pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed (.ci/run installs it with apt)")
def test_a_browser_follows_the_catalog_from_the_index(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    site, shots, profile = tmp_path / "site", tmp_path / "screenshots", tmp_path / "profile"
    shots.mkdir()
    _build(site, monkeypatch)
    index = _dom(site / "index.html", profile)
    _screenshot(site / "index.html", profile, shots / "index.png")
    assert "<svg" in index and 'class="topology"' in index, "the topology picture is on the index"
    event_link = re.search(r"href=\"?'?(events/com\.acme\.orders\.OrderCreated\.html)", index)
    service_link = re.search(r"href=\"?'?(services/payments-service\.html)", index)
    assert event_link and service_link
    event = _dom(site / event_link.group(1), profile)
    _screenshot(site / event_link.group(1), profile, shots / "event.png")
    assert 'class="fields"' in event and "<code>total</code>" in event and "from contracts.events.com.acme.orders import OrderCreated" in event
    service = _dom(site / service_link.group(1), profile)
    _screenshot(site / service_link.group(1), profile, shots / "service.png")
    assert "consumes" in service and "v1" in service and "orders-com.acme.orders.OrderCreated" in service
    subject = _dom(site / "subjects" / "orders-com.acme.orders.OrderCreated.html", profile)
    assert 'class="diff"' in subject and "+++ v2" in subject, "the version history shows a readable diff"
    topology = _dom(site / "topology.html", profile)
    links = re.findall(r'<a href="([^"]+)"', topology.split("<svg", 1)[1].split("</svg>", 1)[0])
    assert links and all((site / link).is_file() for link in links), "every node links to its page"
    assert 'class="edge skew"' in topology, "payments-service reads OrderCreated v1 while orders-service writes v2"


def test_progress_shows_only_on_a_terminal(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    result = CliRunner().invoke(main, ["docs", "build", "-o", str(tmp_path / "site")])
    assert result.exit_code == 0 and "event pages" not in result.output and "%" not in result.output
    if shutil.which("script") is None:
        return
    done = subprocess.run(["script", "-qc", f"contracts docs build -o {tmp_path / 'tty'}", "/dev/null"], capture_output=True, text=True,
                          timeout=60, check=False, env={**os.environ, "PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin"})  # fmt: skip
    assert "event pages" in done.stdout and "100%" in done.stdout


@given(st.lists(st.text(alphabet="abcdefghij", min_size=1, max_size=15), min_size=1, max_size=30))
def test_summaries_end_on_a_word_with_an_ellipsis(words: list[str]) -> None:
    # Regression: index summaries were cut mid-word, without an ellipsis.
    from contracts.site.build import summary

    text = " ".join(words)
    out = summary(text)
    if len(text) <= 100:
        assert out == text
    else:
        assert out.endswith("…") and len(out) <= 100
        kept = out[:-1].split(" ")
        assert kept == words[: len(kept)] or (len(kept) == 1 and text.startswith(kept[0]))


def test_field_types_link_to_their_pages_and_the_index_is_grouped(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _build(tmp_path, monkeypatch)
    event = (tmp_path / "events" / "com.acme.orders.OrderCreated.html").read_text()
    fields = event.split('class="fields"', 1)[1].split("</table>", 1)[0]
    assert '<a href="com.acme.common.Money.html">com.acme.common.Money</a>' in fields
    assert 'array&lt;<a href="com.acme.orders.OrderLine.html">' in fields
    index = (tmp_path / "index.html").read_text()
    titles = re.findall(r'<section class="group"><h2>([^<]+)</h2>', index)
    assert titles == ["Events", "Types", "Topics", "Subjects", "Services"]
    events = index.split("<h2>Events</h2>", 1)[1].split("</section>", 1)[0]
    assert "com.acme.orders.OrderCreated" in events and "com.acme.common.Money" not in events, "only what topics carry"


def test_skew_labels_sit_beside_their_consumer_and_never_overlap() -> None:
    from contracts.site.topology import BOX_H, Edge, Node, render

    def node(kind: str, name: str) -> Node:
        return Node(f"{kind}:{name}", name, "#", "topic" if kind == "topic" else "service")

    producers = [node("svc", f"p{i}") for i in range(3)]
    topics = [node("topic", f"t{i}") for i in range(3)]
    consumers = [node("svc", f"c{i}") for i in range(2)]
    edges = [Edge(p.id, t.id) for p, t in zip(producers, topics, strict=True)]
    edges += [Edge(t.id, c.id, f"v1 < v{i + 2}") for i, t in enumerate(topics) for c in consumers]
    svg = render(producers, topics, consumers, edges)
    labels = [(int(x), int(y)) for x, y in re.findall(r'<text class="skew" x="(\d+)" y="(\d+)"', svg)]
    boxes = [(int(x), int(y)) for x, y in re.findall(r'<rect class="node service" x="(\d+)" y="(\d+)"', svg)][3:]  # the consumers
    assert len(labels) == 6 and len(set(labels)) == 6, "every label has a place of its own"
    for x, y in labels:
        assert any(0 < bx - x <= 20 and by - 6 * 13 <= y <= by + BOX_H for bx, by in boxes), "beside a consumer box"
    assert svg.rfind('class="edge') < svg.find('<text class="skew"'), "labels are drawn over the edges"


@given(field_types())
def test_a_field_type_on_a_page_reads_as_its_label_with_each_named_type_linked(t: object) -> None:
    """The page's type column is ``type_label`` itself, escaped, each named type a link to its page."""
    import html

    from contracts import schema as sm
    from contracts.site.build import slug, type_html

    schema = sm.parse_schema({"type": "record", "name": "Holder", "namespace": "ns", "fields": [{"name": "f", "type": t}]})
    assert isinstance(schema, sm.Record)
    field_type = schema.fields[0].type
    shown = type_html(field_type)
    links = re.findall(r'<a href="([^"]+)\.html">([^<]+)</a>', shown)
    assert all(href == slug(html.unescape(name)) for href, name in links)
    assert [html.unescape(name) for _, name in links] == re.findall(r"\bns\.[A-Z]\w*", sm.type_label(field_type))
    assert "<" not in re.sub(r"</?a[^>]*>", "", shown)  # the label's own brackets are escaped
    assert html.unescape(re.sub(r"</?a[^>]*>", "", shown)) == sm.type_label(field_type)


def test_an_event_page_shows_its_tags_and_rules_and_the_subject_page_the_contract_change(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _build(tmp_path, monkeypatch)
    customer = (tmp_path / "events" / "com.acme.orders.Customer.html").read_text()
    email_row = next(row for row in customer.split("<tr>") if "<code>email</code>" in row)
    assert "<span class='tag'>PII</span>" in email_row
    event = (tmp_path / "events" / "com.acme.orders.OrderCreated.html").read_text()
    rules = event.split("class='rules'", 1)[1].split("</table>", 1)[0]
    assert "<code>total_not_negative</code>" in rules and "message.total.amount &gt;= 0.0" in rules and "DLQ" in rules
    subject = (tmp_path / "subjects" / "orders-com.acme.orders.OrderCreated.html").read_text()
    v3 = subject.split("id='v3'", 1)[1]
    assert "<span class='add'>+data contract:</span>" in v3 and "total_not_negative" in v3
