"""Outgoing texts of cards and appeals come from the prompts, so `VOICE_PROMPTS` reaches them."""

from callbacks import notices, services, twiml
from hotline.open311 import documents
from tests.callbacks.conftest import miss_call


def test_voice_prompts_override_the_card_and_appeal_texts(app, client, region, clock, monkeypatch):
    card = miss_call(client)
    appeal = card.appeal
    monkeypatch.setitem(
        app.config,
        "VOICE_PROMPTS",
        {
            "notice_call": "call {card}",
            "sms_card_opened": "opened {card} {caller}",
            "sms_confirmation": "solved? {number}",
            "callback_whisper": "whisper {card} {topic}",
            "open311_service_notice": "notice {number}",
            "notice_not_confirmed": "not confirmed",
            "callback_over": "over",
        },
    )
    assert notices.notice_text(card) == f"call {card.id}"
    assert services.card_opened_text(card) == f"opened {card.id} {appeal.caller_number}"
    assert services.confirmation_text(appeal) == f"solved? {appeal.number}"
    assert "whisper 7 вода</Say>" in twiml.callback_whisper(7, "вода", "/accept")
    assert documents.service_notice(appeal) == f"notice {appeal.number}"
    assert "not confirmed</Say>" in twiml.notice_call("call", "/key")
    assert "not confirmed</Say>" in twiml.notice_answer(False)
    assert "over</Say>" in twiml.callback_over()
