"""The topology picture: producing services -> topics -> consuming services, as SVG drawn here.

A pure-Python layered layout (three columns, nodes ordered to keep edges short) instead of
graphviz: nothing to install, deterministic to the byte, and every node can be a link.
A consumer deployed on an older version of a topic's subject than its producer shows
a red dashed edge labelled with both versions.
"""

from __future__ import annotations

from dataclasses import dataclass
from html import escape


@dataclass(frozen=True)
class Edge:
    source: str  # node id
    target: str
    skew: str | None = None  # "v1 < v2" when the consumer is behind the producer


@dataclass(frozen=True)
class Node:
    id: str
    label: str
    href: str
    kind: str  # "service" or "topic"


W, ROW, BOX_W, BOX_H = 760, 56, 200, 34
COLUMNS = (20, W // 2 - BOX_W // 2, W - BOX_W - 20)


def render(producers: list[Node], topics: list[Node], consumers: list[Node], edges: list[Edge]) -> str:
    """SVG of the three columns; ``producers`` and ``consumers`` may name the same service (it appears twice)."""
    topics = _ordered(topics, producers, edges)
    positions: dict[tuple[int, str], tuple[int, int]] = {}
    rows = max(len(producers), len(topics), len(consumers), 1)
    height = rows * ROW + 40
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="topology" width="{W}" height="{height}" viewBox="0 0 {W} {height}" role="img" aria-label="topology">',
        "<defs><marker id=\"arrow\" viewBox=\"0 0 10 10\" refX=\"10\" refY=\"5\" markerWidth=\"7\" markerHeight=\"7\" orient=\"auto\">"
        "<path d=\"M 0 0 L 10 5 L 0 10 z\" fill=\"#555\"/></marker></defs>",
    ]
    for col, nodes in enumerate((producers, topics, consumers)):
        offset = (rows - len(nodes)) * ROW // 2
        for i, node in enumerate(nodes):
            positions[(col, node.id)] = (COLUMNS[col], 20 + offset + i * ROW)
    labels: list[str] = []
    skews_into: dict[tuple[int, int], int] = {}
    for edge in edges:
        if (0, edge.source) in positions and (1, edge.target) in positions:
            a, b = positions[(0, edge.source)], positions[(1, edge.target)]
        elif (1, edge.source) in positions and (2, edge.target) in positions:
            a, b = positions[(1, edge.source)], positions[(2, edge.target)]
        else:
            continue
        x1, y1, x2, y2 = a[0] + BOX_W, a[1] + BOX_H // 2, b[0], b[1] + BOX_H // 2
        style = 'stroke="#c62828" stroke-dasharray="6 4"' if edge.skew else 'stroke="#555"'
        parts.append(f'<path class="edge{" skew" if edge.skew else ""}" d="M {x1} {y1} C {x1 + 60} {y1}, {x2 - 60} {y2}, {x2} {y2}" fill="none" {style} marker-end="url(#arrow)"/>')
        if edge.skew:
            # Beside the consumer, where this edge arrives (edges cross mid-way, never there); more than
            # one late edge into the same box stack upwards. A white halo keeps the text readable over lines.
            k = skews_into[b] = skews_into.get(b, -1) + 1
            labels.append(
                f'<text class="skew" x="{x2 - 12}" y="{y2 - 6 - 13 * k}" text-anchor="end" fill="#c62828" font-size="11" '
                f'paint-order="stroke" stroke="#fff" stroke-width="3">{escape(edge.skew)}</text>'
            )
    parts += labels  # drawn after every edge, so no later edge runs over a label
    for col, nodes in enumerate((producers, topics, consumers)):
        for node in nodes:
            x, y = positions[(col, node.id)]
            fill = "#e3f2fd" if node.kind == "topic" else "#f1f8e9"
            parts.append(
                f'<a href="{escape(node.href)}"><rect class="node {node.kind}" x="{x}" y="{y}" width="{BOX_W}" height="{BOX_H}" rx="6" '
                f'fill="{fill}" stroke="#90a4ae"/><text x="{x + BOX_W // 2}" y="{y + 22}" text-anchor="middle" font-size="13" '
                f'font-family="sans-serif">{escape(node.label)}</text></a>'
            )
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


def _ordered(topics: list[Node], producers: list[Node], edges: list[Edge]) -> list[Node]:
    """Topics in the order of their first producer, so that edges from one service stay together."""
    rank = {p.id: i for i, p in enumerate(producers)}
    first: dict[str, int] = {}
    for e in edges:
        if e.source in rank:
            first[e.target] = min(first.get(e.target, len(rank)), rank[e.source])
    return sorted(topics, key=lambda t: (first.get(t.id, len(rank)), t.label))
