"""How the simulated carrier executes each TwiML verb, following Twilio's documented behaviour.

Each handler takes (carrier, call, verb, document URL, context) and returns None to go on with
the next verb, a `Next` document to fetch, or how the call's TwiML ended (`hangup`, `parked`,
`leave`).
"""

from urllib.parse import urljoin

from core.telephony.sim.audio import (
    PLAY_SECONDS,
    say_seconds,
    sim_recording_path,
    write_voice_message,
)
from core.telephony.sim.phones import Speech
from core.telephony.sim.records import Call, Dialled, Recording, Utterance, new_sid
from core.telephony.sim.twiml import Next, Verb


def _loops(verb: Verb) -> int:
    return int(verb.get("loop") or 1) or 1


def _action(verb: Verb, url: str, attr: str = "action") -> str:
    return urljoin(url, verb.get(attr) or url)


def _method(verb: Verb, attr: str = "method") -> str:
    return (verb.get(attr) or "POST").upper()


def say(carrier, call: Call, verb: Verb, url: str, context: str):
    """Speak the text (the transcript keeps it with its language and voice)."""
    for _ in range(_loops(verb)):
        call.transcript.add("say", Utterance(verb.text, verb.get("language"), verb.get("voice")))
        call.elapsed += say_seconds(verb.text)


def play(carrier, call: Call, verb: Verb, url: str, context: str):
    """Play audio (not fetched) or DTMF digits."""
    for _ in range(_loops(verb)):
        call.transcript.add("play", verb.text or f"digits:{verb.get('digits')}")
        call.elapsed += PLAY_SECONDS if verb.text else 1


def pause(carrier, call: Call, verb: Verb, url: str, context: str):
    """Wait silently."""
    call.transcript.add("pause", int(verb.get("length") or 1))
    call.elapsed += int(verb.get("length") or 1)


def gather(carrier, call: Call, verb: Verb, url: str, context: str):
    """Play the nested prompts, take the person's next input; post it, or fall through."""
    for child in verb.children:
        HANDLERS[child.name](carrier, call, child, url, context)
    kinds = set((verb.get("input") or "dtmf").split())
    answer = carrier.next_input(call, int(verb.get("timeout") or 5))
    params = {}
    if isinstance(answer, Speech) and "speech" in kinds:
        call.transcript.add("input", answer.text)
        call.elapsed += say_seconds(answer.text) + 1
        params = {"SpeechResult": answer.text, "Confidence": f"{answer.confidence:.2f}"}
    elif isinstance(answer, str) and answer and "dtmf" in kinds:
        digits = answer
        finish = verb.get("finishOnKey", "#")
        cut = [digits.index(key) for key in finish if key in digits]
        if cut:
            digits = digits[: min(cut)]
        if verb.get("numDigits"):
            digits = digits[: int(verb.get("numDigits"))]
        call.transcript.add("input", answer)
        call.elapsed += len(answer)
        if digits:
            params = {"Digits": digits}
    else:
        call.transcript.add("silence", int(verb.get("timeout") or 5))
        call.elapsed += int(verb.get("timeout") or 5)
    if params or verb.flag("actionOnEmptyResult"):
        return Next(_action(verb, url), _method(verb), params)
    return None


def record(carrier, call: Call, verb: Verb, url: str, context: str):
    """Record the person's message and post it to the action; silence moves on to the next verb."""
    if verb.flag("playBeep", True):
        call.transcript.add("beep", None)
    seconds = min(call.script.message_seconds, int(verb.get("maxLength") or 3600))
    if seconds <= 0:
        call.transcript.add("silence", int(verb.get("timeout") or 5))
        call.elapsed += int(verb.get("timeout") or 5)
        return None
    call.elapsed += seconds
    recording = _recording(carrier, seconds)
    call.transcript.add("record", recording)
    params = {
        "RecordingUrl": recording.url,
        "RecordingSid": recording.sid,
        "RecordingDuration": str(seconds),
    }
    nxt = Next(_action(verb, url), _method(verb), params)
    if call.script.hang_up_after_message:
        params["Digits"] = "hangup"
        carrier._end(call, "completed")
        carrier._post_ignoring_answer(call, nxt)
        return "hangup"
    return nxt


def _recording(carrier, seconds: int) -> Recording:
    sid = new_sid("RE")
    url = f"https://api.twilio.com/{'2010-04-01'}/Accounts/{carrier.account_sid}/Recordings/{sid}"
    if carrier.recordings_dir is not None:
        write_voice_message(sim_recording_path(carrier.recordings_dir, sid), seconds)
    return Recording(sid, url, seconds)


def redirect(carrier, call: Call, verb: Verb, url: str, context: str):
    """Fetch the TwiML at the given URL next."""
    return Next(urljoin(url, verb.text), _method(verb))


def hangup(carrier, call: Call, verb: Verb, url: str, context: str):
    """End the call."""
    if call.parked:
        carrier._hang_up_parked(call)
    carrier._end(call, "completed")
    return "hangup"


def reject(carrier, call: Call, verb: Verb, url: str, context: str):
    """Refuse the call without answering it."""
    call.transcript.add("rejected", verb.get("reason", "rejected"))
    carrier._end(call, "busy" if verb.get("reason") == "busy" else "no-answer")
    return "hangup"


def leave(carrier, call: Call, verb: Verb, url: str, context: str):
    """Leave the queue (from the wait music); the Enqueue action or next verb follows."""
    return "leave"


def enqueue(carrier, call: Call, verb: Verb, url: str, context: str):
    """Park the call in a queue and play the wait document once (it announces the position)."""
    name = verb.text
    action = verb.get("action")
    info = {
        "action": urljoin(url, action) if action else None,
        "method": _method(verb),
        "since": call.elapsed,
    }
    position, size = carrier.park(call, name, info)
    call.transcript.add("queue", name)
    wait_url = verb.get("waitUrl")
    outcome = None
    if wait_url:
        params = {
            "QueueSid": carrier.queue_sid(name),
            "QueuePosition": str(position),
            "QueueTime": "0",
            "AvgQueueTime": "0",
            "CurrentQueueSize": str(size),
            "MaxQueueSize": verb.get("maxQueueSize") or "1000",
        }
        wait = Next(urljoin(url, wait_url), _method(verb, "waitUrlMethod"), params)
        outcome = carrier._run(call, wait, "wait-url")
    if outcome == "leave":
        return carrier.leave_queue(call, "leave", post=False)
    if call.parked:
        return "parked"
    return outcome or "hangup"


def dial(carrier, call: Call, verb: Verb, url: str, context: str):
    """Ring the numbers (or take a queued call), bridge or not, and report to the action."""
    timeout = int(verb.get("timeout") or 30)
    if verb.children and verb.children[0].name == "Queue":
        params = _dial_queue(carrier, call, verb, verb.children[0], url, timeout)
    else:
        params = _dial_numbers(carrier, call, verb, url, timeout)
    action = verb.get("action")
    nxt = Next(_action(verb, url), _method(verb), params) if action else None
    if call.ended:
        if nxt is not None:
            carrier._post_ignoring_answer(call, nxt)
        return "hangup"
    return nxt


def _dial_numbers(carrier, call: Call, verb: Verb, url: str, timeout: int) -> dict:
    nouns = verb.children or [Verb("Number", {}, verb.text)]
    caller_id = verb.get("callerId") or call.from_
    legs = []
    for noun in nouns:
        if noun.name == "Client":  # a browser softphone: Twilio names the leg `client:<identity>`
            noun = Verb("Number", noun.attrs, f"client:{noun.text}", noun.children)
        behaviour = carrier.behaviour_of(noun.text)
        callback = noun.get("statusCallback")
        events = tuple((noun.get("statusCallbackEvent") or "completed").split())
        leg = Call(
            new_sid("CA"),
            caller_id,
            noun.text,
            "outbound-dial",
            behaviour.script,
            parent=call,
            status_callback=urljoin(url, callback) if callback else None,
            status_events=events if callback else (),
        )
        leg.started_at = call.now()
        carrier._register(leg)
        call.legs.append(leg)
        carrier._progress(leg, "initiated")
        legs.append((leg, noun, behaviour))
    for leg, _, behaviour in legs:
        if behaviour.outcome != "failed":
            leg.status = "ringing"
            carrier._progress(leg, "ringing")
    legs = _ring_held_phones(carrier, legs, timeout)
    answering = [
        entry for entry in legs if entry[2].outcome == "answer" and entry[2].ring_seconds < timeout
    ]
    answering.sort(key=lambda entry: entry[2].ring_seconds)
    if answering:
        return _connect(carrier, call, verb, url, legs, answering[0])
    ends = [
        {"busy": "busy", "failed": "failed"}.get(behaviour.outcome, "no-answer")
        for _, _, behaviour in legs
    ]
    carrier.ring(timeout if "no-answer" in ends else 3)
    for (leg, _, _), status in zip(legs, ends, strict=True):
        leg.elapsed = timeout if status == "no-answer" else 1
        carrier._end(leg, status)
        call.transcript.add("dial", Dialled(leg.to, status, call_sid=leg.sid))
    if "no-answer" in ends:
        call.elapsed += timeout
        status = "no-answer"
    else:
        call.elapsed += 3
        status = "busy" if "busy" in ends else "failed"
    return {"DialCallStatus": status, "DialCallSid": legs[0][0].sid, "DialBridged": "false"}


def _ring_held_phones(carrier, legs: list, timeout: int) -> list:
    """Let the people holding rung numbers answer by hand (the others keep their behaviour)."""
    entries = [(leg.to, leg, behaviour) for leg, _, behaviour in legs]
    behaviours = carrier.live.ring(entries, timeout)
    for (leg, _, _), behaviour in zip(legs, behaviours, strict=True):
        leg.script = behaviour.script
    return [(leg, noun, b) for (leg, noun, _), b in zip(legs, behaviours, strict=True)]


def _connect(carrier, call: Call, verb: Verb, url: str, legs: list, winner: tuple) -> dict:
    leg, noun, behaviour = winner
    ring = behaviour.ring_seconds
    carrier.ring(ring)
    for other, _, _ in legs:
        if other is not leg:
            other.elapsed = ring
            carrier._end(other, "canceled")
    leg.elapsed = ring
    carrier._answer(leg)
    bridged = True
    if noun.get("url"):
        whisper = Next(urljoin(url, noun.get("url")), _method(noun))
        outcome = carrier._run(leg, whisper, "number-url")
        bridged = outcome == "ended" and not leg.ended
    params = {"DialCallStatus": "completed", "DialCallSid": leg.sid}
    if bridged:
        talk = min(call.script.talk_seconds, leg.script.talk_seconds)
        if verb.get("timeLimit"):
            talk = min(talk, int(verb.get("timeLimit")))
        caller_hangs_up = (
            call.script.hangs_up_after_bridge
            and call.script.talk_seconds <= leg.script.talk_seconds
        )
        call.transcript.add("bridge", leg.to)
        leg.transcript.add("bridge", call.from_)
        live = carrier.live.converse(call, leg, talk)
        if live is not None:
            talk, hung_up = live
            caller_hangs_up = caller_hangs_up if hung_up is None else hung_up
        leg.elapsed += talk
        if verb.get("record", "do-not-record") not in ("do-not-record", "false"):
            recording = _recording(carrier, talk)
            call.transcript.add("record", recording)
            params.update(
                RecordingUrl=recording.url,
                RecordingSid=recording.sid,
                RecordingDuration=str(talk),
            )
        carrier._end(leg, "completed")
    call.elapsed += ring + leg.duration
    for other, _, _ in legs:
        bridged_here = other is leg and bridged
        status = "completed" if other is leg else "canceled"
        entry = Dialled(other.to, status, bridged_here, other.sid, other.duration, other.pressed)
        call.transcript.add("dial", entry)
    params.update(DialCallDuration=str(leg.duration), DialBridged=str(bridged).lower())
    if bridged and caller_hangs_up:
        carrier._end(call, "completed")
    return params


def _dial_queue(carrier, call: Call, verb: Verb, noun: Verb, url: str, timeout: int) -> dict:
    name = noun.text
    taken = carrier.take_front(name)
    if taken is None:
        call.elapsed += timeout
        call.transcript.add("dial", Dialled(f"queue:{name}", "no-answer"))
        return {"DialCallStatus": "no-answer", "DialBridged": "false"}
    front, enqueue = taken
    queue_time = str(round(front.elapsed - enqueue["since"]))
    if noun.get("url"):
        params = {
            "QueueSid": carrier.queue_sid(name),
            "QueueTime": queue_time,
            "DequeueingCallSid": call.sid,
        }
        carrier._run(front, Next(urljoin(url, noun.get("url")), _method(noun), params), "queue-url")
    talk = min(call.script.talk_seconds, front.script.talk_seconds)
    call.transcript.add("bridge", front.from_)
    front.transcript.add("bridge", call.from_)
    call.elapsed += talk
    front.elapsed += talk
    call.transcript.add("dial", Dialled(f"queue:{name}", "completed", True, front.sid, talk))
    result = carrier.enqueue_result(front, name, enqueue, "bridged", post=False)
    if front.script.hangs_up_after_bridge:
        carrier._end(front, "completed")
        if result is not None:
            carrier._post_ignoring_answer(front, result)
    else:
        carrier._end(call, "completed")
        carrier.continue_later(front, result)
    return {
        "DialCallStatus": "completed",
        "DialCallSid": front.sid,
        "DialCallDuration": str(talk),
        "DialBridged": "true",
        "QueueSid": carrier.queue_sid(name),
        "QueueTime": queue_time,
    }


HANDLERS = {
    "Say": say,
    "Play": play,
    "Pause": pause,
    "Gather": gather,
    "Record": record,
    "Dial": dial,
    "Enqueue": enqueue,
    "Redirect": redirect,
    "Hangup": hangup,
    "Reject": reject,
    "Leave": leave,
}
