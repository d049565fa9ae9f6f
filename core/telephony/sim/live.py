"""Phones a person holds in a browser tab: they ring, answer, take keys and hang up by hand.

A tab holds a number by polling its state (`LivePhones.state`) at least every HOLD_SECONDS.
While held, a call to the number rings until the person answers, rejects or sends it to
voicemail, or until the call's timeout in real seconds (no-answer); a held number can also
call the app (`dial`). Prompts, keys and bridges are read from the call's transcript. A
number nobody holds keeps its scripted behaviour.
"""

import logging
import threading
import time
from collections import deque
from dataclasses import dataclass, field

from core.telephony.sim.phones import Behaviour, CallerScript, Speech, busy, no_answer, voicemail

log = logging.getLogger(__name__)

#: Seconds a tab's hold lasts without a poll.
HOLD_SECONDS = 5.0
#: The least real seconds a person is given at a `<Gather>` (they read the prompt first).
LEAST_GATHER_SECONDS = 15.0
#: Real seconds more keys may follow the first one at the same `<Gather>`.
NEXT_KEY_SECONDS = 1.5
#: Longest conversation between two people holding phones (one of them hangs up first).
LONGEST_TALK_SECONDS = 3600
#: What the person's buttons do while the phone rings.
RING_ANSWERS = {"answer", "reject", "voicemail"}


class Handset:
    """One held number: the call ringing it or on it, and the person's pending keys."""

    def __init__(self, number: str) -> None:
        self.number = number
        self.held_until = 0.0
        #: The call or Dial leg ringing this phone (None: not ringing).
        self.ringing = None
        #: The person's answer to the ringing call: answer, reject or voicemail.
        self.decision: str | None = None
        #: The call this phone is on, or was last on.
        self.call = None
        #: The script of a call this phone placed, until the carrier registers the call.
        self.dialled: LiveScript | None = None
        self.inputs: deque = deque()
        self.hung_up = False

    def start(self, call) -> None:
        """Put the phone on `call`: no keys pending, not hung up."""
        self.call = call
        self.inputs.clear()
        self.hung_up = False


@dataclass(frozen=True)
class LiveScript(CallerScript):
    """The script of a person holding a phone: keys come from the tab, as they are pressed."""

    talk_seconds: int = LONGEST_TALK_SECONDS
    message_seconds: int = 10
    phones: "LivePhones | None" = field(default=None, compare=False, repr=False)
    handset: Handset | None = field(default=None, compare=False, repr=False)

    def input_within(self, index: int, seconds: float):
        """Wait (real time) for the person's keys or words at a Gather; None: silence."""
        return self.phones.wait_for_input(self.handset, max(seconds, LEAST_GATHER_SECONDS))


class LivePhones:
    """The numbers held in tabs, on one simulated carrier."""

    def __init__(self, carrier, hold_seconds: float = HOLD_SECONDS) -> None:
        self.carrier = carrier
        self.hold_seconds = hold_seconds
        self._handsets: dict[str, Handset] = {}
        self._changed = threading.Condition()

    def _handset(self, number: str) -> Handset:
        with self._changed:
            return self._handsets.setdefault(number, Handset(number))

    def held(self, number: str) -> bool:
        """Whether a tab polled `number` within the hold time."""
        handset = self._handsets.get(number)
        return handset is not None and handset.held_until > time.monotonic()

    @staticmethod
    def _left(handset: Handset) -> bool:
        """Whether the person hung up, or closed the tab (the hold lapsed)."""
        return handset.hung_up or handset.held_until <= time.monotonic()

    def hold(self, number: str) -> Handset:
        """Renew the tab's hold on `number`."""
        handset = self._handset(number)
        handset.held_until = time.monotonic() + self.hold_seconds
        return handset

    # --- the carrier rings held phones ------------------------------------------------------

    def ring(self, entries: list[tuple[str, object, Behaviour]], timeout: float) -> list:
        """Ring the held numbers among (number, call, behaviour); return the behaviours to play.

        Waits until a held phone answers, every held phone decided, the caller hung up or
        was moved, or `timeout` of real ringing passed; numbers nobody holds keep their
        behaviour.
        """
        held = {number: self._handset(number) for number, _, _ in entries if self.held(number)}
        if not held:
            return [behaviour for _, _, behaviour in entries]
        with self._changed:
            for number, call, _ in entries:
                if number in held:
                    held[number].ringing, held[number].decision = call, None
            self._changed.notify_all()
            # the carrier's own clock still plays `timeout * ring_pace` once we return
            deadline = time.monotonic() + timeout * max(0.0, 1 - self.carrier.ring_pace)
            calls = [call for _, call, _ in entries]
            while (
                not self._settled(held.values())
                and not any(_abandoned(call) for call in calls)
                and time.monotonic() < deadline
            ):
                self._changed.wait(min(0.5, max(0.0, deadline - time.monotonic())))
            for handset in held.values():
                handset.ringing = None
            self._changed.notify_all()
        return [
            self._resolve(held[number], call) if number in held else behaviour
            for number, call, behaviour in entries
        ]

    @staticmethod
    def _settled(handsets) -> bool:
        decisions = [handset.decision for handset in handsets]
        return "answer" in decisions or "voicemail" in decisions or all(decisions)

    def _resolve(self, handset: Handset, call) -> Behaviour:
        decision, handset.decision = handset.decision, None
        if decision == "reject":
            return busy()
        if decision == "voicemail":
            return voicemail(after=0)
        if decision != "answer":
            return no_answer()
        handset.start(call)
        script = LiveScript(phones=self, handset=handset)
        return Behaviour("answered by hand", "answer", 0, script)

    def wait_for_input(self, handset: Handset, seconds: float):
        """Return the keys (or words) the person gives within `seconds`; None if none came."""
        with self._changed:
            deadline = time.monotonic() + seconds
            while not handset.inputs and not self._left(handset) and time.monotonic() < deadline:
                self._changed.wait(min(0.5, deadline - time.monotonic()))
            if self._left(handset) or not handset.inputs:
                return None
            first = handset.inputs.popleft()
            if isinstance(first, Speech):
                return first
            keys = first
            while not keys.endswith("#"):
                more = time.monotonic() + NEXT_KEY_SECONDS
                while not handset.inputs and not handset.hung_up and time.monotonic() < more:
                    self._changed.wait(max(0.0, more - time.monotonic()))
                if not handset.inputs or isinstance(handset.inputs[0], Speech):
                    break
                keys += handset.inputs.popleft()
            return keys

    def converse(self, call, leg, talk: int) -> tuple[int, bool | None] | None:
        """Let a bridge last while people talk: until one hangs up or the app moves the call.

        Returns (seconds talked, whether the caller hung up: None when nobody did and the
        scripts decide), or None when neither side is a held phone (the conversation takes
        no real time). A scripted side talks `talk` seconds on the carrier's clock.
        """
        sides = {
            side: call_.script.handset
            for side, call_ in (("caller", call), ("callee", leg))
            if isinstance(call_.script, LiveScript)
        }
        if not sides:
            return None
        limit = LONGEST_TALK_SECONDS if len(sides) == 2 else talk * self.carrier.ring_pace
        started = time.monotonic()
        with self._changed:
            while time.monotonic() - started < limit:
                if any(self._left(handset) for handset in sides.values()):
                    break
                if call.interrupt is not None or leg.interrupt is not None:
                    break
                self._changed.wait(0.5)
        seconds = max(1, round(time.monotonic() - started))
        if "caller" in sides and self._left(sides["caller"]):
            return seconds, True
        callee = sides.get("callee")
        moved = call.interrupt is not None or leg.interrupt is not None
        return seconds, False if moved or (callee and self._left(callee)) else None

    # --- what the person in the tab does ------------------------------------------------------

    def dial(self, from_: str, to: str | None = None) -> None:
        """Let the person holding `from_` call the app's number `to` (the call runs on a thread)."""
        handset = self.hold(from_)
        script = LiveScript(phones=self, handset=handset)
        with self._changed:
            handset.start(None)
            handset.dialled = script
        thread = threading.Thread(target=self._run_incoming, args=(from_, to, script), daemon=True)
        thread.start()

    def _run_incoming(self, from_: str, to: str | None, script: LiveScript) -> None:
        try:
            self.carrier.incoming_call(from_, to, script)
        except Exception as error:
            log.exception("simulated carrier: the call from %s failed", from_)
            self.carrier.errors.append(f"live call from {from_} failed: {error}")

    def act(self, number: str, action: str, keys: str = "", speech: str = "") -> bool:
        """Do what the person pressed: answer, reject, voicemail, keys, say or hangup.

        Returns whether it applied (a ringing answer with nothing ringing does not).
        """
        handset = self.hold(number)
        with self._changed:
            if action in RING_ANSWERS:
                if handset.ringing is None:
                    return False
                handset.decision = action
            elif action == "keys" and keys:
                handset.inputs.extend(keys)
            elif action == "say" and speech:
                handset.inputs.append(Speech(speech))
            elif action == "hangup":
                handset.hung_up = True
            else:
                return False
            self._changed.notify_all()
        if action == "hangup":
            self._hang_up(handset)
        return True

    def _hang_up(self, handset: Handset) -> None:
        ringing, call = handset.ringing, self._current_call(handset)
        if ringing is not None:
            with self._changed:
                handset.decision = "reject"
                self._changed.notify_all()
        elif call is not None and not call.ended:
            self.carrier.caller_hangs_up(call.sid)

    def _current_call(self, handset: Handset):
        if handset.dialled is not None:
            placed = next(
                (call for call in reversed(self.carrier.calls) if call.script is handset.dialled),
                None,
            )
            if placed is not None:
                handset.call, handset.dialled = placed, None
        return handset.call

    def state(self, number: str) -> dict:
        """Renew the hold on `number` and return what its phone shows, as JSON."""
        handset = self.hold(number)
        ringing = handset.ringing
        if ringing is not None:
            return {"number": number, "state": "ringing", "peer": ringing.from_, "call": None}
        call = self._current_call(handset)
        if call is None:
            state = "dialling" if handset.dialled is not None else "idle"
            return {"number": number, "state": state, "peer": None, "call": None}
        return {
            "number": number,
            "state": "ended" if call.ended else "on-call",
            "peer": call.to if call.direction == "inbound" else call.from_,
            "call": _call_view(call),
        }


def _abandoned(call) -> bool:
    """Whether the call ringing a phone (or the caller behind a Dial leg) hung up or moved."""
    return any(
        each is not None and (each.ended or each.interrupt is not None)
        for each in (call, call.parent)
    )


def _call_view(call) -> dict:
    """What the person on `call` has noticed so far: prompts, keys, bridges, queues."""
    events = []
    for kind, item in list(call.transcript.entries):
        if kind == "say":
            events.append({"kind": "say", "text": item.text})
        elif kind == "input":
            events.append({"kind": "input", "text": str(item)})
        elif kind == "bridge":
            events.append({"kind": "bridge", "text": str(item)})
        elif kind == "queue":
            events.append({"kind": "queue", "text": str(item)})
        elif kind == "dial":
            events.append({"kind": "dial", "text": item.number, "status": item.status})
        elif kind == "record":
            events.append({"kind": "record", "text": str(item.duration)})
    bridged = bool(events) and events[-1]["kind"] == "bridge" and not call.ended
    return {
        "sid": call.sid,
        "status": call.status,
        "direction": call.direction,
        "parked": call.parked,
        "bridged": bridged,
        "events": events,
    }
