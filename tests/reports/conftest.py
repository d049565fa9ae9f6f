"""A known history over two weeks in three time zones, and a clock fixed after it."""

from datetime import UTC, date, datetime, timedelta
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest

import core.clock
from callbacks.models import CallbackAttempt, Card
from core.extensions import db
from core.models import Event
from hotline.models import Appeal, Call, DialAttempt
from reports.queries import Period
from tests.factories import make_category, make_municipality, make_official, make_user

#: The report week (Monday to Sunday) and the moment the tests look at it.
WEEK = Period(date(2026, 3, 2), date(2026, 3, 8))
NOW = datetime(2026, 3, 11, 9, 0, tzinfo=UTC)


def local(place, text: str) -> datetime:
    """Return the UTC instant of a wall-clock time in a municipality's zone."""
    moment = datetime.fromisoformat(text).replace(tzinfo=ZoneInfo(place.timezone))
    return moment.astimezone(UTC)


class History:
    """Builds calls with their attempts, appeals, cards, callbacks and events."""

    def __init__(self) -> None:
        self.count = 0

    def call(
        self,
        place,
        when: str,
        trio: dict,
        accept: tuple[str, int] | None,
        category=None,
        address: str | None = None,
        channel: str = "phone",
        called_back: tuple[str, int] | None = None,
    ) -> SimpleNamespace:
        """A call routed to the chain at a local time; `accept` = (role, seconds) or None.

        A missed call's card may be `called_back` = (role, minutes after it opened) by the trio.
        """
        self.count += 1
        start = local(place, when)
        call = Call(
            call_sid=f"CA{self.count:04d}",
            from_number=f"+7916000{self.count:04d}",
            to_number="+74872000000",
            entry="governor",
            municipality_id=place.id,
            category_id=category.id if category else None,
            status="completed",
            created_at=start - timedelta(seconds=30),
            chain_started_at=start,
            ended_at=start + timedelta(minutes=5),
            outcome="connected" if accept else "missed",
        )
        db.session.add(call)
        db.session.flush()
        for position, role in enumerate(("primary", "backup", "supervisor")):
            accepted = accept is not None and accept[0] == role
            db.session.add(
                DialAttempt(
                    call_id=call.id,
                    position=position,
                    role=role,
                    official_id=trio[role].id,
                    phone=trio[role].phone,
                    started_at=start + timedelta(seconds=20 * position),
                    accepted_at=start + timedelta(seconds=accept[1]) if accepted else None,
                    outcome="accepted" if accepted else "no-answer",
                )
            )
            if accepted:
                break
        minutes = category.callback_minutes if category else 480
        appeal = Appeal(
            number=f"26-{self.count:06d}",
            channel=channel,
            status="in_work" if accept else "missed",
            caller_number=call.from_number,
            municipality_id=place.id,
            category_id=category.id if category else None,
            urgency=category.urgency if category else "ordinary",
            address=address,
            call_id=call.id,
            created_at=start,
            callback_due_at=start + timedelta(minutes=minutes),
            resolution_due_at=start + timedelta(days=30),
        )
        db.session.add(appeal)
        db.session.flush()
        card = None
        if accept is None:
            opened = start + timedelta(seconds=60)
            card = Card(
                call_id=call.id,
                appeal_id=appeal.id,
                municipality_id=place.id,
                state="called_back" if called_back else "new",
                duty={},
                opened_at=opened,
                callback_due_at=opened + timedelta(minutes=minutes),
                remind_at=opened + timedelta(minutes=15),
                escalate_at=opened + timedelta(minutes=minutes / 2),
                called_back_at=opened + timedelta(minutes=called_back[1]) if called_back else None,
            )
            db.session.add(card)
            db.session.flush()
        made = SimpleNamespace(call=call, appeal=appeal, card=card)
        if called_back:
            started = card.called_back_at - timedelta(seconds=40)
            self.callback(made, trio[called_back[0]], started, "answered")
        db.session.flush()
        return made

    def callback(self, missed: SimpleNamespace, official, started_at: datetime, outcome: str):
        """A callback attempt by an official on a missed call's card."""
        db.session.add(
            CallbackAttempt(
                card_id=missed.card.id,
                official_id=official.id,
                official_phone=official.phone,
                citizen_number=missed.call.from_number,
                started_at=started_at,
                outcome=outcome,
            )
        )

    def event(self, place, appeal, verb: str, when: str) -> None:
        """An appeal event at a local time."""
        db.session.add(
            Event(
                subject_type="appeal",
                subject_id=str(appeal.id),
                verb=verb,
                at=local(place, when),
                data={"municipality_id": place.id},
                actor_label="citizen",
            )
        )


@pytest.fixture
def fixed_now(monkeypatch):
    monkeypatch.setattr(core.clock, "now_source", lambda: NOW)
    return NOW


@pytest.fixture
def history(app, fixed_now):
    """Alpha (Moscow), Beta (Yekaterinburg, +5) and Gamma (Kaliningrad, +2) over two weeks."""
    alpha = make_municipality("alpha", "Альфинский район", tz="Europe/Moscow")
    beta = make_municipality("beta", "Бетинский район", tz="Asia/Yekaterinburg")
    gamma = make_municipality("gamma", "Гаммский округ", tz="Europe/Kaliningrad")
    roads = make_category("roads", "ordinary")
    water = make_category("water", "emergency")
    water.callback_minutes, water.position = 60, -1
    trios = {}
    for place, base in ((alpha, 100), (beta, 200), (gamma, 300)):
        names = ("Первов", "Вторых", "Главный")
        trios[place.code] = {
            role: make_official(place, f"+790000{base + i:04d}", f"{names[i]} {place.code}")
            for i, role in enumerate(("primary", "backup", "supervisor"))
        }
    a, b, g = trios["alpha"], trios["beta"], trios["gamma"]
    h = History()
    lenina = "ул. Ленина, 1"
    # Alpha, the report week
    a1 = h.call(alpha, "2026-03-02T00:00:00", a, ("primary", 10), roads, lenina)
    a2 = h.call(alpha, "2026-03-03T10:00:00", a, ("backup", 30), roads, lenina + " ")
    a3 = h.call(alpha, "2026-03-04T11:00:00", a, ("supervisor", 50), water, "ул. Мира, 5")
    a4 = h.call(alpha, "2026-03-05T12:00:00", a, None, roads, lenina, called_back=("primary", 120))
    a5 = h.call(
        alpha, "2026-03-06T13:00:00", a, None, water, "ул. Мира, 5", called_back=("backup", 600)
    )
    a6 = h.call(alpha, "2026-03-08T23:59:59", a, None)
    h.callback(a6, a["supervisor"], a6.card.opened_at + timedelta(hours=1), "no-answer")
    # Alpha, around the week
    h.call(alpha, "2026-03-01T23:59:59", a, ("primary", 5), roads)
    h.call(alpha, "2026-02-28T10:00:00", a, None, roads)  # still open: overdue now
    h.call(alpha, "2026-03-09T00:00:00", a, ("primary", 7), roads)
    h.event(alpha, a1.appeal, "appeal.confirmation-asked", "2026-03-04T10:00:00")
    h.event(alpha, a1.appeal, "appeal.reopened", "2026-03-05T09:00:00")
    h.event(alpha, a2.appeal, "appeal.confirmation-asked", "2026-03-05T10:00:00")
    h.event(alpha, a3.appeal, "appeal.confirmation-asked", "2026-03-08T12:00:00")
    h.event(alpha, a3.appeal, "appeal.reopened", "2026-03-09T01:00:00")  # next week
    # Beta (UTC+5): 00:30 local on Monday is Sunday evening in Moscow
    b1 = h.call(beta, "2026-03-02T00:30:00", b, ("primary", 20), water)
    b2 = h.call(
        beta, "2026-03-04T15:00:00", b, None, roads, "ул. Гагарина, 3", called_back=("primary", 30)
    )
    b3 = h.call(
        beta, "2026-03-06T09:00:00", b, None, water, "ул. Гагарина, 3", called_back=("backup", 60)
    )
    h.call(beta, "2026-03-09T00:30:00", b, None, roads)  # next week locally, open: overdue now
    h.call(beta, "2026-02-24T10:00:00", b, ("primary", 15), roads)
    h.call(beta, "2026-02-25T10:00:00", b, ("backup", 35), roads)
    # Gamma (UTC+2): 23:30 local on Sunday is Monday in Moscow
    g1 = h.call(gamma, "2026-03-07T10:00:00", g, None, roads, "пр. Мира, 7")
    g2 = h.call(gamma, "2026-03-07T11:00:00", g, ("backup", 40), roads, channel="operator")
    g3 = h.call(gamma, "2026-03-08T23:30:00", g, None, water, called_back=("primary", 60))
    h.call(gamma, "2026-02-26T10:00:00", g, None, roads, called_back=("primary", 540))
    h.event(gamma, g1.appeal, "appeal.confirmation-asked", "2026-03-08T10:00:00")
    h.event(gamma, g1.appeal, "appeal.reopened", "2026-03-08T11:00:00")
    db.session.commit()
    users = {
        "manager": make_user("manager", "manager"),
        "admin": make_user("admin", "admin"),
        "head_a": make_user("head_a", "head", alpha),
        "operator": make_user("operator", "operator"),
        "official_a": make_user("official_a", "official", alpha),
    }
    return SimpleNamespace(
        alpha=alpha,
        beta=beta,
        gamma=gamma,
        roads=roads,
        water=water,
        trios=trios,
        a=[a1, a2, a3, a4, a5, a6],
        b=[b1, b2, b3],
        g=[g1, g2, g3],
        **users,
    )
