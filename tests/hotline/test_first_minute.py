"""The caller's first minute with no operator: a name said, the digit groups, short prompts."""

import pytest

from core.extensions import db
from core.telephony.sim import CallerScript, SimCarrier, Speech, answers_and_presses
from hotline import menu
from hotline.models import Call
from hotline.prompts import spoken_number
from roster.demo import MUNICIPALITIES, demo_phone, seed_demo
from tests.hotline.conftest import CITIZEN, GOVERNOR_LINE

#: Characters of speech from the greeting to the first ring of an official, by speech.
SPEECH_PATH_LIMIT = 300
UZLOVSKY = next(i for i, (code, _, _) in enumerate(MUNICIPALITIES, start=1) if code == "uzlovsky")


@pytest.fixture
def demo(app):
    seed_demo()
    db.session.commit()


@pytest.fixture
def carrier(app, demo):
    sim = SimCarrier.in_process(app)
    for index in range(1, len(MUNICIPALITIES) + 1):
        sim.phone(demo_phone(index, 1), answers_and_presses("1"))
    return sim


def stored(sim_call) -> Call:
    db.session.expire_all()
    return db.session.scalar(db.select(Call).where(Call.call_sid == sim_call.sid))


def said_before_first_dial(sim_call) -> list[str]:
    """Every text the caller heard before the first official was rung."""
    heard = []
    for kind, item in sim_call.transcript.entries:
        if kind == "dial":
            return heard
        if kind == "say":
            heard.append(item.text)
    raise AssertionError(f"no official was rung:\n{sim_call.transcript.text()}")


def speech_length(sim_call) -> int:
    return sum(len(text) for text in said_before_first_dial(sim_call))


def test_caller_who_says_uzlovaya_reaches_the_uzlovsky_chain(carrier):
    sim_call = carrier.incoming_call(
        CITIZEN, GOVERNOR_LINE, CallerScript(inputs=[Speech("Узловая"), Speech("дороги")])
    )
    assert sim_call.transcript.dialled[0].number == demo_phone(UZLOVSKY, 1)
    call = stored(sim_call)
    assert call.appeal.municipality.name == "Узловский район"
    assert call.appeal.category.code == "roads"
    assert speech_length(sim_call) <= SPEECH_PATH_LIMIT, said_before_first_dial(sim_call)


def test_silence_twice_gives_the_grouped_digit_menu(carrier):
    sim_call = carrier.incoming_call(
        CITIZEN, GOVERNOR_LINE, CallerScript(inputs=[None, None, "4", "3", "0"])
    )
    heard = sim_call.transcript.said
    groups = next(text for text in heard if text.startswith("Выберите группу по алфавиту"))
    options = [part for part in groups.split(". ") if " — " in part]
    assert len(options) <= 9 and groups.endswith("0 — оператор.")
    assert "1 — от А до Д." in groups and "4 — от Т до Я." in groups
    group = next(text for text in heard if text.startswith("1 — ") and "район" in text)
    assert len([part for part in group.split(". ") if " — " in part]) <= 9
    assert "Узловский район" in group
    assert sim_call.transcript.dialled[0].number == demo_phone(UZLOVSKY, 1)
    assert stored(sim_call).appeal.category is None  # «0 — другое»


def test_earlier_municipality_is_offered_first(carrier):
    first = carrier.incoming_call(CITIZEN, GOVERNOR_LINE, CallerScript([Speech("в Туле"), "0"]))
    stored(first).appeal.status = "closed"  # no open appeal: the place is offered, no state
    db.session.commit()
    again = carrier.incoming_call(CITIZEN, GOVERNOR_LINE, CallerScript(inputs=["1", "0"]))
    heard = " ".join(again.transcript.said)
    assert "Вы звоните по городу Туле? Нажмите 1" in heard
    assert stored(again).appeal.municipality.code == "tula"
    assert CITIZEN[2:] not in heard.replace(" ", "")  # the number is matched, never read out


def test_topics_are_the_five_most_frequent_here_this_month(carrier):
    town = Speech("Новомосковск")
    for n in range(2):
        script = CallerScript(inputs=[town, Speech("автобус не ходит, транспорт")])
        carrier.incoming_call(f"+7916000000{n}", GOVERNOR_LINE, script)
    sim_call = carrier.incoming_call("+79163000000", GOVERNOR_LINE, CallerScript([town, "1"]))
    topics = next(text for text in sim_call.transcript.said if text.startswith("Назовите тему"))
    assert topics.startswith("Назовите тему или нажмите: 1 — транспорт. 2 — безопасность.")
    assert topics.endswith("0 — другое.") and "6 — " not in topics
    assert stored(sim_call).appeal.category.code == "transport"


@pytest.mark.parametrize(
    ("path", "inputs"),
    [
        ("speech", [Speech("в Узловой"), Speech("отопление")]),
        ("digits", [None, None, "4", "3", "2"]),
    ],
)
def test_characters_of_speech_before_the_first_dial(carrier, path, inputs):
    sim_call = carrier.incoming_call(CITIZEN, GOVERNOR_LINE, CallerScript(inputs=inputs))
    length = speech_length(sim_call)
    print(f"\n{path} path: {length} characters of speech before the first <Dial>")
    if path == "speech":
        assert length <= SPEECH_PATH_LIMIT, said_before_first_dial(sim_call)


def test_known_caller_hears_the_state_of_their_open_appeal(carrier):
    first = carrier.incoming_call(CITIZEN, GOVERNOR_LINE, CallerScript([Speech("Узловая"), "0"]))
    appeal = stored(first).appeal
    assert appeal.status == "in_work"
    due = menu.spoken_date(appeal.resolution_due_at, appeal.municipality.timezone)

    again = carrier.incoming_call(CITIZEN, GOVERNOR_LINE, CallerScript(["1", "2"]))
    heard = " ".join(again.transcript.said)
    assert f"Ваше обращение {spoken_number(appeal.number)} в работе, срок до {due}." in heard
    assert "1 — последняя запись, 2 — связаться по нему, 3 — новый вопрос." in heard
    assert "По обращению пока нет записей." in heard
    assert again.transcript.dialled[0].number == demo_phone(UZLOVSKY, 1)
    assert CITIZEN[2:] not in heard.replace(" ", "")

    third = carrier.incoming_call(CITIZEN, GOVERNOR_LINE, CallerScript(["3", Speech("в Туле")]))
    assert any(text.startswith("Назовите тему") for text in third.transcript.said)
