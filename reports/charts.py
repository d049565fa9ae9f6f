"""The daily trend as a small server-made SVG chart (no scripts, no CDN)."""

from markupsafe import Markup, escape

WIDTH, HEIGHT = 720, 220
LEFT, RIGHT, TOP, BOTTOM = 40, 24, 10, 40
SERIES = (("calls", "#1f5fa8"), ("missed", "#c0392b"), ("overdue", "#e69500"))


def _plot_frame(svg_class, size, margins, plot_h, peak, title, stroke) -> list[str]:
    """Return the opening of a line chart's SVG: its tag, both axes and the labels 0 and peak."""
    (width, height), (left, right, top) = size, margins
    bottom_y = top + plot_h
    return [
        f'<svg class="{svg_class}" xmlns="http://www.w3.org/2000/svg" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}">',
        f'<line x1="{left}" y1="{bottom_y}" x2="{width - right}" y2="{bottom_y}" '
        f'stroke="{stroke}"/>',
        f'<line x1="{left}" y1="{top}" x2="{left}" y2="{bottom_y}" stroke="{stroke}"/>',
        f'<text x="{left - 6}" y="{top + 4}" text-anchor="end" font-size="11">{peak}</text>',
        f'<text x="{left - 6}" y="{bottom_y}" text-anchor="end" font-size="11">0</text>',
    ]


def daily_chart(trend: list[dict], labels: dict, link=None) -> Markup:
    """Return an SVG line chart of calls, missed calls and overdue cards per day.

    With `link(day, name)` every point is a link to the rows behind it.
    """
    peak = max([1] + [day[name] for day in trend for name, _ in SERIES])
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    step = plot_w / max(len(trend) - 1, 1)

    def x(index: int) -> float:
        return round(LEFT + index * step, 1)

    def y(value: int) -> float:
        return round(TOP + plot_h - value / peak * plot_h, 1)

    parts = _plot_frame(
        "trend", (WIDTH, HEIGHT), (LEFT, RIGHT, TOP), plot_h, peak, labels["title"], "#888"
    )
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
            point = (
                f'<circle cx="{x(i)}" cy="{y(day[name])}" r="2.5" fill="{colour}">'
                f"<title>{day['day']:%d.%m}: {escape(labels[name])} {day[name]}</title></circle>"
            )
            if link is not None:
                point = (
                    f'<a href="{escape(link(day["day"], name))}" class="day-point" '
                    f'data-series="{name}" data-day="{day["day"].isoformat()}">{point}</a>'
                )
            parts.append(point)
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


#: Five classes of viridis, light (few) to dark (many): readable without colour vision and in grey.
MAP_CLASSES = ("#fde725", "#5ec962", "#21918c", "#3b528b", "#440154")
TILE, GRID_STEP = 58, 0.32


def tile_positions(centres: dict[str, tuple[float, float]]) -> dict[str, tuple[int, int]]:
    """Place each municipality on a grid cell by its centre (lat, long), nearest free cell."""
    if not centres:
        return {}
    north = max(lat for lat, _ in centres.values())
    west = min(long for _, long in centres.values())
    taken: dict[tuple[int, int], str] = {}
    placed = {}
    for code in sorted(centres, key=lambda c: (-centres[c][0], centres[c][1])):
        lat, long = centres[code]
        want = (round((long - west) / GRID_STEP), round((north - lat) / GRID_STEP * 1.6))
        cells = sorted(
            ((want[0] + dx, want[1] + dy) for dx in range(-3, 4) for dy in range(-3, 4)),
            key=lambda cell: (abs(cell[0] - want[0]) + abs(cell[1] - want[1]), cell[1], cell[0]),
        )
        cell = next(cell for cell in cells if cell not in taken and min(cell) >= 0)
        taken[cell] = code
        placed[code] = cell
    return placed


def tile_map(tiles: list[dict], labels: dict) -> Markup:
    """Return a tile-grid cartogram: one square per municipality, shaded by its figure.

    Each tile: `code`, `short` (2–4 letters), `name`, `value`, `cell` (col, row), `link`.
    """
    peak = max([0] + [tile["value"] for tile in tiles])
    cols = max([0] + [tile["cell"][0] for tile in tiles]) + 1
    rows = max([0] + [tile["cell"][1] for tile in tiles]) + 1
    width, height = cols * TILE + 10, rows * TILE + 50

    def shade(value) -> str:
        if not peak:
            return MAP_CLASSES[0]
        return MAP_CLASSES[min(int(value / peak * len(MAP_CLASSES)), len(MAP_CLASSES) - 1)]

    parts = [
        f'<svg class="tile-map" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} '
        f'{height}" role="img" aria-label="{escape(labels["title"])}">'
    ]
    for tile in tiles:
        x, y = 5 + tile["cell"][0] * TILE, 5 + tile["cell"][1] * TILE
        fill = shade(tile["value"])
        ink = "#000" if fill in MAP_CLASSES[:2] else "#fff"
        parts.append(
            f'<a href="{escape(tile["link"])}" class="tile" '
            f'data-municipality="{escape(tile["code"])}"'
            f' data-value="{tile["value"]}"><title>{escape(tile["name"])}: '
            f"{escape(labels['figure'])} {tile['value']}</title>"
            f'<rect x="{x}" y="{y}" width="{TILE - 4}" height="{TILE - 4}" rx="4" fill="{fill}" '
            'stroke="#333" stroke-width="0.5"/>'
            f'<text x="{x + (TILE - 4) / 2}" y="{y + 22}" text-anchor="middle" font-size="11" '
            f'fill="{ink}">{escape(tile["short"])}</text>'
            f'<text x="{x + (TILE - 4) / 2}" y="{y + 40}" text-anchor="middle" font-size="14" '
            f'font-weight="700" fill="{ink}">{tile["value"]}</text></a>'
        )
    top = rows * TILE + 15
    parts.append(f'<text x="5" y="{top + 10}" font-size="11">{escape(labels["figure"])}:</text>')
    for index, colour in enumerate(MAP_CLASSES):
        low = round(peak * index / len(MAP_CLASSES))
        left = 150 + index * 60
        parts.append(
            f'<rect x="{left}" y="{top}" width="18" height="12" fill="{colour}" stroke="#333" '
            f'stroke-width="0.5"/><text x="{left + 22}" y="{top + 10}" font-size="11">'
            f"≥{low}</text>"
        )
    parts.append("</svg>")
    return Markup("".join(parts))


#: Okabe–Ito colours, a line pattern and a marker per weekly series: told apart without colour.
WEEKLY_SERIES = (
    ("calls", "#0072B2", "", "circle"),
    ("missed", "#D55E00", "6 3", "square"),
    ("overdue", "#009E73", "2 3", "triangle"),
)


def _marker(shape: str, x: float, y: float, colour: str) -> str:
    if shape == "square":
        return f'<rect x="{x - 4}" y="{y - 4}" width="8" height="8" fill="{colour}"/>'
    if shape == "triangle":
        return f'<polygon points="{x},{y - 5} {x - 5},{y + 4} {x + 5},{y + 4}" fill="{colour}"/>'
    return f'<circle cx="{x}" cy="{y}" r="4" fill="{colour}"/>'


def weekly_chart(weeks: list[dict], labels: dict, link) -> Markup:
    """Return an SVG line chart per week; every point is a link to the rows behind it.

    `weeks`: dicts with `week` (a Period) and one count per series; `link(week, name)` gives
    the address of the list behind a point.
    """
    width, height, left, right, top, bottom = 720, 260, 44, 24, 16, 56
    peak = max([1] + [week[name] for week in weeks for name, *_ in WEEKLY_SERIES])
    plot_w, plot_h = width - left - right, height - top - bottom
    step = plot_w / max(len(weeks) - 1, 1)

    def x(index: int) -> float:
        return round(left + index * step, 1)

    def y(value: int) -> float:
        return round(top + plot_h - value / peak * plot_h, 1)

    parts = _plot_frame(
        "weekly-trend", (width, height), (left, right, top), plot_h, peak, labels["title"], "#555"
    )
    every = max(1, -(-len(weeks) // 12))
    for index, week in enumerate(weeks):
        if index % every == 0:
            parts.append(
                f'<text x="{x(index)}" y="{top + plot_h + 14}" text-anchor="middle" '
                f'font-size="10">{week["week"].first:%d.%m}</text>'
            )
    for name, colour, dash, shape in WEEKLY_SERIES:
        points = " ".join(f"{x(i)},{y(week[name])}" for i, week in enumerate(weeks))
        dashing = f' stroke-dasharray="{dash}"' if dash else ""
        parts.append(
            f'<polyline class="series-{name}" fill="none" stroke="{colour}" stroke-width="2"'
            f'{dashing} points="{points}"/>'
        )
        for i, week in enumerate(weeks):
            period = week["week"]
            span = f"{period.first:%d.%m}–{period.last:%d.%m}"
            offset = 12 if shape == "triangle" else -8
            value = (
                f'<text x="{x(i)}" y="{y(week[name]) + offset}" text-anchor="middle" '
                f'font-size="9" fill="#000">{week[name]}</text>'
                if week[name] and len(weeks) <= 16
                else ""
            )
            parts.append(
                f'<a href="{escape(link(period, name))}" class="point" data-series="{name}" '
                f'data-week="{period.first.isoformat()}" data-value="{week[name]}">'
                f"<title>{span}: {escape(labels[name])} {week[name]}</title>"
                f"{_marker(shape, x(i), y(week[name]), colour)}{value}</a>"
            )
    for index, (name, colour, dash, shape) in enumerate(WEEKLY_SERIES):
        at = left + index * 220
        dashing = f' stroke-dasharray="{dash}"' if dash else ""
        parts.append(
            f'<line x1="{at}" y1="{height - 14}" x2="{at + 24}" y2="{height - 14}" '
            f'stroke="{colour}" stroke-width="2"{dashing}/>'
            f"{_marker(shape, at + 12, height - 14, colour)}"
            f'<text x="{at + 30}" y="{height - 10}" font-size="11">{escape(labels[name])}</text>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))


def histogram(bands: list[dict], labels: dict, link) -> Markup:
    """Return an SVG histogram of accepted calls per band of wait, each bar a link to its calls.

    `bands`: dicts with `low`, `high` (None: no upper edge) and `calls`; `link(band)` gives the
    address of the calls in a band.
    """
    width, height, left, top, bottom = 720, 230, 44, 18, 48
    peak = max([1] + [band["calls"] for band in bands])
    plot_w, plot_h = width - left - 16, height - top - bottom
    slot = plot_w / max(len(bands), 1)
    parts = [
        f'<svg class="histogram" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} '
        f'{height}" role="img" aria-label="{escape(labels["title"])}">',
        f'<line x1="{left}" y1="{top + plot_h}" x2="{width - 16}" y2="{top + plot_h}" '
        'stroke="#555"/>',
        f'<text x="{left - 6}" y="{top + 4}" text-anchor="end" font-size="11">{peak}</text>',
        f'<text x="{left - 6}" y="{top + plot_h}" text-anchor="end" font-size="11">0</text>',
    ]
    for index, band in enumerate(bands):
        name = f"{band['low']}–{band['high']}" if band["high"] is not None else f"≥{band['low']}"
        tall = round(band["calls"] / peak * plot_h, 1)
        at = round(left + index * slot + 3, 1)
        middle = round(at + (slot - 6) / 2, 1)
        parts.append(
            f'<a href="{escape(link(band))}" class="band" data-low="{band["low"]}" '
            f'data-high="{"" if band["high"] is None else band["high"]}" '
            f'data-value="{band["calls"]}"><title>{name} {escape(labels["unit"])}: '
            f"{band['calls']}</title>"
            f'<rect x="{at}" y="{top + plot_h - tall}" width="{round(slot - 6, 1)}" '
            f'height="{tall}" fill="{BAR_COLOUR}"/>'
            f'<text x="{middle}" y="{top + plot_h - tall - 4}" text-anchor="middle" '
            f'font-size="11">{band["calls"]}</text>'
            f'<text x="{middle}" y="{top + plot_h + 14}" text-anchor="middle" font-size="11">'
            f"{name}</text></a>"
        )
    parts.append(
        f'<text x="{left + plot_w / 2}" y="{height - 8}" text-anchor="middle" font-size="11">'
        f"{escape(labels['axis'])}</text></svg>"
    )
    return Markup("".join(parts))
