"""The home page, error pages and what every template needs."""

from flask import (
    Blueprint,
    Flask,
    current_app,
    jsonify,
    render_template,
    request,
    send_from_directory,
)
from flask_babel import gettext as _
from flask_login import login_required
from flask_wtf.csrf import CSRFError

from core.auth import EmptyForm
from core.nav import visible_nav
from core.sessions import signed_in_user

bp = Blueprint("core", __name__)


@bp.get("/")
@login_required
def home():
    """Show the start page with the sections the user's role opens."""
    return render_template("core/home.html", sections=visible_nav(current_app))


@bp.get("/favicon.ico")
def favicon():
    """Answer the browser's default icon request with the site's SVG icon."""
    return send_from_directory(
        current_app.static_folder, "favicon.svg", mimetype="image/svg+xml", max_age=86400
    )


def _wants_json() -> bool:
    return request.path.startswith("/api/") or request.accept_mimetypes.best == "application/json"


def _error_page(status: int, title: str, description: str | None):
    if _wants_json():
        body = {"error": {"code": title, "message": description or title, "field": None}}
        return jsonify(body), status
    return render_template(
        "errors/error.html", status=status, title=title, description=description
    ), status


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)

    @app.context_processor
    def inject_layout():
        return {"nav_items": visible_nav(app), "button_form": EmptyForm()}

    @app.errorhandler(CSRFError)
    def csrf_error(error):
        return _error_page(
            400,
            _("The form has expired"),
            _("The page was open too long or was sent from elsewhere. Reload it and try again."),
        )

    @app.errorhandler(400)
    def bad_request(error):
        return _error_page(400, _("Bad request"), error.description)

    @app.errorhandler(403)
    def forbidden(error):
        return _error_page(403, _("Access denied"), error.description)

    @app.errorhandler(404)
    def not_found(error):
        return _error_page(404, _("Not found"), _("There is no such page or record."))

    @app.errorhandler(429)
    def too_many(error):
        return _error_page(
            429, _("Too many attempts"), _("Too many attempts from your address. Wait a minute.")
        )

    @app.after_request
    def no_cache_for_users(response):
        if signed_in_user() is not None:
            response.headers.setdefault("Cache-Control", "no-store")
        return response
