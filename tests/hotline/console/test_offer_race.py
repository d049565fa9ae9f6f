"""Two processes offering at the same moment on PostgreSQL never double an offer."""

import multiprocessing

import pytest
from sqlalchemy import select, update

from core import create_app
from core.clock import utcnow
from core.extensions import db
from hotline.console import floor
from hotline.models import Call, OperatorPresence
from tests.factories import make_user

TRIES = 1000
#: Each try: three callers waiting, two operators ready.
CALLERS, OPERATORS = 3, 2


def _offering_process(config: dict, barrier, results, tries: int) -> None:
    """Offer whatever waits each time the barrier opens; report the offers made."""
    app = create_app(config)
    with app.app_context():
        for _ in range(tries):
            barrier.wait(timeout=60)
            offers = floor.claim_offers()
            db.session.commit()
            results.put([(offer.call_id, offer.user_id) for offer in offers])
            barrier.wait(timeout=60)
        db.engine.dispose()


def _prepare_try(number: int, operator_ids: list[int]) -> list[int]:
    db.session.execute(
        update(Call).where(Call.outcome.is_(None)).values(outcome="abandoned", ended_at=utcnow())
    )
    db.session.execute(
        update(OperatorPresence)
        .where(OperatorPresence.user_id.in_(operator_ids))
        .values(state="ready", call_id=None, since=utcnow())
    )
    calls = [
        Call(
            call_sid=f"CA-race-{number}-{index}",
            from_number=f"+7916000{index:04d}",
            to_number="+74872000000",
            entry="governor",
            queued_at=utcnow(),
        )
        for index in range(CALLERS)
    ]
    db.session.add_all(calls)
    db.session.commit()
    return [call.id for call in calls]


def test_two_processes_never_offer_one_caller_twice_or_one_operator_two_callers(app):
    if db.engine.dialect.name != "postgresql":
        pytest.skip("the race is run on PostgreSQL (TEST_DATABASE_URL)")
    operators = [make_user(f"racer{index}", "operator") for index in range(OPERATORS)]
    db.session.commit()
    operator_ids = [user.id for user in operators]
    for user_id in operator_ids:
        floor.change_state(user_id, "ready", actor=None)
    db.session.commit()
    config = {key: app.config[key] for key in ("SQLALCHEMY_DATABASE_URI", "SECRET_KEY")}
    config.update(
        TESTING=True, REDIS_URL=app.config["REDIS_URL"], RATELIMIT_STORAGE_URI="memory://"
    )
    config.update(INSTANCE_DIR=app.config["INSTANCE_DIR"])
    db.engine.dispose()

    context = multiprocessing.get_context("fork")
    barrier = context.Barrier(3)
    results = context.Queue()
    workers = [
        context.Process(target=_offering_process, args=(config, barrier, results, TRIES))
        for _ in range(2)
    ]
    for worker in workers:
        worker.start()
    doubled, both_offered = [], 0
    try:
        for number in range(TRIES):
            call_ids = _prepare_try(number, operator_ids)
            barrier.wait(timeout=60)
            first, second = results.get(timeout=60), results.get(timeout=60)
            both_offered += bool(first and second)
            offers = first + second
            barrier.wait(timeout=60)
            callers = [call_id for call_id, _ in offers]
            offered_to = [user_id for _, user_id in offers]
            stored = db.session.execute(
                select(Call.id, Call.operator_id).where(Call.id.in_(call_ids))
            ).all()
            given = [operator for _, operator in stored if operator is not None]
            if (
                len(set(callers)) != len(callers)
                or len(set(offered_to)) != len(offered_to)
                or len(set(given)) != len(given)
                or len(offers) != OPERATORS
            ):
                doubled.append((number, offers))
    finally:
        for worker in workers:
            worker.join(timeout=120)
    assert all(worker.exitcode == 0 for worker in workers)
    assert doubled == []
    assert both_offered > 0  # the two processes really offered at the same time
    print(f"tries where both processes offered: {both_offered} of {TRIES}")
