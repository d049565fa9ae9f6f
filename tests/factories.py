"""Small builders for test data."""

import io
from datetime import datetime, timedelta

from PIL import Image

from core.clock import utcnow
from core.extensions import db
from core.users import create_user
from roster.models import Category, DutyShift, Municipality, Official, Roster

PASSWORD = "password-123"


def make_municipality(
    code: str = "alpha",
    name: str | None = None,
    tz: str = "Europe/Moscow",
    duty_number: str | None = None,
) -> Municipality:
    place = Municipality(
        code=code, name=name or f"Район {code}", timezone=tz, duty_number=duty_number
    )
    db.session.add(place)
    db.session.flush()
    db.session.add(Roster(municipality_id=place.id, code="general", name="Общий", is_general=True))
    db.session.flush()
    return place


def make_user(username: str, role: str, municipality: Municipality | None = None):
    user = create_user(username, role, PASSWORD, municipality.code if municipality else None)
    db.session.commit()
    return user


def make_official(place: Municipality, phone: str, name: str = "Тестов Тест") -> Official:
    official = Official(municipality_id=place.id, full_name=name, phone=phone, position="Дежурный")
    db.session.add(official)
    db.session.flush()
    return official


def make_category(code: str = "roads", urgency: str = "ordinary") -> Category:
    category = Category(
        code=code,
        name=code,
        urgency=urgency,
        callback_minutes=480,
        resolution_days=30,
        checkin_minutes=1440,
    )
    db.session.add(category)
    db.session.flush()
    return category


def make_shift(
    roster: Roster,
    role: str,
    official: Official,
    starts_at: datetime,
    ends_at: datetime,
    kind: str = "rotation",
) -> DutyShift:
    shift = DutyShift(
        roster_id=roster.id,
        role=role,
        official_id=official.id,
        starts_at=starts_at,
        ends_at=ends_at,
        kind=kind,
    )
    db.session.add(shift)
    db.session.flush()
    return shift


def make_absence(official: Official, starts_at: datetime, ends_at: datetime, reason="vacation"):
    from roster.models import Unavailability

    row = Unavailability(
        official_id=official.id, starts_at=starts_at, ends_at=ends_at, reason=reason
    )
    db.session.add(row)
    db.session.flush()
    return row


def make_trio(place: Municipality, prefix: str = "+7900123") -> list[Official]:
    """Three officials of a municipality: two duty specialists and the head."""
    names = ["Иванов Иван", "Петров Пётр", "Сидоров Сидор"]
    return [
        make_official(place, f"{prefix}{index:04d}", name) for index, name in enumerate(names, 1)
    ]


#: The names of a duty trio, by role.
DUTY_NAMES = {"primary": "Первов Пётр", "backup": "Вторых Вера", "supervisor": "Главный Глеб"}


def make_duty_trio(place: Municipality, phone_prefix: str, days: int) -> dict[str, Official]:
    """Primary, backup and supervisor (phones `phone_prefix` 1 to 3) on duty in the
    municipality's general roster from an hour ago until `days` from now."""
    from roster.services import general_roster

    trio = {
        role: make_official(place, f"{phone_prefix}{number}", name)
        for number, (role, name) in enumerate(DUTY_NAMES.items(), 1)
    }
    roster = general_roster(place)
    now = utcnow()
    for role, official in trio.items():
        make_shift(roster, role, official, now - timedelta(hours=1), now + timedelta(days=days))
    return trio


def make_card(place: Municipality, category: Category | None, caller: str, sid: str, trio=()):
    """A missed call with its appeal and card, as the chain leaves them; `trio` was rung."""
    from callbacks.models import CallbackAttempt
    from callbacks.services import open_card
    from hotline.models import Call, Channel, DialAttempt
    from hotline.services import register_appeal

    call = Call(call_sid=sid, from_number=caller, to_number="+74872000000", entry="governor")
    db.session.add(call)
    db.session.flush()
    roles = ("primary", "backup", "supervisor")
    for position, (role, official) in enumerate(zip(roles[: len(trio)], trio, strict=True)):
        db.session.add(
            DialAttempt(
                call_id=call.id,
                position=position,
                role=role,
                official_id=official.id,
                phone=official.phone,
                outcome="no-answer",
            )
        )
    appeal = register_appeal(
        channel=Channel.PHONE,
        municipality=place,
        category=category,
        caller_number=caller,
        call=call,
        status="missed",
    )
    if trio:
        appeal.assignee_id = trio[0].id
    card = open_card(call, appeal)
    if trio:
        db.session.add(
            CallbackAttempt(
                card_id=card.id,
                official_id=trio[0].id,
                official_phone=trio[0].phone,
                citizen_number=caller,
                outcome="no-answer",
            )
        )
    db.session.commit()
    return card


def make_photo(image_format: str = "PNG", size=(6, 4), exif: Image.Exif | None = None) -> bytes:
    """A small real image file (a red-green gradient), with EXIF when given."""
    image = Image.new("RGB", size)
    image.putdata(
        [(40 * x % 256, 60 * y % 256, 90) for y in range(size[1]) for x in range(size[0])]
    )
    out = io.BytesIO()
    image.save(out, format=image_format, **({"exif": exif} if exif is not None else {}))
    return out.getvalue()
