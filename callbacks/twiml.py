"""TwiML of the click-to-call callback; its texts come from hotline's prompts."""

from twilio.twiml.voice_response import VoiceResponse

from hotline.prompts import prompt

LANGUAGE = "ru-RU"
VOICE = "Polly.Tatyana"
#: Seconds the official has to press 1 after the whisper.
WHISPER_SECONDS = 10
#: Seconds the citizen's phone rings.
CITIZEN_RING_SECONDS = 30


def _say(target, text: str) -> None:
    target.say(text, voice=VOICE, language=LANGUAGE)


def _say_and_hang_up(text: str) -> str:
    response = VoiceResponse()
    _say(response, text)
    response.hangup()
    return str(response)


def callback_whisper(card_number: int, topic: str, accept_url: str) -> str:
    """Tell the official which card this is and wait for 1 to dial the citizen."""
    response = VoiceResponse()
    gather = response.gather(
        num_digits=1, action=accept_url, method="POST", timeout=WHISPER_SECONDS
    )
    _say(gather, prompt("callback_whisper", card=card_number, topic=topic))
    _say(response, prompt("callback_cancelled"))
    response.hangup()
    return str(response)


def dial_citizen(citizen_number: str, caller_id: str, result_url: str) -> str:
    """Dial the citizen from the governor's line; the action URL gets how it ended."""
    response = VoiceResponse()
    _say(response, prompt("callback_connecting"))
    dial = response.dial(
        action=result_url,
        method="POST",
        timeout=CITIZEN_RING_SECONDS,
        caller_id=caller_id,
    )
    dial.number(citizen_number)
    return str(response)


def callback_result(answered: bool) -> str:
    """Close the official's leg after the citizen's leg ended."""
    return _say_and_hang_up(prompt("callback_recorded" if answered else "callback_unanswered"))


def callback_over() -> str:
    """Tell an official who pressed 1 too late that this callback is over."""
    return _say_and_hang_up(prompt("callback_over"))


def hangup() -> str:
    """End the leg."""
    response = VoiceResponse()
    response.hangup()
    return str(response)


def notice_call(text: str, key_url: str) -> str:
    """Read the card to the official twice at most and wait for 1 to acknowledge it."""
    response = VoiceResponse()
    for _ in range(2):
        gather = response.gather(
            num_digits=1, action=key_url, method="POST", timeout=WHISPER_SECONDS
        )
        _say(gather, text)
    _say(response, prompt("notice_not_confirmed"))
    response.hangup()
    return str(response)


def notice_answer(acknowledged: bool) -> str:
    """Tell the official whether the key acknowledged the card, and end the call."""
    return _say_and_hang_up(prompt("notice_confirmed" if acknowledged else "notice_not_confirmed"))


def unavailable() -> str:
    """Say the service is briefly unavailable and end the official's call."""
    return _say_and_hang_up(prompt("callback_unavailable"))
