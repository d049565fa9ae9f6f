"""A known caller's key 2: connected about their open appeal, no new appeal registered."""

from callbacks.models import Card
from core.extensions import db
from core.telephony.sim import CallerScript, Speech
from core.telephony.sim.phones import no_answer
from hotline.console.control import appeal_timeline
from hotline.models import Appeal
from hotline.prompts import spoken_number
from roster.demo import MUNICIPALITIES, demo_phone
from roster.services import get_municipality
from tests.conftest import login
from tests.factories import make_user
from tests.hotline.conftest import CITIZEN, GOVERNOR_LINE
from tests.hotline.test_first_minute import UZLOVSKY, carrier, demo, stored

__all__ = ["carrier", "demo"]  # the demo region's fixtures

TULA = next(i for i, (code, _, _) in enumerate(MUNICIPALITIES, start=1) if code == "tula")


def first_appeal(carrier) -> Appeal:
    """The citizen's first call, about Узловский district: accepted by the primary."""
    first = carrier.incoming_call(CITIZEN, GOVERNOR_LINE, CallerScript([Speech("Узловая"), "0"]))
    return stored(first).appeal


def test_key_2_rings_the_appeals_chain_and_links_the_call_to_it(app, carrier):
    appeal = first_appeal(carrier)
    assert appeal.status == "in_work"
    # the caller's earlier municipality would now be Тула: the appeal's own chain still rings
    carrier.incoming_call(CITIZEN, GOVERNOR_LINE, CallerScript(["3", Speech("в Туле"), "0"]))
    tula_appeal = db.session.scalar(
        db.select(Appeal).where(Appeal.municipality_id == get_municipality("tula").id)
    )
    tula_appeal.status = "resolved"  # the latest open appeal is the Узловский one again
    db.session.commit()
    appeals_before = db.session.scalar(db.select(db.func.count(Appeal.id)))

    again = carrier.incoming_call(CITIZEN, GOVERNOR_LINE, CallerScript(["2"]))

    assert [d.number for d in again.transcript.dialled][:1] == [demo_phone(UZLOVSKY, 1)]
    assert demo_phone(TULA, 1) not in [d.number for d in again.transcript.dialled]
    call = stored(again)
    assert call.appeal is None and call.about_appeal_id == appeal.id
    assert call.outcome == "connected"
    assert db.session.scalar(db.select(db.func.count(Appeal.id))) == appeals_before
    verbs = [(e.verb, (e.data or {}).get("call_id")) for e in appeal_timeline(appeal)]
    assert ("appeal.called-about", call.id) in verbs
    assert ("appeal.accepted", call.id) in verbs
    assert ("chain.started", None) in verbs[verbs.index(("appeal.called-about", call.id)) :]

    make_user("op", "operator")
    client = app.test_client()
    login(client, "op")
    page = client.get(f"/console/appeals/{appeal.id}")
    assert page.status_code == 200
    assert "позвонил снова по обращению" in page.text


def test_nobody_accepts_the_card_refers_to_the_open_appeal(app, carrier):
    appeal = first_appeal(carrier)
    for person in range(1, 7):
        carrier.phone(demo_phone(UZLOVSKY, person), no_answer())

    again = carrier.incoming_call(CITIZEN, GOVERNOR_LINE, CallerScript(["2"]))

    heard = " ".join(again.transcript.said)
    assert f"Ваш звонок по обращению {spoken_number(appeal.number)} передан" in heard
    call = stored(again)
    assert call.outcome == "missed" and call.appeal is None
    card = db.session.scalar(db.select(Card).where(Card.call_id == call.id))
    assert card is not None and card.appeal_id == appeal.id
    assert card.municipality_id == appeal.municipality_id
    assert db.session.scalar(db.select(db.func.count(Appeal.id))) == 1
    db.session.refresh(appeal)
    assert appeal.status == "in_work"  # an official has it; the card asks for the callback

    make_user("uz", "head", get_municipality("uzlovsky"))
    make_user("tu", "head", get_municipality("tula"))
    for username, sees in (("uz", True), ("tu", False)):
        cabinet = app.test_client()
        login(cabinet, username)
        page = cabinet.get("/cabinet/")
        assert page.status_code == 200
        assert (f'data-card="{card.id}"' in page.text) is sees, username
        shown = cabinet.get(f"/cabinet/cards/{card.id}")
        assert shown.status_code == (200 if sees else 404), username
        assert (appeal.number in shown.text) is sees, username
