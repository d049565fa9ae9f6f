"""Login, logout, language choice and the role checks every page uses."""

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
from core.i18n import LANGUAGES
from core.models import User, password_matches
from core.parsing import parse_id

bp = Blueprint("auth", __name__)


class LoginForm(FlaskForm):
    username = StringField(_l("User name"), validators=[DataRequired(), Length(max=64)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=200)])


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
        user = db.session.scalar(db.select(User).where(User.username == form.username.data))
        if not password_matches(user, form.password.data):
            record_event(
                "login",
                form.username.data[:64],
                "login.failed",
                {"ip": request.remote_addr},
                actor_label="anonymous",
            )
            db.session.commit()
            form.password.errors.append(_("Wrong user name or password."))
        else:
            login_user(user)
            user.last_login_at = utcnow()
            record_event(
                "user", user.id, "login.succeeded", {"ip": request.remote_addr}, actor=user
            )
            db.session.commit()
            return redirect(_safe_next(request.args.get("next")))
    return render_template("core/login.html", form=form)


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
