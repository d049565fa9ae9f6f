"""A small region with a full duty trio, and signed webhook posts as Twilio makes them."""

from types import SimpleNamespace
from urllib.parse import urlsplit

import pytest
from flask import current_app

from core.extensions import db
from core.telephony import sign
from roster.services import general_roster
from tests.factories import make_category, make_duty_trio, make_municipality

GOVERNOR_LINE = "+74872000000"
CITIZEN = "+79161234567"


@pytest.fixture
def region(app):
    """Municipality «Альфинский район» with primary, backup and supervisor on duty now."""
    place = make_municipality("alpha", "Альфинский район", duty_number="+74872700101")
    roster = general_roster(place)
    trio = make_duty_trio(place, "+7900000010", days=1)
    roads = make_category("roads", "ordinary")
    water = make_category("water", "emergency")
    water.position, roads.position = 0, 1
    db.session.commit()
    return SimpleNamespace(place=place, roster=roster, roads=roads, water=water, **trio)


def twilio_post(client, url: str, **params):
    """POST a webhook signed with the auth token, as Twilio does."""
    parts = urlsplit(url)
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    full_url = current_app.config["PUBLIC_BASE_URL"] + path
    signature = sign(full_url, params, current_app.config["TWILIO_AUTH_TOKEN"])
    return client.post(path, data=params, headers={"X-Twilio-Signature": signature})
