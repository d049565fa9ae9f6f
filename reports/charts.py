"""The daily trend as a small server-made SVG chart (no scripts, no CDN)."""

from markupsafe import Markup, escape

WIDTH, HEIGHT = 720, 220
LEFT, RIGHT, TOP, BOTTOM = 40, 24, 10, 40
SERIES = (("calls", "#1f5fa8"), ("missed", "#c0392b"), ("overdue", "#e69500"))


def daily_chart(trend: list[dict], labels: dict) -> Markup:
    """Return an SVG line chart of calls, missed calls and overdue cards per day."""
    peak = max([1] + [day[name] for day in trend for name, _ in SERIES])
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    step = plot_w / max(len(trend) - 1, 1)

    def x(index: int) -> float:
        return round(LEFT + index * step, 1)

    def y(value: int) -> float:
        return round(TOP + plot_h - value / peak * plot_h, 1)

    parts = [
        f'<svg class="trend" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" '
        f'role="img" aria-label="{escape(labels["title"])}">',
        f'<line x1="{LEFT}" y1="{TOP + plot_h}" x2="{WIDTH - RIGHT}" y2="{TOP + plot_h}" '
        'stroke="#888"/>',
        f'<line x1="{LEFT}" y1="{TOP}" x2="{LEFT}" y2="{TOP + plot_h}" stroke="#888"/>',
        f'<text x="{LEFT - 6}" y="{TOP + 4}" text-anchor="end" font-size="11">{peak}</text>',
        f'<text x="{LEFT - 6}" y="{TOP + plot_h}" text-anchor="end" font-size="11">0</text>',
    ]
    every = max(1, len(trend) // 14)
    for index, day in enumerate(trend):
        if index % every == 0:
            parts.append(
                f'<text x="{x(index)}" y="{HEIGHT - BOTTOM + 14}" text-anchor="middle" '
                f'font-size="10">{day["day"]:%d.%m}</text>'
            )
    for name, colour in SERIES:
        points = " ".join(f"{x(i)},{y(day[name])}" for i, day in enumerate(trend))
        parts.append(
            f'<polyline class="series-{name}" fill="none" stroke="{colour}" stroke-width="2" '
            f'points="{points}"/>'
        )
        for i, day in enumerate(trend):
            parts.append(
                f'<circle cx="{x(i)}" cy="{y(day[name])}" r="2.5" fill="{colour}">'
                f"<title>{day['day']:%d.%m}: {escape(labels[name])} {day[name]}</title></circle>"
            )
    for index, (name, colour) in enumerate(SERIES):
        left = LEFT + index * 200
        parts.append(
            f'<rect x="{left}" y="{HEIGHT - 16}" width="12" height="4" fill="{colour}"/>'
            f'<text x="{left + 16}" y="{HEIGHT - 11}" font-size="11">{escape(labels[name])}</text>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))


#: Okabe–Ito blue: distinct for colour-blind readers and dark enough in grey print.
BAR_COLOUR = "#0072B2"


def ranking_bars(rows: list[dict], link, title: str) -> Markup:
    """Return the ranking as horizontal SVG bars of the score, each a link to its report."""
    bar_h, gap, label_w, width = 16, 4, 230, 720
    plot_w = width - label_w - 50
    height = len(rows) * (bar_h + gap) + gap
    parts = [
        f'<svg class="bars" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'role="img" aria-label="{escape(title)}">'
    ]
    for index, row in enumerate(rows):
        top = gap + index * (bar_h + gap)
        length = round(row["score"] / 100 * plot_w, 1)
        name = escape(row["municipality"]["name"])
        parts.append(
            f'<a href="{escape(link(row))}" class="bar" data-municipality="'
            f'{escape(row["municipality"]["code"])}"><title>{row["rank"]}. {name}: '
            f"{row['score']}</title>"
            f'<text x="{label_w - 6}" y="{top + bar_h - 4}" text-anchor="end" font-size="12">'
            f"{name}</text>"
            f'<rect x="{label_w}" y="{top}" width="{length}" height="{bar_h}" '
            f'fill="{BAR_COLOUR}"/>'
            f'<text x="{label_w + length + 4}" y="{top + bar_h - 4}" font-size="12">'
            f"{row['score']}</text></a>"
        )
    parts.append("</svg>")
    return Markup("".join(parts))
