"""Two demo-coded municipalities with a duty trio, categories, users with API tokens, a card."""

from datetime import timedelta
from types import SimpleNamespace

import pytest

from core.clock import utcnow
from core.extensions import db
from core.users import issue_token
from roster.services import general_roster
from tests import factories
from tests.factories import make_category, make_municipality, make_official, make_shift, make_user

CITIZEN = "+79161234567"


@pytest.fixture
def world(app):
    """Tula (with a duty trio) and Shchekino; roads and water; a token for every role."""
    tula = make_municipality("tula", "Город Тула", duty_number="+74872700101")
    shchekino = make_municipality("shchekinsky", "Щёкинский район")
    trio = {
        "primary": make_official(tula, "+79000000101", "Первов Пётр"),
        "backup": make_official(tula, "+79000000102", "Вторых Вера"),
        "supervisor": make_official(tula, "+79000000103", "Главный Глеб"),
    }
    now = utcnow()
    for role, official in trio.items():
        make_shift(
            general_roster(tula), role, official, now - timedelta(hours=1), now + timedelta(days=5)
        )
    roads = make_category("roads", "ordinary")
    water = make_category("water", "emergency")
    water.callback_minutes, water.resolution_days, water.position = 60, 3, 0
    roads.position = 1
    db.session.commit()
    users = {
        "admin": make_user("admin", "admin"),
        "operator": make_user("operator", "operator"),
        "manager": make_user("manager", "manager"),
        "head": make_user("head", "head", tula),
        "official": make_user("official", "official", tula),
        "headb": make_user("headb", "head", shchekino),
    }
    tokens = {
        name: {"Authorization": f"Bearer {issue_token(user)}"} for name, user in users.items()
    }
    db.session.commit()
    return SimpleNamespace(
        tula=tula,
        shchekino=shchekino,
        trio=trio,
        roads=roads,
        water=water,
        users=users,
        tokens=tokens,
    )


def make_card(world, place=None, caller=CITIZEN, sid="CA0001"):
    """A missed call in a municipality with its appeal and card, as the chain leaves them."""
    return factories.make_card(place or world.tula, world.roads, caller, sid)


def make_missed_cards(world, count: int) -> None:
    """Tula's missed calls up to `count` cards, each with the trio's attempts and a callback."""
    from callbacks.models import Card

    trio = list(world.trio.values())
    for index in range(db.session.scalar(db.select(db.func.count(Card.id))), count):
        factories.make_card(world.tula, world.roads, f"+7916000{index:04d}", f"CA{index:04d}", trio)
