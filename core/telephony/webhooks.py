"""What every webhook view needs: a TwiML answer, and the carrier's numeric form fields."""

from flask import Response, request

from core.parsing import parse_int


def twiml_response(document: str) -> Response:
    """Answer the carrier with a TwiML document."""
    return Response(document, mimetype="text/xml")


#: `AnsweredBy` values of answering-machine detection that mean no person picked up.
MACHINE_ANSWERS = (
    "machine_start",
    "machine_end_beep",
    "machine_end_silence",
    "machine_end_other",
    "fax",
)


def answered_by_machine() -> bool:
    """Whether the carrier's answering-machine detection says a machine or fax answered."""
    return request.form.get("AnsweredBy", "") in MACHINE_ANSWERS


def form_int(name: str) -> int | None:
    """Return a numeric form field the carrier posted (DialCallDuration…).

    None when it is absent, not ASCII digits or beyond an INTEGER column: the webhook then goes
    on as if the carrier had not sent it.
    """
    return parse_int(request.form.get(name))
