"""The simulated carrier: plays Twilio against the app, for tests, the demo and the load benchmark.

It executes the app's TwiML the way Twilio does (Say, Play, Pause, Gather, Dial with Number
and its whisper `url`, Dial/Queue, Enqueue, Record, Redirect, Hangup, Reject, Leave), posting
Twilio's form parameters with real `X-Twilio-Signature` signatures over PUBLIC_BASE_URL, and
status callbacks with SequenceNumber. TwiML Twilio would refuse raises `TwiMLRejected`; a
non-2xx answer is recorded in `call.errors` and the caller hears the application error.
Time is simulated: nothing sleeps.

    carrier = SimCarrier.in_process(app)      # or SimCarrier.over_http(base_url, token, public_url)
    carrier.phone("+79000000101", answers_and_presses("1"))
    carrier.phone("+79000000102", voicemail)  # answers, presses nothing
    carrier.phone("+79000000103", busy)       # also no_answer, fails; unknown numbers never answer
    call = carrier.incoming_call(
        from_="+79161234567", to="+74872000000", script=CallerScript(digits=["2", "5"])
    )
    call.status                 # completed, or in-progress while parked in a queue
    call.transcript.said        # every <Say> text heard; .utterances adds language and voice
    call.transcript.dialled     # [Dialled(number, status, bridged, call_sid, duration, pressed)]
    call.legs                   # the Dial legs (each a Call with its own transcript)
    carrier.sms_to("+79161234567")
    carrier.queued("operators")  # calls parked by <Enqueue>, in order

The app's requests through the sim gateway (place a call, redirect or hang up a call) are
queued: the carrier carries them out after each webhook it sends, and when a test calls
`carrier.run_pending()` (do that after acting on the app from outside the carrier, e.g. an
operator's click that redirects a queued call). `ControlServer(carrier)` serves the same
requests over HTTP for an app in another process (set SIM_CARRIER_URL to its `url`); then
they run on threads and `carrier.wait_idle()` waits for them. `flask --app wsgi sim-carrier`
(`core.telephony.sim.service`, started by `flask --app wsgi start`) runs such a carrier as a
service of its own, with ringing on its own clock (`ring_pace`); a carrier that does not know
a call answers 404, which the gateway raises as `CallUnknown`.

`carrier.live` (`core.telephony.sim.live`) holds the numbers a person answers by hand in the
demo's phone pages: a held number rings in real time until its person answers, rejects, lets
voicemail answer or the call's timeout passes; keys come from the page as pressed, and a bridge
lasts until someone hangs up or the app moves the call. `live.dial(from_, to)` calls the app
from a held phone.
"""

from core.telephony.sim.carrier import SimCarrier, SimCarrierError
from core.telephony.sim.control import ControlServer
from core.telephony.sim.phones import (
    Behaviour,
    CallerScript,
    Speech,
    answers_and_presses,
    busy,
    fails,
    no_answer,
    voicemail,
)
from core.telephony.sim.records import Call, Dialled, Recording, Sms, Transcript
from core.telephony.sim.twiml import TwiMLRejected

__all__ = [
    "Behaviour",
    "Call",
    "CallerScript",
    "ControlServer",
    "Dialled",
    "Recording",
    "SimCarrier",
    "SimCarrierError",
    "Sms",
    "Speech",
    "Transcript",
    "TwiMLRejected",
    "answers_and_presses",
    "busy",
    "fails",
    "no_answer",
    "voicemail",
]
