"""What the results screen draws: a tile a figure, and bar charts as SVG, drawn here so that
the page needs no chart library and nothing from the internet."""

from __future__ import annotations

from html import escape

from projections.queries.kpis import SHARE_METRICS

BAR_HEIGHT, GAP, LABEL_WIDTH, WIDTH = 18, 6, 150, 520


def percent(share: float | None) -> str:
    return "-" if share is None else f"{share:.1%}"


def tile(metric: str, zh: str, en: str, value: object) -> str:
    shown = percent(value) if metric in SHARE_METRICS else ("-" if value is None else f"{value:,}")
    return (f'<div class="tile"><div class="figure" id="{metric}" data-value="{value}">'
            f'{escape(shown)}</div><div class="label">{escape(zh)} · {escape(en)}</div></div>')


def bars(title: str, items: list[tuple[str, int]]) -> str:
    """A horizontal bar chart of `items` (label, amount), the largest bar full width."""
    largest = max((amount for _, amount in items), default=0) or 1
    height = len(items) * (BAR_HEIGHT + GAP) + 30
    rows = []
    for row, (label, amount) in enumerate(items):
        y = 24 + row * (BAR_HEIGHT + GAP)
        length = round((WIDTH - LABEL_WIDTH - 50) * amount / largest)
        rows.append(
            f'<text x="0" y="{y + 13}">{escape(str(label))[:24]}</text>'
            f'<rect class="bar" x="{LABEL_WIDTH}" y="{y}" width="{length}" '
            f'height="{BAR_HEIGHT}"/><text x="{LABEL_WIDTH + length + 6}" y="{y + 13}">'
            f'{amount:,}</text>')
    empty = '' if items else '<text x="0" y="40">no results yet</text>'
    return (f'<figure><svg role="img" aria-label="{escape(title)}" width="{WIDTH}" '
            f'height="{max(height, 60)}" xmlns="http://www.w3.org/2000/svg">'
            f'<text x="0" y="14" font-weight="bold">{escape(title)}</text>{"".join(rows)}'
            f'{empty}</svg></figure>')
