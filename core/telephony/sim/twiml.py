"""Parsing the app's TwiML and refusing what Twilio would refuse."""

import xml.etree.ElementTree as ET
from dataclasses import dataclass, field


@dataclass
class Next:
    """The next TwiML document to fetch."""

    url: str
    method: str = "POST"
    params: dict = field(default_factory=dict)
    #: Run it as a different kind of document (a redirect out of a queue's wait music).
    context: str | None = None


class TwiMLRejected(Exception):
    """The app answered with TwiML that Twilio would not execute."""


@dataclass
class Verb:
    """One TwiML element: its name, attributes, text and nested elements."""

    name: str
    attrs: dict[str, str]
    text: str = ""
    children: list["Verb"] = field(default_factory=list)

    def get(self, name: str, default: str | None = None) -> str | None:
        """Return an attribute's value."""
        return self.attrs.get(name, default)

    def flag(self, name: str, default: bool = False) -> bool:
        """Return a boolean attribute."""
        value = self.attrs.get(name)
        return default if value is None else value.strip().lower() == "true"


_METHOD = {"method"}
ATTRIBUTES = {
    "Say": {"voice", "language", "loop"},
    "Play": {"loop", "digits"},
    "Pause": {"length"},
    "Gather": _METHOD
    | {
        "action",
        "timeout",
        "numDigits",
        "finishOnKey",
        "input",
        "hints",
        "language",
        "speechTimeout",
        "speechModel",
        "enhanced",
        "profanityFilter",
        "partialResultCallback",
        "partialResultCallbackMethod",
        "actionOnEmptyResult",
        "bargeIn",
        "debug",
        "maxSpeechTime",
        "dtmfDetection",
    },
    "Record": _METHOD
    | {
        "action",
        "timeout",
        "finishOnKey",
        "maxLength",
        "playBeep",
        "trim",
        "recordingStatusCallback",
        "recordingStatusCallbackMethod",
        "recordingStatusCallbackEvent",
        "transcribe",
        "transcribeCallback",
        "storageUrl",
        "storageUrlMethod",
    },
    "Dial": _METHOD
    | {
        "action",
        "timeout",
        "hangupOnStar",
        "timeLimit",
        "callerId",
        "record",
        "trim",
        "recordingStatusCallback",
        "recordingStatusCallbackMethod",
        "recordingStatusCallbackEvent",
        "answerOnBridge",
        "ringTone",
        "recordingTrack",
        "sequential",
        "referUrl",
        "referMethod",
        "events",
    },
    "Number": _METHOD
    | {
        "sendDigits",
        "url",
        "statusCallbackEvent",
        "statusCallback",
        "statusCallbackMethod",
        "byoc",
        "machineDetection",
        "machineDetectionTimeout",
        "amdStatusCallback",
        "amdStatusCallbackMethod",
        "machineDetectionSpeechThreshold",
        "machineDetectionSpeechEndThreshold",
        "machineDetectionSilenceTimeout",
    },
    "Client": _METHOD | {"url", "statusCallbackEvent", "statusCallback", "statusCallbackMethod"},
    "Queue": _METHOD | {"url", "reservationSid", "postWorkActivitySid"},
    "Enqueue": _METHOD | {"action", "waitUrl", "waitUrlMethod", "workflowSid", "maxQueueSize"},
    "Redirect": _METHOD,
    "Hangup": set(),
    "Reject": {"reason"},
    "Leave": set(),
}

#: Verbs Twilio knows but this carrier does not simulate.
UNSIMULATED = {"Connect", "Refer", "Sms", "Message", "Pay", "Prompt", "Start", "Stop", "Echo"}

#: Which verbs each kind of document may contain.
CONTEXTS = {
    "call": {"Say", "Play", "Pause", "Gather", "Record", "Dial", "Enqueue", "Redirect", "Hangup"}
    | {"Reject"},
    "number-url": {"Say", "Play", "Pause", "Gather", "Record", "Redirect", "Hangup", "Reject"},
    "wait-url": {"Say", "Play", "Pause", "Gather", "Redirect", "Hangup", "Leave"},
    "queue-url": {"Say", "Play", "Pause", "Redirect"},
}
CONTEXT_NAMES = {
    "call": "a call",
    "number-url": "a <Number url> (whisper) leg",
    "wait-url": "an <Enqueue waitUrl> document",
    "queue-url": "a <Queue url> document",
}


def parse_twiml(body: str, context: str = "call", where: str = "") -> list[Verb]:
    """Parse a TwiML document into its verbs, raising `TwiMLRejected` where Twilio would fail."""
    at = f" (from {where})" if where else ""
    try:
        root = ET.fromstring(body.strip().encode("utf-8"))
    except ET.ParseError as error:
        raise TwiMLRejected(f"the answer is not XML{at}: {error}; body: {body[:200]!r}") from None
    if root.tag != "Response":
        raise TwiMLRejected(f"the XML root is <{root.tag}>, Twilio needs <Response>{at}")
    verbs = []
    for element in root:
        verb = _verb(element, at)
        if verb.name not in CONTEXTS[context]:
            raise TwiMLRejected(f"<{verb.name}> is not allowed in {CONTEXT_NAMES[context]}{at}")
        _check(verb, at)
        verbs.append(verb)
    return verbs


def _verb(element: ET.Element, at: str) -> Verb:
    name = element.tag
    if name in UNSIMULATED:
        raise TwiMLRejected(f"<{name}> is not simulated by the carrier{at}")
    if name not in ATTRIBUTES:
        raise TwiMLRejected(f"unknown TwiML verb <{name}>{at}")
    unknown = set(element.attrib) - ATTRIBUTES[name]
    if unknown:
        raise TwiMLRejected(f"<{name}> has unknown attribute(s) {sorted(unknown)}{at}")
    text = "".join(element.itertext()).strip() if name == "Say" else (element.text or "").strip()
    children = [] if name == "Say" else [_verb(child, at) for child in element]
    return Verb(name, dict(element.attrib), text, children)


def _int(verb: Verb, name: str, at: str, low: int, high: int | None = None) -> int | None:
    value = verb.get(name)
    if value is None:
        return None
    try:
        number = int(value)
    except ValueError:
        raise TwiMLRejected(f"<{verb.name} {name}={value!r}> is not a whole number{at}") from None
    if number < low or (high is not None and number > high):
        limits = f"{low}–{high}" if high is not None else f"at least {low}"
        raise TwiMLRejected(f"<{verb.name} {name}={value!r}> is out of range ({limits}){at}")
    return number


def _check(verb: Verb, at: str) -> None:
    for name in ("method", "waitUrlMethod"):
        if verb.get(name) is not None and verb.get(name).upper() not in ("GET", "POST"):
            raise TwiMLRejected(f"<{verb.name} {name}={verb.get(name)!r}> is not GET/POST{at}")
    match verb.name:
        case "Say":
            if not verb.text:
                raise TwiMLRejected(f"<Say> has no text{at}")
            _int(verb, "loop", at, 0)
        case "Play":
            _int(verb, "loop", at, 0)
            if not verb.text and not verb.get("digits"):
                raise TwiMLRejected(f"<Play> has neither a URL nor digits{at}")
        case "Pause":
            _int(verb, "length", at, 1)
        case "Gather":
            _int(verb, "timeout", at, 1)
            _int(verb, "numDigits", at, 1)
            kinds = set((verb.get("input") or "dtmf").split())
            if not kinds or kinds - {"dtmf", "speech"}:
                raise TwiMLRejected(f"<Gather input={verb.get('input')!r}> is invalid{at}")
            for child in verb.children:
                if child.name not in ("Say", "Play", "Pause"):
                    raise TwiMLRejected(f"<Gather> may nest only Say, Play and Pause{at}")
                _check(child, at)
        case "Record":
            _int(verb, "maxLength", at, 1)
            _int(verb, "timeout", at, 0)
        case "Dial":
            _int(verb, "timeout", at, 5, 600)
            _int(verb, "timeLimit", at, 1)
            _check_dial_nouns(verb, at)
        case "Enqueue":
            if not verb.text or len(verb.text) > 64:
                raise TwiMLRejected(f"<Enqueue> needs a queue name of 1–64 characters{at}")
        case "Redirect":
            if not verb.text:
                raise TwiMLRejected(f"<Redirect> has no URL{at}")
        case "Reject":
            if verb.get("reason", "rejected") not in ("rejected", "busy"):
                raise TwiMLRejected(f"<Reject reason={verb.get('reason')!r}> is invalid{at}")
    if verb.children and verb.name not in ("Gather", "Dial"):
        raise TwiMLRejected(f"<{verb.name}> cannot contain other verbs{at}")


def _check_dial_nouns(verb: Verb, at: str) -> None:
    nouns = [child.name for child in verb.children]
    if verb.text and nouns:
        raise TwiMLRejected(f"<Dial> mixes a bare number with nouns{at}")
    if not verb.text and not nouns:
        raise TwiMLRejected(f"<Dial> has nothing to dial{at}")
    for name in nouns:
        if name not in ("Number", "Client", "Queue"):
            raise TwiMLRejected(f"<Dial><{name}> is not simulated (or not a Dial noun){at}")
    if "Queue" in nouns and len(nouns) > 1:
        raise TwiMLRejected(f"<Dial><Queue> must be the only noun{at}")
    if nouns.count("Number") + nouns.count("Client") > 10:
        raise TwiMLRejected(f"<Dial> rings at most 10 <Number>s{at}")
    for child in verb.children:
        if not child.text:
            raise TwiMLRejected(f"<{child.name}> has no value{at}")
        _check(child, at)
