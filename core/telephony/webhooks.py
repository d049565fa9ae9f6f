"""What every webhook view needs: a TwiML answer, and the carrier's numeric form fields."""

from flask import Response, request


def twiml_response(document: str) -> Response:
    """Answer the carrier with a TwiML document."""
    return Response(document, mimetype="text/xml")


def form_int(name: str) -> int | None:
    """Return a numeric form field the carrier posted (DialCallDuration…), None when absent."""
    value = request.form.get(name, "")
    return int(value) if value.isdigit() else None
