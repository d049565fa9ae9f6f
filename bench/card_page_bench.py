"""Benchmark of the pages an official or head uses on a phone: cabinet, card, actions, assets.

Seeds a fresh SQLite database at the demo's size (`seed-demo --history 8`, the embedded
defaults `bin/run` loads), signs in as the head and as the official of the demo municipality,
and times, through the WSGI app in this process, every request the cabinet page, a card page
and the card's actions make: the pages, the cabinet's live poll, each static asset the pages
reference (found in their HTML: link, script, img), the card's recording, and the POSTs
(note, take into work, call back, outcome, photo and its view, forward). Each figure is the
median of several tries; the ratio is to a bare Flask endpoint timed the same way.

    .venv/bin/python bench/card_page_bench.py [--repeat 7]
"""

import argparse
import gzip
import io
import os
import re
import statistics
import sys
import tempfile
import time
from html.parser import HTMLParser
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

#: No request of these pages may take longer at the demo's size (issue 21).
LIMIT_MS = 200.0


class Assets(HTMLParser):
    """Collect the local URLs of stylesheets, icons, scripts and images of a page."""

    def __init__(self):
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        url = {"link": attrs.get("href"), "script": attrs.get("src"), "img": attrs.get("src")}.get(
            tag
        )
        if url and url.startswith("/") and url not in self.urls:
            self.urls.append(url)


def assets_of(html: str) -> list[str]:
    parser = Assets()
    parser.feed(html)
    return parser.urls


def csrf_token(html: str) -> str:
    return re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html).group(1)


def timed(function, repeat: int) -> tuple[float, object]:
    """Return the median milliseconds of `function(try_number)` (after a warm-up) and an answer."""
    answer = function(0)
    samples = []
    for number in range(1, repeat + 1):
        started = time.perf_counter()
        answer = function(number)
        samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples), answer


class Report:
    def __init__(self, bare_ms: float):
        self.bare_ms = bare_ms
        self.rows: list[tuple] = []

    def add(self, who: str, what: str, ms: float, answer) -> None:
        body = answer.get_data()
        packed = len(gzip.compress(body)) if body else 0
        self.rows.append((who, what, answer.status_code, ms, len(body), packed))
        flag = " OVER" if ms > LIMIT_MS else ""
        print(
            f"{who:<8} {what:<42} {answer.status_code} {ms:8.2f} ms  x{ms / self.bare_ms:7.1f}"
            f"  {len(body):8,} B  gzip {packed:7,} B{flag}",
            flush=True,
        )


def seed(app) -> None:
    """Migrate and load the demo region with its eight past weeks, as `bin/run` does."""
    from flask_migrate import upgrade

    from core.extensions import db
    from reports.demo import seed_history
    from roster.demo import seed_demo

    with app.app_context():
        started = time.perf_counter()
        upgrade(directory=str(ROOT / "migrations"))
        seed_demo()
        db.session.commit()
        played = seed_history(8)
        print(f"seeded the demo with {played} past calls in {time.perf_counter() - started:.0f} s")


def new_cards(app, municipality_code: str, count: int) -> list[int]:
    """Open `count` new cards of missed calls in the municipality, as the chain leaves them.

    The demo keeps few open cards per municipality; the actions that change a card (take into
    work, outcome, forward) each need one of their own.
    """
    from callbacks.services import open_card
    from core.extensions import db
    from hotline.models import Call, Channel
    from hotline.services import register_appeal
    from roster.models import Municipality

    with app.app_context():
        place = db.session.scalar(
            db.select(Municipality).where(Municipality.code == municipality_code)
        )
        ids = []
        for number in range(count):
            caller = f"+7916555{number:04d}"
            call = Call(
                call_sid=f"CAbench{number:06d}",
                from_number=caller,
                to_number="+74872000000",
                entry="governor",
            )
            db.session.add(call)
            db.session.flush()
            appeal = register_appeal(
                channel=Channel.PHONE,
                municipality=place,
                category=None,
                caller_number=caller,
                call=call,
                status="missed",
            )
            ids.append(open_card(call, appeal).id)
        db.session.commit()
        return ids


def png() -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (640, 480), (200, 120, 40)).save(out, "PNG")
    return out.getvalue()


def bench_user(app, report: Report, username: str, password: str, cards: list[int], repeat: int):
    """Time every request of the cabinet, one card and its actions as `username`."""
    client = app.test_client()
    page = client.get("/login")
    client.post(
        "/login",
        data={"username": username, "password": password, "csrf_token": csrf_token(page.text)},
    )
    seen_assets: set[str] = set()

    def get(url, **kwargs):
        return lambda number: client.get(url, **kwargs)

    def page_and_assets(label: str, url: str):
        ms, answer = timed(get(url), repeat)
        report.add(username, label, ms, answer)
        assert answer.status_code == 200, (url, answer.status_code)
        for asset in assets_of(answer.text):
            if asset in seen_assets:
                continue
            seen_assets.add(asset)
            ms, asset_answer = timed(get(asset), repeat)
            report.add(username, f"  {asset.split('?')[0]}", ms, asset_answer)
        return answer

    page_and_assets("GET /cabinet/", "/cabinet/")
    ms, answer = timed(get("/cabinet/", headers={"X-Live": "1"}), repeat)
    report.add(username, "GET /cabinet/ (live poll)", ms, answer)
    card_id = cards[0]
    card_page = page_and_assets(f"GET /cabinet/cards/{card_id}", f"/cabinet/cards/{card_id}")
    token = csrf_token(card_page.text)
    if "/recording" in card_page.text:
        ms, answer = timed(get(f"/cabinet/cards/{card_id}/recording"), repeat)
        report.add(username, "GET card recording", ms, answer)

    def post(path_of, data_of):
        def run(number):
            return client.post(path_of(number), data={"csrf_token": token, **data_of(number)})

        return run

    ms, answer = timed(
        post(lambda n: f"/cabinet/cards/{card_id}/note", lambda n: {"text": f"note {n}"}), repeat
    )
    report.add(username, "POST note", ms, answer)
    # Each of these changes the card, so every try takes the next card of the list.
    spare = iter(cards[1:])
    picked = [next(spare) for _ in range(repeat + 1)]
    ms, answer = timed(
        post(lambda n: f"/cabinet/cards/{picked[n]}/acknowledge", lambda n: {}), repeat
    )
    report.add(username, "POST acknowledge", ms, answer)
    official = re.search(
        r'<select[^>]*name="official"[^>]*>\s*<option[^>]*value="(\d+)"', card_page.text
    )
    ms, answer = timed(
        post(
            lambda n: f"/cabinet/cards/{picked[n]}/callback",
            lambda n: {"official": official.group(1) if official else ""},
        ),
        repeat,
    )
    report.add(username, "POST callback", ms, answer)
    ms, answer = timed(
        lambda n: client.post(
            f"/cabinet/cards/{picked[n]}/photos",
            data={"csrf_token": token, "kind": "before", "photo": (io.BytesIO(png()), "p.png")},
            content_type="multipart/form-data",
        ),
        repeat,
    )
    report.add(username, "POST photo", ms, answer)
    photo = re.search(r"/cabinet/photos/(\d+)", client.get(f"/cabinet/cards/{picked[0]}").text)
    if photo:
        ms, answer = timed(get(photo.group(0)), repeat)
        report.add(username, "GET photo", ms, answer)
    ms, answer = timed(
        post(
            lambda n: f"/cabinet/cards/{picked[n]}/outcome",
            lambda n: {"code": "", "text": "Проверено на месте"},
        ),
        repeat,
    )
    report.add(username, "POST outcome", ms, answer)
    other = [next(spare) for _ in range(repeat + 1)]
    ms, answer = timed(
        post(
            lambda n: f"/cabinet/cards/{other[n]}/forward",
            lambda n: {"municipality": "aleksin", "reason": "не наш адрес"},
        ),
        repeat,
    )
    report.add(username, "POST forward", ms, answer)
    return list(spare)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7)
    options = parser.parse_args()
    instance = tempfile.mkdtemp(prefix="card-bench-")
    os.environ["HOTLINE_INSTANCE_DIR"] = instance
    for name in ("DATABASE_URL", "REDIS_URL", "HOTLINE_ENV", "TELEPHONY"):
        os.environ.pop(name, None)

    from flask import Flask

    from core import create_app
    from roster.demo import DEMO_PASSWORD

    app = create_app({"WTF_CSRF_ENABLED": True})
    seed(app)
    bare = Flask("bare").test_client()
    bare.application.add_url_rule("/ping", "ping", lambda: "pong")
    bare_ms, _ = timed(lambda n: bare.get("/ping"), max(options.repeat, 50))
    print(f"bare Flask endpoint: {bare_ms:.3f} ms (median); limit {LIMIT_MS:.0f} ms per request")
    report = Report(bare_ms)
    from sqlalchemy import text

    with app.app_context():
        from core.extensions import db

        demo = db.session.execute(
            text("SELECT (SELECT count(*) FROM calls), (SELECT count(*) FROM cards)")
        ).one()
    print(f"demo size: {demo[0]:,} calls, {demo[1]:,} cards")
    cards = new_cards(app, "tula", 2 * (2 * (options.repeat + 1) + 1))
    cards = bench_user(app, report, "head", DEMO_PASSWORD, cards, options.repeat)
    bench_user(app, report, "official", DEMO_PASSWORD, cards, options.repeat)
    over = [row for row in report.rows if row[3] > LIMIT_MS]
    slowest = max(report.rows, key=lambda row: row[3])
    print(
        f"{len(report.rows)} requests, slowest {slowest[1].strip()} {slowest[3]:.1f} ms; "
        f"over {LIMIT_MS:.0f} ms: {len(over)}"
    )


if __name__ == "__main__":
    main()
