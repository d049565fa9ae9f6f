"""The administrator's pages: users, their access, passwords and API tokens."""

from datetime import UTC, datetime, time, timedelta

from flask import Blueprint, Flask, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import IntegerField, PasswordField, StringField
from wtforms.validators import EqualTo, InputRequired, Length, NumberRange, StopValidation

from core.auth import EmptyForm, roles_required, user_role_label
from core.contacts import NOTICE_KINDS, chosen_channels, parse_quiet_time, set_contacts
from core.downloads import attachment, csv_attachment
from core.extensions import db
from core.journal import EXPORT_HEADERS, export_rows, journal_query, parse_person, record_access
from core.logins import unlock_account
from core.models import ApiToken, User
from core.nav import add_nav_item
from core.parsing import parse_day, parse_id
from core.second_factor import reset_second_factor
from core.spreadsheets import csv_text, xlsx_bytes
from core.users import (
    PASSWORD_MIN_LENGTH,
    TOKEN_LABEL_LENGTH,
    TOKEN_LIFETIME_DAYS,
    TOKEN_MAX_DAYS,
    UserError,
    change_password,
    create_token,
    deactivate_user,
    list_users,
    live_token_counts,
    municipality_names,
    reactivate_user,
    revoke_token,
    tokens_of,
)

bp = Blueprint("admin", __name__, url_prefix="/admin")


class PasswordForm(FlaskForm):
    password = PasswordField(
        _l("New password"),
        validators=[
            InputRequired(),
            Length(
                min=PASSWORD_MIN_LENGTH,
                max=200,
                message=_l("From %(min)d to 200 characters.", min=PASSWORD_MIN_LENGTH),
            ),
        ],
    )
    confirm = PasswordField(
        _l("The password again"),
        validators=[EqualTo("password", message=_l("The two passwords differ."))],
    )


class ContactsForm(FlaskForm):
    phone = StringField(_l("Mobile phone"), validators=[Length(max=40)])
    email = StringField(_l("E-mail"), validators=[Length(max=254)])
    quiet_from = StringField(_l("Quiet hours from"), validators=[InputRequired()])
    quiet_until = StringField(_l("until"), validators=[InputRequired()])


#: How the admin page names each kind of notice and channel.
NOTICE_KIND_LABELS = {
    "new_card": _l("New card"),
    "reminder": _l("Reminder"),
    "escalation": _l("Escalation"),
    "overdue": _l("Overdue card"),
    "digest": _l("Morning digest"),
    "weekly_report": _l("Weekly report"),
}
CHANNEL_LABELS = {"sms": _l("SMS"), "email": _l("E-mail")}


class DaysField(IntegerField):
    """A whole number of days; text that is not one gets a single message, not the range's too."""

    def process_formdata(self, valuelist):
        if valuelist and not valuelist[0].strip():
            self.data = None  # left empty: InputRequired names it
            return
        super().process_formdata(valuelist)

    def pre_validate(self, form):
        if self.process_errors:
            raise StopValidation()


class TokenForm(FlaskForm):
    name = StringField(_l("What the token is for"), validators=[Length(max=TOKEN_LABEL_LENGTH)])
    days = DaysField(
        _l("Valid for, days"),
        default=TOKEN_LIFETIME_DAYS,
        invalid_value_message=_l("Give the number of days as a whole number."),
        validators=[
            InputRequired(message=_l("Give the number of days.")),
            NumberRange(
                min=1,
                max=TOKEN_MAX_DAYS,
                message=_l("From 1 to %(max)d days.", max=TOKEN_MAX_DAYS),
            ),
        ],
    )


def token_state_label(token: ApiToken) -> str:
    """Return whether the API accepts the token, in words."""
    return {"live": _("valid"), "expired": _("expired"), "revoked": _("revoked")}[token.state]


@bp.get("/users")
@roles_required("admin")
def users():
    """List every user with their role, municipality, access and live tokens."""
    return render_template(
        "core/admin_users.html",
        users=list_users(),
        tokens=live_token_counts(),
        places=municipality_names(),
        role_label=user_role_label,
    )


@bp.get("/users/<int:user_id>")
@roles_required("admin")
def user(user_id: int):
    """Show one user's access: deactivation, password and API tokens."""
    return _user_page(_user(user_id))


@bp.post("/users/<int:user_id>/deactivate")
@roles_required("admin")
def deactivate(user_id: int):
    """Stop a user signing in or using their tokens; their sessions end at once."""
    target = _user(user_id)
    _check_button()
    try:
        deactivate_user(target, actor=current_user)
    except UserError:
        db.session.rollback()
        flash(_("You cannot deactivate your own account."), "error")
    else:
        db.session.commit()
        flash(
            _("%(name)s is deactivated: sessions ended, tokens refused.", name=_name(target)),
            "info",
        )
    return redirect(url_for("admin.user", user_id=target.id))


@bp.post("/users/<int:user_id>/reactivate")
@roles_required("admin")
def reactivate(user_id: int):
    """Let a deactivated user sign in and use their tokens again."""
    target = _user(user_id)
    _check_button()
    reactivate_user(target, actor=current_user)
    db.session.commit()
    flash(_("%(name)s can sign in again.", name=_name(target)), "info")
    return redirect(url_for("admin.user", user_id=target.id))


@bp.post("/users/<int:user_id>/totp-reset")
@roles_required("admin")
def reset_totp(user_id: int):
    """Forget a user's second factor and unlock the account; they set up a new one."""
    target = _user(user_id)
    _check_button()
    reset_second_factor(target, actor=current_user)
    unlock_account(target)
    db.session.commit()
    flash(
        _(
            "The second factor of %(name)s is reset: a new one is set up at sign-in.",
            name=_name(target),
        ),
        "info",
    )
    return redirect(url_for("admin.user", user_id=target.id))


@bp.post("/users/<int:user_id>/password")
@roles_required("admin")
def set_password(user_id: int):
    """Give a user a new password; every session they have ends."""
    target = _user(user_id)
    form = PasswordForm()
    if form.validate_on_submit():
        try:
            change_password(target, form.password.data, actor=current_user)
        except UserError as error:
            db.session.rollback()
            form.password.errors.append(_password_message(error))
        else:
            db.session.commit()
            flash(_("The password of %(name)s is changed.", name=_name(target)), "info")
            return redirect(url_for("admin.user", user_id=target.id))
    return _user_page(target, password_form=form)


@bp.post("/users/<int:user_id>/contacts")
@roles_required("admin")
def set_user_contacts(user_id: int):
    """Set a user's phone, e-mail, channels per kind of notice and quiet hours."""
    target = _user(user_id)
    form = ContactsForm()
    if form.validate_on_submit():
        channels = {kind: request.form.getlist(f"notice-{kind}") for kind in NOTICE_KINDS}
        try:
            set_contacts(
                target,
                phone=form.phone.data or "",
                email=form.email.data or "",
                channels=channels,
                quiet_from=parse_quiet_time(form.quiet_from.data, "quiet_from"),
                quiet_until=parse_quiet_time(form.quiet_until.data, "quiet_until"),
                actor=current_user,
            )
        except UserError as error:
            db.session.rollback()
            getattr(form, error.field, form.phone).errors.append(_contact_error(error))
        else:
            db.session.commit()
            flash(_("The contacts of %(name)s are saved.", name=_name(target)), "info")
            return redirect(url_for("admin.user", user_id=target.id))
    return _user_page(target, contacts_form=form), 400


def _contact_error(error: UserError) -> str:
    """Return the Russian message of a refused contact."""
    return {
        "invalid_phone": _("Not a phone number; write it as +7 916 123-45-67."),
        "invalid_email": _("Not an e-mail address."),
        "invalid_time": _("Write the time as HH:MM."),
    }.get(error.code, error.message)


@bp.post("/users/<int:user_id>/tokens")
@roles_required("admin")
def issue(user_id: int):
    """Issue an API token to a user and show its secret this once."""
    target = _user(user_id)
    form = TokenForm()
    if form.validate_on_submit():
        row, secret = create_token(
            target, form.days.data, (form.name.data or "").strip(), actor=current_user
        )
        db.session.commit()
        flash(_("The token is issued. Copy it now: it is not shown again."), "info")
        return _user_page(target, issued=(row, secret))
    return _user_page(target, token_form=form)


@bp.post("/tokens/<int:token_id>/revoke")
@roles_required("admin")
def revoke(token_id: int):
    """Refuse an API token from now on."""
    row = db.session.get(ApiToken, token_id)
    if row is None:
        abort(404)
    _check_button()
    revoke_token(row.id, actor=current_user)
    db.session.commit()
    flash(_("The token %(id)s is revoked.", id=row.id), "info")
    return redirect(url_for("admin.user", user_id=row.user_id))


JOURNAL_PAGE = 100
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _journal_filters() -> tuple[dict, list[str]]:
    """Return the journal page's filters from the query string, and what was wrong in them."""
    args, errors = request.args, []
    filters = {"username": args.get("user", "").strip()[:64], "phone": None}
    try:
        filters["phone"] = parse_person(args.get("phone"))
    except UserError:
        errors.append(_("The phone number is not one."))
    for name, shift in (("since", 0), ("until", 1)):
        filters[name] = None
        if args.get(name, "").strip():
            try:
                day = parse_day(args[name])
            except ValueError:
                errors.append(_("Give the date as YYYY-MM-DD."))
                continue
            filters[name] = datetime.combine(day + timedelta(days=shift), time.min, tzinfo=UTC)
    return filters, errors


@bp.get("/journal")
@roles_required("admin")
def journal():
    """Show who saw or downloaded citizens' personal data, by user, phone and period; export."""
    filters, errors = _journal_filters()
    fmt = request.args.get("format")
    if fmt in ("csv", "xlsx") and not errors:
        entries = db.session.scalars(journal_query(**filters)).all()
        chosen = {key: request.args.get(key, "") for key in ("user", "phone", "since", "until")}
        record_access("export", "access-journal", None, {"format": fmt, "filter": chosen})
        rows = export_rows(entries)
        if fmt == "csv":
            return csv_attachment(csv_text(EXPORT_HEADERS, rows), "access-journal.csv")
        body = xlsx_bytes([("access journal", EXPORT_HEADERS, rows)])
        return attachment(body, "access-journal.xlsx", XLSX)
    before = parse_id(request.args.get("before"))
    entries = []
    if not errors:
        query = journal_query(**filters, before_id=before).limit(JOURNAL_PAGE + 1)
        entries = db.session.scalars(query).all()
    older = entries[JOURNAL_PAGE - 1].id if len(entries) > JOURNAL_PAGE else None
    return render_template(
        "core/admin_journal.html",
        entries=entries[:JOURNAL_PAGE],
        older=older,
        errors=errors,
        args={key: value for key, value in request.args.items() if key not in ("before", "format")},
        role_label=user_role_label,
        places=municipality_names(),
    ), (400 if errors else 200)


def _password_message(error: UserError) -> str:
    if error.code == "password_common":
        return _("This password is too common, or is the user name: choose another.")
    return error.message


def _user(user_id: int) -> User:
    target = db.session.get(User, user_id)
    if target is None:
        abort(404)
    return target


def _name(target: User) -> str:
    return target.full_name or target.username


def _check_button() -> None:
    if not EmptyForm().validate_on_submit():
        abort(400, _("The form has expired. Reload the page and try again."))


def _user_page(target: User, password_form=None, token_form=None, issued=None, contacts_form=None):
    if contacts_form is None:
        contacts_form = ContactsForm(
            formdata=None,
            phone=target.phone or "",
            email=target.email or "",
            quiet_from=f"{target.quiet_from:%H:%M}",
            quiet_until=f"{target.quiet_until:%H:%M}",
        )
    return render_template(
        "core/admin_user.html",
        target=target,
        place=municipality_names().get(target.municipality_id),
        role_label=user_role_label,
        tokens=tokens_of(target),
        token_state_label=token_state_label,
        password_form=password_form or PasswordForm(formdata=None),
        token_form=token_form or TokenForm(formdata=None),
        issued=issued,
        contacts_form=contacts_form,
        notice_kinds=NOTICE_KIND_LABELS,
        channel_labels=CHANNEL_LABELS,
        chosen={kind: chosen_channels(target, kind) for kind in NOTICE_KINDS},
        form=EmptyForm(),
    )


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
    add_nav_item(app, "admin.users", _l("Users"), {"admin"}, order=60)
    add_nav_item(app, "mail.outbox", _l("E-mail"), {"admin"}, order=65)
    add_nav_item(app, "admin.journal", _l("Access journal"), {"admin"}, order=66)
