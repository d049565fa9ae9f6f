"""Files handed out for download: CSV that spreadsheets open, recordings, and any other body."""

import logging

from flask import Response, abort
from flask_babel import gettext as _

log = logging.getLogger(__name__)


def attachment(body: str | bytes, filename: str, mimetype: str) -> Response:
    """Answer with a body the browser saves under this file name."""
    return Response(
        body,
        mimetype=mimetype,
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


def csv_attachment(text: str, filename: str) -> Response:
    """Answer with CSV in UTF-8 with a byte order mark, so spreadsheets read Cyrillic."""
    return attachment("\ufeff" + text, filename, "text/csv")


def recording_audio(recording_url: str | None) -> Response:
    """Answer with a voice recording from the carrier (404 when there is none any more).

    A carrier that cannot be reached is a 502 with a plain message, never a 500.
    """
    from core.telephony import CarrierError, RecordingGone, get_gateway

    if not recording_url:
        abort(404)
    try:
        return get_gateway().recording_response(recording_url)
    except RecordingGone:
        abort(404)
    except CarrierError as error:
        log.warning("recording %s not served: %s", recording_url, error)
        return Response(
            _("The telephone network did not give the recording: try again later.") + "\n",
            502,
            mimetype="text/plain",
        )
