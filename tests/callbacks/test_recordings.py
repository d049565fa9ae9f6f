"""Voice messages are served by the app: from the simulated carrier's file or from Twilio with
the account's credentials, with byte ranges, to the users who may see the card only."""

import base64
import io
import threading
import wave
from pathlib import Path

import pytest
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from callbacks.models import Card
from core.extensions import db
from core.retention import purge_expired
from core.telephony.sim import CallerScript
from core.telephony.twilio_gateway import TwilioGateway
from hotline.models import Appeal, Call
from tests.callbacks.conftest import ALPHA_LINE, CITIZEN
from tests.conftest import TWILIO_ACCOUNT, login, unreachable_url

TOKEN = "secret"


def voicemail_card(carrier, seconds: int = 4) -> Card:
    """A citizen calls Alpha, nobody of the trio answers, the citizen leaves a voice message."""
    sim_call = carrier.incoming_call(CITIZEN, ALPHA_LINE, CallerScript(message_seconds=seconds))
    db.session.expire_all()
    call = db.session.scalar(db.select(Call).where(Call.call_sid == sim_call.sid))
    return db.session.scalar(db.select(Card).where(Card.call_id == call.id))


def wav_seconds(data: bytes) -> float:
    with wave.open(io.BytesIO(data)) as audio:
        return audio.getnframes() / audio.getframerate()


def test_the_head_plays_the_simulated_voice_message_and_seeks_in_it(app, client, region, carrier):
    card = voicemail_card(carrier)
    assert card.appeal.recording_url.startswith("https://api.twilio.com/")
    login(client, "head_a")
    page = client.get(f"/cabinet/cards/{card.id}").text
    audio_url = f"/cabinet/cards/{card.id}/recording"
    assert f'<audio controls preload="metadata" id="voice-message" src="{audio_url}">' in page

    whole = client.get(audio_url)
    assert whole.status_code == 200 and whole.mimetype == "audio/wav"
    assert whole.headers["Accept-Ranges"] == "bytes"
    assert whole.data[:4] == b"RIFF" and wav_seconds(whole.data) == pytest.approx(4, abs=0.5)
    assert "media-src 'self'" in whole.headers["Content-Security-Policy"]

    part = client.get(audio_url, headers={"Range": "bytes=100-1099"})
    assert part.status_code == 206
    assert part.headers["Content-Range"] == f"bytes 100-1099/{len(whole.data)}"
    assert part.data == whole.data[100:1100]


def test_another_municipality_gets_404_and_a_stranger_the_login_page(app, client, region, carrier):
    card = voicemail_card(carrier)
    audio_url = f"/cabinet/cards/{card.id}/recording"
    anonymous = client.get(audio_url)
    assert anonymous.status_code == 302 and "/login" in anonymous.headers["Location"]
    login(client, "head_b")
    assert client.get(audio_url).status_code == 404
    assert client.get(f"/console/appeals/{card.appeal_id}/recording").status_code == 403
    console = app.test_client()
    login(console, "operator")
    operator = console.get(f"/console/appeals/{card.appeal_id}/recording")
    assert operator.status_code == 200 and operator.data[:4] == b"RIFF"
    page = console.get(f"/console/appeals/{card.appeal_id}").text
    assert f'src="/console/appeals/{card.appeal_id}/recording"' in page


def test_the_retention_purge_deletes_the_recording_file_and_the_route_answers_404(
    app, client, region, carrier, clock
):
    card = voicemail_card(carrier)
    files = list(Path(app.instance_path).rglob("*.wav"))
    assert len(files) == 1
    clock.advance(days=app.config["RECORDING_RETENTION_DAYS"] + 1)
    assert purge_expired()["voice messages"] == 1
    db.session.commit()
    assert not files[0].exists()
    assert db.session.get(Appeal, card.appeal_id).recording_url is None
    login(client, "head_a")
    assert client.get(f"/cabinet/cards/{card.id}/recording").status_code == 404


class TwilioMedia:
    """Twilio's media host: WAV audio of recordings behind the account's basic authentication."""

    def __init__(self, audio: dict[str, bytes]) -> None:
        self.audio = audio
        self.requests: list[dict] = []
        self.server = make_server("127.0.0.1", 0, self.app, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def app(self, environ, start_response):
        request = Request(environ)
        self.requests.append(
            {
                "path": request.path,
                "auth": request.headers.get("Authorization"),
                "range": request.headers.get("Range"),
            }
        )
        expected = "Basic " + base64.b64encode(f"{TWILIO_ACCOUNT}:{TOKEN}".encode()).decode()
        if request.headers.get("Authorization") != expected:
            response = Response("auth", 401, {"WWW-Authenticate": 'Basic realm="Twilio API"'})
        elif request.path not in self.audio:
            response = Response('{"code": 20404}', 404, mimetype="application/json")
        else:
            data = self.audio[request.path]
            response = Response(data, mimetype="audio/x-wav")
            response.make_conditional(request, accept_ranges=True, complete_length=len(data))
        return response(environ, start_response)

    def __enter__(self) -> "TwilioMedia":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)


def use_twilio_media(app, base_url: str) -> None:
    app.extensions["telephony.gateway"] = TwilioGateway(
        TWILIO_ACCOUNT, TOKEN, "+74872000000", api_base_url=base_url
    )


def test_a_twilio_recording_is_fetched_with_the_accounts_credentials_and_relayed_in_ranges(
    app, client, region, carrier
):
    card = voicemail_card(carrier)
    sid = "RE" + "e" * 32
    path = f"/2010-04-01/Accounts/{TWILIO_ACCOUNT}/Recordings/{sid}"
    appeal = db.session.get(Appeal, card.appeal_id)
    appeal.recording_url = f"https://api.twilio.com{path}"
    db.session.commit()
    audio = bytes(range(256)) * 40
    login(client, "head_a")
    with TwilioMedia({path + ".wav": audio}) as twilio:
        use_twilio_media(app, twilio.url)
        whole = client.get(f"/cabinet/cards/{card.id}/recording")
        part = client.get(f"/cabinet/cards/{card.id}/recording", headers={"Range": "bytes=256-511"})

    assert whole.status_code == 200 and whole.data == audio
    assert whole.mimetype == "audio/x-wav" and whole.headers["Accept-Ranges"] == "bytes"
    assert part.status_code == 206 and part.data == audio[256:512]
    assert part.headers["Content-Range"] == f"bytes 256-511/{len(audio)}"
    assert [r["path"] for r in twilio.requests] == [path + ".wav"] * 2
    assert [r["range"] for r in twilio.requests] == [None, "bytes=256-511"]
    assert all(r["auth"].startswith("Basic ") for r in twilio.requests)


def test_a_recording_twilio_no_longer_has_is_404_and_an_unreachable_twilio_502(
    app, client, region, carrier
):
    card = voicemail_card(carrier)
    appeal = db.session.get(Appeal, card.appeal_id)
    appeal.recording_url = (
        f"https://api.twilio.com/2010-04-01/Accounts/{TWILIO_ACCOUNT}/Recordings/RE{'f' * 32}"
    )
    db.session.commit()
    login(client, "head_a")
    with TwilioMedia({}) as twilio:
        use_twilio_media(app, twilio.url)
        assert client.get(f"/cabinet/cards/{card.id}/recording").status_code == 404
    use_twilio_media(app, unreachable_url())
    down = client.get(f"/cabinet/cards/{card.id}/recording")
    assert down.status_code == 502 and "Оператор связи не отдал запись" in down.text
