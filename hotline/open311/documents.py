"""Open311 documents: services from categories, their extra questions, appeals as requests."""

from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from core.extensions import db
from core.models import Event
from hotline.models import Appeal, AppealStatus
from hotline.open311.models import Open311Request
from hotline.prompts import prompt
from roster.models import Category

_YES_NO = [{"key": "yes", "name": "Да"}, {"key": "no", "name": "Нет"}]


def _attribute(code, datatype, required, description, values=None, order=1) -> dict:
    return {
        "variable": True,
        "code": code,
        "datatype": datatype,
        "required": required,
        "datatype_description": None,
        "order": order,
        "description": description,
        "values": values or [],
    }


#: Extra questions a category asks of an Open311 client, by category code.
ATTRIBUTES = {
    "safety": [
        _attribute("danger_now", "singlevaluelist", True, "Есть угроза жизни сейчас?", _YES_NO)
    ],
    "heating": [
        _attribute("households", "number", False, "Сколько квартир или домов без отопления"),
        _attribute(
            "vulnerable", "singlevaluelist", True, "Есть дети, пожилые, больные?", _YES_NO, 2
        ),
    ],
    "water": [
        _attribute("households", "number", False, "Сколько квартир или домов без воды"),
        _attribute(
            "vulnerable", "singlevaluelist", True, "Есть дети, пожилые, больные?", _YES_NO, 2
        ),
    ],
    "electricity": [
        _attribute("households", "number", False, "Сколько квартир или домов без света"),
        _attribute(
            "vulnerable", "singlevaluelist", True, "Есть дети, пожилые, больные?", _YES_NO, 2
        ),
    ],
    "roads": [
        _attribute(
            "size",
            "singlevaluelist",
            False,
            "Размер повреждения",
            [{"key": "small", "name": "до 1 м"}, {"key": "large", "name": "больше 1 м"}],
        )
    ],
}


def service_as_dict(category: Category) -> dict:
    """Return a category as an Open311 service."""
    return {
        "service_code": category.code,
        "service_name": category.name,
        "description": category.name,
        "metadata": category.code in ATTRIBUTES,
        "type": "realtime",
        "keywords": category.urgency,
        "group": category.urgency,
    }


def service_definition(category: Category) -> dict:
    """Return the Open311 service definition: the category's extra attributes."""
    return {"service_code": category.code, "attributes": ATTRIBUTES.get(category.code, [])}


def open311_status(appeal: Appeal) -> str:
    """Map an appeal's status to Open311: only a closed appeal is `closed`."""
    return "closed" if appeal.status == AppealStatus.CLOSED else "open"


def _w3c(moment: datetime | None, zone: str) -> str | None:
    if moment is None:
        return None
    return moment.astimezone(ZoneInfo(zone)).replace(microsecond=0).isoformat()


def requests_as_dicts(appeals: list[Appeal]) -> list[dict]:
    """Return appeals as Open311 service requests (no personal data of the citizen)."""
    ids = [appeal.id for appeal in appeals]
    updated, notes = {}, {}
    if ids:
        subject_ids = [str(i) for i in ids]
        updated = dict(
            db.session.execute(
                select(Event.subject_id, func.max(Event.at))
                .where(Event.subject_type == "appeal", Event.subject_id.in_(subject_ids))
                .group_by(Event.subject_id)
            ).all()
        )
        for event in db.session.scalars(
            select(Event)
            .where(
                Event.subject_type == "appeal",
                Event.subject_id.in_(subject_ids),
                Event.verb == "appeal.status",
            )
            .order_by(Event.id)
        ):
            notes[event.subject_id] = (event.data or {}).get("note")
    extras = {
        row.appeal_id: row
        for row in db.session.scalars(
            select(Open311Request).where(Open311Request.appeal_id.in_(ids))
        )
    }
    return [
        _request_as_dict(appeal, extras.get(appeal.id), updated.get(str(appeal.id)), notes)
        for appeal in appeals
    ]


def _request_as_dict(appeal: Appeal, extra, updated, notes: dict) -> dict:
    zone = appeal.municipality.timezone
    return {
        "service_request_id": appeal.number,
        "status": open311_status(appeal),
        "status_notes": notes.get(str(appeal.id)),
        "service_name": appeal.category.name if appeal.category else None,
        "service_code": appeal.category.code if appeal.category else None,
        "description": appeal.text,
        "agency_responsible": appeal.municipality.name,
        "service_notice": service_notice(appeal),
        "requested_datetime": _w3c(appeal.created_at, zone),
        "updated_datetime": _w3c(updated or appeal.created_at, zone),
        "expected_datetime": _w3c(appeal.resolution_due_at, zone),
        "address": appeal.address,
        "address_id": extra.address_id if extra else None,
        "zipcode": None,
        "lat": extra.lat if extra else None,
        "long": extra.long if extra else None,
        "media_url": extra.media_url if extra else None,
    }


def service_notice(appeal: Appeal) -> str:
    """Return what the citizen is told about their request's handling."""
    due = appeal.resolution_due_at.astimezone(ZoneInfo(appeal.municipality.timezone))
    return prompt(
        "open311_service_notice",
        number=appeal.number,
        municipality=appeal.municipality.name,
        due=f"{due:%d.%m.%Y}",
    )
