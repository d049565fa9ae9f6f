"""Files handed out for download: CSV that spreadsheets open, and any other body."""

from flask import Response


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
