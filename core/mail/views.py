"""The admin's view of the e-mail outbox: what was sent, kept (development) or failed, and why."""

from flask import Blueprint, abort, render_template
from sqlalchemy import select

from core.auth import roles_required
from core.extensions import db
from core.mail.models import OutboundEmail

bp = Blueprint("mail", __name__, url_prefix="/admin/mail")

#: Messages the list shows, newest first.
LIST_SIZE = 200


@bp.get("/")
@roles_required("admin")
def outbox():
    """List the newest e-mails with their state and last error."""
    emails = db.session.scalars(
        select(OutboundEmail).order_by(OutboundEmail.id.desc()).limit(LIST_SIZE)
    ).all()
    return render_template("core/mail_outbox.html", emails=emails)


@bp.get("/<int:email_id>")
@roles_required("admin")
def message(email_id: int):
    """Show one e-mail as it was written: subject, recipient, text, HTML and attachment."""
    email = db.session.get(OutboundEmail, email_id)
    if email is None:
        abort(404)
    return render_template("core/mail_message.html", email=email)
