"""Login, logout, language choice and the role checks every page uses."""

import math
from functools import wraps
from urllib.parse import unquote, urlsplit

from flask import (
    Blueprint,
    Flask,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required, login_user, logout_user
from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, Length

from core.clock import utcnow
from core.events import record_event
from core.extensions import db, limiter, login_manager
from core.i18n import LANGUAGES, local_time
from core.logins import (
    account_or_stand_in,
    blocked_until,
    is_locked,
    note_failed_login,
    note_successful_login,
    save_stand_in,
)
from core.models import User, password_matches
from core.parsing import parse_id
from core.second_factor import (
    code_matches,
    enable_second_factor,
    new_totp_secret,
    second_factor_required,
    totp_qr_svg,
)
from core.sessions import LAST_SEEN

bp = Blueprint("auth", __name__)


class LoginForm(FlaskForm):
    username = StringField(_l("User name"), validators=[DataRequired(), Length(max=64)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=200)])


class CodeForm(FlaskForm):
    code = StringField(_l("Code from the app"), validators=[DataRequired(), Length(max=10)])


class EmptyForm(FlaskForm):
    """A form with only the CSRF token, for POST buttons."""


def roles_required(*roles: str):
    """Let only users with one of the roles in; others get a 403 that names the roles."""

    def decorator(view):
        @wraps(view)
        @login_required
        def wrapped(*args, **kwargs):
            if current_user.role not in roles:
                abort(
                    403,
                    _(
                        "This page is for: %(roles)s. Your role is %(role)s.",
                        roles=", ".join(user_role_label(r) for r in roles),
                        role=user_role_label(current_user.role),
                    ),
                )
            return view(*args, **kwargs)

        return wrapped

    return decorator


def user_role_label(role: str) -> str:
    """Return the translated name of a user role."""
    labels = {
        "operator": _("operator"),
        "official": _("duty official"),
        "head": _("head of municipality"),
        "manager": _("regional manager"),
        "admin": _("administrator"),
    }
    return labels.get(role, role)


def require_municipality_access(municipality) -> None:
    """Abort with 403 unless the current user may see this municipality."""
    if not current_user.can_see_municipality(municipality.id):
        abort(
            403,
            _(
                "Your account is limited to your own municipality; %(name)s is not yours.",
                name=municipality.name,
            ),
        )


def _login_rate_limit() -> str:
    return current_app.config["LOGIN_RATE_LIMIT"]


def _account_rate_limit() -> str:
    return current_app.config["LOGIN_ACCOUNT_RATE_LIMIT"]


def _login_account() -> str:
    """Key the per-account limit by the user name tried, whatever the address."""
    return "login-account:" + (request.form.get("username") or "").strip().lower()[:64]


def _login_failed(response) -> bool:
    """Only a failed attempt counts against a limit: a signed-in user is redirected."""
    return response.status_code != 302


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(_login_rate_limit, methods=["POST"], deduct_when=_login_failed)
@limiter.limit(
    _account_rate_limit, key_func=_login_account, methods=["POST"], deduct_when=_login_failed
)
def login():
    """Show the login form and sign the user in."""
    if current_user.is_authenticated:
        return redirect(url_for("core.home"))
    form = LoginForm()
    if form.validate_on_submit():
        found = db.session.scalar(db.select(User).where(User.username == form.username.data))
        user = account_or_stand_in(form.username.data, found)
        if blocked_until(user) is not None:
            note_failed_login(user)  # a try while the account waits counts as a failure too
            _record_failure(form.username.data, "login.refused")
            form.password.errors.append(_wait_message(user))
        elif not password_matches(found, form.password.data):
            note_failed_login(user)
            _record_failure(form.username.data, "login.failed")
            form.password.errors.append(_("Wrong user name or password."))
            if is_locked(user):
                form.password.errors.append(_wait_message(user))
        elif second_factor_required(user):
            session[PENDING_LOGIN] = {"user": user.get_id(), "next": request.args.get("next")}
            db.session.commit()
            return redirect(url_for("auth.second_factor"))
        else:
            return _sign_in(user, request.args.get("next"))
        if found is None:
            save_stand_in(user)
        db.session.commit()
    return render_template("core/login.html", form=form)


#: The session key of a sign-in whose password was right and whose code is still awaited.
PENDING_LOGIN = "pending_login"
#: The session key of a second factor's secret shown to the user but not yet confirmed.
PENDING_SECRET = "pending_totp_secret"


def _record_failure(username: str, verb: str) -> None:
    record_event("login", username[:64], verb, {"ip": request.remote_addr}, actor_label="anonymous")


def _wait_message(user: User) -> str:
    """Say how long the account waits: seconds of a delay, or the end of a lock."""
    until = blocked_until(user)
    if until is None:
        return _("Try again.")
    if is_locked(user):
        return _(
            "Too many failed sign-ins: the account is locked until %(time)s. "
            "Ask the administrator if you need it sooner.",
            time=local_time(until, fmt="HH:mm"),
        )
    seconds = max(1, math.ceil((until - utcnow()).total_seconds()))
    return _("Too many failed sign-ins: wait %(seconds)d s and try again.", seconds=seconds)


def _sign_in(user: User, target: str | None):
    """Open the session of a user who has proved who they are."""
    session.pop(PENDING_LOGIN, None)
    session.pop(PENDING_SECRET, None)
    note_successful_login(user)
    login_user(user)
    session[LAST_SEEN] = int(utcnow().timestamp())
    user.last_login_at = utcnow()
    record_event("user", user.id, "login.succeeded", {"ip": request.remote_addr}, actor=user)
    db.session.commit()
    return redirect(_safe_next(target))


def _pending_user() -> User | None:
    pending = session.get(PENDING_LOGIN) or {}
    return load_user(str(pending.get("user", "")))


@bp.route("/login/code", methods=["GET", "POST"])
@limiter.limit(_login_rate_limit, methods=["POST"], deduct_when=_login_failed)
def second_factor():
    """Ask for the code of the second factor, setting it up with a QR code the first time."""
    user = _pending_user()
    if user is None or not user.active:
        return redirect(url_for("auth.login"))
    secret = user.totp_secret
    setting_up = not secret
    if setting_up:
        secret = session.setdefault(PENDING_SECRET, new_totp_secret())
    form = CodeForm()
    if form.validate_on_submit():
        if blocked_until(user) is not None:
            note_failed_login(user)
            form.code.errors.append(_wait_message(user))
        elif code_matches(secret, form.code.data):
            if setting_up:
                enable_second_factor(user, secret)
            return _sign_in(user, (session.get(PENDING_LOGIN) or {}).get("next"))
        else:
            note_failed_login(user)
            _record_failure(user.username, "login.code-failed")
            form.code.errors.append(_("The code is wrong or has expired."))
        db.session.commit()
    qr = totp_qr_svg(user, secret) if setting_up else None
    return render_template(
        "core/login_code.html", form=form, qr=qr, secret=secret if setting_up else None
    )


def safe_next(value: str | None) -> str | None:
    """Return `value` if it is a path on this site, else None."""
    if not value or not value.startswith("/") or value.startswith("//"):
        return None
    if "\\" in value or any(ord(c) < 32 or ord(c) == 127 for c in value):
        return None
    normalised = unquote(value)
    if "\\" in normalised or any(ord(c) < 32 or ord(c) == 127 for c in normalised):
        return None
    for candidate in (value, normalised):
        parts = urlsplit(candidate)
        if parts.scheme or parts.netloc or not parts.path.startswith("/"):
            return None
        if parts.path.startswith("//"):
            return None
    return value


def _safe_next(target: str | None) -> str:
    return safe_next(target) or url_for("core.home")


@bp.post("/logout")
@login_required
def logout():
    """Sign the user out."""
    if EmptyForm().validate_on_submit():
        record_event("user", current_user.id, "logout")
        current_user.end_sessions()  # a copy of the cookie stops working too
        db.session.commit()
        logout_user()
        flash(_("You have signed out."), "info")
    return redirect(url_for("auth.login"))


@bp.post("/language/<code>")
def set_language(code: str):
    """Switch the interface language."""
    if code not in LANGUAGES or not EmptyForm().validate_on_submit():
        abort(400, _("Unknown language."))
    session["locale"] = code
    if current_user.is_authenticated:
        current_user.locale = code
        db.session.commit()
    return redirect(_safe_next(request.form.get("next")))


@login_manager.user_loader
def load_user(user_id: str) -> User | None:
    """Return the session's user while the session's version is still the user's current one."""
    user_part, _, version = user_id.partition(".")
    user_key = parse_id(user_part)
    if user_key is None or not (version.isascii() and version.isdigit()):
        return None  # a cookie from before session versions
    user = db.session.get(User, user_key)
    if user is None or user.session_version != int(version):
        return None
    return user


def init_app(app: Flask) -> None:
    login_manager.login_view = "auth.login"
    login_manager.login_message = _l("Please sign in to open this page.")
    login_manager.login_message_category = "info"
    app.register_blueprint(bp)
