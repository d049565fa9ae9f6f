"""The demo's past weeks: calls played through the real services on a moved clock.

Every call goes the way the voice webhooks take it (incoming call, duty chain, key press or
no answer, card, voice message), every card and appeal the way the cabinets and the citizen
take it (callback, outcome, confirmation asked, confirmed or reopened). Only the follow-up
jobs those services enqueue are dropped: the history is over, nothing is left to remind.
"""

import heapq
import logging
import random
import secrets
from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import delete, func, select, update

import core.clock
from callbacks import services as cards
from callbacks.models import Card
from callbacks.states import allows
from core.extensions import db
from core.models import SMS_DELIVERED, SMS_PENDING, OutboundMessage, User
from core.queue import PENDING_JOBS, OutboxJob
from core.users import create_user
from hotline import chain, endings
from hotline.appeals import register_appeal, store_recording
from hotline.calls import record_incoming_call
from hotline.intake import submit_appeal
from hotline.models import Appeal, AppealStatus, Call, CallOutcome, Channel
from roster.demo import MUNICIPALITIES, REGION_TZ, backfill_demo_shifts
from roster.models import Category, Municipality, Official

log = logging.getLogger(__name__)

#: Prefix of the demo history's CallSids: `CAdemo` + local day + number of the call that day.
SID_PREFIX = "CAdemo"
DEFAULT_WEEKS = 8
#: Calls a day across the region, Monday first.
CALLS_PER_DAY = (46, 40, 38, 38, 42, 22, 16)
#: Weight of each local hour of the day (0–23): mornings and early afternoons are busiest.
HOUR_WEIGHTS = (1, 1, 1, 1, 1, 2, 3, 6, 10, 14, 14, 12, 9, 10, 12, 11, 10, 8, 6, 5, 4, 3, 2, 1)
#: The chance an official rung accepts; these municipalities answer worse than the rest.
ANSWER_CHANCE = {"efremov": 0.35, "kimovsky": 0.45, "plavsky": 0.5, "kurkinsky": 0.55}
USUAL_ANSWER = 0.8
#: How the call reaches the hotline (weights): the governor's line (voice menu), a duty
#: number, an operator, and the appeals that arrive without a call.
CHANNEL_WEIGHTS = {
    "governor": 45,
    "duty-number": 20,
    "operator": 20,
    Channel.WEB: 8,
    Channel.OPEN311: 4,
    Channel.API: 3,
}
#: Weights of the municipalities (roughly their population, thousands).
PLACE_WEIGHTS = {"tula": 470, "novomoskovsk": 120, "shchekinsky": 90, "aleksin": 70}
STREETS = ("ул. Ленина", "ул. Советская", "ул. Мира", "ул. Садовая", "ул. Школьная", "пр. Победы")
#: Repeat callers and repeat addresses: a small pool calls again and again.
REPEAT_SHARE = 0.18
HISTORY_USER = "demo-history"


def history_days(weeks: int, today: date) -> list[date]:
    """Return the local days the history covers: `weeks` full weeks before this week, and
    this week's days before today."""
    monday = today - timedelta(days=today.weekday())
    first = monday - timedelta(weeks=weeks)
    return [first + timedelta(days=n) for n in range((today - first).days)]


def played_days() -> set[str]:
    """Return the local days (yyyymmdd) whose history is already stored."""
    sids = db.session.scalars(
        select(func.substr(Call.call_sid, len(SID_PREFIX) + 1, 8))
        .where(Call.call_sid.like(f"{SID_PREFIX}%"))
        .distinct()
    )
    return set(sids)


class Player:
    """Plays the events of the history in time order, the clock set to each one's moment."""

    def __init__(self, seed: int, until: datetime):
        self.seed, self.until = seed, until
        self.queue: list = []
        self.counter = 0
        self.places = {p.code: p for p in db.session.scalars(select(Municipality))}
        self.categories = list(db.session.scalars(select(Category).order_by(Category.position)))
        self.actor = _history_user()
        self.linked = dict(
            db.session.execute(
                select(Official.id, User).join(User, User.id == Official.user_id)
            ).all()
        )
        self.calls = 0
        self.governor = current_app.config["TWILIO_NUMBER"]

    def at(self, moment: datetime, action: Callable, *args) -> None:
        """Schedule an action at a moment of the history (dropped when it is not yet past)."""
        if moment < self.until:
            self.counter += 1
            heapq.heappush(self.queue, (moment, self.counter, action, args))

    def run(self) -> None:
        done = 0
        while self.queue:
            moment, _, action, args = heapq.heappop(self.queue)
            core.clock.now_source = lambda moment=moment: moment
            _drop_jobs()  # a savepoint may commit: no follow-up job of the past may go out
            action(moment, *args)
            _drop_jobs()
            done += 1
            if done % 300 == 0:
                _commit_without_jobs(self.until)
        _commit_without_jobs(self.until)

    def actor_for(self, official_id: int | None) -> User:
        return self.linked.get(official_id, self.actor)

    # --- a day's calls ------------------------------------------------------------------

    def plan_day(self, day: date) -> None:
        rng = random.Random(f"{self.seed}:{day.isoformat()}")
        zone = ZoneInfo(REGION_TZ)
        codes = [code for code, _, _ in MUNICIPALITIES]
        weights = [PLACE_WEIGHTS.get(code, 30) for code in codes]
        count = CALLS_PER_DAY[day.weekday()] + rng.randint(-4, 4)
        for number in range(count):
            hour = rng.choices(range(24), HOUR_WEIGHTS)[0]
            local = datetime.combine(day, time(hour, rng.randrange(60), rng.randrange(60)), zone)
            code = rng.choices(codes, weights)[0]
            how = rng.choices(list(CHANNEL_WEIGHTS), list(CHANNEL_WEIGHTS.values()))[0]
            sid = f"{SID_PREFIX}{day:%Y%m%d}{number:04d}"
            self.at(local.astimezone(self.until.tzinfo), self.play_call, sid, code, how, rng)

    def _caller(self, rng: random.Random, code: str) -> tuple[str, str]:
        index = [c for c, _, _ in MUNICIPALITIES].index(code)
        if rng.random() < REPEAT_SHARE:
            person = rng.randrange(3)
            house = 3 + person * 7
        else:
            person = 10 + rng.randrange(9000)
            house = 1 + rng.randrange(120)
        street = STREETS[(index + person) % len(STREETS)]
        place = self.places[code].name
        return f"+7910{index:02d}{person:05d}", f"{place}, {street}, д. {house}"

    def play_call(self, moment: datetime, sid: str, code: str, how: str, rng) -> None:
        place = self.places[code]
        category = rng.choice(self.categories[:-1])
        number, address = self._caller(rng, code)
        if how in (Channel.WEB, Channel.OPEN311, Channel.API):
            appeal = submit_appeal(
                channel=how,
                municipality=place,
                category=category,
                text=f"{category.name}: {address}",
                address=address,
                caller_number=number,
                actor_label=str(how),
            )
            self._follow_appeal(moment, appeal.id, rng, code)
            return
        self.calls += 1
        duty_number = place.duty_number if how == "duty-number" else self.governor
        call, _ = record_incoming_call(sid, number, duty_number)
        if how == "operator":
            call.operator_answered_at = moment
            register_appeal(
                channel=Channel.OPERATOR,
                municipality=place,
                category=category,
                caller_number=number,
                call=call,
                address=address,
                text=f"{category.name}: {address}",
            )
        step = chain.begin_chain(call, place, None if how == "duty-number" else category)
        self._ring(moment, call, step, rng, code)

    def _ring(self, moment, call: Call, step, rng, code: str) -> None:
        chance = ANSWER_CHANCE.get(code, USUAL_ANSWER)
        hour = moment.astimezone(ZoneInfo(REGION_TZ)).hour
        if hour < 8 or hour >= 20:
            chance *= 0.6
        clock = moment
        while step.action == "ring":
            attempt = step.attempt
            leg = f"{call.call_sid}L{attempt.position}"
            if rng.random() < chance:
                clock += timedelta(seconds=rng.randint(4, 18))
                _set_clock(clock)
                chain.press_key(call, attempt, "1", leg)
                clock += timedelta(seconds=rng.randint(60, 600))
                _set_clock(clock)
                step = chain.after_dial(call, attempt, "completed", 200, leg, None)
            else:
                clock += timedelta(seconds=20)
                _set_clock(clock)
                status = rng.choice(("no-answer", "no-answer", "busy"))
                step = chain.after_dial(call, attempt, status, None, leg, None)
        if step.action == "voice-message" and rng.random() < 0.4:
            clock += timedelta(seconds=30)
            _set_clock(clock)
            store_recording(call, f"https://demo.invalid/recordings/{call.call_sid}", 25)
        clock += timedelta(seconds=5)
        _set_clock(clock)
        endings.apply_status(call, "completed", 10)
        if call.outcome == CallOutcome.CONNECTED:
            self._follow_appeal(clock, call.appeal.id, rng, code)
        elif call.outcome == CallOutcome.MISSED:
            card = db.session.scalar(select(Card).where(Card.call_id == call.id))
            if card is not None:
                self._follow_card(clock, card.id, rng, code)

    # --- cards and appeals afterwards -----------------------------------------------------

    def _follow_card(self, moment, card_id: int, rng, code: str) -> None:
        worse = code in ANSWER_CHANCE
        if rng.random() < (0.25 if worse else 0.07):
            return  # never called back: the card stays open and goes overdue
        hours = rng.lognormvariate(1.6 if worse else 0.3, 0.8)
        self.at(moment + timedelta(hours=hours), self.call_back, card_id, rng, code)

    def call_back(self, moment, card_id: int, rng, code: str) -> None:
        card = db.session.get(Card, card_id)
        if not allows("card", "callback", card.state):
            return
        official_id = (card.duty or {}).get("primary") or None
        officials = cards.callable_officials(card)
        official = next((o for o in officials if o.id == official_id), officials[0])
        attempt = cards.start_callback(card, official, self.actor_for(official.id))
        attempt.call_sid = f"{SID_PREFIX}CB{attempt.id}"
        _set_clock(moment + timedelta(seconds=15))
        cards.record_callback_key(attempt, "1")
        _set_clock(moment + timedelta(seconds=45))
        if rng.random() < 0.8:
            cards.finish_callback(attempt, "completed", rng.randint(40, 400))
            later = moment + timedelta(hours=rng.uniform(2, 60))
            self.at(later, self.resolve, card.appeal_id, rng, code)
        else:
            cards.finish_callback(attempt, "no-answer", 0)
            self.at(moment + timedelta(hours=rng.uniform(1, 6)), self.call_back, card_id, rng, code)

    def _follow_appeal(self, moment, appeal_id: int, rng, code: str) -> None:
        later = moment + timedelta(hours=rng.uniform(4, 96))
        self.at(later, self.resolve, appeal_id, rng, code)

    def resolve(self, moment, appeal_id: int, rng, code: str) -> None:
        appeal = db.session.get(Appeal, appeal_id)
        if appeal.status not in (AppealStatus.IN_WORK, AppealStatus.MISSED, AppealStatus.REOPENED):
            return
        actor = self.actor_for(appeal.assignee_id)
        card = db.session.scalar(select(Card).where(Card.appeal_id == appeal.id))
        text = "Выехала бригада, неисправность устранена, жителю сообщено."
        if card is not None and allows("card", "outcome", card.state):
            cards.record_outcome(card, "fixed", text, actor)
        elif card is None:
            cards.resolve_appeal(appeal, "fixed", text, actor)
        else:
            return
        self.at(moment + timedelta(minutes=30), self.ask, appeal_id, rng, code)

    def ask(self, moment, appeal_id: int, rng, code: str) -> None:
        appeal = db.session.get(Appeal, appeal_id)
        if not cards.ask_citizen(appeal):
            return
        if rng.random() < 0.15:
            return  # no answer: the appeal closes unconfirmed after three days
        reopen = 0.3 if code in ANSWER_CHANCE else 0.12
        solved = rng.random() >= reopen
        self.at(moment + timedelta(hours=rng.uniform(1, 30)), self.answer, appeal_id, solved, rng)

    def answer(self, moment, appeal_id: int, solved: bool, rng) -> None:
        appeal = db.session.get(Appeal, appeal_id)
        if cards.answer_confirmation(appeal, solved, "sms") and not solved:
            code = appeal.municipality.code if hasattr(appeal, "municipality") else ""
            later = moment + timedelta(hours=rng.uniform(6, 72))
            self.at(later, self.resolve, appeal_id, rng, code)


def _set_clock(moment: datetime) -> None:
    core.clock.now_source = lambda: moment


def _history_user() -> User:
    user = db.session.scalar(select(User).where(User.username == HISTORY_USER))
    if user is None:
        password = secrets.token_urlsafe(24)  # nobody logs in as the history
        user = create_user(HISTORY_USER, "operator", password, None, "Демо: история звонков")
    return user


def _drop_jobs() -> None:
    """Drop the follow-up jobs the history's services enqueued, with their outbox rows."""
    pending = db.session.info.pop(PENDING_JOBS, [])
    keys = [job[5] for job in pending if job[5] is not None]
    db.session.flush()
    if keys:
        db.session.execute(delete(OutboxJob).where(OutboxJob.key.in_(keys)))


def _commit_without_jobs(until: datetime) -> None:
    """Commit the history so far, without its follow-up jobs; its SMS count as delivered."""
    _drop_jobs()
    db.session.execute(
        update(OutboundMessage)
        .where(OutboundMessage.status == SMS_PENDING, OutboundMessage.created_at < until)
        .values(status=SMS_DELIVERED)
    )
    # its cards were told of and reminded in their own time: the sweep must not do it again today
    db.session.execute(
        update(Card)
        .where(Card.notified_at.is_(None), Card.opened_at < until)
        .values(notified_at=Card.opened_at)
    )
    db.session.execute(
        update(Card)
        .where(Card.reminded_at.is_(None), Card.remind_at < until)
        .values(reminded_at=Card.remind_at)
    )
    db.session.commit()


def seed_history(weeks: int = DEFAULT_WEEKS, seed: int = 22, now: datetime | None = None) -> int:
    """Play `weeks` past weeks of the demo region's calls (the days not played yet); return
    how many calls were played. Commits as it goes."""
    real_source = core.clock.now_source
    now = now or real_source()
    today = now.astimezone(ZoneInfo(REGION_TZ)).date()
    days = history_days(weeks, today)
    if not days:
        return 0
    done = played_days()
    todo = [day for day in days if f"{day:%Y%m%d}" not in done]
    if not todo:
        return 0
    start = datetime.combine(todo[0], time(0), ZoneInfo(REGION_TZ))
    backfill_demo_shifts(start)
    player = Player(seed, now)
    for day in todo:
        player.plan_day(day)
    try:
        player.run()
    finally:
        core.clock.now_source = real_source
    log.info("demo history: %d calls over %d days", player.calls, len(todo))
    return player.calls
