"""Synthetic media for the demo and the tests: no real imagery ever enters the project.

Every picture is drawn by code from a `random.Random`, so the same seed gives the same bytes.
The "gore_stand_in" kind is abstract red and dark blotches that only stand in for graphic
material; nothing here depicts anything real. `make_bad_files` builds the awkward and hostile
inputs the decoder must survive (truncated, corrupt, mislabelled, oversized, bombs).
"""

from __future__ import annotations

import io
import random
import struct
import zlib
from collections.abc import Callable

from PIL import Image, ImageDraw, ImageFont, ImageOps

DEMO_KINDS = ("shapes", "noise", "text", "faces", "gore_stand_in", "test_pattern")
DEMO_FORMATS = ("JPEG", "PNG", "GIF", "WEBP", "BMP", "TIFF")

# Flat cartoon colours for the faces: deliberately not skin tones.
_CARTOON_COLOURS = [(255, 214, 0), (80, 170, 255), (120, 220, 120), (255, 140, 200)]
_WORDS = (
    "lorem",
    "ipsum",
    "dolor",
    "sit",
    "amet",
    "consectetur",
    "adipiscing",
    "elit",
    "sed",
    "do",
    "eiusmod",
    "tempor",
    "incididunt",
    "ut",
    "labore",
    "et",
    "dolore",
    "magna",
    "aliqua",
    "enim",
    "ad",
    "minim",
    "veniam",
    "quis",
    "nostrud",
)


def make_demo_image(rng: random.Random, kind: str, size: tuple[int, int], fmt: str) -> bytes:
    """An encoded synthetic picture of `kind`, `size` pixels, in image format `fmt`."""
    try:
        draw_kind = _KINDS[kind]
    except KeyError:
        raise ValueError(f"unknown kind {kind!r}; choose from {', '.join(DEMO_KINDS)}") from None
    if fmt not in DEMO_FORMATS:
        raise ValueError(f"unknown format {fmt!r}; choose from {', '.join(DEMO_FORMATS)}")
    width, height = size
    if width < 1 or height < 1:
        raise ValueError(f"size must be positive, not {size}")
    return encode(draw_kind(rng, size), fmt)


def make_animated_gif(rng: random.Random, size: tuple[int, int], frames: int = 8) -> bytes:
    """A looping GIF of a ball moving across a gradient, `frames` frames long."""
    if frames < 2:
        raise ValueError("an animation needs at least two frames")
    background = _gradient(rng, size)
    colour = rng.choice(_CARTOON_COLOURS)
    width, height = size
    radius = max(2, min(size) // 6)
    pictures = []
    for index in range(frames):
        picture = background.copy()
        x = radius + (width - 2 * radius) * index // (frames - 1)
        ImageDraw.Draw(picture).ellipse(
            (x - radius, height // 2 - radius, x + radius, height // 2 + radius), fill=colour
        )
        pictures.append(picture.quantize(64, method=Image.Quantize.FASTOCTREE))
    out = io.BytesIO()
    pictures[0].save(out, "GIF", save_all=True, append_images=pictures[1:], duration=80, loop=0)
    return out.getvalue()


def encode(picture: Image.Image, fmt: str) -> bytes:
    """`picture` encoded as `fmt`, without metadata; options favour speed over size."""
    out = io.BytesIO()
    if fmt == "JPEG":
        picture.save(out, "JPEG", quality=85)
    elif fmt == "PNG":
        picture.save(out, "PNG", compress_level=1)
    elif fmt == "GIF":
        picture.quantize(128, method=Image.Quantize.FASTOCTREE).save(out, "GIF")
    elif fmt == "WEBP":
        picture.save(out, "WEBP", quality=80, method=0)
    elif fmt == "BMP":
        picture.save(out, "BMP")
    elif fmt == "TIFF":
        picture.save(out, "TIFF", compression="tiff_deflate")
    else:
        raise ValueError(f"unknown format {fmt!r}; choose from {', '.join(DEMO_FORMATS)}")
    return out.getvalue()


def make_bad_files() -> dict[str, bytes]:
    """Named awkward and hostile inputs; the name's extension is deliberately unreliable.

    Some must be rejected (zero-byte, truncated, corrupt, mislabelled, oversized, the bomb),
    others are valid but awkward and must display correctly (CMYK, 16-bit, palette,
    animated, EXIF-rotated).
    """
    rng = random.Random(20240229)
    photo = _draw_shapes(rng, (480, 360))
    jpeg = encode(photo, "JPEG")
    png = encode(photo, "PNG")
    return {
        "zero_byte.jpg": b"",
        "truncated.jpg": jpeg[: len(jpeg) * 3 // 5],
        "truncated.png": png[: len(png) * 3 // 5],
        "corrupt_idat.png": _garble_idat(png, rng),
        "bad_crc.png": _break_idat_crc(png),
        "pdf_named.jpg": b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nendobj\n",
        "html_named.png": (
            b"<!DOCTYPE html>\n<html><head><title>Not an image</title></head>"
            b"<body><p>Hello</p></body></html>\n"
        ),
        "video_named.gif": (b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom" + bytes(64)),
        "huge_dimensions.png": _png(
            100_000, 100_000, bit_depth=8, colour_type=2, idat=zlib.compress(bytes(1024))
        ),
        "decompression_bomb.png": _png_bomb(15_000, 15_000),
        "cmyk.jpg": encode(photo.convert("CMYK"), "JPEG"),
        "16bit.png": _png_16_bit_gradient(256, 64),
        "palette.png": _palette_png(photo),
        "animated.gif": make_animated_gif(rng, (160, 120), frames=6),
        "exif_rotated.jpg": make_exif_rotated_jpeg((320, 200), orientation=6),
    }


def make_exif_rotated_jpeg(stored_size: tuple[int, int], orientation: int) -> bytes:
    """A JPEG stored as `stored_size` with a red block at its stored top-left corner.

    The EXIF orientation tag says how to turn it for display; the file also carries a
    camera make, a comment and a GPS tag, so tests can check that metadata is stripped.
    """
    width, height = stored_size
    picture = Image.new("RGB", stored_size, (40, 40, 200))
    ImageDraw.Draw(picture).rectangle((0, 0, width // 4, height // 4), fill=(230, 20, 20))
    exif = Image.Exif()
    exif[0x0112] = orientation
    exif[0x010F] = "Synthetic Camera"
    exif[0x8825] = {1: "N", 2: (51.0, 30.0, 0.0)}
    out = io.BytesIO()
    picture.save(out, "JPEG", quality=90, exif=exif.tobytes(), comment=b"synthetic test file")
    return out.getvalue()


# --- kinds -------------------------------------------------------------------------------


def _gradient(rng: random.Random, size: tuple[int, int]) -> Image.Image:
    ramp = Image.linear_gradient("L").rotate(rng.choice((0, 90, 180, 270)))
    dark = tuple(rng.randrange(0, 120) for _ in range(3))
    light = tuple(rng.randrange(130, 256) for _ in range(3))
    return ImageOps.colorize(ramp, dark, light).resize(size, Image.Resampling.BILINEAR)


def _draw_shapes(rng: random.Random, size: tuple[int, int]) -> Image.Image:
    picture = _gradient(rng, size)
    draw = ImageDraw.Draw(picture)
    width, height = size
    for _ in range(rng.randrange(8, 16)):
        colour = tuple(rng.randrange(256) for _ in range(3))
        x0, x1 = sorted(rng.randrange(width) for _ in range(2))
        y0, y1 = sorted(rng.randrange(height) for _ in range(2))
        shape = rng.randrange(3)
        if shape == 0:
            draw.ellipse((x0, y0, x1, y1), fill=colour)
        elif shape == 1:
            draw.rectangle((x0, y0, x1, y1), fill=colour)
        else:
            points = [(rng.randrange(width), rng.randrange(height)) for _ in range(3)]
            draw.polygon(points, fill=colour)
    return picture


def _draw_noise(rng: random.Random, size: tuple[int, int]) -> Image.Image:
    width, height = size
    return Image.frombytes("RGB", size, rng.randbytes(width * height * 3))


def _draw_text(rng: random.Random, size: tuple[int, int]) -> Image.Image:
    """A fake screenshot of a social post: avatar, name, lines of text, a picture box."""
    width, height = size
    picture = Image.new("RGB", size, (250, 250, 252))
    draw = ImageDraw.Draw(picture)
    unit = max(8, min(width, height) // 24)
    font = ImageFont.load_default(size=unit)
    bold = ImageFont.load_default(size=unit + unit // 3)
    margin = unit
    avatar = 3 * unit
    draw.rectangle((0, 0, width, avatar + 2 * margin), fill=(235, 238, 245))
    draw.ellipse((margin, margin, margin + avatar, margin + avatar), fill=_random_colour(rng))
    draw.text((2 * margin + avatar, margin), _fake_name(rng), fill=(20, 20, 30), font=bold)
    draw.text(
        (2 * margin + avatar, margin + 2 * unit),
        f"@{_fake_name(rng).lower()} · {rng.randrange(1, 59)}m",
        fill=(110, 110, 120),
        font=font,
    )
    y = avatar + 3 * margin
    line_height = unit + unit // 2
    while y < height * 0.6:
        draw.text(
            (margin, y), _fake_sentence(rng, width // unit // 3), fill=(30, 30, 40), font=font
        )
        y += line_height
    box = (margin, y + margin, width - margin, height - margin)
    if box[2] > box[0] and box[3] > box[1]:
        draw.rounded_rectangle(box, radius=unit, fill=_random_colour(rng))
    return picture


def _draw_faces(rng: random.Random, size: tuple[int, int]) -> Image.Image:
    """Cartoon faces: flat-coloured circles with dot eyes and an arc for a mouth."""
    width, height = size
    picture = Image.new("RGB", size, _random_colour(rng))
    draw = ImageDraw.Draw(picture)
    for _ in range(rng.randrange(1, 5)):
        radius = rng.randrange(max(2, min(size) // 10), max(3, min(size) // 4))
        cx, cy = rng.randrange(width), rng.randrange(height)
        draw.ellipse(
            (cx - radius, cy - radius, cx + radius, cy + radius),
            fill=rng.choice(_CARTOON_COLOURS),
            outline=(0, 0, 0),
            width=max(1, radius // 20),
        )
        eye = max(1, radius // 8)
        for side in (-1, 1):
            ex, ey = cx + side * radius // 3, cy - radius // 4
            draw.ellipse((ex - eye, ey - eye, ex + eye, ey + eye), fill=(0, 0, 0))
        mouth = radius // 2
        draw.arc(
            (cx - mouth, cy - mouth // 2, cx + mouth, cy + mouth),
            20,
            160,
            fill=(0, 0, 0),
            width=max(1, radius // 15),
        )
    return picture


def _draw_gore_stand_in(rng: random.Random, size: tuple[int, int]) -> Image.Image:
    """Abstract red and near-black blotches, soft-edged; it depicts nothing."""
    width, height = size
    small = (max(1, width // 8), max(1, height // 8))
    canvas = Image.new("RGB", small, (25, 5, 8))
    draw = ImageDraw.Draw(canvas)
    for _ in range(rng.randrange(10, 20)):
        colour = (rng.randrange(110, 220), rng.randrange(0, 25), rng.randrange(0, 30))
        if rng.random() < 0.3:
            colour = (rng.randrange(30, 60), 0, rng.randrange(0, 10))
        rx, ry = rng.randrange(1, max(2, small[0] // 4)), rng.randrange(1, max(2, small[1] // 4))
        cx, cy = rng.randrange(small[0]), rng.randrange(small[1])
        draw.ellipse((cx - rx, cy - ry, cx + rx, cy + ry), fill=colour)
    return canvas.resize(size, Image.Resampling.BICUBIC)


def _draw_test_pattern(rng: random.Random, size: tuple[int, int]) -> Image.Image:
    """Sharp, high-contrast detail: a 2-pixel checkerboard above 1-pixel vertical stripes."""
    width, height = size
    cell = 2
    cells_x, cells_y = -(-width // cell), -(-height // cell)
    even = bytes((0, 255)) * (cells_x // 2 + 1)
    rows = [even[:cells_x] if y % 2 == 0 else even[1 : cells_x + 1] for y in range(cells_y)]
    checker = Image.frombytes("L", (cells_x, cells_y), b"".join(rows))
    checker = checker.resize((cells_x * cell, cells_y * cell), Image.Resampling.NEAREST)
    picture = checker.crop((0, 0, width, height))
    stripes_row = (bytes((0, 255)) * (width // 2 + 1))[:width]
    band = height // 3
    stripes = Image.frombytes("L", (width, 1), stripes_row).resize((width, band))
    picture.paste(stripes, (0, height - band))
    light = (rng.randrange(170, 256), rng.randrange(170, 256), rng.randrange(170, 256))
    return ImageOps.colorize(picture, (0, 0, 0), light)


_KINDS: dict[str, Callable[[random.Random, tuple[int, int]], Image.Image]] = {
    "shapes": _draw_shapes,
    "noise": _draw_noise,
    "text": _draw_text,
    "faces": _draw_faces,
    "gore_stand_in": _draw_gore_stand_in,
    "test_pattern": _draw_test_pattern,
}


def _random_colour(rng: random.Random) -> tuple[int, int, int]:
    return (rng.randrange(256), rng.randrange(256), rng.randrange(256))


def _fake_name(rng: random.Random) -> str:
    return "".join(rng.choice(_WORDS) for _ in range(2)).capitalize()


def _fake_sentence(rng: random.Random, words: int) -> str:
    return " ".join(rng.choice(_WORDS) for _ in range(max(1, words)))


# --- hand-built PNGs ----------------------------------------------------------------------


def _chunk(kind: bytes, body: bytes) -> bytes:
    crc = zlib.crc32(kind + body) & 0xFFFFFFFF
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)


def _png(width: int, height: int, *, bit_depth: int, colour_type: int, idat: bytes) -> bytes:
    header = struct.pack(">IIBBBBB", width, height, bit_depth, colour_type, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", idat)
        + _chunk(b"IEND", b"")
    )


def _png_bomb(width: int, height: int) -> bytes:
    """A 1-bit PNG of zeros: a few tens of kilobytes that would decode to width x height."""
    row = bytes(1 + (width + 7) // 8)
    compressor = zlib.compressobj(9)
    block = row * 256
    parts = [compressor.compress(block) for _ in range(height // 256)]
    parts.append(compressor.compress(row * (height % 256)))
    parts.append(compressor.flush())
    return _png(width, height, bit_depth=1, colour_type=0, idat=b"".join(parts))


def _png_16_bit_gradient(width: int, height: int) -> bytes:
    """A 16-bit greyscale PNG ramping from black on the left to white on the right."""
    row = b"\x00" + b"".join(struct.pack(">H", x * 65535 // (width - 1)) for x in range(width))
    return _png(width, height, bit_depth=16, colour_type=0, idat=zlib.compress(row * height))


def _palette_png(photo: Image.Image) -> bytes:
    """A 16-colour palette PNG whose first palette entry is transparent."""
    paletted = photo.quantize(16, method=Image.Quantize.FASTOCTREE)
    out = io.BytesIO()
    paletted.save(out, "PNG", transparency=0)
    return out.getvalue()


def _idat_span(png: bytes) -> tuple[int, int]:
    """Offsets of the first IDAT chunk's data within `png`."""
    start = png.index(b"IDAT") + 4
    (length,) = struct.unpack(">I", png[start - 8 : start - 4])
    return start, start + length


def _garble_idat(png: bytes, rng: random.Random) -> bytes:
    """Garbage over the start of the compressed data, with a valid CRC so only zlib fails."""
    start, end = _idat_span(png)
    body = bytearray(png[start:end])
    body[: min(64, len(body))] = rng.randbytes(min(64, len(body)))
    fixed = _chunk(b"IDAT", bytes(body))
    return png[: start - 8] + fixed + png[end + 4 :]


def _break_idat_crc(png: bytes) -> bytes:
    _start, end = _idat_span(png)
    broken = bytearray(png)
    broken[end] ^= 0xFF
    return bytes(broken)
