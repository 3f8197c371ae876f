"""Synthetic demo media: deterministic, decodable, fast, and the bad files are what they say."""

from __future__ import annotations

import io
import random
import struct

import pytest
from PIL import Image, ImageStat

from reviewer.demo.images import (
    DEMO_FORMATS,
    DEMO_KINDS,
    make_animated_gif,
    make_bad_files,
    make_demo_image,
)
from reviewer.media import decode_for_display, detect_format, probe


@pytest.mark.parametrize("kind", DEMO_KINDS)
@pytest.mark.parametrize("fmt", DEMO_FORMATS)
def test_each_kind_and_format_decodes_as_declared(kind: str, fmt: str) -> None:
    data = make_demo_image(random.Random(11), kind, (160, 120), fmt)
    assert detect_format(data) == fmt
    info = probe(data)
    assert (info.format, info.width, info.height) == (fmt, 160, 120)
    assert decode_for_display(data, (80, 80)).size == (80, 60)


@pytest.mark.parametrize("kind", DEMO_KINDS)
def test_same_seed_same_bytes_other_seed_other_bytes(kind: str) -> None:
    def make(seed: int) -> bytes:
        return make_demo_image(random.Random(seed), kind, (200, 150), "PNG")

    assert make(1) == make(1)
    assert make(1) != make(2)


def test_unknown_kind_format_or_size_is_refused() -> None:
    rng = random.Random(0)
    with pytest.raises(ValueError, match="unknown kind"):
        make_demo_image(rng, "photo", (10, 10), "PNG")
    with pytest.raises(ValueError, match="unknown format"):
        make_demo_image(rng, "shapes", (10, 10), "HEIC")
    with pytest.raises(ValueError, match="size"):
        make_demo_image(rng, "shapes", (0, 10), "PNG")


def test_gore_stand_in_is_abstract_red_and_dark() -> None:
    data = make_demo_image(random.Random(12), "gore_stand_in", (320, 240), "PNG")
    red, green, blue = ImageStat.Stat(Image.open(io.BytesIO(data)).convert("RGB")).mean
    assert red > 2 * green and red > 2 * blue
    assert (red + green + blue) / 3 < 110


def test_test_pattern_is_black_and_light_pixel_by_pixel() -> None:
    data = make_demo_image(random.Random(13), "test_pattern", (8, 9), "PNG")
    grey = Image.open(io.BytesIO(data)).convert("L")
    row = [grey.getpixel((x, 0)) for x in range(8)]
    assert row[0] == row[1] == 0 and min(row[2], row[3]) > 150  # 2-pixel checker cells
    bottom = [grey.getpixel((x, 8)) for x in range(4)]
    assert bottom[0] == 0 and bottom[1] > 150 and bottom[2] == 0  # 1-pixel stripes


def test_animated_gif_has_the_frames_asked_for() -> None:
    data = make_animated_gif(random.Random(14), (96, 64), frames=7)
    info = probe(data)
    assert (info.format, info.frame_count, info.animated) == ("GIF", 7, True)
    with pytest.raises(ValueError):
        make_animated_gif(random.Random(14), (96, 64), frames=1)


def test_bad_files_are_what_their_names_say() -> None:
    files = make_bad_files()
    assert files == make_bad_files()  # deterministic
    assert files["zero_byte.jpg"] == b""
    assert files["pdf_named.jpg"].startswith(b"%PDF-")
    assert detect_format(files["truncated.jpg"]) == "JPEG"
    assert detect_format(files["truncated.png"]) == "PNG"
    huge_width, huge_height = struct.unpack(">II", files["huge_dimensions.png"][16:24])
    assert (huge_width, huge_height) == (100_000, 100_000)
    assert len(files["huge_dimensions.png"]) < 1_000
    assert probe(files["cmyk.jpg"]).mode == "CMYK"
    assert probe(files["16bit.png"]).mode == "I;16"
    assert probe(files["palette.png"]).mode == "P"
    with Image.open(io.BytesIO(files["exif_rotated.jpg"])) as rotated:
        assert rotated.getexif()[0x0112] == 6
