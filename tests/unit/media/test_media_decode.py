"""Safe decoding: hostile and awkward files give typed, readable errors or clean pictures."""

from __future__ import annotations

import io
import os
import pickle
import random
import re
import signal
import struct
import sys
import threading
import time
import zlib
from pathlib import Path

import pytest
from PIL import Image, ImageFile, JpegImagePlugin, PngImagePlugin

from reviewer.demo.images import (
    DEMO_FORMATS,
    encode,
    make_animated_gif,
    make_bad_files,
    make_demo_image,
    make_exif_rotated_jpeg,
)
from reviewer.media import (
    DEFAULT_LIMITS,
    NEUTRAL_GREY,
    CorruptFile,
    DecodeLimits,
    DecodeMemoryExceeded,
    DecoderClosed,
    DecodeTimeout,
    EmptyFile,
    ImageTooLarge,
    MediaError,
    SafeDecoder,
    TruncatedFile,
    UnsupportedFormat,
    check_file,
    check_files,
    decode_for_display,
    decode_reduced,
    detect_format,
    probe,
    sha256_hex,
)

# What each rejected bad file must raise, and words its reason must contain.
REJECTED = {
    "zero_byte.jpg": (EmptyFile, "the file is empty"),
    "truncated.jpg": (TruncatedFile, "the file is truncated"),
    "truncated.png": (TruncatedFile, "the file is truncated"),
    "corrupt_idat.png": (CorruptFile, "the file is damaged"),
    "bad_crc.png": (CorruptFile, "checksum"),
    "pdf_named.jpg": (UnsupportedFormat, "looks like a PDF document"),
    "html_named.png": (UnsupportedFormat, "looks like a web page"),
    "video_named.gif": (UnsupportedFormat, "looks like a video"),
    "huge_dimensions.png": (ImageTooLarge, "larger than 200 megapixels"),
    "decompression_bomb.png": (ImageTooLarge, "larger than 200 megapixels"),
}
ACCEPTED = ["cmyk.jpg", "16bit.png", "palette.png", "animated.gif", "exif_rotated.jpg"]


@pytest.fixture(scope="module")
def bad_files() -> dict[str, bytes]:
    return make_bad_files()


@pytest.fixture(scope="module")
def decoder() -> SafeDecoder:
    with SafeDecoder() as safe_decoder:
        yield safe_decoder


@pytest.fixture(scope="module")
def good_jpeg() -> bytes:
    return make_demo_image(random.Random(3), "shapes", (640, 480), "JPEG")


@pytest.fixture(scope="module")
def big_jpeg() -> bytes:
    """A 24-megapixel JPEG (6000 x 4000)."""
    return make_demo_image(random.Random(4), "faces", (6000, 4000), "JPEG")


def encoded(image: Image.Image, fmt: str, **options: object) -> bytes:
    out = io.BytesIO()
    image.save(out, fmt, **options)
    return out.getvalue()


def test_bad_file_names_cover_every_expectation(bad_files: dict[str, bytes]) -> None:
    assert set(bad_files) == set(REJECTED) | set(ACCEPTED)


# --- rejected files -----------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(REJECTED))
def test_bad_file_gives_typed_error_with_readable_reason(
    name: str, bad_files: dict[str, bytes]
) -> None:
    error_type, words = REJECTED[name]
    with pytest.raises(error_type) as caught:
        decode_for_display(bad_files[name], (800, 600))
    assert words in caught.value.reason
    assert str(caught.value) == caught.value.reason
    assert "Traceback" not in caught.value.reason and "PIL" not in caught.value.reason


@pytest.mark.parametrize("name", sorted(REJECTED))
def test_safe_decoder_survives_each_bad_file(
    name: str, bad_files: dict[str, bytes], decoder: SafeDecoder, good_jpeg: bytes
) -> None:
    error_type, words = REJECTED[name]
    with pytest.raises(error_type) as caught:
        decoder.decode(bad_files[name], (800, 600))
    assert words in caught.value.reason
    assert decoder.decode(good_jpeg, (320, 240)).size == (320, 240)


def test_oversized_headers_are_refused_before_decoding(bad_files: dict[str, bytes]) -> None:
    bomb = bad_files["decompression_bomb.png"]
    width, height = struct.unpack(">II", bomb[16:24])
    assert len(bomb) < 100_000 and width * height > 200_000_000
    started = time.perf_counter()
    for name in ("decompression_bomb.png", "huge_dimensions.png"):
        with pytest.raises(ImageTooLarge):
            probe(bad_files[name])
    assert time.perf_counter() - started < 0.5


def test_pillow_guard_stays_on_but_never_refuses_what_our_limits_accept() -> None:
    # 100 MP is under our 200 MP limit but over Pillow's default warning threshold (89 MP),
    # which these tests turn into an error.
    probed = probe(_png_header_only(10_000, 10_000))
    assert (probed.width, probed.height) == (10_000, 10_000)
    assert Image.MAX_IMAGE_PIXELS is not None
    assert DEFAULT_LIMITS.max_pixels <= Image.MAX_IMAGE_PIXELS


def test_limits_are_configurable(good_jpeg: bytes) -> None:
    with pytest.raises(ImageTooLarge, match=r"larger than 0\.2 megapixels"):
        probe(good_jpeg, DecodeLimits(max_pixels=200_000))
    with pytest.raises(ImageTooLarge, match="wider or taller than 600 pixels"):
        decode_for_display(good_jpeg, None, DecodeLimits(max_side=600))


def test_memory_budget_is_checked_before_decoding() -> None:
    png = make_demo_image(random.Random(5), "shapes", (1600, 1200), "PNG")
    with pytest.raises(DecodeMemoryExceeded, match="more than the 4 MB allowed"):
        decode_for_display(png, (100, 100), DecodeLimits(memory_mb=4))


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"\xff\xd8\xff", TruncatedFile),
        (b"\xff\xd8\xff\xe0\x00\x10JFIF", TruncatedFile),
        (b"\x89PNG\r\n\x1a\n", TruncatedFile),
        (b"GIF89a\x10\x00", TruncatedFile),
        (b"RIFF\x00\x10\x00\x00WEBPVP8 ", TruncatedFile),
        (b"II*\x00", (TruncatedFile, CorruptFile)),
    ],
)
def test_files_cut_inside_the_header(data: bytes, expected: type[MediaError]) -> None:
    with pytest.raises(expected):
        decode_for_display(data)


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "GIF", "WEBP", "BMP"])
def test_truncated_files_of_every_format(fmt: str) -> None:
    data = make_demo_image(random.Random(6), "shapes", (300, 200), fmt)
    with pytest.raises(TruncatedFile):
        decode_for_display(data[: len(data) // 2], (300, 200))
    assert ImageFile.LOAD_TRUNCATED_IMAGES is False


def test_media_errors_cross_process_boundaries_intact() -> None:
    for error in (
        UnsupportedFormat.looks_like("a PDF document"),
        DecodeTimeout.after(0.5),
        ImageTooLarge.pixels(200_000_000),
        CorruptFile.because("a checksum does not match"),
    ):
        copy = pickle.loads(pickle.dumps(error))
        assert type(copy) is type(error) and copy.reason == error.reason


# --- identification -----------------------------------------------------------------------


@pytest.mark.parametrize("fmt", DEMO_FORMATS)
def test_detect_format_from_content(fmt: str) -> None:
    data = make_demo_image(random.Random(7), "shapes", (64, 48), fmt)
    assert detect_format(data) == fmt
    assert probe(data).format == fmt


@pytest.mark.parametrize(
    ("data", "words"),
    [
        (b"%PDF-1.4\n", "PDF document"),
        (b"PK\x03\x04" + bytes(30), "ZIP archive"),
        (b"\x00\x00\x00\x20ftypisom" + bytes(20), "video (MP4/MOV)"),
        (b"\x00\x00\x00\x18ftypheic" + bytes(20), "HEIC photo"),
        (b"\x1aE\xdf\xa3" + bytes(20), "video (WebM"),
        (b"MZ\x90\x00" + bytes(60), "Windows executable"),
        (b"\x7fELF\x02\x01\x01", "Linux executable"),
        (b"\xef\xbb\xbf  <!doctype html><title>x</title>", "web page (HTML)"),
        (b"<?xml version='1.0'?><svg xmlns='http://www.w3.org/2000/svg'/>", "SVG drawing"),
        (b"hello, this is a note\n", "text file"),
        (b"BM" + bytes(40), None),
        (bytes(range(256)), None),
    ],
)
def test_non_images_say_what_they_look_like(data: bytes, words: str | None) -> None:
    with pytest.raises(UnsupportedFormat) as caught:
        detect_format(data)
    if words is None:
        assert caught.value.reason == "the file is not a supported image"
    else:
        assert caught.value.reason.startswith("the file is not a supported image (looks like")
        assert words in caught.value.reason


def test_file_name_is_ignored(tmp_path: Path) -> None:
    png = make_demo_image(random.Random(8), "faces", (120, 90), "PNG")
    (tmp_path / "holiday.jpg").write_bytes(png)
    (tmp_path / "invoice.png").write_bytes(b"%PDF-1.7\n")
    assert check_file(tmp_path / "holiday.jpg") == "OK PNG 120x90"
    assert check_file(tmp_path / "invoice.png") == (
        "ERROR the file is not a supported image (looks like a PDF document)"
    )


def test_probe_reads_the_header_only(bad_files: dict[str, bytes]) -> None:
    info = probe(bad_files["truncated.jpg"])  # the header is intact, the pixels are not
    assert (info.format, info.mime_type, info.width, info.height) == (
        "JPEG",
        "image/jpeg",
        480,
        360,
    )
    assert (info.frame_count, info.animated, info.mode) == (1, False, "RGB")
    animated = probe(bad_files["animated.gif"])
    assert (animated.frame_count, animated.animated) == (6, True)
    assert probe(bad_files["16bit.png"]).mode == "I;16"


def test_sha256_hex() -> None:
    assert sha256_hex(b"") == ("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")


# --- decoding for display -----------------------------------------------------------------


def test_result_fits_target_keeps_aspect_and_never_enlarges(good_jpeg: bytes) -> None:
    assert decode_for_display(good_jpeg, (320, 320)).size == (320, 240)
    assert decode_for_display(good_jpeg, (1000, 120)).size == (160, 120)
    assert decode_for_display(good_jpeg, (4000, 4000)).size == (640, 480)
    assert decode_for_display(good_jpeg, None).size == (640, 480)
    with pytest.raises(ValueError):
        decode_for_display(good_jpeg, (0, 100))


def test_big_jpeg_is_decoded_at_reduced_scale(
    big_jpeg: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    drafted: list[tuple[int, int]] = []
    original_draft = JpegImagePlugin.JpegImageFile.draft

    def recording_draft(self, mode, size):  # type: ignore[no-untyped-def]
        result = original_draft(self, mode, size)
        drafted.append(self.size)
        return result

    monkeypatch.setattr(JpegImagePlugin.JpegImageFile, "draft", recording_draft)
    picture = decode_for_display(big_jpeg, (1600, 1200))
    assert picture.size == (1600, 1067)
    assert drafted == [(3000, 2000)]  # DCT-scaled by 1/2, still larger than the target
    decode_for_display(big_jpeg, (400, 300))
    assert drafted[-1] == (750, 500)  # by 1/8


@pytest.mark.parametrize(
    ("orientation", "corner"),
    [
        (1, "top_left"),
        (2, "top_right"),
        (3, "bottom_right"),
        (4, "bottom_left"),
        (5, "top_left"),
        (6, "top_right"),
        (7, "bottom_right"),
        (8, "bottom_left"),
    ],
)
def test_exif_orientation_is_applied(orientation: int, corner: str) -> None:
    data = make_exif_rotated_jpeg((320, 200), orientation)
    picture = decode_for_display(data, None)
    turned = orientation >= 5
    assert picture.size == ((200, 320) if turned else (320, 200))
    width, height = picture.size
    corners = {
        "top_left": (5, 5),
        "top_right": (width - 6, 5),
        "bottom_left": (5, height - 6),
        "bottom_right": (width - 6, height - 6),
    }
    for name, xy in corners.items():
        red, _green, blue = picture.getpixel(xy)
        assert (red > 180 and blue < 80) == (name == corner), (name, picture.getpixel(xy))
    # The target box applies to the picture as displayed.
    assert decode_for_display(data, (100, 100)).size == ((62, 100) if turned else (100, 62))


def test_metadata_is_stripped(bad_files: dict[str, bytes]) -> None:
    text = PngImagePlugin.PngInfo()
    text.add_text("Location", "51.5N 0.1W")
    png = encoded(Image.new("RGB", (40, 30), "blue"), "PNG", pnginfo=text, icc_profile=b"x" * 64)
    assert "Location" in Image.open(io.BytesIO(png)).info
    for data in (bad_files["exif_rotated.jpg"], png, bad_files["cmyk.jpg"]):
        picture = decode_for_display(data, (100, 100))
        assert picture.info == {}
        assert len(picture.getexif()) == 0
        assert picture.mode == "RGB"


def test_cmyk_jpeg_shows_true_colours() -> None:
    red = Image.new("RGB", (64, 64), (200, 30, 30)).convert("CMYK")
    picture = decode_for_display(encoded(red, "JPEG", quality=95), None)
    assert picture.mode == "RGB"
    centre = picture.getpixel((32, 32))
    assert all(abs(a - b) < 25 for a, b in zip(centre, (200, 30, 30), strict=True))


def test_16_bit_greyscale_is_scaled_not_clipped(bad_files: dict[str, bytes]) -> None:
    picture = decode_for_display(bad_files["16bit.png"], None)
    left, middle, right = (picture.getpixel((x, 32)) for x in (0, 128, 255))
    assert left == (0, 0, 0)
    assert all(120 <= channel <= 136 for channel in middle)
    assert right == (255, 255, 255)


def test_palette_transparency_is_shown_over_neutral_grey() -> None:
    paletted = Image.new("P", (40, 20), 0)
    paletted.putpalette([0, 0, 0, 220, 20, 20] + [0] * 762)
    paletted.paste(1, (20, 0, 40, 20))
    picture = decode_for_display(encoded(paletted, "PNG", transparency=0), None)
    assert picture.getpixel((5, 10)) == NEUTRAL_GREY
    assert picture.getpixel((35, 10)) == (220, 20, 20)


def test_greyscale_with_alpha_is_shown_over_neutral_grey() -> None:
    la = Image.new("LA", (20, 20), (255, 0))
    la.paste((0, 255), (10, 0, 20, 20))
    picture = decode_for_display(encoded(la, "PNG"), None)
    assert picture.getpixel((5, 5)) == NEUTRAL_GREY
    assert picture.getpixel((15, 5)) == (0, 0, 0)


@pytest.mark.parametrize("mode", ["1", "L", "P", "RGBA", "I;16"])
def test_every_mode_becomes_rgb(mode: str) -> None:
    picture = decode_for_display(encoded(Image.new(mode, (30, 20)), "PNG"), (15, 15))
    assert picture.mode == "RGB" and picture.size == (15, 10)


def test_animated_gif_shows_its_first_frame() -> None:
    data = make_animated_gif(random.Random(9), (120, 80), frames=5)
    with Image.open(io.BytesIO(data)) as gif:
        first = gif.convert("RGB")
    picture = decode_for_display(data, None)
    assert picture.tobytes() == first.tobytes()


def test_animated_webp_shows_its_first_frame() -> None:
    frames = [Image.new("RGB", (60, 40), colour) for colour in ("red", "lime", "blue")]
    out = io.BytesIO()
    frames[0].save(out, "WEBP", save_all=True, append_images=frames[1:], lossless=True)
    info = probe(out.getvalue())
    assert (info.format, info.frame_count, info.animated) == ("WEBP", 3, True)
    assert decode_for_display(out.getvalue(), None).getpixel((30, 20)) == (255, 0, 0)


def test_animated_png_shows_its_first_frame() -> None:
    frames = [Image.new("RGB", (64, 48), colour) for colour in ("red", "lime")]
    out = io.BytesIO()
    frames[0].save(out, "PNG", save_all=True, append_images=frames[1:])
    assert probe(out.getvalue()).animated
    assert decode_for_display(out.getvalue(), None).getpixel((32, 24)) == (255, 0, 0)


# A later frame of an animation declares its own size: 65535 x 65535 is 4.3 gigapixels.
BOMB_FRAME = (65535, 65535)
TOO_LARGE_FRAME_2 = "the image is larger than 200 megapixels (frame 2 of the animation)"


def _gif_with_second_frame(size: tuple[int, int], at: tuple[int, int] = (0, 0)) -> bytes:
    """A valid 100 x 100 GIF, then a second image descriptor declaring `size` at `at`,
    with only the image data the format requires (a clear code and the end code)."""
    first = io.BytesIO()
    Image.new("P", (100, 100), 1).save(first, "GIF")
    assert first.getvalue().endswith(b";")
    descriptor = b"," + struct.pack("<4H", *at, *size) + b"\x00"
    image_data = b"\x02" + b"\x02\x4c\x01" + b"\x00"  # LZW code size 2; one sub-block
    return first.getvalue()[:-1] + descriptor + image_data + b";"


def _two_frames(fmt: str) -> bytes:
    frames = [Image.new("RGB", (100, 100), colour) for colour in ("red", "lime")]
    out = io.BytesIO()
    frames[0].save(out, fmt, save_all=True, append_images=frames[1:], lossless=True)
    return out.getvalue()


def _apng_with_second_frame(size: tuple[int, int], at: tuple[int, int] = (0, 0)) -> bytes:
    """A 100 x 100 animated PNG whose second frame control chunk declares `size` at `at`."""
    data = bytearray(_two_frames("PNG"))
    start = data.index(b"fcTL", data.index(b"fcTL") + 4)  # the second frame's
    data[start + 8 : start + 24] = struct.pack(">IIII", *size, *at)
    end = start + 4 + 26
    data[end : end + 4] = struct.pack(">I", zlib.crc32(data[start:end]) & 0xFFFFFFFF)
    return bytes(data)


def _webp_with_second_frame(size: tuple[int, int]) -> bytes:
    """A 100 x 100 animated WebP whose second frame (ANMF chunk) declares `size`."""
    data = bytearray(_two_frames("WEBP"))
    body = data.index(b"ANMF", data.index(b"ANMF") + 4) + 8
    data[body + 6 : body + 12] = (size[0] - 1).to_bytes(3, "little") + (
        size[1] - 1).to_bytes(3, "little")
    return bytes(data)


@pytest.mark.parametrize("data", [
    pytest.param(_gif_with_second_frame(BOMB_FRAME), id="gif"),
    pytest.param(_gif_with_second_frame((10, 10), at=(65000, 65000)), id="gif-far-offset"),
    pytest.param(_apng_with_second_frame(BOMB_FRAME), id="apng"),
    pytest.param(_webp_with_second_frame(BOMB_FRAME), id="webp"),
])
def test_a_later_frame_declaring_gigapixels_is_refused_everywhere(
    tmp_path: Path, decoder: SafeDecoder, data: bytes
) -> None:
    """The first frame is an ordinary 100 x 100 picture; only a later frame is the bomb."""
    path = tmp_path / "bomb"
    path.write_bytes(data)
    assert check_file(path) == f"ERROR {TOO_LARGE_FRAME_2}"  # in process
    out = io.StringIO()
    assert check_files([path], out) == 1  # what `reviewer-admin media-check` runs
    assert out.getvalue() == f"{path}: ERROR {TOO_LARGE_FRAME_2}\n"
    for refuse in (probe, lambda d: decode_for_display(d, (256, 256)),
                   lambda d: decode_reduced(d, (256, 256), 32), decoder.decode):
        with pytest.raises(ImageTooLarge) as refused:
            refuse(data)
        assert refused.value.reason == TOO_LARGE_FRAME_2


@pytest.mark.parametrize("data", [
    pytest.param(_gif_with_second_frame((100, 100)), id="gif"),
    pytest.param(_apng_with_second_frame((100, 100)), id="apng"),
    pytest.param(_webp_with_second_frame((100, 100)), id="webp"),
])
def test_the_same_animations_with_an_ordinary_second_frame_are_shown(
    tmp_path: Path, data: bytes
) -> None:
    (tmp_path / "fine").write_bytes(data)
    assert check_file(tmp_path / "fine").endswith(" 100x100")
    assert probe(data).frame_count == 2
    assert decode_for_display(data, (50, 50)).size == (50, 50)


def test_a_gif_frame_that_enlarges_the_canvas_within_the_limits_is_still_shown() -> None:
    data = _gif_with_second_frame((10, 10), at=(1000, 500))
    assert probe(data).frame_count == 2
    assert decode_for_display(data, None).size == (100, 100)  # the first frame, as it is


def test_an_apng_frame_outside_its_picture_is_reported_as_damaged() -> None:
    data = _apng_with_second_frame((100, 100), at=(50, 50))
    for refuse in (probe, lambda d: decode_for_display(d, None)):
        with pytest.raises(CorruptFile, match="frame 2 of the animation lies outside the "
                                              "picture"):
            refuse(data)


def test_jpeg_with_a_damaged_header_is_reported_as_damaged(good_jpeg: bytes) -> None:
    start_of_frame = good_jpeg.index(b"\xff\xc0")
    damaged = bytearray(good_jpeg)
    damaged[start_of_frame + 7 : start_of_frame + 9] = b"\x00\x00"  # zero width
    with pytest.raises(CorruptFile, match="the file is damaged"):
        decode_for_display(bytes(damaged), (100, 100))


def test_jpeg_with_garbled_image_data_is_reported_as_damaged(good_jpeg: bytes) -> None:
    scan = good_jpeg.index(b"\xff\xda")
    garbled = bytearray(good_jpeg)
    rng = random.Random(1)
    for position in range(scan + 200, len(garbled) - 10, 50):
        garbled[position] = rng.randrange(256)
    with pytest.raises(CorruptFile, match="the file is damaged"):
        decode_for_display(bytes(garbled), (100, 100))


# --- decoding a reduced copy (for blurred renditions) ----------------------------------------


def test_reduced_decode_has_the_short_side_asked_for_and_the_full_display_size(
    good_jpeg: bytes,
) -> None:
    picture, display_size = decode_reduced(good_jpeg, (320, 320), 60)
    assert display_size == decode_for_display(good_jpeg, (320, 320)).size == (320, 240)
    assert picture.size == (80, 60) and picture.mode == "RGB"
    # Never larger than the full decode would be.
    picture, display_size = decode_reduced(good_jpeg, (100, 100), 500)
    assert picture.size == display_size == (100, 75)
    with pytest.raises(ValueError):
        decode_reduced(good_jpeg, (100, 100), 0)


def test_reduced_decode_of_a_big_jpeg_uses_the_smallest_dct_scale(
    big_jpeg: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    drafted: list[tuple[int, int]] = []
    original_draft = JpegImagePlugin.JpegImageFile.draft

    def recording_draft(self, mode, size):  # type: ignore[no-untyped-def]
        result = original_draft(self, mode, size)
        drafted.append(self.size)
        return result

    monkeypatch.setattr(JpegImagePlugin.JpegImageFile, "draft", recording_draft)
    picture, display_size = decode_reduced(big_jpeg, (1600, 1200), 134)
    assert display_size == (1600, 1067)
    assert picture.size == (201, 134)
    assert drafted == [(750, 500)]  # DCT-scaled by 1/8 instead of 1/2


def test_reduced_decode_reports_the_display_size_after_exif_rotation() -> None:
    data = make_exif_rotated_jpeg((320, 200), orientation=6)
    picture, display_size = decode_reduced(data, (400, 400), 50)
    assert display_size == decode_for_display(data, (400, 400)).size == (200, 320)
    assert picture.size == (50, 80)


def test_reduced_decode_refuses_what_the_full_decode_refuses(
    bad_files: dict[str, bytes],
) -> None:
    for name, (error_type, words) in REJECTED.items():
        with pytest.raises(error_type, match=re.escape(words)):
            decode_reduced(bad_files[name], (800, 600), 100)


def test_safe_decoder_reduced_decode_matches_in_process(
    decoder: SafeDecoder, good_jpeg: bytes
) -> None:
    bounded, bounded_size = decoder.decode_reduced(good_jpeg, (320, 320), 60)
    in_process, in_process_size = decode_reduced(good_jpeg, (320, 320), 60)
    assert bounded_size == in_process_size == (320, 240)
    assert bounded.tobytes() == in_process.tobytes()
    with pytest.raises(TruncatedFile):
        decoder.decode_reduced(good_jpeg[: len(good_jpeg) // 2], (320, 320), 60)
    assert decoder.decode(good_jpeg, (320, 240)).size == (320, 240)


# --- the bounded worker process -----------------------------------------------------------


def test_safe_decoder_matches_in_process_decoding(
    decoder: SafeDecoder, bad_files: dict[str, bytes]
) -> None:
    for name in ACCEPTED:
        in_process = decode_for_display(bad_files[name], (200, 200))
        bounded = decoder.decode(bad_files[name], (200, 200))
        assert (bounded.mode, bounded.size) == (in_process.mode, in_process.size)
        assert bounded.tobytes() == in_process.tobytes()


def test_decode_that_overruns_is_killed_and_the_next_one_works(
    decoder: SafeDecoder, big_jpeg: bytes, good_jpeg: bytes
) -> None:
    decoder.decode(good_jpeg, (10, 10))
    first_worker = decoder.worker_pid
    started = time.perf_counter()
    with pytest.raises(DecodeTimeout, match=r"decoding took longer than 0\.005 s"):
        decoder.decode(big_jpeg, None, timeout_s=0.005)
    assert time.perf_counter() - started < 2.0
    assert decoder.decode(good_jpeg, (320, 240)).size == (320, 240)
    assert decoder.worker_pid != first_worker


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_worker_that_dies_mid_decode_is_reported_and_replaced(
    decoder: SafeDecoder, big_jpeg: bytes, good_jpeg: bytes
) -> None:
    decoder.decode(good_jpeg, (10, 10))
    worker = decoder.worker_pid
    assert worker is not None
    busy_at_start = _cpu_ticks(worker)

    def kill_once_busy() -> None:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and _cpu_ticks(worker) < busy_at_start + 3:
            time.sleep(0.002)
        os.kill(worker, signal.SIGKILL)  # what the out-of-memory killer does

    killer = threading.Thread(target=kill_once_busy)
    killer.start()
    try:
        with pytest.raises(DecodeMemoryExceeded):
            decoder.decode(big_jpeg, None, timeout_s=30)
    finally:
        killer.join()
    assert decoder.decode(good_jpeg, (320, 240)).size == (320, 240)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_worker_address_space_is_capped(decoder: SafeDecoder, good_jpeg: bytes) -> None:
    decoder.decode(good_jpeg, (10, 10))
    limits = Path(f"/proc/{decoder.worker_pid}/limits").read_text()
    line = next(row for row in limits.splitlines() if row.startswith("Max address space"))
    soft = line.split()[3]
    assert soft != "unlimited"
    assert int(soft) <= (DEFAULT_LIMITS.memory_mb + 512) * 1024 * 1024


def test_safe_decoder_serves_several_threads(
    decoder: SafeDecoder, good_jpeg: bytes, bad_files: dict[str, bytes]
) -> None:
    results: dict[int, object] = {}

    def work(index: int) -> None:
        try:
            if index % 3 == 0:
                decoder.decode(bad_files["truncated.png"], (50, 50))
            results[index] = decoder.decode(good_jpeg, (64 + index, 64 + index)).size
        except MediaError as error:
            results[index] = error

    threads = [threading.Thread(target=work, args=(index,)) for index in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert all(isinstance(results[index], TruncatedFile) for index in (0, 3))
    for index in (1, 2, 4, 5):
        side = 64 + index
        assert results[index] == (side, round(side * 3 / 4))


def test_closed_decoder_refuses_work(good_jpeg: bytes) -> None:
    safe_decoder = SafeDecoder()
    assert safe_decoder.decode(good_jpeg, (32, 32)).size == (32, 24)
    safe_decoder.close()
    safe_decoder.close()
    with pytest.raises(DecoderClosed):
        safe_decoder.decode(good_jpeg, (32, 32))


def test_closing_ends_a_decode_in_progress(big_jpeg: bytes) -> None:
    safe_decoder = SafeDecoder()
    outcome: list[BaseException | None] = []

    def decode() -> None:
        try:
            safe_decoder.decode(big_jpeg, None, timeout_s=30)
            outcome.append(None)
        except MediaError as error:
            outcome.append(error)

    worker = threading.Thread(target=decode)
    worker.start()
    time.sleep(0.05)
    safe_decoder.close()
    worker.join(10)
    assert not worker.is_alive()
    assert outcome and (outcome[0] is None or isinstance(outcome[0], DecoderClosed))


# --- media-check --------------------------------------------------------------------------


def test_check_files_reports_each_file_and_fails_if_any_is_rejected(
    tmp_path: Path, bad_files: dict[str, bytes]
) -> None:
    paths = []
    for name in ("cmyk.jpg", "truncated.png", "animated.gif", "pdf_named.jpg"):
        (tmp_path / name).write_bytes(bad_files[name])
        paths.append(tmp_path / name)
    paths.append(tmp_path / "missing.png")
    out = io.StringIO()
    assert check_files(paths, out) == 1
    assert out.getvalue().splitlines() == [
        f"{tmp_path / 'cmyk.jpg'}: OK JPEG 480x360",
        f"{tmp_path / 'truncated.png'}: ERROR the file is truncated",
        f"{tmp_path / 'animated.gif'}: OK GIF 160x120",
        f"{tmp_path / 'pdf_named.jpg'}: ERROR the file is not a supported image "
        "(looks like a PDF document)",
        f"{tmp_path / 'missing.png'}: ERROR cannot read the file: No such file or directory",
    ]


def test_check_files_succeeds_when_all_are_ok(tmp_path: Path) -> None:
    for fmt in DEMO_FORMATS:
        data = make_demo_image(random.Random(10), "text", (90, 60), fmt)
        (tmp_path / f"post.{fmt.lower()}").write_bytes(data)
    out = io.StringIO()
    paths = sorted(tmp_path.iterdir())
    assert check_files(paths, out, hard_bounds=False) == 0
    assert all(line.endswith(" 90x60") for line in out.getvalue().splitlines())
    assert len(out.getvalue().splitlines()) == len(DEMO_FORMATS)


def test_check_file_never_raises(tmp_path: Path) -> None:
    assert check_file(tmp_path) == "ERROR cannot read the file: Is a directory"
    (tmp_path / "empty.gif").write_bytes(b"")
    assert check_file(tmp_path / "empty.gif") == "ERROR the file is empty"
    (tmp_path / "bomb.png").write_bytes(_png_header_only(20_000, 20_000))
    assert check_file(tmp_path / "bomb.png") == ("ERROR the image is larger than 200 megapixels")


# --- helpers ------------------------------------------------------------------------------


def _png_header_only(width: int, height: int) -> bytes:
    """A PNG that declares `width` x `height` but holds almost no data."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = zlib.crc32(kind + body) & 0xFFFFFFFF
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(bytes(64)))
        + chunk(b"IEND", b"")
    )


def _cpu_ticks(pid: int) -> int:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime + stime


def test_encode_helper_round_trips() -> None:
    data = encode(Image.new("RGB", (8, 8), "red"), "BMP")
    assert detect_format(data) == "BMP"
