"""Voice messages and card photos are deleted once past their retention, and only then."""

from datetime import timedelta

import requests

from callbacks.models import CardPhoto
from callbacks.services import photo_path, save_photo
from core.events import timeline
from core.extensions import db
from core.models import User
from core.retention import purge_expired, purge_job
from hotline.models import Appeal
from tests.callbacks.conftest import miss_call
from tests.conftest import TWILIO_ACCOUNT, RecordingHttpClient, use_twilio
from tests.factories import make_photo

TWILIO_API = f"https://api.twilio.com/2010-04-01/Accounts/{TWILIO_ACCOUNT}"
PNG = make_photo()


def test_purge_deletes_old_voice_messages_and_photos_only(app, client, region, clock, runner):
    old_card = miss_call(client, "CA1")
    head = db.session.scalar(db.select(User).where(User.username == "head_a"))
    old_appeal = db.session.get(Appeal, old_card.appeal_id)
    old_appeal.recording_url = "https://api.twilio.com/2010-04-01/Accounts/AC1/Recordings/RE1"
    old_photo = save_photo(old_card, "before", PNG, head)
    db.session.commit()
    clock.advance(days=800)
    new_card = miss_call(client, "CA2", from_="+79160000002")
    new_appeal = db.session.get(Appeal, new_card.appeal_id)
    new_appeal.recording_url = "https://api.twilio.com/2010-04-01/Accounts/AC1/Recordings/RE2"
    new_photo = save_photo(new_card, "after", PNG, head)
    db.session.commit()
    old_file, new_file = photo_path(old_photo), photo_path(new_photo)
    assert old_file.exists() and new_file.exists()

    result = runner.invoke(args=["purge"])
    assert result.exit_code == 0, result.output
    assert (
        "voice messages: 1 deleted" in result.output and "card photos: 1 deleted" in result.output
    )
    db.session.expire_all()
    assert old_appeal.recording_url is None and new_appeal.recording_url is not None
    assert not old_file.exists() and new_file.exists()
    assert db.session.scalars(db.select(CardPhoto.id)).all() == [new_photo.id]
    assert "appeal.recording-deleted" in [e.verb for e in timeline("appeal", old_appeal.id)]
    assert "card.photo-deleted" in [e.verb for e in timeline("card", old_card.id)]
    assert runner.invoke(args=["purge"]).output.count(": 0 deleted") == 4
    assert timedelta(days=app.config["PHOTO_RETENTION_DAYS"]) < timedelta(days=800)


class TwilioFailingFor(RecordingHttpClient):
    """Twilio deletes every recording but one, which it cannot be reached for."""

    def __init__(self, failing_sid: str) -> None:
        super().__init__(status=204, body={})
        self.failing_sid = failing_sid

    def request(self, method, uri, *args, **kwargs):
        failing = self.failing_sid in uri
        self.error = requests.ConnectionError("connection reset") if failing else None
        return super().request(method, uri, *args, **kwargs)


def test_a_recording_the_carrier_fails_to_delete_is_kept_for_the_next_run(
    app, client, region, clock, caplog
):
    sids = [f"RE{digit * 32}" for digit in "123"]
    appeals = []
    for index, sid in enumerate(sids):
        card = miss_call(client, f"CA{index}", from_=f"+7916000000{index}")
        appeal = db.session.get(Appeal, card.appeal_id)
        appeal.recording_url = f"{TWILIO_API}/Recordings/{sid}"
        db.session.commit()
        appeals.append(appeal)
    old_photo = save_photo(card, "before", PNG, db.session.get(User, region.head_a.id))
    db.session.commit()
    clock.advance(days=800)
    twilio = TwilioFailingFor(sids[1])
    use_twilio(app, twilio)

    purge_job()

    assert [r["method"] for r in twilio.requests] == ["DELETE"] * 3
    db.session.expire_all()
    assert [a.recording_url is None for a in appeals] == [True, False, True]
    assert not photo_path(old_photo).exists()  # the other purges ran
    kept = [r.getMessage() for r in caplog.records if r.name == "hotline.retention"]
    assert any(appeals[1].number in line for line in kept)
    assert "voice messages kept for the next run: 1 of 3" in kept

    use_twilio(app, RecordingHttpClient(status=204, body={}))
    assert purge_expired()["voice messages"] == 1
    db.session.expire_all()
    assert appeals[1].recording_url is None


class TwilioGoneFor(RecordingHttpClient):
    """Twilio no longer has one recording (404) and cannot be reached for another."""

    def __init__(self, gone_sid: str, failing_sid: str) -> None:
        super().__init__(status=204, body={})
        self.gone_sid, self.failing_sid = gone_sid, failing_sid

    def request(self, method, uri, *args, **kwargs):
        self.status, self.body = (404, {"code": 20404}) if self.gone_sid in uri else (204, {})
        failing = self.failing_sid in uri
        self.error = requests.ConnectionError("connection reset") if failing else None
        return super().request(method, uri, *args, **kwargs)


def test_a_recording_twilio_no_longer_has_is_forgotten_each_in_its_own_commit(
    app, client, region, clock
):
    sids = [f"RE{digit * 32}" for digit in "456"]
    appeals = []
    for index, sid in enumerate(sids):
        card = miss_call(client, f"CA{index}", from_=f"+7916000001{index}")
        appeal = db.session.get(Appeal, card.appeal_id)
        appeal.recording_url = f"{TWILIO_API}/Recordings/{sid}"
        db.session.commit()
        appeals.append(appeal.id)
    clock.advance(days=800)
    use_twilio(app, TwilioGoneFor(gone_sid=sids[0], failing_sid=sids[2]))

    assert purge_expired()["voice messages"] == 2
    db.session.rollback()  # what the run forgot stays forgotten without the caller's commit
    urls = [db.session.get(Appeal, appeal_id).recording_url for appeal_id in appeals]
    assert [url is None for url in urls] == [True, True, False]
    assert "appeal.recording-deleted" in [e.verb for e in timeline("appeal", appeals[0])]
