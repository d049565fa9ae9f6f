"""TwiML documents parse and carry the attributes Twilio requires."""

import xml.etree.ElementTree as ET

from hotline import twiml


def parse(document: str) -> ET.Element:
    root = ET.fromstring(document)
    assert root.tag == "Response"
    return root


def test_dial_official_rings_one_number_with_a_whisper():
    root = parse(
        twiml.dial_official(
            "Соединяем",
            "+79000000101",
            "+74872000000",
            "https://h.example/w",
            "https://h.example/r",
        )
    )
    say, dial = list(root)
    assert say.tag == "Say" and say.get("language") == "ru-RU" and say.get("voice")
    assert dial.tag == "Dial"
    assert dial.get("action") == "https://h.example/r" and dial.get("method") == "POST"
    assert 5 <= int(dial.get("timeout")) <= 30
    assert dial.get("answerOnBridge") == "true" and dial.get("callerId") == "+74872000000"
    numbers = list(dial)
    assert [n.tag for n in numbers] == [
        "Number"
    ]  # one official per Dial: a chain, not a ring group
    assert numbers[0].text == "+79000000101" and numbers[0].get("url") == "https://h.example/w"


def test_whisper_waits_for_one_key_then_hangs_up():
    root = parse(twiml.whisper("Нажмите 1", "https://h.example/a"))
    gather, hangup = list(root)
    assert gather.tag == "Gather" and gather.get("numDigits") == "1"
    assert gather.get("action") == "https://h.example/a"
    assert [child.tag for child in gather] == ["Say"]
    assert hangup.tag == "Hangup"


def test_menu_listens_to_keys_and_speech_and_asks_again_without_answer():
    root = parse(
        twiml.menu(
            "Назовите",
            ["01 — Тула."],
            "https://h.example/m",
            digits=2,
            hints=["Тула", "Алексин"],
            greeting="Здравствуйте",
        )
    )
    greeting, gather, redirect = list(root)
    assert greeting.text == "Здравствуйте"
    assert gather.get("input") == "dtmf speech" and gather.get("numDigits") == "2"
    assert gather.get("language") == "ru-RU" and gather.get("hints") == "Тула, Алексин"
    assert "01 — Тула." in gather.find("Say").text
    assert redirect.tag == "Redirect" and redirect.text == "https://h.example/m"


def test_voice_message_is_limited_and_posts_to_the_recording_url():
    root = parse(twiml.offer_voice_message("Номер 2 6", "https://h.example/rec", "Спасибо"))
    say, record, goodbye, hangup = list(root)
    assert "2 6" in say.text
    assert record.tag == "Record" and record.get("action") == "https://h.example/rec"
    assert 1 <= int(record.get("maxLength")) <= 300 and record.get("playBeep") == "true"
    assert goodbye.text == "Спасибо" and hangup.tag == "Hangup"


def test_fallback_rings_the_dispatcher():
    root = parse(twiml.fallback("Извините", "+74872700000"))
    assert [child.tag for child in root] == ["Say", "Dial", "Hangup"]
    assert root.find("Dial").text == "+74872700000"


def test_enqueue_for_operators_has_a_wait_url_and_an_action():
    root = parse(twiml.enqueue_for_operators("Здравствуйте", "https://h/w", "https://h/d"))
    enqueue = root.find("Enqueue")
    assert enqueue.text == twiml.OPERATORS_QUEUE
    assert enqueue.get("waitUrl") == "https://h/w" and enqueue.get("action") == "https://h/d"


def test_bridge_is_an_empty_response():
    assert list(parse(twiml.bridge())) == []
