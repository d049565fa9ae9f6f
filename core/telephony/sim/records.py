"""What the carrier remembers: calls and their legs, transcripts, webhooks, SMS."""

import secrets
import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from core.clock import utcnow
from core.telephony.sim.phones import CallerScript

#: Call statuses after which nothing more happens.
FINAL = {"completed", "busy", "no-answer", "failed", "canceled"}


def new_sid(prefix: str) -> str:
    """Return a random Twilio-shaped id (`CA…`, `SM…`, `RE…`, `QU…`): prefix and 32 hex digits."""
    return prefix + secrets.token_hex(16)


@dataclass(frozen=True)
class Utterance:
    """A `<Say>` the person heard."""

    text: str
    language: str | None
    voice: str | None


@dataclass
class Dialled:
    """One number rung by a `<Dial>`, with what the app was told about it."""

    number: str
    #: DialCallStatus of this leg: completed, busy, no-answer, failed or canceled.
    status: str
    #: Whether the caller was connected to this leg (the whisper ended without hanging up).
    bridged: bool = False
    call_sid: str = ""
    #: Seconds from answer to the end of the leg (DialCallDuration), 0 if never answered.
    duration: int = 0
    #: Keys pressed on that leg (at its whisper).
    pressed: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Recording:
    """A `<Record>` (or recorded `<Dial>`) result."""

    sid: str
    url: str
    duration: int


@dataclass(frozen=True)
class Webhook:
    """One request the carrier made to the app, and the app's answer."""

    method: str
    url: str
    params: dict
    status: int
    body: str


@dataclass(frozen=True)
class Sms:
    """An SMS a phone received."""

    sid: str
    to: str
    from_: str
    body: str


class Transcript:
    """What happened on one call, in order, as the person on it noticed it."""

    def __init__(self) -> None:
        self.entries: list[tuple[str, object]] = []

    def add(self, kind: str, item: object) -> None:
        """Append one entry (`say`, `play`, `pause`, `input`, `dial`, `record`, `queue`, …)."""
        self.entries.append((kind, item))

    def _of(self, kind: str) -> list:
        return [item for entry_kind, item in self.entries if entry_kind == kind]

    @property
    def said(self) -> list[str]:
        """Every `<Say>` text heard, in order."""
        return [utterance.text for utterance in self._of("say")]

    @property
    def utterances(self) -> list[Utterance]:
        """Every `<Say>` with its language and voice."""
        return self._of("say")

    @property
    def played(self) -> list[str]:
        """Every `<Play>` URL (or digits) played."""
        return self._of("play")

    @property
    def gathered(self) -> list[str]:
        """Digits pressed or words said at Gathers, in order."""
        return self._of("input")

    @property
    def dialled(self) -> list[Dialled]:
        """Numbers rung by `<Dial>`, in the order they were rung."""
        return self._of("dial")

    @property
    def recordings(self) -> list[Recording]:
        """Recordings made on this call."""
        return self._of("record")

    @property
    def queues(self) -> list[str]:
        """Queues this call was put into."""
        return self._of("queue")

    def text(self) -> str:
        """Return the transcript as readable lines (handy in assertion messages)."""
        return "\n".join(f"{kind}: {item}" for kind, item in self.entries)

    def __repr__(self) -> str:
        return f"<Transcript {len(self.entries)} entries>"


class Call:
    """One call leg on the simulated carrier: a citizen's call, a Dial leg or an outbound call."""

    def __init__(
        self,
        sid: str,
        from_: str,
        to: str,
        direction: str,
        script: CallerScript,
        parent: "Call | None" = None,
        status_callback: str | None = None,
        status_events: tuple[str, ...] = (),
    ) -> None:
        self.sid = sid
        self.from_ = from_
        self.to = to
        self.direction = direction
        self.script = script
        self.parent = parent
        self.legs: list[Call] = []
        self.status = "queued"
        self.transcript = Transcript()
        self.webhooks: list[Webhook] = []
        self.errors: list[str] = []
        self.started_at: datetime = utcnow()
        #: Simulated seconds since the call started.
        self.elapsed = 0.0
        self.answered_at: float | None = None
        #: What answering-machine detection found (`human`, `machine_end_beep`), if asked.
        self.answered_by: str | None = None
        self.ended_at: float | None = None
        self.status_callback = status_callback
        self.status_events = status_events
        self.sequence = 0
        #: Name of the queue while the call is parked by `<Enqueue>`.
        self.queue: str | None = None
        self.enqueue: dict | None = None
        self.verbs_run = 0
        self.inputs_used = 0
        #: A redirect or hang-up requested while the call's TwiML was running.
        self.interrupt: tuple[str, str | None] | None = None
        #: How many documents of this call are executing right now (0: idle or parked).
        self.depth = 0
        self.lock = threading.Lock()

    @property
    def parent_sid(self) -> str | None:
        """The CallSid of the call that dialled this leg."""
        return self.parent.sid if self.parent else None

    @property
    def ended(self) -> bool:
        """Whether the call is over."""
        return self.status in FINAL

    @property
    def parked(self) -> bool:
        """Whether the call waits in a queue."""
        return self.queue is not None

    @property
    def duration(self) -> int:
        """Seconds from answer to hang-up (0 if never answered)."""
        if self.answered_at is None:
            return 0
        end = self.ended_at if self.ended_at is not None else self.elapsed
        return max(0, round(end - self.answered_at))

    @property
    def pressed(self) -> list[str]:
        """Digits pressed on this call."""
        return [item for item in self.transcript.gathered if item.isdigit() or item in "*#"]

    def summary(self) -> dict:
        """Return what the call's page shows, as JSON: status, what was said, who was rung."""
        dialled = [
            {
                "number": leg.number,
                "status": leg.status,
                "bridged": leg.bridged,
                "call_sid": leg.call_sid,
                "duration": leg.duration,
                "pressed": list(leg.pressed),
            }
            for leg in self.transcript.dialled
        ]
        return {
            "sid": self.sid,
            "status": self.status,
            "said": self.transcript.said,
            "dialled": dialled,
            "queues": self.transcript.queues,
            "errors": list(self.errors),
        }

    def now(self) -> datetime:
        """The simulated wall time on this call."""
        return self.started_at + timedelta(seconds=self.elapsed)

    def __repr__(self) -> str:
        return f"<Call {self.sid} {self.direction} {self.from_}->{self.to} {self.status}>"
