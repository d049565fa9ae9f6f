"""Card photos are decoded and stored as a fresh copy: no metadata, nothing after the image."""

import io
from dataclasses import dataclass

from PIL import Image, ImageOps, UnidentifiedImageError

#: The formats a photo may come in, by Pillow's name: (content type, file extension).
PHOTO_FORMATS = {
    "JPEG": ("image/jpeg", "jpg"),
    "PNG": ("image/png", "png"),
    "WEBP": ("image/webp", "webp"),
}
#: Modes each format is written in; any other mode is converted to the first one.
_MODES = {"JPEG": ("RGB", "L"), "PNG": ("RGB", "RGBA", "L", "LA", "P"), "WEBP": ("RGB", "RGBA")}


class PhotoRefused(Exception):
    """An upload is not a photo the app stores; the message is `type` or `pixels`."""


@dataclass(frozen=True)
class CleanPhoto:
    """A re-encoded photo: its bytes, content type and file extension."""

    data: bytes
    content_type: str
    extension: str


def reencode_photo(data: bytes, max_pixels: int) -> CleanPhoto:
    """Decode an uploaded JPEG, PNG or WebP and return a re-encoded copy without its metadata."""
    try:
        # Opening reads only the header: the pixel count is checked before anything is decoded.
        with Image.open(io.BytesIO(data), formats=list(PHOTO_FORMATS)) as image:
            if image.width * image.height > max_pixels:
                raise PhotoRefused("pixels")
            image.load()
            source_format = image.format
            upright = ImageOps.exif_transpose(image)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
        raise PhotoRefused("pixels") from error
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError) as error:
        raise PhotoRefused("type") from error
    modes = _MODES[source_format]
    if upright.mode not in modes:
        upright = upright.convert("RGBA" if "A" in upright.mode and "RGBA" in modes else modes[0])
    clean = Image.new(upright.mode, upright.size)
    clean.paste(upright)
    if upright.mode == "P":
        clean.putpalette(upright.getpalette())
        if "transparency" in upright.info:
            clean.info["transparency"] = upright.info["transparency"]
    out = io.BytesIO()
    options = {"quality": 90} if source_format in ("JPEG", "WEBP") else {}
    clean.save(out, format=source_format, **options)
    content_type, extension = PHOTO_FORMATS[source_format]
    return CleanPhoto(out.getvalue(), content_type, extension)
