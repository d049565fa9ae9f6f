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
from werkzeug.exceptions import HTTPException

from core.api import HTTP_ERROR_CODES, http_error_response, is_api_request
from core.auth import EmptyForm
from core.nav import visible_nav
from core.sessions import signed_in_user
from core.urls import public_url

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


def _error_page(error: HTTPException, title: str, description: str | None):
    """Answer an HTTP error: the API's error format under /api/v1, a page elsewhere."""
    if is_api_request():
        return http_error_response(error)
    status = error.code
    if request.accept_mimetypes.best == "application/json":
        code = HTTP_ERROR_CODES.get(status, "error")
        body = {"error": {"code": code, "message": description or title, "field": None}}
        return jsonify(body), status
    return render_template(
        "errors/error.html", status=status, title=title, description=description
    ), status


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
    app.jinja_env.globals["public_url"] = public_url  # absolute links on pages, never from Host

    @app.context_processor
    def inject_layout():
        return {"nav_items": visible_nav(app), "button_form": EmptyForm()}

    @app.errorhandler(CSRFError)
    def csrf_error(error):
        return _error_page(
            error,
            _("The form has expired"),
            _("The page was open too long or was sent from elsewhere. Reload it and try again."),
        )

    @app.errorhandler(400)
    def bad_request(error):
        return _error_page(error, _("Bad request"), error.description)

    @app.errorhandler(403)
    def forbidden(error):
        return _error_page(error, _("Access denied"), error.description)

    @app.errorhandler(404)
    def not_found(error):
        return _error_page(error, _("Not found"), _("There is no such page or record."))

    @app.errorhandler(429)
    def too_many(error):
        return _error_page(
            error, _("Too many attempts"), _("Too many attempts from your address. Wait a minute.")
        )

    @app.errorhandler(HTTPException)
    def other_http_error(error):
        """Under /api/v1 answer a wrong method or any other HTTP error in the API's format."""
        return http_error_response(error) if is_api_request() else error

    @app.errorhandler(500)
    def server_error(error):
        """Under /api/v1 answer a failure in the API's format, with nothing of its cause."""
        return http_error_response(error) if is_api_request() else error

    @app.after_request
    def no_cache_for_users(response):
        if signed_in_user() is not None:
            response.headers.setdefault("Cache-Control", "no-store")
        return response
