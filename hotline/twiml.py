"""TwiML documents of the voice flow, built from plain values (no Flask, no database)."""

from dataclasses import dataclass

from twilio.twiml.voice_response import VoiceResponse

from hotline.prompts import LANGUAGE, VOICE

#: Seconds an official's phone rings before the next one is tried (before mobile voicemail).
RING_SECONDS = 20
#: Seconds the official has to press the key after the whisper.
WHISPER_SECONDS = 8
#: Longest voice message a caller may leave, in seconds.
RECORDING_SECONDS = 120
OPERATORS_QUEUE = "operators"


@dataclass(frozen=True)
class MenuItem:
    key: str
    label: str


def _say(target, text: str) -> None:
    target.say(text, voice=VOICE, language=LANGUAGE)


def say_and_hangup(*texts: str) -> str:
    """Say the texts and hang up."""
    response = VoiceResponse()
    for text in texts:
        _say(response, text)
    response.hangup()
    return str(response)


def enqueue_for_operators(greeting: str, wait_url: str, action_url: str) -> str:
    """Greet the caller and put them in the operators' queue."""
    response = VoiceResponse()
    _say(response, greeting)
    response.enqueue(OPERATORS_QUEUE, wait_url=wait_url, action=action_url, method="POST")
    return str(response)


def queue_wait(text: str, skip_url: str) -> str:
    """Announce the position while waiting; `*` leaves the queue for the voice menu."""
    response = VoiceResponse()
    gather = response.gather(num_digits=1, action=skip_url, method="POST", timeout=5)
    _say(gather, text)
    response.pause(length=10)
    return str(response)


def leave_queue() -> str:
    """Take the caller out of the queue (the Enqueue action decides what follows)."""
    response = VoiceResponse()
    response.leave()
    return str(response)


def menu(
    intro: str,
    items: list[str],
    action_url: str,
    *,
    digits: int,
    hints: list[str],
    greeting: str | None = None,
    apology: str | None = None,
) -> str:
    """Ask for a choice by keypad or voice; with no answer the caller is asked again."""
    response = VoiceResponse()
    for text in (apology, greeting):
        if text:
            _say(response, text)
    gather = response.gather(
        input="dtmf speech",
        num_digits=digits,
        action=action_url,
        method="POST",
        timeout=6,
        language=LANGUAGE,
        hints=", ".join(hints) or None,
        speech_timeout="auto",
    )
    _say(gather, " ".join([intro, *items]))
    response.redirect(action_url, method="POST")
    return str(response)


def ask(
    texts: list[str],
    action_url: str,
    *,
    digits: int,
    hints: list[str],
    speech: bool = True,
) -> str:
    """Say the texts (the last ones inside the Gather) and take a spoken or keyed answer.

    `texts[:-1]` come before the Gather, `texts[-1]` is its question; with no answer the
    action is fetched again without one (the view counts the failed try).
    """
    response = VoiceResponse()
    for text in texts[:-1]:
        if text:
            _say(response, text)
    gather = response.gather(
        input="speech dtmf" if speech else "dtmf",
        num_digits=digits,
        action=action_url,
        method="POST",
        timeout=6,
        language=LANGUAGE,
        hints=", ".join(hints) or None,
        speech_timeout="auto" if speech else None,
    )
    _say(gather, texts[-1])
    response.redirect(action_url, method="POST")
    return str(response)


def dial_official(
    intro: str | None, phone: str, caller_id: str, whisper_url: str, action_url: str
) -> str:
    """Ring one official; the whisper leg asks them to press 1, the action gets the result."""
    response = VoiceResponse()
    if intro:
        _say(response, intro)
    dial = response.dial(
        action=action_url,
        method="POST",
        timeout=RING_SECONDS,
        answer_on_bridge=True,
        caller_id=caller_id,
    )
    dial.number(phone, url=whisper_url, method="POST")
    return str(response)


def whisper(text: str, accept_url: str) -> str:
    """Tell the official who calls and wait for the key; without it the leg hangs up."""
    response = VoiceResponse()
    gather = response.gather(
        num_digits=1, action=accept_url, method="POST", timeout=WHISPER_SECONDS
    )
    _say(gather, text)
    response.hangup()
    return str(response)


def bridge() -> str:
    """An empty document: the official's leg is bridged to the caller."""
    return str(VoiceResponse())


def hangup() -> str:
    """End the leg."""
    response = VoiceResponse()
    response.hangup()
    return str(response)


def offer_voice_message(text: str, recording_url: str, goodbye: str) -> str:
    """Tell the registration number and record a voice message."""
    response = VoiceResponse()
    _say(response, text)
    response.record(
        max_length=RECORDING_SECONDS,
        action=recording_url,
        method="POST",
        play_beep=True,
        timeout=5,
        finish_on_key="#",
    )
    _say(response, goodbye)
    response.hangup()
    return str(response)


def fallback(text: str, dispatcher_number: str | None) -> str:
    """Safe TwiML that needs no database: ring the regional duty dispatcher."""
    response = VoiceResponse()
    _say(response, text)
    if dispatcher_number:
        response.dial(dispatcher_number, timeout=60)
    response.hangup()
    return str(response)
