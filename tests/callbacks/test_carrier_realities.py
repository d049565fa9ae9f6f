"""What a real carrier sends: hidden caller IDs, machines, retries, reordering, hang-ups."""

import pytest

from callbacks.models import CallbackAttempt
from core.events import timeline
from core.extensions import db
from core.models import OutboundMessage
from hotline.models import Call
from tests.callbacks.conftest import ALPHA_LINE, CITIZEN, miss_call
from tests.conftest import csrf_token, login, work
from tests.hotline.conftest import twilio_post

#: `From` values with no number to call back, as carriers post them.
HIDDEN_FROM = [
    "anonymous",
    "Anonymous",
    "+266696687",
    "+86282452253",
    "+7378742833",
    "client:operator1",
    "sip:user@pbx.example.ru",
    "",
    "Restricted",
    "Unavailable",
]


def post(client, url: str, page_url: str, **data):
    token = csrf_token(client.get(page_url).text)
    return client.post(url, data={"csrf_token": token, **data})


def messages() -> list[OutboundMessage]:
    return db.session.scalars(db.select(OutboundMessage).order_by(OutboundMessage.id)).all()


@pytest.mark.parametrize("from_", HIDDEN_FROM)
def test_hidden_caller_id_gets_a_card_that_says_so_and_offers_no_callback(
    app, client, region, clock, from_
):
    card = miss_call(client, from_=from_)
    call = db.session.get(Call, card.call_id)
    assert call.from_number == "anonymous"
    [received] = [e for e in timeline("call", call.id) if e.verb == "call.received"]
    assert received.data["from"] == from_ and received.data["hidden"] is True
    appeal = card.appeal
    assert appeal.caller_number is None and appeal.caller_hidden
    work(app)
    sent = messages()
    # the trio is told, and told that the number is hidden; nothing goes to the caller
    assert sorted(m.to_number for m in sent) == sorted(o.phone for o in region.a.values())
    assert all("номер скрыт, перезвонить невозможно" in m.body for m in sent)
    assert not [m for m in sent if (m.purpose or "").startswith("appeal-registered")]

    login(client, "head_a")
    page = f"/cabinet/cards/{card.id}"
    html = client.get(page).text
    assert '<td id="caller">номер скрыт</td>' in html
    assert "Перезвонить невозможно: звонивший скрыл номер" in html
    assert 'id="call-back"' not in html
    response = post(client, f"{page}/callback", page, official=str(region.a["primary"].id))
    assert response.status_code == 400 and "звонивший скрыл номер" in response.text
    assert db.session.scalar(db.select(db.func.count(CallbackAttempt.id))) == 0
    assert "номер скрыт" in client.get("/cabinet/").text


def test_a_real_number_is_kept_and_can_be_called_back(app, client, region, clock):
    card = miss_call(client, from_=CITIZEN)
    assert card.appeal.caller_number == CITIZEN and not card.appeal.caller_hidden
    login(client, "head_a")
    html = client.get(f"/cabinet/cards/{card.id}").text
    assert f'<td id="caller"><a href="tel:{CITIZEN}">{CITIZEN}</a></td>' in html
    assert 'id="call-back"' in html


def test_hidden_callers_are_not_one_rate_limited_bucket(app, client, region):
    app.config["CALLER_RATE_LIMIT"] = (2, 600)
    answers = [
        twilio_post(client, "/voice/incoming", CallSid=f"CA{i}", From=from_, To=ALPHA_LINE)
        for i, from_ in enumerate(["anonymous"] * 4 + ["+266696687", "", "Restricted"])
    ]
    assert all("<Dial" in answer.text for answer in answers)
    refused = db.select(db.func.count(Call.id)).where(Call.outcome == "refused")
    assert db.session.scalar(refused) == 0
    # one real number over the limit is still refused, and only that one
    for i in range(3):
        last = twilio_post(client, "/voice/incoming", CallSid=f"CB{i}", From=CITIZEN, To=ALPHA_LINE)
    assert "перезвоните позже" in last.text
    other = twilio_post(client, "/voice/incoming", CallSid="CC1", From="anonymous", To=ALPHA_LINE)
    assert "<Dial" in other.text
