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
