"""A small test-only voice blueprint (routes under /voice/test-…) the carrier tests drive."""

from flask import Blueprint, current_app, request
from twilio.twiml.voice_response import Dial, Gather, VoiceResponse

from core.extensions import db
from core.models import Event
from core.telephony import get_gateway, protect_webhooks

RU = {"language": "ru-RU", "voice": "Polly.Tatyana"}
OFFICIAL = "+79000000101"

#: Raw documents for the rejection tests.
RAW = {
    "not-xml": "hello, this is not TwiML",
    "wrong-root": "<Twiml><Say>Привет</Say></Twiml>",
    "unknown-verb": "<Response><Dance/></Response>",
    "unknown-attribute": '<Response><Say voise="alice">Привет</Say></Response>',
    "dial-timeout": '<Response><Dial timeout="3"><Number>+79000000101</Number></Dial></Response>',
    "gather-dial": "<Response><Gather><Dial>+79000000101</Dial></Gather></Response>",
    "record-length": '<Response><Record maxLength="0"/></Response>',
    "whisper-dial": "<Response><Dial>+79000000102</Dial></Response>",
    "whisper-leg": '<Response><Dial><Number url="/voice/test-raw?name=whisper-dial">'
    "+79000000101</Number></Dial></Response>",
}


def _xml(response) -> tuple[str, int, dict]:
    return str(response), 200, {"Content-Type": "text/xml"}


def build_blueprint(log: list) -> Blueprint:
    """Return a fresh protected blueprint whose views append (path, form) to `log`."""
    bp = Blueprint("telephony_test_voice", __name__)
    protect_webhooks(bp)

    @bp.before_request
    def remember():
        log.append((request.path, dict(request.values)))

    @bp.post("/voice/test-menu")
    def menu():
        """Greet and ask for a key."""
        response = VoiceResponse()
        response.say("Здравствуйте, это горячая линия губернатора.", **RU)
        gather = Gather(num_digits=1, timeout=5, action="/voice/test-menu/choice")
        gather.say("Нажмите 1 или 9.", **RU)
        response.append(gather)
        response.say("Мы не получили ответа.", **RU)
        response.hangup()
        return _xml(response)

    @bp.post("/voice/test-speech")
    def speech():
        """Ask for a municipality by voice."""
        response = VoiceResponse()
        gather = Gather(
            input="speech", hints="Тула, Алексин", language="ru-RU", action="test-menu/choice"
        )
        gather.say("Назовите район.", **RU)
        response.append(gather)
        return _xml(response)

    @bp.post("/voice/test-menu/choice")
    def choice():
        """Repeat the choice; 9 starts over."""
        response = VoiceResponse()
        picked = request.form.get("Digits") or request.form.get("SpeechResult")
        response.say(f"Вы выбрали {picked}.", **RU)
        if picked == "9":
            response.redirect("/voice/test-menu")
        return _xml(response)

    @bp.post("/voice/test-dial")
    def dial():
        """Ring the numbers given in the query, each with the whisper."""
        response = VoiceResponse()
        response.say("Соединяем с дежурным.", **RU)
        numbers = request.args["numbers"].split(",")
        dial = Dial(
            timeout=20,
            answer_on_bridge=True,
            caller_id="+74872000000",
            action="/voice/test-dial/done",
            record=request.args.get("record", "do-not-record"),
        )
        for number in numbers:
            dial.number(
                number,
                url="/voice/test-whisper",
                status_callback="/voice/test-status",
                status_callback_event="initiated ringing answered completed",
            )
        response.append(dial)
        return _xml(response)

    @bp.post("/voice/test-whisper")
    def whisper():
        """Tell the official who calls and ask for 1; hang up without it."""
        response = VoiceResponse()
        gather = Gather(num_digits=1, timeout=5, action="/voice/test-whisper/accept")
        gather.say("Горячая линия губернатора, район Альфа. Нажмите 1, чтобы принять.", **RU)
        response.append(gather)
        response.hangup()
        return _xml(response)

    @bp.post("/voice/test-whisper/accept")
    def accept():
        """Bridge on 1 (an empty document), hang up on anything else."""
        response = VoiceResponse()
        if request.form.get("Digits") != "1":
            response.hangup()
        return _xml(response)

    @bp.post("/voice/test-dial/done")
    def dial_done():
        """Say how the Dial ended."""
        response = VoiceResponse()
        response.say(f"Итог: {request.form['DialCallStatus']}.", **RU)
        return _xml(response)

    @bp.post("/voice/test-record")
    def record():
        """Offer a voice message."""
        response = VoiceResponse()
        response.say("Оставьте сообщение после сигнала.", **RU)
        response.record(max_length=60, play_beep=True, action="/voice/test-record/done")
        response.say("Сообщение не записано.", **RU)
        return _xml(response)

    @bp.post("/voice/test-record/done")
    def record_done():
        """Thank the caller and store the recording as an event."""
        db.session.add(
            Event(
                subject_type="call",
                subject_id=request.form["CallSid"],
                verb="voicemail",
                data={"url": request.form["RecordingUrl"]},
            )
        )
        db.session.commit()
        response = VoiceResponse()
        response.say("Спасибо.", **RU)
        return _xml(response)

    @bp.post("/voice/test-queue")
    def queue():
        """Wait for an operator."""
        response = VoiceResponse()
        response.say("Все операторы заняты.", **RU)
        response.enqueue(
            "operators", wait_url="/voice/test-queue/wait", action="/voice/test-queue/left"
        )
        return _xml(response)

    @bp.post("/voice/test-queue/wait")
    def queue_wait():
        """Announce the position."""
        response = VoiceResponse()
        response.say(f"Ваша позиция в очереди: {request.form['QueuePosition']}.", **RU)
        response.play("https://media.example/hold.mp3")
        return _xml(response)

    @bp.post("/voice/test-queue/left")
    def queue_left():
        """Acknowledge leaving the queue."""
        return _xml(VoiceResponse())

    @bp.post("/voice/test-operator")
    def operator():
        """Answer the next caller waiting in the queue."""
        response = VoiceResponse()
        dial = Dial(action="/voice/test-dial/done")
        dial.queue("operators")
        response.append(dial)
        return _xml(response)

    @bp.post("/voice/test-connected")
    def connected():
        """Where a queued caller goes when the app redirects it."""
        response = VoiceResponse()
        response.say("Оператор на линии.", **RU)
        return _xml(response)

    @bp.post("/voice/test-callback")
    def callback():
        """Place an outbound call to the official and text the caller (the app's REST side)."""
        gateway = get_gateway()
        public = current_app.config["PUBLIC_BASE_URL"]
        gateway.place_call(
            OFFICIAL,
            public + "/voice/test-whisper",
            status_callback=public + "/voice/test-status",
        )
        purpose = "test:" + request.form["CallSid"]
        gateway.send_sms(request.form["From"], "Вам перезвонят.", purpose=purpose)
        db.session.commit()
        response = VoiceResponse()
        response.say("Мы вам перезвоним.", **RU)
        return _xml(response)

    @bp.post("/voice/test-status")
    def status():
        """Take a status callback."""
        return "", 204

    @bp.post("/voice/test-error")
    def error():
        """Fail like a broken deployment."""
        return "boom", 500

    @bp.post("/voice/test-fallback")
    def fallback():
        """Safe TwiML."""
        response = VoiceResponse()
        response.say("Резервный маршрут.", **RU)
        return _xml(response)

    @bp.post("/voice/test-raw")
    def raw():
        """Return one of the bad documents."""
        return RAW[request.args["name"]], 200, {"Content-Type": "text/xml"}

    return bp
