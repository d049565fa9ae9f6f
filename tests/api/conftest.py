"""Two demo-coded municipalities with a duty trio, categories, users with API tokens, a card."""

from types import SimpleNamespace

import pytest

from core.extensions import db
from core.users import issue_token
from tests import factories
from tests.factories import make_category, make_duty_trio, make_municipality, make_user

CITIZEN = "+79161234567"


@pytest.fixture
def world(app):
    """Tula (with a duty trio) and Shchekino; roads and water; a token for every role."""
    tula = make_municipality("tula", "Город Тула", duty_number="+74872700101")
    shchekino = make_municipality("shchekinsky", "Щёкинский район")
    trio = make_duty_trio(tula, "+7900000010", days=5)
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
