"""The cabinet: the list of cards, the card page and its actions."""

import logging
from datetime import timedelta

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user
from wtforms import SelectChoice

from callbacks import CABINET_ROLES, services
from callbacks.forms import (
    RESOLUTION_LABELS,
    CallbackForm,
    ForwardForm,
    NoteForm,
    OutcomeForm,
    PhotoForm,
)
from callbacks.labels import (
    appeal_status_labels,
    card_state_labels,
    duty_role_labels,  # noqa: F401  (the reports import it from here)
)
from callbacks.models import AppealTracking, CardPhoto, CardState
from callbacks.states import StateError, allows
from core.auth import EmptyForm, roles_required
from core.downloads import recording_audio
from core.extensions import db
from core.i18n import local_time
from core.journal import record_access
from core.models import User
from core.parsing import parse_id
from core.telephony.messages import messages_of
from core.telephony.retries import CALL_MAX_TRIES
from hotline.models import AppealStatus
from roster.models import Category, Municipality, Official
from roster.services import get_municipality, list_municipalities

log = logging.getLogger(__name__)

bp = Blueprint("callbacks", __name__, url_prefix="/cabinet")

#: Seconds between the open cabinet's checks for new and escalated cards.
CABINET_POLL_SECONDS = 15
PERIODS = {"day": timedelta(days=1), "week": timedelta(days=7), "month": timedelta(days=31)}


def _error_message(error: services.CardError) -> str:
    messages = {
        "empty": _("Write the note first."),
        "same": _("The card is already in this municipality."),
        "reason": _("Say why the card is forwarded."),
        "official": _("Choose an official of the card's municipality."),
        "no-number": _("The caller's number is unknown; a callback is impossible."),
        "hidden-number": _(
            "The caller withheld their number (the caller ID was hidden); a callback is impossible."
        ),
        "code": _("Unknown resolution code."),
        "text": _("Describe what was done."),
        "formal": _(
            "A formal reply without an outcome code is not accepted: choose a resolution code "
            "or describe concretely what was done."
        ),
        "kind": _("Choose whether the photo is before or after."),
        "type": _(
            "The photo does not open as an image: only JPEG, PNG or WebP photos are accepted."
        ),
        "size": _("The photo is too large."),
        "pixels": _(
            "The photo has too many pixels: at most %(megapixels)d megapixels are accepted.",
            megapixels=current_app.config["MAX_PHOTO_PIXELS"] // 1_000_000,
        ),
    }
    return messages.get(str(error), str(error))


def _state_message(error: StateError) -> str:
    """Say in the user's language why the card's or appeal's state refuses the action."""
    actions = {
        "acknowledge": _("take the card into work"),
        "note": _("add a note"),
        "photo": _("attach a photo"),
        "forward": _("forward the card"),
        "callback": _("call the citizen back"),
        "outcome": _("record the outcome"),
        "resolve": _("record the outcome"),
    }
    action = actions.get(error.action, error.action)
    if error.subject == "appeal":
        state = appeal_status_labels().get(error.state, error.state)
        return _("You cannot %(action)s: the appeal is «%(state)s».", action=action, state=state)
    state = card_state_labels().get(error.state, error.state)
    return _("You cannot %(action)s: the card is «%(state)s».", action=action, state=state)


def _refused(card, error: StateError):
    """Answer an action the card's state refuses: 409 and the card page saying why."""
    db.session.rollback()
    flash(_state_message(error), "error")
    return _render_card(card, status=409)


def _attempt(card, form, form_name: str, field, action):
    """Run a card action; return its result and None, or None and the page saying it was refused.

    A refusal by the card's state answers 409; a `CardError` re-renders the form with its
    message on `field`.
    """
    try:
        return action(), None
    except StateError as error:
        return None, _refused(card, error)
    except services.CardError as error:
        db.session.rollback()
        field.errors = [*field.errors, _error_message(error)]
        return None, _render_card(card, **{form_name: form})


def _load_card(card_id: int):
    card = services.get_visible_card(current_user, card_id)
    if card is None:
        abort(404)
    return card


@bp.get("/")
@roles_required(*CABINET_ROLES)
def cabinet():
    """List the cards the user may see, open ones first by deadline, with filters."""
    args = request.args
    municipality = None
    if args.get("municipality"):
        municipality = get_municipality(args["municipality"]) or abort(404)
        if not current_user.can_see_municipality(municipality.id):
            abort(403, _("Your account is limited to your own municipality."))
    category_id = parse_id(args.get("category"))
    if args.get("category") and category_id is None:
        abort(400, _("The category filter takes the number of a category."))
    period = args.get("period", "")
    overdue = {"1": True, "0": False}.get(args.get("overdue", ""))
    state = args.get("state") if args.get("state") in set(CardState) else None
    since = services.now() - PERIODS[period] if period in PERIODS else None
    cards = db.session.scalars(
        services.cards_query(
            current_user,
            municipality_id=municipality.id if municipality else None,
            state=state,
            category_id=category_id,
            since=since,
            overdue=overdue,
        ).limit(200)
    ).all()
    return render_template(
        "callbacks/cabinet.html",
        cards=cards,
        now=services.now(),
        poll_seconds=current_app.config.get("CABINET_POLL_SECONDS", CABINET_POLL_SECONDS),
        states=list(CardState),
        categories=db.session.scalars(db.select(Category).order_by(Category.position)).all(),
        municipalities=list_municipalities()
        if current_user.role not in ("official", "head")
        else [],
        chosen={
            "state": state or "",
            "category": category_id,
            "period": period,
            "overdue": args.get("overdue", ""),
            "municipality": municipality.code if municipality else "",
        },
    )


@bp.get("/cards/<int:card_id>")
@roles_required(*CABINET_ROLES)
def card(card_id: int):
    """Show a card: caller, duty, attempts, appeal, callbacks, photos and the full timeline."""
    card = _load_card(card_id)
    record_access("card", card.id, card.appeal.caller_number)
    return _render_card(card)


def _render_card(card, status: int | None = None, **forms):
    forward = forms.get("forward_form") or ForwardForm()
    forward.municipality.choices = [
        SelectChoice(place.code, place.name)
        for place in list_municipalities()
        if place.id != card.municipality_id
    ]
    callback = forms.get("callback_form") or CallbackForm()
    callback.official.choices = [
        SelectChoice(official.id, f"{official.full_name} ({official.phone})")
        for official in services.callable_officials(card)
    ]
    own = db.session.scalar(db.select(Official.id).where(Official.user_id == current_user.id))
    if own and not callback.official.data:
        callback.official.data = own
    timeline = services.card_timeline(card, current_user)
    tracking = db.session.get(AppealTracking, card.appeal_id)
    settled = card.appeal.status in (AppealStatus.RESOLVED, AppealStatus.CLOSED)
    outcome = tracking if settled and tracking and tracking.resolved_at else None
    return render_template(
        "callbacks/card.html",
        card=card,
        appeal=card.appeal,
        call=card.call,
        category=db.session.get(Category, card.appeal.category_id)
        if card.appeal.category_id
        else None,
        outcome=outcome,
        resolved_by=db.session.get(User, outcome.resolved_by_id)
        if outcome and outcome.resolved_by_id
        else None,
        timeline=timeline,
        timeline_sms=messages_of(timeline),
        retry_notices=[_retry_notice(a) for a in card.callbacks if a.waiting_for_retry],
        messages=services.card_messages(card),
        now=services.now(),
        note_form=forms.get("note_form") or NoteForm(),
        forward_form=forward,
        callback_form=callback,
        outcome_form=forms.get("outcome_form") or OutcomeForm(),
        photo_form=forms.get("photo_form") or PhotoForm(),
        resolution_labels=RESOLUTION_LABELS,
        card_allows=lambda action: allows("card", action, card.state),
    ), status or (400 if forms else 200)


@bp.post("/cards/<int:card_id>/acknowledge")
@roles_required(*CABINET_ROLES)
def acknowledge(card_id: int):
    """Take the card into work."""
    card = _load_card(card_id)
    if not EmptyForm().validate_on_submit():
        return redirect(url_for("callbacks.card", card_id=card.id))
    try:
        taken = services.acknowledge_card(card, current_user)
    except StateError as error:
        return _refused(card, error)
    if taken:
        db.session.commit()
        flash(_("The card is taken into work."), "info")
    return redirect(url_for("callbacks.card", card_id=card.id))


@bp.post("/cards/<int:card_id>/note")
@roles_required(*CABINET_ROLES)
def note(card_id: int):
    """Add a note to the card's timeline."""
    card = _load_card(card_id)
    form = NoteForm()
    if not form.validate_on_submit():
        return _render_card(card, note_form=form)
    try:
        services.add_card_note(card, form.text.data, current_user, restricted=form.restricted.data)
    except StateError as error:
        return _refused(card, error)
    db.session.commit()
    return redirect(url_for("callbacks.card", card_id=card.id))


@bp.post("/cards/<int:card_id>/forward")
@roles_required(*CABINET_ROLES)
def forward(card_id: int):
    """Forward a wrongly routed card to another municipality, with a reason."""
    card = _load_card(card_id)
    form = ForwardForm()
    form.municipality.choices = [SelectChoice(p.code, p.name) for p in list_municipalities()]
    if not form.validate_on_submit():
        return _render_card(card, forward_form=form)
    place = get_municipality(form.municipality.data) or abort(404)
    _result, refusal = _attempt(
        card,
        form,
        "forward_form",
        form.reason,
        lambda: services.forward_card(card, place, form.reason.data, current_user),
    )
    if refusal:
        return refusal
    db.session.commit()
    flash(_("The card is forwarded to %(name)s.", name=place.name), "info")
    if not current_user.can_see_municipality(place.id):
        return redirect(url_for("callbacks.cabinet"))
    return redirect(url_for("callbacks.card", card_id=card.id))


@bp.post("/cards/<int:card_id>/callback")
@roles_required(*CABINET_ROLES)
def callback(card_id: int):
    """Ring the official's phone; on their key the citizen is dialled (click-to-call)."""
    card = _load_card(card_id)
    form = CallbackForm()
    form.official.choices = [
        SelectChoice(o.id, o.full_name) for o in services.callable_officials(card)
    ]
    if not form.validate_on_submit():
        return _render_card(card, callback_form=form)
    official = db.session.get(Official, form.official.data)
    placed, refusal = _attempt(
        card,
        form,
        "callback_form",
        form.official,
        lambda: services.place_callback(card, official, current_user),
    )
    if refusal:
        return refusal
    attempt, carrier_error = placed
    db.session.commit()
    if carrier_error is None:
        flash(_("Your phone is ringing: press 1 to call the citizen."), "info")
    else:
        flash(_retry_notice(attempt) or _not_taken(attempt.last_error), "error")
    return redirect(url_for("callbacks.card", card_id=card.id))


def _not_taken(reason: str) -> str:
    return _("The carrier did not take the call: %(reason)s.", reason=reason)


def _retry_notice(attempt) -> str | None:
    """Say when a callback the carrier did not take is tried again; None when it is not."""
    if not attempt.waiting_for_retry:
        return None
    return (
        _not_taken(attempt.last_error)
        + " "
        + _(
            "We will try again at %(time)s (try %(next)d of %(tries)d).",
            time=local_time(attempt.retry_at, attempt.card.municipality.timezone, "HH:mm:ss"),
            next=attempt.tries + 1,
            tries=CALL_MAX_TRIES,
        )
    )


@bp.post("/cards/<int:card_id>/outcome")
@roles_required(*CABINET_ROLES)
def outcome(card_id: int):
    """Record what was done with a resolution code; the citizen is then asked to confirm."""
    card = _load_card(card_id)
    form = OutcomeForm()
    if not form.validate_on_submit():
        return _render_card(card, outcome_form=form)
    _result, refusal = _attempt(
        card,
        form,
        "outcome_form",
        form.text,
        lambda: services.record_outcome(card, form.code.data or None, form.text.data, current_user),
    )
    if refusal:
        return refusal
    db.session.commit()
    flash(_("The outcome is recorded; the citizen will be asked to confirm."), "info")
    return redirect(url_for("callbacks.card", card_id=card.id))


@bp.post("/cards/<int:card_id>/photos")
@roles_required(*CABINET_ROLES)
def upload_photo(card_id: int):
    """Attach a before/after photo (JPEG, PNG or WebP, size-limited)."""
    card = _load_card(card_id)
    form = PhotoForm()
    if not form.validate_on_submit():
        return _render_card(card, photo_form=form)
    _result, refusal = _attempt(
        card,
        form,
        "photo_form",
        form.photo,
        lambda: services.save_photo(card, form.kind.data, form.photo.data.read(), current_user),
    )
    if refusal:
        return refusal
    db.session.commit()
    return redirect(url_for("callbacks.card", card_id=card.id))


@bp.get("/photos/<int:photo_id>")
@roles_required(*CABINET_ROLES)
def photo(photo_id: int):
    """Serve a card's photo to users who may see the card."""
    item = db.session.get(CardPhoto, photo_id) or abort(404)
    card = _load_card(item.card_id)
    record_access("photo", item.id, card.appeal.caller_number, {"card": card.id})
    return send_file(services.photo_path(item), mimetype=item.content_type, max_age=0)


@bp.get("/cards/<int:card_id>/recording")
@roles_required(*CABINET_ROLES)
def recording(card_id: int):
    """Play the caller's voice message to users who may see the card, with seeking."""
    card = _load_card(card_id)
    record_access("recording", card.id, card.appeal.caller_number, {"card": card.id})
    return recording_audio(card.appeal.recording_url)


@bp.app_template_filter("municipality_name")
def municipality_name(municipality_id: int) -> str:
    """Return a municipality's name for templates."""
    place = db.session.get(Municipality, municipality_id)
    return place.name if place else str(municipality_id)
