"""TwiML of the operator console, built from plain values (no Flask, no database)."""

from twilio.twiml.voice_response import VoiceResponse

from hotline.prompts import LANGUAGE, VOICE

#: Seconds the operator's endpoint rings before the caller goes back to the queue (default).
OPERATOR_RING_SECONDS = 15
#: The queue a caller waits in after talking to the operator, until connected or let go.
HOLD_QUEUE = "operator-hold"

CONNECTING_OPERATOR = "Соединяем вас с оператором."
HOLD = "Пожалуйста, оставайтесь на линии. Оператор оформляет ваше обращение."
REGISTERED = (
    "Ваше обращение зарегистрировано под номером {number}. Номер придёт вам в СМС. "
    "Вам обязательно перезвонят. До свидания."
)
GOODBYE = "Спасибо за звонок. До свидания."


def _say(target, text: str) -> None:
    target.say(text, voice=VOICE, language=LANGUAGE)


def dial_operator(
    endpoint: str,
    caller_id: str,
    answered_url: str,
    action_url: str,
    ring_seconds: int = OPERATOR_RING_SECONDS,
) -> str:
    """Ring the operator's endpoint (a phone or `client:<identity>`) and bridge the caller."""
    response = VoiceResponse()
    _say(response, CONNECTING_OPERATOR)
    dial = response.dial(
        action=action_url,
        method="POST",
        timeout=ring_seconds,
        answer_on_bridge=True,
        caller_id=caller_id,
    )
    if endpoint.startswith("client:"):
        dial.client(endpoint.removeprefix("client:"), url=answered_url, method="POST")
    else:
        dial.number(endpoint, url=answered_url, method="POST")
    return str(response)


def operator_answered() -> str:
    """An empty document on the operator's leg: it is bridged to the caller."""
    return str(VoiceResponse())


def hold(wait_url: str, action_url: str) -> str:
    """Keep the caller on hold while the operator registers the appeal."""
    response = VoiceResponse()
    response.enqueue(HOLD_QUEUE, wait_url=wait_url, action=action_url, method="POST")
    return str(response)


def hold_wait() -> str:
    """What a caller on hold hears, repeated by the carrier while they wait."""
    response = VoiceResponse()
    _say(response, HOLD)
    response.pause(length=20)
    return str(response)


def registered(spoken_number: str) -> str:
    """Tell the caller the registration number of their appeal and hang up."""
    response = VoiceResponse()
    _say(response, REGISTERED.format(number=spoken_number))
    response.hangup()
    return str(response)


def goodbye() -> str:
    """Thank the caller and hang up."""
    response = VoiceResponse()
    _say(response, GOODBYE)
    response.hangup()
    return str(response)


def queue_wait(
    announcement: str, key_url: str, callback_offer: str | None, cycle_seconds: int = 45
) -> str:
    """Announce the place and the estimated wait (and the callback offer), then wait a cycle.

    The carrier asks for this document again when it ends: the caller hears it every cycle.
    `*` leaves for the voice menu; 1 (when offered) asks for a callback that keeps the place.
    """
    response = VoiceResponse()
    gather = response.gather(num_digits=1, action=key_url, method="POST", timeout=5)
    _say(gather, announcement)
    if callback_offer:
        _say(gather, callback_offer)
    response.pause(length=max(1, cycle_seconds - 15))
    return str(response)


def callback_kept(text: str) -> str:
    """Thank the caller who asked to be rung back in their place, and hang up."""
    response = VoiceResponse()
    _say(response, text)
    response.hangup()
    return str(response)


def dial_citizen(whisper: str, number: str, caller_id: str, action_url: str) -> str:
    """On the operator's leg: tell her whom she calls back, then dial the citizen."""
    response = VoiceResponse()
    _say(response, whisper)
    response.dial(number, caller_id=caller_id, action=action_url, method="POST", timeout=30)
    return str(response)


def transfer_to_number(text: str, number: str, caller_id: str, action_url: str) -> str:
    """Tell the caller they are being put through, then dial the number they are transferred to."""
    response = VoiceResponse()
    _say(response, text)
    response.dial(number, caller_id=caller_id, action=action_url, method="POST", timeout=30)
    return str(response)


def consult(whisper: str, number: str, caller_id: str) -> str:
    """On the operator's leg: tell her the caller holds, then dial the side she consults."""
    response = VoiceResponse()
    _say(response, whisper)
    dial = response.dial(caller_id=caller_id, timeout=30)
    if number.startswith("client:"):  # another operator's softphone
        dial.client(number.removeprefix("client:"))
    else:
        dial.number(number)
    return str(response)
