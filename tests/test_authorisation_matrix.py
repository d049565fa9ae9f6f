"""Who may use each route: every rule of the URL map, tried by every role and by nobody.

HOW TO ADD A ROUTE: add one line to EXPECTED below, keyed "METHOD /rule" exactly as
`app.url_map` spells the rule, saying who may use it:

    "public"       anyone, signed in or not (the login page, health probes, static files)
    "signed"       a carrier webhook: refused to everyone who lacks the carrier's signature
    "metrics"      only with the metrics token
    "signed-in"    any signed-in user, whatever the role
    role names     e.g. "manager admin": only these roles; the others get 403, nobody the login
    "... +own"     after role names: a head of ANOTHER municipality is refused too (403/404),
                   because the object tried belongs to the first municipality

A route missing from the table, or answering otherwise than written, fails the test; the failure
prints the whole observed table in this format. If a URL argument is new, give it a value in
`_values` (by argument name).
"""

from datetime import timedelta

import pytest

from core.clock import utcnow
from core.extensions import db
from core.models import User
from core.users import issue_token
from hotline.incidents.services import declare_incident
from roster.models import DutyShift, Official
from tests.api.conftest import make_card, world  # noqa: F401  (the fixture)
from tests.factories import make_absence, make_user

STAFF = "operator official head manager admin"

EXPECTED = {
    # -- core: sign-in, home, health, admin --------------------------------------------------------
    "GET /admin/mail/": "admin",
    "GET /admin/mail/<int:email_id>": "admin",
    "POST /admin/users/<int:user_id>/contacts": "admin",
    "GET /prompts/": "manager admin",
    "GET /": "signed-in",
    "POST /admin/tokens/<int:token_id>/revoke": "admin",
    "GET /admin/journal": "admin",
    "GET /admin/users": "admin",
    "GET /admin/users/<int:user_id>": "admin",
    "POST /admin/users/<int:user_id>/deactivate": "admin",
    "POST /admin/users/<int:user_id>/password": "admin",
    "POST /admin/users/<int:user_id>/reactivate": "admin",
    "POST /admin/users/<int:user_id>/tokens": "admin",
    "POST /admin/users/<int:user_id>/totp-reset": "admin",
    "GET /favicon.ico": "public",
    "GET /healthz": "public",
    "POST /language/<code>": "public",
    "GET /login": "public",
    "POST /login": "public",
    "GET /login/code": "signed-in",  # without a pending sign-in it sends back to /login
    "POST /login/code": "signed-in",  # the same
    "POST /logout": "signed-in",
    "GET /metrics": "metrics",
    "GET /readyz": "public",
    "GET /static/<path:filename>": "public",
    # -- the JSON API ------------------------------------------------------------------------------
    "PUT /api/v1/users/<int(max=None):user_id>/contacts": "admin",
    "POST /api/v1/appeals": "operator official head manager admin +own",
    "GET /api/v1/appeals": "signed-in",
    "GET /api/v1/appeals/<number>": "operator official head manager admin +own",
    "POST /api/v1/appeals/<number>/status": "operator official head manager admin +own",
    "GET /api/v1/audit": "admin",
    "GET /api/v1/calls/<call_sid>": "operator manager admin",
    "GET /api/v1/cards": "signed-in",
    "GET /api/v1/cards/<int:card_id>": "operator official head manager admin +own",
    "POST /api/v1/cards/<int:card_id>/acknowledge": "operator official head manager admin +own",
    "POST /api/v1/cards/<int:card_id>/outcome": "operator official head manager admin +own",
    "GET /api/v1/categories": "signed-in",
    "GET /api/v1/docs": "public",
    "GET /api/v1/me": "signed-in",
    "GET /api/v1/municipalities": "signed-in",
    "GET /api/v1/municipalities/<code>/on-duty": "operator official head manager admin +own",
    "GET /api/v1/openapi.json": "public",
    "GET /api/v1/reports/missed-calls": "head manager admin",
    "GET /api/v1/shifts": "signed-in",
    "POST /api/v1/shifts": "admin",
    "DELETE /api/v1/tokens/<int(max=None):token_id>": "admin",
    "GET /api/v1/users": "admin",
    "POST /api/v1/users/<int(max=None):user_id>/deactivate": "admin",
    "POST /api/v1/users/<int(max=None):user_id>/reactivate": "admin",
    "GET /api/v1/users/<int(max=None):user_id>/tokens": "admin",
    "POST /api/v1/users/<int(max=None):user_id>/tokens": "admin",
    # -- Open311 (public by the standard) and calendar feeds (secret URLs) -------------------------
    "GET /open311/v2/discovery.<any(json, xml):fmt>": "public",
    "POST /open311/v2/requests.<any(json, xml):fmt>": "public",
    "GET /open311/v2/requests.<any(json, xml):fmt>": "public",
    "GET /open311/v2/requests/<request_id>.<any(json, xml):fmt>": "public",
    "GET /open311/v2/services.<any(json, xml):fmt>": "public",
    "GET /open311/v2/services/<code>.<any(json, xml):fmt>": "public",
    "GET /roster/feeds/municipality/<token>.ics": "public",
    "GET /roster/feeds/official/<token>.ics": "public",
    # -- cabinet of officials and heads ------------------------------------------------------------
    "GET /cabinet/": "signed-in",
    "GET /cabinet/cards/<int:card_id>": "operator official head manager admin +own",
    "POST /cabinet/cards/<int:card_id>/acknowledge": "operator official head manager admin +own",
    "POST /cabinet/cards/<int:card_id>/callback": "operator official head manager admin +own",
    "POST /cabinet/cards/<int:card_id>/forward": "operator official head manager admin +own",
    "POST /cabinet/cards/<int:card_id>/note": "operator official head manager admin +own",
    "POST /cabinet/cards/<int:card_id>/outcome": "operator official head manager admin +own",
    "POST /cabinet/cards/<int:card_id>/photos": "operator official head manager admin +own",
    "GET /cabinet/cards/<int:card_id>/recording": "signed-in",
    "GET /cabinet/photos/<int:photo_id>": "signed-in",
    # -- operators' console ------------------------------------------------------------------------
    "GET /console/abandoned": "operator admin",
    "POST /console/calls/<int:call_id>/hold": "admin",  # an operator only on their own call
    "POST /console/calls/<int:call_id>/transfer": "admin",
    "POST /console/state": "operator admin",
    "POST /console/token": "operator admin",
    "GET /console/wallboard": "manager admin",
    "GET /console/wallboard.json": "manager admin",
    "GET /incidents/": "operator manager admin",
    "POST /incidents/": "operator manager admin",
    "POST /incidents/<int:incident_id>/close": "operator manager admin",
    "GET /console/": "operator admin",
    "GET /console/appeals/<int:appeal_id>": "operator admin",
    "POST /console/appeals/<int:appeal_id>/control-call": "operator admin",
    "GET /console/appeals/<int:appeal_id>/recording": "operator admin",
    "GET /console/calls/<int:call_id>": "admin",  # an operator only on their own call
    "POST /console/calls/<int:call_id>/appeal": "admin",
    "POST /console/calls/<int:call_id>/connect": "admin",
    "POST /console/calls/<int:call_id>/finish": "admin",
    "GET /console/calls/<int:call_id>/progress": "admin",
    "GET /console/calls/<int:call_id>/state": "admin",
    "POST /console/calls/<int:call_id>/take": "operator admin",
    "POST /console/calls/<int:call_id>/wrap-up": "admin",
    "POST /console/calls/<int:call_id>/warm": "admin",
    "GET /console/control": "operator admin",
    "GET /console/queue": "operator admin",
    "GET /console/responsible": "operator admin",
    "GET /console/search": "operator admin",
    "POST /console/shift": "operator admin",
    "POST /console/shift/end": "operator admin",
    "POST /console/take-next": "operator admin",
    # -- simulated web phone -----------------------------------------------------------------------
    "GET /phone/": "signed-in",  # the simulated web phone; in a production demo: admins
    "POST /phone/": "signed-in",
    "GET /phone/<number>": "signed-in",
    "POST /phone/<number>/press": "signed-in",
    "GET /phone/<number>/state": "signed-in",
    "POST /phone/live": "signed-in",
    # -- reports -----------------------------------------------------------------------------------
    "GET /reports/brief": "head manager admin",  # a head: their own figures in the region's ranking
    "GET /reports/staffing": "manager admin",
    "GET /reports/": "head manager admin",
    "GET /reports/appeals": "head manager admin",
    "GET /reports/calls": "head manager admin",
    "GET /reports/cards": "head manager admin",
    "GET /reports/heatmap": "head manager admin",
    "GET /reports/incidents": "head manager admin",
    "GET /reports/incidents/<int:incident_id>": "head manager admin +own",
    "GET /reports/municipalities/<code>": "head manager admin +own",
    "GET /reports/operators": "manager admin",
    "GET /reports/ranking": "head manager admin",
    # -- duty rosters ------------------------------------------------------------------------------
    "GET /roster/": "signed-in",
    "GET /roster/<code>": "operator official head manager admin +own",
    "POST /roster/<code>/feed": "head admin +own",
    "GET /roster/<code>/override": "admin",
    "POST /roster/<code>/override": "admin",
    "GET /roster/<code>/rotation/<role>": "admin",
    "POST /roster/<code>/rotation/<role>": "admin",
    "GET /roster/<code>/shifts.csv": "operator official head manager admin +own",
    "POST /roster/<code>/shifts/<int:shift_id>/cancel": "admin",
    "GET /roster/<code>/swap": "admin",
    "POST /roster/<code>/swap": "admin",
    "GET /roster/<code>/unavailability": "admin",
    "POST /roster/<code>/unavailability": "admin",
    "POST /roster/<code>/unavailability/<int:absence_id>/delete": "admin",
    "GET /roster/import": "admin",
    "POST /roster/import": "admin",
    "GET /roster/officials.csv": "admin",
    "POST /roster/officials/<int:official_id>/feed": "admin",
    # -- carrier webhooks --------------------------------------------------------------------------
    "POST /voice/console/calls/<int:call_id>/callback/done": "signed",
    "POST /voice/console/calls/<int:call_id>/callback/operator": "signed",
    "POST /voice/console/calls/<int:call_id>/callback/status": "signed",
    "POST /voice/console/calls/<int:call_id>/hold": "signed",
    "POST /voice/console/calls/<int:call_id>/transfer": "signed",
    "POST /voice/console/queue/key": "signed",
    "POST /voice/console/queue/wait": "signed",
    "POST /voice/menu/appeal/<int:appeal_id>": "signed",
    "POST /voice/menu/incident/<int:incident_id>": "signed",
    "POST /sms/incoming": "signed",
    "POST /sms/status": "signed",
    "POST /voice/callbacks/<int:attempt_id>/accept": "signed",
    "POST /voice/callbacks/<int:attempt_id>/result": "signed",
    "POST /voice/callbacks/<int:attempt_id>/status": "signed",
    "POST /voice/callbacks/<int:attempt_id>/whisper": "signed",
    "POST /voice/calls/<int:call_id>/connect": "signed",
    "POST /voice/calls/<int:call_id>/recording": "signed",
    "POST /voice/chain/<int:call_id>/<int:position>/accept": "signed",
    "POST /voice/chain/<int:call_id>/<int:position>/result": "signed",
    "POST /voice/chain/<int:call_id>/<int:position>/whisper": "signed",
    "POST /voice/console/calls/<int:call_id>/goodbye": "signed",
    "POST /voice/console/calls/<int:call_id>/consult": "signed",
    "POST /voice/console/calls/<int:call_id>/operator": "signed",
    "POST /voice/console/calls/<int:call_id>/operator/answered": "signed",
    "POST /voice/console/calls/<int:call_id>/operator/result": "signed",
    "POST /voice/console/calls/<int:call_id>/registered": "signed",
    "POST /voice/console/hold/done": "signed",
    "POST /voice/console/hold/wait": "signed",
    "POST /voice/fallback": "signed",
    "POST /voice/incoming": "signed",
    "POST /voice/menu/category": "signed",
    "POST /voice/menu/municipality": "signed",
    "POST /voice/notices/<int:notice_id>": "signed",
    "POST /voice/notices/<int:notice_id>/key": "signed",
    "POST /voice/notices/<int:notice_id>/status": "signed",
    "POST /voice/queue/done": "signed",
    "POST /voice/queue/skip": "signed",
    "POST /voice/queue/wait": "signed",
    "POST /voice/status": "signed",
}


#: JSON bodies for API writes, so that a request passes the schema and meets the access check.
BODIES = {
    "POST /api/v1/appeals": {"text": "Яма", "category": "roads", "municipality": "tula"},
    "POST /api/v1/appeals/<number>/status": {"status": "in_work"},
    "POST /api/v1/cards/<int:card_id>/outcome": {"text": "Яму засыпали"},
    "POST /api/v1/cards/<int:card_id>/acknowledge": {},
}


def _values(card, victim, token_id, shift, absence) -> dict:
    """A value for every URL argument, naming objects of the first municipality (Tula)."""
    return {
        "user_id": victim.id,
        "token_id": token_id,
        "number": card.appeal.number,
        "call_sid": card.call.call_sid,
        "card_id": card.id,
        "call_id": card.call_id,
        "appeal_id": card.appeal_id,
        "photo_id": 1,
        "code": "tula",
        "role": "primary",
        "shift_id": shift.id,
        "absence_id": absence.id,
        "official_id": shift.official_id,
        "attempt_id": 1,
        "notice_id": 1,
        "position": 0,
        "filename": "hotline.css",
        "request_id": card.appeal.number,
        "fmt": "json",
        "token": "no-such-feed",
        "email_id": 1,
        "incident_id": 1,
    }


#: Who tries each route: nobody, every role of Tula, and the head of another municipality.
IDENTITIES = ("none", "operator", "official", "head", "manager", "admin", "headb")


def _observed(status: int, location: str, who: str) -> str:
    if status == 500:
        return "error"
    if status in (401, 403) or (status == 302 and "/login" in location and who == "none"):
        return "denied"
    if who == "headb" and status == 404:
        return "denied"
    return "allowed"


def _wanted(spec: str, who: str) -> str:
    if spec == "public":
        return "allowed"
    if spec in ("signed", "metrics"):
        return "denied"
    if who == "none":
        return "denied"
    if spec == "signed-in":
        return "allowed"
    roles = spec.replace("+own", "").split()
    role = "head" if who == "headb" else who
    if who == "headb" and "+own" in spec:
        return "denied"
    return "allowed" if role in roles else "denied"


def _describe(outcomes: dict[str, str]) -> str:
    """Return the `EXPECTED` value that matches what each identity got."""
    allowed = [who for who in IDENTITIES if outcomes[who] == "allowed"]
    if outcomes["none"] == "allowed":
        return "public" if len(allowed) == len(IDENTITIES) else "?" + " ".join(allowed)
    if not allowed:
        return "signed"
    roles = [who for who in allowed if who != "headb"]
    spec = "signed-in" if len(roles) == 5 else " ".join(roles)
    if "head" in roles and "headb" not in allowed:
        spec = (STAFF if spec == "signed-in" else spec) + " +own"
    return spec


@pytest.fixture
def matrix_app(app):
    """The app with CSRF off (so a form reaches its view's role check) and a metrics token."""
    app.config.update(
        WTF_CSRF_ENABLED=False, METRICS_TOKEN="matrix-token", PROPAGATE_EXCEPTIONS=False
    )
    return app


def test_every_route_answers_each_role_as_written_down(matrix_app, world):  # noqa: F811
    app = matrix_app
    card = make_card(world)
    victim = make_user("victim", "operator")
    token_id = issue_token(victim) and victim.tokens[0].id
    shift = db.session.scalars(db.select(DutyShift).order_by(DutyShift.id)).first()
    official = db.session.get(Official, shift.official_id)
    absence = make_absence(official, utcnow() + timedelta(days=30), utcnow() + timedelta(days=31))
    incident = declare_incident(card.municipality, "Нет воды.", by=None)  # of the first one
    db.session.commit()
    values = _values(card, victim, token_id, shift, absence) | {"incident_id": incident.id}
    names = {"headb": "headb"} | {role: role for role in IDENTITIES[1:6]}
    tokens = {who: world.tokens[names[who]] for who in IDENTITIES[1:]}

    observed, problems = {}, []
    for rule in sorted(app.url_map.iter_rules(), key=lambda rule: rule.rule):
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            key = f"{method} {rule.rule}"
            url = app.url_map.bind("localhost").build(
                rule.endpoint, {name: values[name] for name in rule.arguments}, method=method
            )
            outcomes, statuses = {}, {}
            for who in IDENTITIES:
                client = app.test_client()
                headers = {}
                if who != "none":
                    user = db.session.scalar(db.select(User).where(User.username == names[who]))
                    with client.session_transaction() as session:
                        session["_user_id"] = user.get_id()
                        session["_fresh"] = True
                    if url.startswith("/api/"):
                        headers = tokens[who]
                answer = client.open(url, method=method, headers=headers, json=BODIES.get(key))
                statuses[who] = answer.status_code
                outcomes[who] = _observed(answer.status_code, answer.location or "", who)
                db.session.rollback()
            if statuses["headb"] == statuses["head"]:  # a 404 for both is no refusal
                outcomes["headb"] = outcomes["head"]
            observed[key] = _describe(outcomes)
            spec = EXPECTED.get(key)
            if spec is None:
                problems.append(f"{key}: no expectation written down")
            elif "error" in outcomes.values():
                problems.append(f"{key}: answered 500 to {outcomes}")
            elif any(outcomes[who] != _wanted(spec, who) for who in IDENTITIES):
                problems.append(f"{key}: expected {spec!r}, got {outcomes}")
    table = "\n".join(f'    "{key}": "{spec}",' for key, spec in observed.items())
    assert not problems, "\n".join(problems) + "\n\nObserved:\n" + table


def test_the_table_names_exactly_the_routes_of_the_url_map(app):
    routes = {
        f"{method} {rule.rule}"
        for rule in app.url_map.iter_rules()
        for method in rule.methods - {"HEAD", "OPTIONS"}
    }
    assert sorted(routes - set(EXPECTED)) == [], "routes with no expectation written down"
    assert sorted(set(EXPECTED) - routes) == [], "expectations of routes that no longer exist"
    assert all(
        _describe({who: _wanted(spec, who) for who in IDENTITIES}) for spec in EXPECTED.values()
    )
