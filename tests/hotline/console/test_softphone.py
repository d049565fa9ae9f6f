"""The softphone's access token: the operator's own identity, a voice grant, short-lived."""

import time

import jwt

from tests.conftest import TWILIO_ACCOUNT, csrf_token, login
from tests.factories import make_user

API_KEY = "SK" + "2" * 32
API_SECRET = "softphone-secret-of-thirty-two-bytes-or-more"
APP_SID = "AP" + "3" * 32


def _configure(app):
    app.config.update(
        TWILIO_ACCOUNT_SID=TWILIO_ACCOUNT,
        TWILIO_API_KEY=API_KEY,
        TWILIO_API_SECRET=API_SECRET,
        TWILIO_TWIML_APP_SID=APP_SID,
    )


def _token(client, **data):
    token = csrf_token(client.get("/console/").text)
    return client.post("/console/token", data=data, headers={"X-CSRFToken": token})


def test_the_token_carries_the_operator_identity_and_a_voice_grant(app, client, operator):
    _configure(app)
    login(client, "olga")
    answer = _token(client)
    assert answer.status_code == 200
    claims = jwt.decode(answer.json["token"], API_SECRET, algorithms=["HS256"])
    assert claims["iss"] == API_KEY and claims["sub"] == TWILIO_ACCOUNT
    assert claims["grants"]["identity"] == "operator-olga" == answer.json["identity"]
    voice = claims["grants"]["voice"]
    assert voice["incoming"] == {"allow": True}
    assert voice["outgoing"]["application_sid"] == APP_SID
    assert 0 < claims["exp"] - time.time() <= 600  # short-lived: the page refreshes it


def test_another_users_token_is_refused(app, client, operator):
    _configure(app)
    make_user("petra", "operator")
    login(client, "olga")
    refused = _token(client, identity="operator-petra")
    assert refused.status_code == 403 and "token" not in refused.json
    assert _token(client, identity="operator-olga").status_code == 200


def test_no_token_without_an_api_key_and_none_for_other_roles(app, client, operator, region):
    login(client, "olga")
    assert _token(client).json["error"]["code"] == "softphone-unavailable"
    make_user("hugo", "head", region.place)
    other = app.test_client()
    login(other, "hugo")
    assert other.post("/console/token").status_code in (400, 403)
