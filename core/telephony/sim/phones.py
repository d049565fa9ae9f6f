"""What simulated people do: a citizen's script, and how a called number behaves."""

from collections.abc import Sequence
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Speech:
    """Words said at a speech `<Gather>`."""

    text: str
    confidence: float = 0.92


#: One answer to one `<Gather>`: DTMF digits, speech, or None for silence (the Gather times out).
Input = str | Speech | None


@dataclass(frozen=True)
class CallerScript:
    """What the person on a call does, verb by verb.

    `inputs` (or `digits`) answer the Gathers in order; once used up the person stays silent.
    `message_seconds` is spoken at a `<Record>` (0: silence, the Record times out).
    `talk_seconds` is how long a bridged conversation lasts; afterwards this person hangs up
    when `hangs_up_after_bridge`, otherwise the other side does and this call goes on.
    `hang_up_after_verbs` makes the person hang up before the verb that follows that many.
    """

    inputs: Sequence[Input] = ()
    digits: Sequence[Input] = ()
    message_seconds: int = 0
    hang_up_after_message: bool = True
    talk_seconds: int = 60
    hangs_up_after_bridge: bool = True
    hang_up_after_verbs: int | None = None
    repeat_last_input: bool = False

    def __post_init__(self) -> None:
        if self.inputs and self.digits:
            raise ValueError("give either inputs or digits, not both")
        object.__setattr__(self, "inputs", tuple(self.inputs or self.digits))

    def input_at(self, index: int) -> Input:
        """Return what this person gives at their `index`-th Gather."""
        if index < len(self.inputs):
            return self.inputs[index]
        if self.repeat_last_input and self.inputs:
            return self.inputs[-1]
        return None

    def input_within(self, index: int, seconds: float) -> Input:
        """Return what this person gives at their `index`-th Gather of `seconds` timeout."""
        return self.input_at(index)


@dataclass(frozen=True)
class Behaviour:
    """How a called number reacts: rings, then answers, is busy, never answers or fails."""

    label: str
    #: `answer`, `busy`, `no-answer` or `failed`.
    outcome: str
    #: Seconds of ringing before it answers (compared with the Dial/Call timeout).
    ring_seconds: int = 5
    #: What the person (or the voicemail machine) does once the call is answered.
    script: CallerScript = field(default_factory=CallerScript)

    def __str__(self) -> str:
        return self.label


def answers_and_presses(digit: str | None = "1", *, after: int = 5, talk_seconds: int = 60):
    """A person who answers after `after` seconds and presses `digit` at every Gather."""
    script = CallerScript(
        inputs=[digit],
        repeat_last_input=True,
        talk_seconds=talk_seconds,
        hangs_up_after_bridge=False,
    )
    return Behaviour(f"answers and presses {digit}", "answer", after, script)


def voicemail(*, after: int = 15, message_seconds: int = 20):
    """Mobile voicemail: picks up after `after` seconds and never presses a key."""
    script = CallerScript(talk_seconds=message_seconds, hangs_up_after_bridge=False)
    return Behaviour("voicemail", "answer", after, script)


def busy():
    """A number that answers with a busy signal."""
    return Behaviour("busy", "busy", 0)


def no_answer():
    """A number that rings and is never picked up."""
    return Behaviour("no answer", "no-answer", 10_000)


def fails():
    """A number the carrier cannot reach (switched off, out of coverage, invalid)."""
    return Behaviour("fails", "failed", 0)


def obliging(*, after: int = 3, talk_seconds: int = 30):
    """A person who answers after `after` seconds, presses 1 at every Gather and hangs up."""
    script = CallerScript(inputs=["1"], repeat_last_input=True, talk_seconds=talk_seconds)
    return Behaviour("answers, presses 1 and hangs up", "answer", after, script)


#: Behaviours by the names the web phone and the control endpoint use.
NAMED_BEHAVIOURS = {
    "accepts": answers_and_presses,
    "voicemail": voicemail,
    "busy": busy,
    "no_answer": no_answer,
    "fails": fails,
    "obliging": obliging,
}


def named_behaviour(name: str) -> Behaviour:
    """Return the behaviour called `name` in NAMED_BEHAVIOURS (`KeyError` for another name)."""
    return NAMED_BEHAVIOURS[name]()


def script_to_json(script: CallerScript) -> dict:
    """Return a caller's script as JSON (speech inputs as `{"speech": text}`)."""
    inputs = [
        {"speech": item.text, "confidence": item.confidence} if isinstance(item, Speech) else item
        for item in script.inputs
    ]
    return {
        "inputs": inputs,
        "message_seconds": script.message_seconds,
        "talk_seconds": script.talk_seconds,
        "hangs_up_after_bridge": script.hangs_up_after_bridge,
        "hang_up_after_verbs": script.hang_up_after_verbs,
    }


def script_from_json(data: dict) -> CallerScript:
    """Return the caller's script `script_to_json` wrote."""
    inputs = [
        Speech(item["speech"], item.get("confidence", 0.92)) if isinstance(item, dict) else item
        for item in data.get("inputs") or ()
    ]
    return CallerScript(
        inputs=inputs,
        message_seconds=int(data.get("message_seconds") or 0),
        talk_seconds=int(data.get("talk_seconds") or 60),
        hangs_up_after_bridge=bool(data.get("hangs_up_after_bridge", True)),
        hang_up_after_verbs=data.get("hang_up_after_verbs"),
    )
