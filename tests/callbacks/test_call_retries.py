"""Click-to-call against a Twilio that fails for a passing reason: tried again, never twice."""

import time
from datetime import timedelta

import pytest

from callbacks.jobs import follow_up_notice, reconcile_callbacks, retry_callback, sweep
from callbacks.models import CallbackAttempt, NoticeCall
from callbacks.services import CALLBACK_UNKNOWN_AGE, callback_retry_job_id
from core.events import timeline
from core.extensions import db
from core.queue import get_queue
from tests.callbacks.conftest import miss_call
from tests.conftest import csrf_token, login, work
from tests.hotline.conftest import twilio_post


@pytest.fixture
def card(client, region):
    card = miss_call(client)
    login(client, "head_a")
    return card


def click_to_call(client, card, official):
    """The head presses «call back» on the card; return the card page after the redirect."""
    page = f"/cabinet/cards/{card.id}"
    token = csrf_token(client.get(page).text)
    response = client.post(
        f"{page}/callback", data={"csrf_token": token, "official": str(official.id)}
    )
    assert response.status_code == 302 and response.location == page
    shown = client.get(page)
    assert shown.status_code == 200
    return shown.text


def the_attempt() -> CallbackAttempt:
    db.session.expire_all()
    return db.session.scalar(db.select(CallbackAttempt))


def calls_posted(standin) -> int:
    """Count the click-to-call requests (not the notice calls to officials whose SMS is late)."""
    posted = standin.requests_to("Calls", "POST")
    return sum("/voice/callbacks/" in (request.form.get("Url") or "") for request in posted)


def run_due(app, clock, seconds: float) -> None:
    """Let `seconds` pass, have the sweep move due jobs forward and a worker run them."""
    clock.advance(seconds=seconds)
    sweep()
    work(app)


def retry_jobs() -> list[str]:
    scheduled = get_queue().scheduled_job_registry.get_job_ids()
    return [job_id for job_id in scheduled if job_id.startswith("callback-")]


def verbs(card) -> list[str]:
    return [e.verb for e in timeline("card", card.id) if e.verb.startswith("callback.")]


@pytest.mark.parametrize("fault", ["500", "503", "drop"])
def test_a_failed_click_to_call_is_placed_once_by_the_retry(
    app, client, region, card, clock, twilio_standin, fault
):
    official = region.a["primary"]
    twilio_standin.fail(fault, match=official.phone)
    page = click_to_call(client, card, official)
    assert "Оператор связи не принял вызов: " in page
    assert "Повторим в " in page and "(попытка 2 из 3)" in page
    attempt = the_attempt()
    assert attempt.waiting_for_retry and attempt.tries == 1
    assert attempt.retry_at == clock.now + timedelta(seconds=15)
    assert retry_jobs() == [callback_retry_job_id(attempt.id, 2)]

    run_due(app, clock, 5)  # not due yet
    assert calls_posted(twilio_standin) == 1 and the_attempt().waiting_for_retry

    run_due(app, clock, 11)
    assert calls_posted(twilio_standin) == 2
    attempt = the_attempt()
    [sid] = twilio_standin.calls
    assert attempt.call_sid == sid and attempt.outcome is None and attempt.tries == 2
    assert twilio_standin.calls[sid]["to"] == official.phone
    assert verbs(card) == ["callback.started", "callback.retrying"]
    assert "Повторим в" not in client.get(f"/cabinet/cards/{card.id}").text

    run_due(app, clock, 120)
    assert calls_posted(twilio_standin) == 2


@pytest.mark.parametrize(("asked", "waited"), [(90, 90), (3600, 180)])
def test_a_throttled_click_to_call_waits_as_long_as_retry_after_asks_within_a_cap(
    app, client, region, card, clock, twilio_standin, asked, waited
):
    twilio_standin.retry_after = asked
    twilio_standin.fail("429", match="Calls")
    page = click_to_call(client, card, region.a["primary"])
    assert "Оператор связи не принял вызов: оператор связи перегружен запросами." in page
    assert the_attempt().retry_at == clock.now + timedelta(seconds=waited)
    run_due(app, clock, waited - 1)
    assert calls_posted(twilio_standin) == 1
    run_due(app, clock, 2)
    assert calls_posted(twilio_standin) == 2 and the_attempt().call_sid is not None


def test_a_timed_out_click_to_call_that_rang_after_all_is_not_placed_again(
    app, client, region, card, clock, twilio_standin
):
    official = region.a["primary"]
    twilio_standin.fail("hang", match=official.phone, seconds=1.5)
    page = click_to_call(client, card, official)
    assert "Оператор связи не принял вызов: оператор связи не ответил вовремя." in page
    assert "(попытка 2 из 3)" in page
    attempt = the_attempt()
    assert attempt.waiting_for_retry

    for _ in range(40):  # the stand-in carries out the request once the hang is over
        if twilio_standin.calls:
            break
        time.sleep(0.1)
    [sid] = twilio_standin.calls
    status = twilio_post(
        client,
        f"/voice/callbacks/{attempt.id}/status",
        CallSid=sid,
        CallStatus="ringing",
        To=official.phone,
    )
    assert status.status_code == 204
    attempt = the_attempt()
    assert attempt.call_sid == sid and not attempt.waiting_for_retry

    run_due(app, clock, 16)
    retry_callback(attempt.id)
    assert calls_posted(twilio_standin) == 1
    assert "Повторим в" not in client.get(f"/cabinet/cards/{card.id}").text


def test_three_failed_tries_finish_the_callback_as_failed(
    app, client, region, card, clock, twilio_standin
):
    twilio_standin.fail("500", match="Calls", times=None)
    click_to_call(client, card, region.a["primary"])
    run_due(app, clock, 16)
    attempt = the_attempt()
    assert attempt.tries == 2 and attempt.retry_at == clock.now + timedelta(seconds=60)
    page = client.get(f"/cabinet/cards/{card.id}").text
    assert "(попытка 3 из 3)" in page

    run_due(app, clock, 61)
    attempt = the_attempt()
    assert (attempt.outcome, attempt.tries, attempt.retry_at) == ("failed", 3, None)
    assert attempt.ended_at is not None
    page = client.get(f"/cabinet/cards/{card.id}").text
    assert "Повторим в" not in page and "сбой на стороне оператора связи" in page
    [finished] = [e for e in timeline("card", card.id) if e.verb == "callback.finished"]
    assert finished.data["error"] == "сбой на стороне оператора связи"
    assert verbs(card) == [
        "callback.started",
        "callback.retrying",
        "callback.retrying",
        "callback.finished",
    ]

    run_due(app, clock, 600)
    assert calls_posted(twilio_standin) == 3
    assert not [c for c in twilio_standin.calls.values() if "/voice/callbacks/" in c["url"]]


def test_a_refused_click_to_call_is_not_tried_again(
    app, client, region, card, clock, twilio_standin
):
    twilio_standin.fail("21211", match="Calls")
    page = click_to_call(client, card, region.a["primary"])
    assert "Оператор связи не принял вызов: номер не является правильным телефонным номером." in (
        page
    )
    assert "Повторим" not in page
    attempt = the_attempt()
    assert (attempt.outcome, attempt.retry_at) == ("failed", None)
    assert retry_jobs() == []
    run_due(app, clock, 600)
    assert calls_posted(twilio_standin) == 1


def test_the_retry_job_run_twice_places_one_call(app, client, region, card, clock, twilio_standin):
    twilio_standin.fail("503", match="Calls")
    click_to_call(client, card, region.a["primary"])
    attempt_id = the_attempt().id
    clock.advance(seconds=16)
    retry_callback(attempt_id)
    retry_callback(attempt_id)
    sweep()
    work(app)
    assert calls_posted(twilio_standin) == 2 and len(twilio_standin.calls) == 1
    attempt = the_attempt()
    assert attempt.tries == 2 and attempt.call_sid in twilio_standin.calls


def test_reconciliation_leaves_a_callback_waiting_for_its_retry_alone(
    app, client, region, card, clock, twilio_standin
):
    twilio_standin.fail("500", match="Calls")
    twilio_standin.retry_after = 0
    click_to_call(client, card, region.a["primary"])
    clock.advance(seconds=CALLBACK_UNKNOWN_AGE.total_seconds() + 600)
    assert reconcile_callbacks() == 0
    attempt = the_attempt()
    assert attempt.outcome is None and attempt.waiting_for_retry

    sweep()  # the retry job is due: the sweep moves it forward
    work(app)
    attempt = the_attempt()
    assert attempt.call_sid is not None and attempt.outcome is None
    assert reconcile_callbacks() == 0  # the call is live at the carrier


def test_the_sweep_enqueues_a_due_retry_whose_job_was_lost(
    app, client, region, card, clock, twilio_standin
):
    twilio_standin.fail("500", match="Calls")
    click_to_call(client, card, region.a["primary"])
    queue = get_queue()
    for job_id in retry_jobs():
        queue.scheduled_job_registry.remove(job_id, delete_job=True)
    assert retry_jobs() == []
    run_due(app, clock, 16)
    assert calls_posted(twilio_standin) == 2 and the_attempt().call_sid is not None


def notice_of(phone: str) -> NoticeCall:
    db.session.expire_all()
    return db.session.scalar(db.select(NoticeCall).where(NoticeCall.official_phone == phone))


def notice_calls_to(standin, phone: str) -> list:
    posted = standin.requests_to("Calls", "POST")
    return [r for r in posted if r.form.get("To") == phone and "/voice/notices/" in r.form["Url"]]


def test_a_notice_call_twilio_did_not_take_is_tried_again_and_a_refused_one_is_not(
    app, client, region, clock, twilio_standin
):
    card = miss_call(client)
    primary, backup = region.a["primary"].phone, region.a["backup"].phone
    work(app)  # the opening SMS go out; none is reported delivered
    twilio_standin.fail("503", match=primary)
    twilio_standin.fail("21211", match=backup)
    run_due(app, clock, 121)

    waiting = notice_of(primary)
    assert (waiting.outcome, waiting.tries) == ("calling", 1)
    assert waiting.retry_at == clock.now + timedelta(seconds=15)
    refused = notice_of(backup)
    assert (refused.outcome, refused.tries, refused.retry_at) == ("failed", 1, None)
    assert refused.error
    assert notice_of(region.a["supervisor"].phone).outcome == "placed"

    run_due(app, clock, 16)
    retry = notice_of(primary)
    assert (retry.outcome, retry.tries, retry.retry_at) == ("placed", 2, None)
    assert retry.call_sid in twilio_standin.calls
    follow_up_notice(retry.id)  # the job run again rings nobody
    run_due(app, clock, 600)
    assert len(notice_calls_to(twilio_standin, primary)) == 2  # the failed one and the retry
    assert len(notice_calls_to(twilio_standin, backup)) == 1

    verbs = [e.verb for e in timeline("card", card.id) if e.verb.startswith("card.notice")]
    assert sorted(verbs) == [
        "card.notice-call",
        "card.notice-call",
        "card.notice-call-failed",
        "card.notice-call-retrying",
    ]
    login(client, "head_a")
    page = client.get(f"/cabinet/cards/{card.id}").text
    assert "звонок не прошёл, повторим" in page and "(попытка 1 из 3)" in page
