"""The webhook signature check: valid requests run the view, anything else gets 403 and no write."""

import pytest
from flask import Blueprint, request
from sqlalchemy import func, select

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
