"""Safe decoding of untrusted image files into small, clean pictures for display.

Every file a reviewer opens was uploaded by someone else and may be broken or hostile. This
module identifies a file by its content alone, checks its declared size (every frame's, for
an animation) before decoding a single pixel, decodes only what the viewer needs (first
frame, scaled down, orientation applied, metadata dropped) and turns every failure into a
`MediaError` with a reason a reviewer understands. `SafeDecoder` does the same in a separate
worker process with a time limit and a memory limit, for files that must not be able to
hang or exhaust the app.
"""

from __future__ import annotations

import hashlib
import io
import multiprocessing
import os
import signal
import struct
import sys
import threading
import time
import warnings
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import IO, Any

from PIL import (
    BmpImagePlugin,
    ExifTags,
    GifImagePlugin,
    Image,
    ImageFile,
    JpegImagePlugin,
    PngImagePlugin,
    TiffImagePlugin,
    WebPImagePlugin,
)

from reviewer.media.errors import (
    CorruptFile,
    DecodeMemoryExceeded,
    DecoderClosed,
    DecodeTimeout,
    EmptyFile,
    ImageTooLarge,
    MediaError,
    TruncatedFile,
    UnsupportedFormat,
)

MIME_TYPES = {
    "JPEG": "image/jpeg",
    "PNG": "image/png",
    "GIF": "image/gif",
    "WEBP": "image/webp",
    "BMP": "image/bmp",
    "TIFF": "image/tiff",
}
SUPPORTED_FORMATS = tuple(MIME_TYPES)

# Transparent areas are shown over a neutral grey rather than black or white, so that a
# transparent picture never looks like an empty or a fully dark one.
NEUTRAL_GREY = (128, 128, 128)

_MIB = 1024 * 1024


@dataclass(frozen=True)
class DecodeLimits:
    """Bounds on what one untrusted file may cost to decode.

    `max_side` guards against degenerate headers; it is generous because tall scrolling
    screenshots are common in reports and stay well inside `max_pixels`.
    """

    max_pixels: int = 200_000_000
    max_side: int = 65_535
    timeout_s: float = 5.0
    memory_mb: int = 1024

    def __post_init__(self) -> None:
        for name in ("max_pixels", "max_side", "memory_mb"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be positive")
        if not self.timeout_s > 0:
            raise ValueError("timeout_s must be positive")


DEFAULT_LIMITS = DecodeLimits()


@dataclass(frozen=True)
class MediaInfo:
    """What a file's header says about it; `width` x `height` as stored, before orientation."""

    format: str
    mime_type: str
    width: int
    height: int
    frame_count: int
    animated: bool
    mode: str


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# --- identification ----------------------------------------------------------------------

_BMP_HEADER_SIZES = {12, 16, 40, 52, 56, 64, 108, 124}
_TIFF_PREFIXES = tuple(TiffImagePlugin.PREFIXES)


def detect_format(data: bytes) -> str:
    """The image format of `data` ("JPEG", "PNG", ...), judged from its first bytes only.

    A file name or a declared MIME type is never trusted: a PDF named photo.jpg is a PDF.
    """
    if not data:
        raise EmptyFile()
    if data.startswith(b"\xff\xd8\xff"):
        return "JPEG"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "PNG"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "GIF"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "WEBP"
    if data[:2] == b"BM" and int.from_bytes(data[14:18], "little") in _BMP_HEADER_SIZES:
        return "BMP"
    if data.startswith(_TIFF_PREFIXES):
        return "TIFF"
    raise UnsupportedFormat.looks_like(_describe_other(data))


_OTHER_SIGNATURES: tuple[tuple[bytes, str], ...] = (
    (b"%PDF-", "a PDF document"),
    (b"PK\x03\x04", "a ZIP archive or an Office document"),
    (b"PK\x05\x06", "an empty ZIP archive"),
    (b"\x1f\x8b", "a GZIP archive"),
    (b"Rar!\x1a\x07", "a RAR archive"),
    (b"7z\xbc\xaf\x27\x1c", "a 7-Zip archive"),
    (b"\x7fELF", "a program (Linux executable)"),
    (b"MZ", "a program (Windows executable)"),
    (b"\xcf\xfa\xed\xfe", "a program (macOS executable)"),
    (b"\xce\xfa\xed\xfe", "a program (macOS executable)"),
    (b"\xca\xfe\xba\xbe", "a program (macOS or Java executable)"),
    (b"#!", "a script"),
    (b"\x1aE\xdf\xa3", "a video (WebM/Matroska)"),
    (b"ID3", "an audio file (MP3)"),
    (b"OggS", "an audio or video file (Ogg)"),
    (b"fLaC", "an audio file (FLAC)"),
    (b"8BPS", "a Photoshop document"),
    (b"\x00\x00\x01\x00", "an icon file (ICO)"),
    (b"\x00\x00\x00\x0cjP  ", "a JPEG 2000 image"),
    (b"\xff\x4f\xff\x51", "a JPEG 2000 image"),
    (b"\xd0\xcf\x11\xe0", "an old Office document"),
)
_HEIF_BRANDS = {b"heic", b"heix", b"hevc", b"heim", b"heis", b"mif1", b"msf1"}


def _describe_other(data: bytes) -> str | None:
    """A reviewer-readable guess at what a non-image file is, or None."""
    for signature, description in _OTHER_SIGNATURES:
        if data.startswith(signature):
            return description
    if data[4:8] == b"ftyp":
        brand = data[8:12]
        if brand in (b"avif", b"avis"):
            return "an AVIF image, which is not supported"
        if brand in _HEIF_BRANDS:
            return "a HEIC photo, which is not supported"
        return "a video (MP4/MOV)"
    if data[:4] == b"RIFF":
        kind = data[8:12]
        if kind == b"AVI ":
            return "a video (AVI)"
        if kind == b"WAVE":
            return "an audio file (WAV)"
    return _describe_text(data[:1024])


def _describe_text(head: bytes) -> str | None:
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError:
        # The head may end inside a multi-byte character.
        try:
            text = head[:-3].decode("utf-8")
        except UnicodeDecodeError:
            return None
    text = text.lstrip("\ufeff \t\r\n").lower()
    if not text or any(ch < " " and ch not in "\t\r\n" for ch in text):
        return None
    if text.startswith(("<!doctype html", "<html", "<head", "<body")) or "<html" in text:
        return "a web page (HTML)"
    if "<svg" in text:
        return "an SVG drawing, which is not supported"
    if text.startswith("<?xml"):
        return "an XML document"
    if text.startswith(("{", "[")):
        return "a JSON or other text file"
    return "a text file"


# --- opening and checking the size --------------------------------------------------------

_OPENERS: dict[str, Callable[[IO[bytes]], ImageFile.ImageFile]] = {
    "JPEG": JpegImagePlugin.jpeg_factory,
    "PNG": PngImagePlugin.PngImageFile,
    "GIF": GifImagePlugin.GifImageFile,
    "WEBP": WebPImagePlugin.WebPImageFile,
    "BMP": BmpImagePlugin.BmpImageFile,
    "TIFF": TiffImagePlugin.TiffImageFile,
}


# Bytes in the smallest valid file of each format: anything shorter was cut off.
_SMALLEST_FILE = {"JPEG": 107, "PNG": 57, "GIF": 26, "WEBP": 26, "BMP": 26, "TIFF": 26}


def _allow_pillow_up_to(max_pixels: int) -> None:
    """Keep Pillow's own, process-wide bomb guard from refusing what our limits accept.

    Pillow warns above about 89 megapixels and refuses above twice that, everywhere in the
    process. We check every file's size against `DecodeLimits` before decoding it, so we
    raise Pillow's threshold to our limit when it is lower. It is never lowered or disabled.
    """
    current = Image.MAX_IMAGE_PIXELS
    if current is not None and current < max_pixels:
        Image.MAX_IMAGE_PIXELS = max_pixels


def _check_size(size: tuple[int, int], limits: DecodeLimits) -> None:
    width, height = size
    if width < 1 or height < 1:
        raise CorruptFile.because("the image has no pixels")
    if width * height > limits.max_pixels:
        raise ImageTooLarge.pixels(limits.max_pixels)
    if max(width, height) > limits.max_side:
        raise ImageTooLarge.side(limits.max_side)


def _webp_canvas_size(data: bytes) -> tuple[int, int] | None:
    """The canvas size a WebP header declares; Pillow allocates the canvas when opening."""
    chunk = data[12:16]
    if chunk == b"VP8X" and len(data) >= 30:
        return (
            1 + int.from_bytes(data[24:27], "little"),
            1 + int.from_bytes(data[27:30], "little"),
        )
    if chunk == b"VP8L" and len(data) >= 25:
        bits = int.from_bytes(data[21:25], "little")
        return 1 + (bits & 0x3FFF), 1 + ((bits >> 14) & 0x3FFF)
    if chunk == b"VP8 " and len(data) >= 30:
        return (
            int.from_bytes(data[26:28], "little") & 0x3FFF,
            int.from_bytes(data[28:30], "little") & 0x3FFF,
        )
    return None


# --- every frame of an animation ----------------------------------------------------------
#
# The viewer shows the first frame, but an animation declares a size for each of its frames,
# and a GIF frame larger than the picture enlarges the canvas Pillow draws it on. A 100 x
# 100 GIF whose second frame declares 65535 x 65535 is a 4.3-gigapixel bomb for anything
# that plays it. So every frame's declared size (and the canvas it needs) is read from the
# file's own structure, without decoding a pixel, and checked like the first frame's. A
# walk that runs into damaged or cut-off structure stops there: that is for the decoder to
# report.


def _check_frame(number: int, size: tuple[int, int], limits: DecodeLimits) -> None:
    """A frame (numbered from 1) or the canvas it needs, against the size limits."""
    width, height = size
    if width * height > limits.max_pixels:
        error = ImageTooLarge.pixels(limits.max_pixels)
    elif max(width, height) > limits.max_side:
        error = ImageTooLarge.side(limits.max_side)
    else:
        return
    raise ImageTooLarge(f"{error.reason} (frame {number} of the animation)")


def _gif_frames(data: bytes) -> Iterator[tuple[int, int, int, int]]:
    """(left, top, width, height) of each image a GIF declares, block by block as Pillow
    reads them (a stray byte between blocks is skipped)."""

    def after_sub_blocks(position: int) -> int:
        while position < len(data):
            length = data[position]
            position += 1 + length
            if length == 0:
                break
        return position

    flags = data[10]
    position = 13 + (3 << ((flags & 7) + 1) if flags & 0x80 else 0)
    while position < len(data):
        kind = data[position]
        position += 1
        if kind == 0x3B:  # the trailer
            return
        if kind == 0x21:  # an extension: its label, then its sub-blocks
            position = after_sub_blocks(position + 1)
        elif kind == 0x2C:  # an image descriptor
            if position + 9 > len(data):
                return
            left, top, width, height = struct.unpack_from("<4H", data, position)
            flags = data[position + 8]
            position += 9 + (3 << ((flags & 7) + 1) if flags & 0x80 else 0)
            yield left, top, width, height
            position = after_sub_blocks(position + 1)  # the LZW code size, then the data


def _check_gif_frames(data: bytes, limits: DecodeLimits) -> None:
    canvas = struct.unpack_from("<HH", data, 6)
    for number, (left, top, width, height) in enumerate(_gif_frames(data), 1):
        _check_frame(number, (width, height), limits)
        canvas = (max(canvas[0], left + width), max(canvas[1], top + height))
        _check_frame(number, canvas, limits)


def _png_chunks(data: bytes) -> Iterator[tuple[bytes, bytes]]:
    """(type, body) of each whole chunk of a PNG, up to its end or the first cut-off one."""
    position = 8
    while position + 12 <= len(data):
        length = int.from_bytes(data[position : position + 4], "big")
        body_end = position + 8 + length
        if body_end + 4 > len(data):
            return
        yield data[position + 4 : position + 8], data[position + 8 : body_end]
        position = body_end + 4


def _check_apng_frames(data: bytes, limits: DecodeLimits) -> None:
    """Each frame control chunk (fcTL) of an animated PNG: its size, and that it lies
    inside the picture the header declares."""
    canvas = None
    number = 0
    for kind, body in _png_chunks(data):
        if kind == b"IHDR" and len(body) >= 8:
            canvas = struct.unpack_from(">II", body)
        elif kind == b"fcTL" and len(body) >= 20:
            number += 1
            width, height, left, top = struct.unpack_from(">IIII", body, 4)
            _check_frame(number, (width, height), limits)
            if canvas is not None and (left + width > canvas[0] or top + height > canvas[1]):
                raise CorruptFile.because(f"frame {number} of the animation lies outside "
                                          "the picture")
        elif kind == b"IEND":
            return


def _check_webp_frames(data: bytes, limits: DecodeLimits) -> None:
    """Each frame (ANMF chunk) of an animated WebP: its size, and that it lies inside the
    canvas the header declares."""
    canvas = _webp_canvas_size(data)
    position = 12
    number = 0
    while position + 8 <= len(data):
        kind = data[position : position + 4]
        length = int.from_bytes(data[position + 4 : position + 8], "little")
        body = data[position + 8 : position + 8 + length]
        position += 8 + length + (length & 1)
        if kind != b"ANMF" or len(body) < 12:
            continue
        number += 1
        left, top = 2 * int.from_bytes(body[0:3], "little"), 2 * int.from_bytes(
            body[3:6], "little")
        width, height = 1 + int.from_bytes(body[6:9], "little"), 1 + int.from_bytes(
            body[9:12], "little")
        _check_frame(number, (width, height), limits)
        if canvas is not None and (left + width > canvas[0] or top + height > canvas[1]):
            raise CorruptFile.because(f"frame {number} of the animation lies outside the "
                                      "picture")


def _open_checked(data: bytes, limits: DecodeLimits) -> tuple[str, ImageFile.ImageFile]:
    """Identify `data` and read its header, refusing sizes beyond `limits`, the sizes of
    an animation's later frames included.

    The format's own Pillow plugin reads the header directly (not `Image.open`), so that
    our limits are applied before Pillow's and an oversized file costs nothing but an error.
    """
    fmt = detect_format(data)
    if len(data) < _SMALLEST_FILE[fmt]:
        raise TruncatedFile()
    _allow_pillow_up_to(limits.max_pixels)
    if fmt == "WEBP":
        if 8 + int.from_bytes(data[4:8], "little") > len(data):
            raise TruncatedFile()
        if (canvas := _webp_canvas_size(data)) is not None:
            _check_size(canvas, limits)
        _check_webp_frames(data, limits)  # Pillow demuxes every frame when opening
    try:
        image = _OPENERS[fmt](io.BytesIO(data))
    except Exception as exc:
        if fmt == "PNG":
            _check_png_chunks(data)  # names a truncation or a bad checksum precisely
        raise _as_media_error(exc, limits) from exc
    try:
        _check_size(image.size, limits)
        if fmt == "GIF":
            _check_gif_frames(data, limits)
        elif fmt == "PNG":
            _check_apng_frames(data, limits)
    except MediaError:
        image.close()
        raise
    return fmt, image


def _check_png_chunks(data: bytes) -> None:
    """Walk a PNG's chunks, checking each CRC; Pillow skips the CRC of image data chunks."""
    position = 8
    end = len(data)
    while position < end:
        if position + 12 > end:
            raise TruncatedFile()
        length = int.from_bytes(data[position : position + 4], "big")
        body_end = position + 8 + length
        if body_end + 4 > end:
            raise TruncatedFile()
        kind_and_body = memoryview(data)[position + 4 : body_end]
        stored_crc = int.from_bytes(data[body_end : body_end + 4], "big")
        if zlib.crc32(kind_and_body) & 0xFFFFFFFF != stored_crc:
            raise CorruptFile.because("a checksum does not match")
        if data[position + 4 : position + 8] == b"IEND":
            return
        position = body_end + 4
    raise TruncatedFile()


def probe(data: bytes, limits: DecodeLimits = DEFAULT_LIMITS) -> MediaInfo:
    """What `data` is and how big, from its header only, without decoding any pixels."""
    fmt, image = _open_checked(data, limits)
    with image:
        try:
            frame_count = int(getattr(image, "n_frames", 1))
        except Exception as exc:
            raise _as_media_error(exc, limits) from exc
        # Counting GIF frames reads every frame header; a later frame may enlarge the canvas.
        _check_size(image.size, limits)
        width, height = image.size
        return MediaInfo(
            format=fmt,
            mime_type=MIME_TYPES[fmt],
            width=width,
            height=height,
            frame_count=frame_count,
            animated=frame_count > 1 and fmt in ("GIF", "WEBP", "PNG"),
            mode=image.mode,
        )


# --- decoding for display -----------------------------------------------------------------

_ORIENTATION_TRANSPOSE = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}

# Roughly the bytes per pixel alive at once while a full-size frame of each mode is decoded
# and converted: the decoded frame plus the converted copy where conversion comes first.
_PEAK_BYTES_PER_PIXEL = {
    "1": 2,
    "L": 1,
    "LA": 2,
    "La": 2,
    "P": 5,
    "PA": 6,
    "RGB": 3,
    "RGBA": 4,
    "RGBa": 4,
    "RGBX": 4,
    "CMYK": 4,
    "YCbCr": 3,
    "I": 4,
    "F": 4,
    "I;16": 6,
    "I;16L": 6,
    "I;16B": 6,
    "I;16N": 6,
}
_WEBP_CANVAS_BYTES_PER_PIXEL = 4


def decode_for_display(
    data: bytes,
    target: tuple[int, int] | None = None,
    limits: DecodeLimits = DEFAULT_LIMITS,
) -> Image.Image:
    """The first frame of `data` as a clean RGB picture that fits inside `target`.

    The picture keeps its aspect ratio, is never enlarged, and is no bigger than needed to
    fill `target` (width, height) on screen; `None` means full size. EXIF orientation is
    applied (as `ImageOps.exif_transpose` would), transparency is shown over neutral grey,
    and all metadata is dropped. Large JPEGs are decoded at reduced scale (DCT scaling).
    Runs in the calling process, bounded by the size checks and a memory estimate only; use
    `SafeDecoder` for a hard time and memory bound.
    """
    picture, _display_size = _decode(data, target, None, limits)
    return picture


def decode_reduced(
    data: bytes,
    target: tuple[int, int],
    short_side: int,
    limits: DecodeLimits = DEFAULT_LIMITS,
) -> tuple[Image.Image, tuple[int, int]]:
    """A coarse copy of `decode_for_display(data, target)`, and the size that one would have.

    The copy is decoded only finely enough to have `short_side` pixels on its shorter side
    (or the full display size, if that is smaller), for uses that discard fine detail anyway,
    such as a strong blur: a large JPEG is then DCT-scaled by up to 1/8 and any picture is
    reduced before it crosses a process boundary. Same checks and guarantees otherwise.
    """
    if short_side < 1:
        raise ValueError(f"short_side must be positive, not {short_side!r}")
    return _decode(data, target, short_side, limits)


def _decode(
    data: bytes,
    target: tuple[int, int] | None,
    short_side: int | None,
    limits: DecodeLimits,
) -> tuple[Image.Image, tuple[int, int]]:
    _check_target(target)
    if ImageFile.LOAD_TRUNCATED_IMAGES:
        # Set anywhere in the process, it would show cut-off files with grey areas instead
        # of reporting them: a programming error, not a problem with this file.
        raise RuntimeError("PIL.ImageFile.LOAD_TRUNCATED_IMAGES must stay False")
    fmt, image = _open_checked(data, limits)
    with image:
        try:
            if fmt == "PNG":
                _check_png_chunks(data)
            return _first_frame_for_display(image, fmt, target, short_side, limits)
        except MediaError:
            raise
        except Exception as exc:
            raise _as_media_error(exc, limits) from exc


def _first_frame_for_display(
    image: ImageFile.ImageFile,
    fmt: str,
    target: tuple[int, int] | None,
    short_side: int | None,
    limits: DecodeLimits,
) -> tuple[Image.Image, tuple[int, int]]:
    """The frame at its decoded size, and its display size (as oriented on screen)."""
    orientation = None
    stored_size = image.size
    if fmt == "JPEG":
        # JPEG keeps EXIF in its header: read it now to scale the decode the right way round.
        orientation = _orientation(image)
        if target is not None:
            shown = _fit_size(stored_size, _stored_box(target, orientation))
            image.draft(None, _reduced_size(shown, short_side))
    _check_memory(image, fmt, limits)
    image.load()
    if orientation is None:
        orientation = _orientation(image)
    shown = stored_size if target is None else _fit_size(
        stored_size, _stored_box(target, orientation)
    )
    frame, sixteen_bit = _working_copy(image)
    size = _reduced_size(shown, short_side)
    if size != frame.size:
        frame = frame.resize(size, Image.Resampling.BICUBIC, reducing_gap=2.0)
    frame = _as_rgb(frame, sixteen_bit)
    transpose = _ORIENTATION_TRANSPOSE.get(orientation)
    if transpose is not None:
        frame = frame.transpose(transpose)
    return _without_metadata(frame), _stored_box(shown, orientation)


def _check_target(target: tuple[int, int] | None) -> None:
    if target is not None and (len(target) != 2 or min(target) < 1):
        raise ValueError(f"target must be a positive (width, height), not {target!r}")


def _orientation(image: Image.Image) -> int:
    try:
        value = image.getexif().get(ExifTags.Base.Orientation, 1)
    except Exception:
        # Damaged EXIF does not make the picture unshowable; show it as stored.
        return 1
    return value if isinstance(value, int) and 1 <= value <= 8 else 1


def _stored_box(target: tuple[int, int], orientation: int) -> tuple[int, int]:
    """`target` in the file's stored orientation: swapped when the picture is turned 90°."""
    return (target[1], target[0]) if orientation in (5, 6, 7, 8) else target


def _fit_size(size: tuple[int, int], box: tuple[int, int]) -> tuple[int, int]:
    width, height = size
    scale = min(box[0] / width, box[1] / height)
    if scale >= 1.0:
        return size
    return max(1, round(width * scale)), max(1, round(height * scale))


def _reduced_size(size: tuple[int, int], short_side: int | None) -> tuple[int, int]:
    """`size` scaled down so that its shorter side is `short_side`; never enlarged."""
    if short_side is None or min(size) <= short_side:
        return size
    scale = short_side / min(size)
    return max(1, round(size[0] * scale)), max(1, round(size[1] * scale))


def _check_memory(image: Image.Image, fmt: str, limits: DecodeLimits) -> None:
    """Refuse a decode whose buffers alone would exceed the memory budget.

    This is a deterministic estimate that holds on every platform; the worker process of
    `SafeDecoder` adds a hard limit where the operating system supports one.
    """
    width, height = image.size
    per_pixel = _PEAK_BYTES_PER_PIXEL.get(image.mode, 8)
    if fmt == "WEBP":
        per_pixel += _WEBP_CANVAS_BYTES_PER_PIXEL
    needed_mb = width * height * per_pixel // _MIB
    if needed_mb > limits.memory_mb:
        raise DecodeMemoryExceeded.needing(needed_mb, limits.memory_mb)


def _working_copy(image: Image.Image) -> tuple[Image.Image, bool]:
    """The frame in a mode Pillow can resample well, and whether it held 16-bit samples."""
    mode = image.mode
    if mode in ("L", "LA", "RGB", "RGBA", "I", "F", "CMYK", "YCbCr"):
        return image, False
    if mode.startswith("I;16"):
        return image.convert("I"), True
    if mode == "1":
        return image.convert("L"), False
    if mode == "P":
        return image.convert("RGBA" if "transparency" in image.info else "RGB"), False
    if mode in ("PA", "RGBa", "La"):
        return image.convert("RGBA"), False
    try:
        return image.convert("RGB"), False
    except ValueError:
        raise UnsupportedFormat(
            f"the image uses a colour mode that cannot be shown ({mode})"
        ) from None


def _as_rgb(frame: Image.Image, sixteen_bit: bool) -> Image.Image:
    mode = frame.mode
    if mode == "RGB":
        return frame
    if mode in ("RGBA", "LA"):
        rgba = frame.convert("RGBA") if mode == "LA" else frame
        background = Image.new("RGBA", frame.size, (*NEUTRAL_GREY, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    if mode in ("I", "F"):
        return _to_8_bit(frame, sixteen_bit).convert("RGB")
    return frame.convert("RGB")


def _to_8_bit(frame: Image.Image, sixteen_bit: bool) -> Image.Image:
    """Integer or float samples scaled to 0-255: 16-bit by its full range, others by extent."""
    if sixteen_bit:
        return frame.point(lambda value: value * (1 / 256)).convert("L")
    low, high = frame.getextrema()
    if frame.mode == "F" and low >= 0.0 and high <= 1.0:
        return frame.point(lambda value: value * 255).convert("L")
    if frame.mode == "I" and low >= 0 and high <= 255:
        return frame.convert("L")
    span = (high - low) or 1
    scale = 255 / span
    return frame.point(lambda value: value * scale - low * scale).convert("L")


def _without_metadata(frame: Image.Image) -> Image.Image:
    """A fresh picture with the same pixels and nothing else: no EXIF, ICC, text or GPS."""
    clean = Image.new("RGB", frame.size)
    clean.paste(frame)
    return clean


def _as_media_error(exc: BaseException, limits: DecodeLimits) -> MediaError:
    """The reviewer-facing error for an exception raised while reading untrusted data."""
    if isinstance(exc, MediaError):
        return exc
    if isinstance(exc, (Image.DecompressionBombError, Image.DecompressionBombWarning)):
        return ImageTooLarge.pixels(limits.max_pixels)
    if isinstance(exc, MemoryError):
        return DecodeMemoryExceeded()
    message = str(exc).lower()
    cause = exc.args[0] if exc.args else None
    if (
        isinstance(exc, EOFError)
        or isinstance(cause, (EOFError, struct.error))
        or "truncated" in message
        or "requires a buffer" in message
    ):
        # Pillow reports data that ends too early in all of these ways.
        return TruncatedFile()
    if "checksum" in message or "crc" in message:
        return CorruptFile.because("a checksum does not match")
    if "broken data stream" in message or "decoder error" in message:
        return CorruptFile.because("the image data cannot be decoded")
    if isinstance(exc, (Image.UnidentifiedImageError, SyntaxError, struct.error)):
        return CorruptFile.because("the image header cannot be read")
    return CorruptFile.because("the image data cannot be decoded")


# --- decoding in a bounded worker process ------------------------------------------------

_STARTUP_TIMEOUT_S = 60.0
_REPLY_GRACE_S = 5.0


def forkserver_preload() -> list[str]:
    """What the one fork server of the process imports before forking any worker (the image
    and video decoders share it; whichever starts it first sets this list). The app's main
    module is among them: else every new worker would import it, Qt and all, on its own."""
    modules = ["reviewer.media.decode", "reviewer.media.video_worker"]
    return modules if getattr(sys, "frozen", False) else ["__main__", *modules]


def _default_start_method() -> str:
    # Never "fork": the app has Qt and other threads running. A fork server forks new
    # workers from a small clean process, which restarts a killed worker quickly.
    if sys.platform.startswith("linux") and "forkserver" in multiprocessing.get_all_start_methods():
        return "forkserver"
    return "spawn"


class SafeDecoder:
    """`decode_for_display` in a persistent worker process, with hard bounds.

    Each call has a time limit: a decode that overruns is killed, the worker restarted and
    `DecodeTimeout` raised. The worker's address space is capped at `limits.memory_mb` over
    its start-up size where the OS allows it (Linux, most Unixes); a worker that runs out of
    memory or dies reports `DecodeMemoryExceeded` or `CorruptFile`, and the next call gets a
    fresh worker. Calls may come from any thread; they are served one at a time.
    """

    def __init__(
        self, limits: DecodeLimits = DEFAULT_LIMITS, *, start_method: str | None = None
    ) -> None:
        self.limits = limits
        method = start_method or _default_start_method()
        self._context = multiprocessing.get_context(method)
        if method == "forkserver":
            self._context.set_forkserver_preload(forkserver_preload())
        self._call_lock = threading.Lock()
        self._state_lock = threading.Lock()
        self._closed = False
        self._worker: _Worker | None = _Worker(self._context, limits.memory_mb)

    def __enter__(self) -> SafeDecoder:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    @property
    def worker_pid(self) -> int | None:
        """The process id of the current worker, for diagnostics."""
        worker = self._worker
        return worker.process.pid if worker is not None else None

    def decode(
        self,
        data: bytes,
        target: tuple[int, int] | None = None,
        *,
        timeout_s: float | None = None,
    ) -> Image.Image:
        """Like `decode_for_display`, bounded by `timeout_s` (default `limits.timeout_s`)."""
        picture, _display_size = self._call(data, target, None, timeout_s)
        return picture

    def decode_reduced(
        self,
        data: bytes,
        target: tuple[int, int],
        short_side: int,
        *,
        timeout_s: float | None = None,
    ) -> tuple[Image.Image, tuple[int, int]]:
        """Like `decode_reduced`, bounded by `timeout_s` (default `limits.timeout_s`)."""
        if short_side < 1:
            raise ValueError(f"short_side must be positive, not {short_side!r}")
        return self._call(data, target, short_side, timeout_s)

    def _call(
        self,
        data: bytes,
        target: tuple[int, int] | None,
        short_side: int | None,
        timeout_s: float | None,
    ) -> tuple[Image.Image, tuple[int, int]]:
        _check_target(target)
        detect_format(data)  # cheap, and spares the worker files that are not images
        timeout = self.limits.timeout_s if timeout_s is None else timeout_s
        with self._call_lock:
            worker = self._ready_worker()
            try:
                return worker.decode(data, target, short_side, self.limits, timeout)
            except _WorkerTimedOut:
                self._replace(worker)
                raise DecodeTimeout.after(timeout) from None
            except _WorkerDied as died:
                self._replace(worker)
                if self._closed:
                    raise DecoderClosed() from None
                raise died.error() from None

    def close(self) -> None:
        """Stop the worker; a decode in progress on another thread ends with DecoderClosed."""
        with self._state_lock:
            if self._closed:
                return
            self._closed = True
            worker, self._worker = self._worker, None
        if worker is not None:
            worker.kill()
        with self._call_lock:
            if worker is not None:
                worker.dispose()

    def _ready_worker(self) -> _Worker:
        with self._state_lock:
            if self._closed:
                raise DecoderClosed()
            worker = self._worker
            if worker is None or not worker.process.is_alive():
                if worker is not None:
                    worker.dispose()
                worker = self._worker = _Worker(self._context, self.limits.memory_mb)
        try:
            worker.wait_ready(_STARTUP_TIMEOUT_S)
        except (_WorkerTimedOut, _WorkerDied):
            self._replace(worker)
            if self._closed:
                raise DecoderClosed() from None
            raise MediaError("the image decoder could not start") from None
        return worker

    def _replace(self, worker: _Worker) -> None:
        """Dispose of a failed worker and start its successor, without waiting for it."""
        worker.dispose()
        with self._state_lock:
            if self._worker is worker or self._worker is None:
                self._worker = (
                    None if self._closed else _Worker(self._context, self.limits.memory_mb)
                )


class _WorkerTimedOut(Exception):
    pass


class _WorkerDied(Exception):
    def __init__(self, exitcode: int | None) -> None:
        super().__init__(exitcode)
        self.exitcode = exitcode

    def error(self) -> MediaError:
        # SIGKILL out of the blue is how Linux's out-of-memory killer ends a process.
        if self.exitcode == -getattr(signal, "SIGKILL", 9):
            return DecodeMemoryExceeded()
        return CorruptFile.because("the decoder stopped on this file")


class _Worker:
    """One worker process and the parent's end of its pipe."""

    def __init__(self, context: Any, memory_mb: int) -> None:
        self.conn, child_conn = context.Pipe(duplex=True)
        self.process = context.Process(
            target=_worker_main,
            args=(child_conn, memory_mb),
            name="reviewer-media-decoder",
            daemon=True,
        )
        self.process.start()
        child_conn.close()
        self._ready = False

    def wait_ready(self, timeout: float) -> None:
        if self._ready:
            return
        self._receive(timeout)
        self._ready = True

    def decode(
        self,
        data: bytes,
        target: tuple[int, int] | None,
        short_side: int | None,
        limits: DecodeLimits,
        timeout: float,
    ) -> tuple[Image.Image, tuple[int, int]]:
        try:
            self.conn.send((target, short_side, limits))
            self.conn.send_bytes(data)
        except OSError:
            raise self._died() from None
        deadline = time.monotonic() + timeout
        status, payload = self._receive(timeout)
        if status == "error":
            raise payload
        mode, size, display_size = payload
        remaining = max(_REPLY_GRACE_S, deadline - time.monotonic())
        if not self.conn.poll(remaining):
            raise _WorkerTimedOut()
        try:
            pixels = self.conn.recv_bytes()
        except (EOFError, OSError):
            raise self._died() from None
        return Image.frombytes(mode, size, pixels), display_size

    def kill(self) -> None:
        if self.process.is_alive():
            self.process.kill()

    def dispose(self) -> None:
        self.kill()
        self.process.join(5.0)
        self.conn.close()

    def _receive(self, timeout: float) -> Any:
        try:
            if not self.conn.poll(timeout):
                raise _WorkerTimedOut()
            return self.conn.recv()
        except (EOFError, OSError):
            raise self._died() from None

    def _died(self) -> _WorkerDied:
        self.process.join(1.0)
        return _WorkerDied(self.process.exitcode)


def _worker_main(conn: Connection, memory_mb: int) -> None:
    """The worker's loop: decode each request, reply with pixels or a `MediaError`."""
    _limit_address_space(memory_mb)
    ImageFile.LOAD_TRUNCATED_IMAGES = False
    # Pillow's warnings about odd files would only clutter the app's log from here; the bomb
    # warning cannot fire for a size we accept, but if it ever does it must stop the decode.
    warnings.simplefilter("ignore")
    warnings.simplefilter("error", Image.DecompressionBombWarning)
    conn.send(("ready", os.getpid()))
    while True:
        try:
            target, short_side, limits = conn.recv()
            data = conn.recv_bytes()
        except (EOFError, OSError):
            return
        try:
            picture, display_size = _decode(data, target, short_side, limits)
            pixels = picture.tobytes()
        except MediaError as exc:
            conn.send(("error", exc))
            continue
        except MemoryError:
            conn.send(("error", DecodeMemoryExceeded()))
            continue
        del data
        conn.send(("ok", (picture.mode, picture.size, display_size)))
        conn.send_bytes(pixels)
        del picture, pixels


def _limit_address_space(memory_mb: int) -> int | None:
    """Cap this process's address space at its current size plus `memory_mb`, if possible."""
    try:
        import resource
    except ImportError:  # Windows: the size checks and the estimate still apply
        return None
    limit = _address_space_in_use() + memory_mb * _MIB
    _soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    if hard != resource.RLIM_INFINITY:
        limit = min(limit, hard)
    try:
        resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
    except (ValueError, OSError):  # macOS and others may refuse; the other bounds remain
        return None
    return limit


def _address_space_in_use() -> int:
    try:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return 256 * _MIB
