"""The demo region: Tula oblast with fake officials, phones, rotations and one login per role."""

import logging
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from core.clock import utcnow
from core.events import record_event
from core.extensions import db
from core.models import User
from core.users import create_user
from roster.models import Category, DutyShift, Municipality, Official, Roster, Rotation, ShiftKind
from roster.rules import slot_start
from roster.services import extend_rotation, rotation_for, save_rotation

log = logging.getLogger(__name__)

REGION_TZ = "Europe/Moscow"
DEMO_PASSWORD = "hotline-demo"

#: (code, name, kind): the 26 municipalities of Tula oblast.
MUNICIPALITIES = [
    ("tula", "Город Тула", "okrug"),
    ("aleksin", "Город Алексин", "okrug"),
    ("donskoy", "Город Донской", "okrug"),
    ("efremov", "Город Ефремов", "okrug"),
    ("novomoskovsk", "Город Новомосковск", "okrug"),
    ("novogurovsky", "Рабочий посёлок Новогуровский", "okrug"),
    ("slavny", "Рабочий посёлок Славный", "okrug"),
    ("arsenyevsky", "Арсеньевский район", "district"),
    ("belevsky", "Белёвский район", "district"),
    ("bogoroditsky", "Богородицкий район", "district"),
    ("venevsky", "Венёвский район", "district"),
    ("volovsky", "Воловский район", "district"),
    ("dubensky", "Дубенский район", "district"),
    ("zaoksky", "Заокский район", "district"),
    ("kamensky", "Каменский район", "district"),
    ("kimovsky", "Кимовский район", "district"),
    ("kireevsky", "Киреевский район", "district"),
    ("kurkinsky", "Куркинский район", "district"),
    ("odoevsky", "Одоевский район", "district"),
    ("plavsky", "Плавский район", "district"),
    ("suvorovsky", "Суворовский район", "district"),
    ("teplo-ogarevsky", "Тёпло-Огарёвский район", "district"),
    ("uzlovsky", "Узловский район", "district"),
    ("chernsky", "Чернский район", "district"),
    ("shchekinsky", "Щёкинский район", "district"),
    ("yasnogorsky", "Ясногорский район", "district"),
]


@dataclass(frozen=True)
class CategorySeed:
    code: str
    name: str
    urgency: str
    callback_minutes: int | None
    resolution_days: int
    checkin_minutes: int


#: Directions of appeals, emergencies first; deadlines are DESIGN.md's defaults.
CATEGORIES = [
    CategorySeed("safety", "Безопасность, ЧС, открытые люки", "emergency", 60, 3, 180),
    CategorySeed("heating", "ЖКХ: отопление", "emergency", 60, 3, 180),
    CategorySeed("water", "ЖКХ: водоснабжение", "emergency", 60, 3, 180),
    CategorySeed("electricity", "ЖКХ: электроснабжение", "emergency", 60, 3, 180),
    CategorySeed("housing", "ЖКХ: управление домами", "ordinary", 480, 30, 1440),
    CategorySeed("roads", "Дороги", "ordinary", 480, 30, 1440),
    CategorySeed("amenities", "Благоустройство", "ordinary", 480, 30, 1440),
    CategorySeed("transport", "Транспорт", "ordinary", 480, 30, 1440),
    CategorySeed("health", "Здравоохранение", "ordinary", 480, 30, 1440),
    CategorySeed("social", "Социальная защита", "ordinary", 480, 30, 1440),
    CategorySeed("education", "Образование", "ordinary", 480, 30, 1440),
    CategorySeed("written", "Письменное обращение (59-ФЗ)", "formal", None, 30, 10080),
]

_SURNAMES = [
    "Иванов",
    "Смирнов",
    "Кузнецов",
    "Попов",
    "Соколов",
    "Лебедев",
    "Козлов",
    "Новиков",
    "Морозов",
    "Волков",
    "Алексеев",
    "Егоров",
    "Семёнов",
]
_NAMES = ["Андрей", "Сергей", "Дмитрий", "Алексей", "Игорь", "Олег", "Павел"]

#: (position, duty role of the demo rotation) for the three officials of every municipality.
_STAFF = [
    ("Дежурный специалист администрации", "duty"),
    ("Заместитель главы администрации", "duty"),
    ("Глава администрации", "head"),
]

#: (username, role, municipality code, full name) of the demo logins.
DEMO_USERS = [
    ("operator", "operator", None, "Оператор горячей линии"),
    ("official", "official", "tula", None),
    ("head", "head", "tula", None),
    ("manager", "manager", None, "Менеджер регионального центра"),
    ("admin", "admin", None, "Администратор"),
]

HANDOFF = time(9, 0)


def demo_phone(municipality_index: int, person: int) -> str:
    """Return a clearly fake mobile number: +7 900 000-MM-PP."""
    return f"+7900000{municipality_index:02d}{person:02d}"


def demo_duty_number(municipality_index: int) -> str:
    """Return a clearly fake municipal duty number: +7 4872 70-01-MM."""
    return f"+7487270{100 + municipality_index:04d}"


def _get_or_create(model, lookup: dict, **values):
    row = db.session.scalar(db.select(model).filter_by(**lookup))
    if row is None:
        row = model(**lookup, **values)
        db.session.add(row)
        db.session.flush()
        return row, True
    return row, False


def _seed_categories() -> int:
    created = 0
    for position, seed in enumerate(CATEGORIES):
        _, new = _get_or_create(
            Category,
            {"code": seed.code},
            name=seed.name,
            urgency=seed.urgency,
            callback_minutes=seed.callback_minutes,
            resolution_days=seed.resolution_days,
            checkin_minutes=seed.checkin_minutes,
            position=position,
        )
        created += new
    return created


def _seed_municipality(index: int, code: str, name: str, kind: str) -> tuple[Roster, list, int]:
    place, created = _get_or_create(
        Municipality,
        {"code": code},
        name=name,
        kind=kind,
        timezone=REGION_TZ,
        duty_number=demo_duty_number(index),
    )
    roster, new = _get_or_create(
        Roster,
        {"municipality_id": place.id, "code": "general"},
        name="Общий график дежурств",
        is_general=True,
    )
    created += new
    staff = []
    for person, (position, _) in enumerate(_STAFF, start=1):
        surname = _SURNAMES[(index + person) % len(_SURNAMES)]
        first = _NAMES[(index * 3 + person) % len(_NAMES)]
        official, new = _get_or_create(
            Official,
            {"phone": demo_phone(index, person)},
            municipality_id=place.id,
            full_name=f"{surname} {first}",
            position=position,
        )
        staff.append(official)
        created += new
    return roster, staff, created


def _seed_rotations(roster: Roster, staff: list[Official], now: datetime) -> int:
    """Daily handoff at 09:00 local: the two duty specialists alternate, the head supervises."""
    before = _shift_count(roster)
    first_day = _first_handoff(now).astimezone(ZoneInfo(REGION_TZ)).date()
    orders = {
        "primary": [staff[0].id, staff[1].id],
        "backup": [staff[1].id, staff[0].id],
        "supervisor": [staff[2].id],
    }
    for role, official_ids in orders.items():
        rotation = rotation_for(roster, role)
        if rotation is None:
            save_rotation(roster, role, official_ids, HANDOFF, 1, first_day, now=now)
        else:
            extend_rotation(rotation, now)
    return _shift_count(roster) - before


def _shift_count(roster: Roster) -> int:
    return db.session.scalar(
        db.select(db.func.count()).select_from(DutyShift).where(DutyShift.roster_id == roster.id)
    )


def _first_handoff(now: datetime) -> datetime:
    """Return the local 09:00 handoff at or before now (so now is covered), in UTC."""
    zone = ZoneInfo(REGION_TZ)
    local = now.astimezone(zone)
    handoff = datetime.combine(local.date(), HANDOFF, tzinfo=zone)
    if handoff > local:
        handoff -= timedelta(days=1)
    return handoff.astimezone(now.tzinfo)


def _seed_users(tula_staff: list[Official]) -> int:
    created = 0
    links = {"official": tula_staff[0], "head": tula_staff[2]}
    for username, role, municipality, full_name in DEMO_USERS:
        if db.session.scalar(db.select(User.id).where(User.username == username)):
            continue
        linked = links.get(username)
        user = create_user(
            username,
            role,
            DEMO_PASSWORD,
            municipality,
            full_name or (linked.full_name if linked else username),
        )
        if linked is not None:
            linked.user_id = user.id
        created += 1
    return created


def seed_demo(now: datetime | None = None) -> int:
    """Load the demo region; return how many rows it created (0 when already loaded)."""
    now = now or utcnow()
    created = _seed_categories()
    tula_staff = None
    for index, (code, name, kind) in enumerate(MUNICIPALITIES, start=1):
        roster, staff, new = _seed_municipality(index, code, name, kind)
        created += new + _seed_rotations(roster, staff, now)
        if code == "tula":
            tula_staff = staff
    created += _seed_users(tula_staff)
    if created:
        record_event("system", "demo", "demo.seeded", {"rows": created}, actor_label="cli")
    db.session.flush()
    log.info("demo region: %d rows created", created)
    return created


def backfill_demo_shifts(since: datetime) -> int:
    """Give every demo rotation its turns from `since` on, as if it had run then; return rows made.

    The demo's past calls (`seed-demo --history`) are rung on these shifts: the same order of
    officials carried back before the day the rotation was saved.
    """
    created = 0
    for rotation in db.session.scalars(db.select(Rotation).order_by(Rotation.id)):
        zone = ZoneInfo(rotation.roster.municipality.timezone)
        have = set(
            db.session.scalars(
                db.select(DutyShift.starts_at).where(
                    DutyShift.roster_id == rotation.roster_id,
                    DutyShift.role == rotation.role,
                    DutyShift.starts_at < rotation.effective_from,
                )
            )
        )
        ids, length = rotation.official_ids, rotation.length_days
        index = (since.astimezone(zone).date() - rotation.starts_on).days // length - 1
        start = slot_start(rotation.starts_on, rotation.handoff, length, index, zone)
        while start < rotation.effective_from and ids:
            end = min(
                slot_start(rotation.starts_on, rotation.handoff, length, index + 1, zone),
                rotation.effective_from,
            )
            if start not in have:
                db.session.add(
                    DutyShift(
                        roster_id=rotation.roster_id,
                        role=rotation.role,
                        official_id=ids[index % len(ids)],
                        starts_at=start,
                        ends_at=end,
                        kind=ShiftKind.ROTATION,
                    )
                )
                created += 1
            index, start = index + 1, end
    db.session.flush()
    log.info("demo region: %d past shifts added", created)
    return created
