"""The webhook signature check: valid requests run the view, anything else gets 403 and no write."""

import pytest
from flask import Blueprint, request
from sqlalchemy import func, select
from twilio.request_validator import RequestValidator

from core.extensions import db, limiter
from core.models import Event
from core.telephony import protect_webhooks, sign

TOKEN = "test-auth-token"


def _events() -> int:
    return db.session.scalar(select(func.count()).select_from(Event))


@pytest.fixture
def hooks(app):
    """A test-only webhook blueprint that writes one event per accepted request."""
    app.config.update(TWILIO_AUTH_TOKEN=TOKEN, PUBLIC_BASE_URL="https://hotline.example.org")
    bp = Blueprint("sig_test_hooks", __name__)

    @bp.route("/voice/test-sig", methods=["GET", "POST"])
    @limiter.limit("2/minute")
    def hook():
        """Record that the webhook ran."""
        params = request.form if request.method == "POST" else request.args
        db.session.add(
            Event(subject_type="call", subject_id=params.get("CallSid", "?"), verb="hooked")
        )
        db.session.commit()
        return "<Response/>", 200, {"Content-Type": "text/xml"}

    protect_webhooks(bp)
    app.register_blueprint(bp)
    return app


PARAMS = {"CallSid": "CA" + "1" * 32, "From": "+79161234567", "To": "+74872000000"}
URL = "https://hotline.example.org/voice/test-sig"


def test_valid_signature_runs_the_view(hooks, client):
    response = client.post(
        "/voice/test-sig", data=PARAMS, headers={"X-Twilio-Signature": sign(URL, PARAMS, TOKEN)}
    )

    assert response.status_code == 200
    assert _events() == 1


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"X-Twilio-Signature": "forged"},
        {"X-Twilio-Signature": "подделка"},
        {"X-Twilio-Signature": sign(URL, PARAMS, "another-token")},
        {"X-Twilio-Signature": sign("http://localhost/voice/test-sig", PARAMS, TOKEN)},
    ],
    ids=["missing", "garbage", "not-ascii", "wrong-token", "signed-for-request-host"],
)
def test_missing_or_invalid_signature_is_refused_and_nothing_written(hooks, client, headers):
    response = client.post("/voice/test-sig", data=PARAMS, headers=headers)

    assert response.status_code == 403
    assert _events() == 0


def test_signature_over_the_url_with_its_default_port_is_accepted(hooks, client):
    signed = sign("https://hotline.example.org:443/voice/test-sig", PARAMS, TOKEN)

    response = client.post("/voice/test-sig", data=PARAMS, headers={"X-Twilio-Signature": signed})

    assert response.status_code == 200
    assert _events() == 1


def test_tampered_parameters_are_refused(hooks, client):
    signature = sign(URL, PARAMS, TOKEN)

    response = client.post(
        "/voice/test-sig",
        data={**PARAMS, "From": "+79990000000"},
        headers={"X-Twilio-Signature": signature},
    )

    assert response.status_code == 403
    assert _events() == 0


def test_query_string_is_part_of_the_signed_url(hooks, client):
    signed = sign(URL + "?attempt=2&slot=backup", PARAMS, TOKEN)

    ok = client.post(
        "/voice/test-sig?attempt=2&slot=backup", data=PARAMS, headers={"X-Twilio-Signature": signed}
    )
    moved = client.post(
        "/voice/test-sig?attempt=3&slot=backup", data=PARAMS, headers={"X-Twilio-Signature": signed}
    )

    assert (ok.status_code, moved.status_code) == (200, 403)
    assert _events() == 1


def test_get_webhook_is_signed_over_the_full_url(hooks, client):
    url = URL + "?CallSid=CA42"

    response = client.get(
        "/voice/test-sig?CallSid=CA42", headers={"X-Twilio-Signature": sign(url, {}, TOKEN)}
    )

    assert response.status_code == 200


def test_behind_a_tls_proxy_the_public_url_counts_not_the_host(hooks, client):
    """The proxy talks plain HTTP to the app on an internal host; Twilio signed the https URL."""
    response = client.post(
        "/voice/test-sig",
        data=PARAMS,
        base_url="http://10.0.0.5:8000",
        headers={
            "X-Twilio-Signature": sign(URL, PARAMS, TOKEN),
            "X-Forwarded-Proto": "https",
            "Host": "10.0.0.5:8000",
        },
    )

    assert response.status_code == 200


def test_protected_blueprint_needs_no_csrf_token(hooks, client):
    """Twilio cannot send a CSRF token; the signature is the protection."""
    assert hooks.config.get("WTF_CSRF_ENABLED", True)
    response = client.post(
        "/voice/test-sig", data=PARAMS, headers={"X-Twilio-Signature": sign(URL, PARAMS, TOKEN)}
    )

    assert response.status_code == 200


def test_a_limit_by_address_never_refuses_the_carrier(hooks, client):
    plain = Blueprint("sig_test_plain", __name__)

    @plain.get("/test-limited")
    @limiter.limit("2/minute")
    def limited():
        """A page with the same limit, not posted to by the carrier."""
        return "ok"

    hooks.register_blueprint(plain)
    signed = {"X-Twilio-Signature": sign(URL, PARAMS, TOKEN)}

    webhook_answers = [
        client.post("/voice/test-sig", data=PARAMS, headers=signed) for _ in range(4)
    ]
    page_answers = [client.get("/test-limited") for _ in range(3)]

    assert [answer.status_code for answer in webhook_answers] == [200] * 4
    assert [answer.status_code for answer in page_answers] == [200, 200, 429]


# --- connection overrides: the fragment Twilio signs and never sends ---------------------------

OVERRIDES = "rc=2&rt=timeout"


def _twilio_signature(url: str, params: dict, token: str = TOKEN) -> str:
    """The signature Twilio's own library computes for a request to `url`."""
    return RequestValidator(token).compute_signature(url, params)


@pytest.fixture
def overrides(hooks):
    hooks.config["TWILIO_CONNECTION_OVERRIDES"] = OVERRIDES
    return hooks


@pytest.mark.parametrize(
    "signed_url",
    [
        f"{URL}#{OVERRIDES}",
        f"https://hotline.example.org:443/voice/test-sig#{OVERRIDES}",
        URL,  # a webhook configured without the fragment
    ],
    ids=["with-fragment", "with-fragment-and-port", "without-fragment"],
)
def test_a_signature_over_the_url_with_the_configured_overrides_is_accepted(
    overrides, client, signed_url
):
    response = client.post(
        "/voice/test-sig",
        data=PARAMS,
        headers={"X-Twilio-Signature": _twilio_signature(signed_url, PARAMS)},
    )

    assert response.status_code == 200
    assert _events() == 1


@pytest.mark.parametrize(
    "fragment", ["rc=3&rt=timeout", "rt=timeout&rc=2", "rc=2&rt=timeout&ct=1000"]
)
def test_a_signature_over_another_fragment_is_refused(overrides, client, fragment):
    response = client.post(
        "/voice/test-sig",
        data=PARAMS,
        headers={"X-Twilio-Signature": _twilio_signature(f"{URL}#{fragment}", PARAMS)},
    )

    assert response.status_code == 403
    assert _events() == 0


def test_without_configured_overrides_a_signature_over_a_fragment_is_refused(hooks, client):
    response = client.post(
        "/voice/test-sig",
        data=PARAMS,
        headers={"X-Twilio-Signature": _twilio_signature(f"{URL}#{OVERRIDES}", PARAMS)},
    )

    assert response.status_code == 403


def test_the_query_string_comes_before_the_fragment_in_the_signed_url(overrides, client):
    query = "attempt=2&next=%2Fvoice%2Fmenu&name=%D0%A2%D1%83%D0%BB%D0%B0+1"
    signed = _twilio_signature(f"{URL}?{query}#{OVERRIDES}", PARAMS)

    as_sent = client.post(
        f"/voice/test-sig?{query}", data=PARAMS, headers={"X-Twilio-Signature": signed}
    )
    reordered = client.post(
        "/voice/test-sig?next=%2Fvoice%2Fmenu&attempt=2&name=%D0%A2%D1%83%D0%BB%D0%B0+1",
        data=PARAMS,
        headers={"X-Twilio-Signature": signed},
    )
    without_query = client.post(
        "/voice/test-sig", data=PARAMS, headers={"X-Twilio-Signature": signed}
    )

    assert [as_sent.status_code, reordered.status_code, without_query.status_code] == [
        200,
        403,
        403,
    ]


def test_a_get_webhook_with_overrides_is_signed_over_its_query_and_fragment(overrides, client):
    signed = _twilio_signature(f"{URL}?CallSid=CA42&Digits=1#{OVERRIDES}", {})

    response = client.get(
        "/voice/test-sig?CallSid=CA42&Digits=1", headers={"X-Twilio-Signature": signed}
    )

    assert response.status_code == 200


def test_every_url_given_to_the_carrier_carries_the_overrides_and_people_get_none(overrides):
    from callbacks.services import card_link
    from core.telephony.receipts import status_callback_url
    from core.urls import absolute_url

    assert status_callback_url() == f"https://hotline.example.org/sms/status#{OVERRIDES}"
    with overrides.test_request_context("/", base_url="http://10.0.0.5:8000"):
        assert absolute_url("sig_test_hooks.hook") == f"{URL}#{OVERRIDES}"
    assert card_link(7) == "https://hotline.example.org/cabinet/cards/7"
