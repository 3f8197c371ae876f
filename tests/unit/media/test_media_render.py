"""Renditions: blurred means blurred, measured from the pixels; the cache stays bounded."""

from __future__ import annotations

import random
import threading

import pytest
from PIL import Image, ImageChops, ImageFilter, ImageStat

from reviewer.demo.images import make_bad_files, make_demo_image
from reviewer.media import (
    BLUR_PRESETS,
    MediaError,
    Renderer,
    RenditionCache,
    RenditionKey,
    RenditionSettings,
    SafeDecoder,
    TruncatedFile,
    blur_sigma,
    decode_for_display,
    make_blurred,
    make_grayscale,
    settings_for_area,
)
from reviewer.media.render import image_bytes

VIEW = (800, 600)


def high_frequency_energy(picture: Image.Image) -> float:
    """Mean absolute difference between neighbouring pixels, in grey levels (0-255)."""
    grey = picture.convert("L")
    width, height = grey.size
    left, right = grey.crop((0, 0, width - 1, height)), grey.crop((1, 0, width, height))
    top, bottom = grey.crop((0, 0, width, height - 1)), grey.crop((0, 1, width, height))
    across, down = ImageChops.difference(left, right), ImageChops.difference(top, bottom)
    return (ImageStat.Stat(across).mean[0] + ImageStat.Stat(down).mean[0]) / 2


@pytest.fixture(scope="module")
def pattern_png() -> bytes:
    return make_demo_image(random.Random(1), "test_pattern", VIEW, "PNG")


@pytest.fixture(scope="module")
def pattern(pattern_png: bytes) -> Image.Image:
    return decode_for_display(pattern_png, VIEW)


@pytest.fixture(scope="module", params=["in_process", "safe_decoder"])
def decoder(request: pytest.FixtureRequest) -> SafeDecoder | None:
    if request.param == "in_process":
        yield None
    else:
        with SafeDecoder() as safe_decoder:
            yield safe_decoder


# --- settings ------------------------------------------------------------------------------


@pytest.mark.parametrize("fraction", [0.0, 0.01, 0.03, 0.05, 0.06])
def test_valid_blur_fractions(fraction: float) -> None:
    assert RenditionSettings(blur_fraction=fraction).blur_fraction == fraction


@pytest.mark.parametrize("fraction", [-0.01, 0.005, 0.061, 0.5, 1.0])
def test_invalid_blur_fractions_are_refused(fraction: float) -> None:
    with pytest.raises(ValueError, match="blur_fraction"):
        RenditionSettings(blur_fraction=fraction)


def test_presets_and_defaults() -> None:
    assert BLUR_PRESETS == {"strong": 0.05, "standard": 0.03, "none": 0.0}
    assert RenditionSettings() == RenditionSettings(blur_fraction=0.03, grayscale=True)
    assert RenditionSettings.from_preset("strong", grayscale=False).blur_fraction == 0.05
    assert not RenditionSettings.from_preset("none").blurs
    with pytest.raises(ValueError, match="unknown blur preset"):
        RenditionSettings.from_preset("light")
    with pytest.raises(AttributeError):
        RenditionSettings().grayscale = False  # type: ignore[misc]
    assert len({RenditionSettings(), RenditionSettings(0.03, True)}) == 1


def test_blur_sigma_follows_the_shorter_displayed_side() -> None:
    assert blur_sigma((800, 600), RenditionSettings(0.03)) == pytest.approx(18.0)
    assert blur_sigma((600, 800), RenditionSettings(0.05)) == pytest.approx(30.0)
    assert blur_sigma((40, 30), RenditionSettings(0.01)) == 2.0  # never less than 2 pixels
    assert blur_sigma((800, 600), RenditionSettings(0.0)) == 0.0


# --- blurring and greyscale ----------------------------------------------------------------


def test_test_pattern_is_sharp_to_begin_with(pattern: Image.Image) -> None:
    assert high_frequency_energy(pattern) > 60


@pytest.mark.parametrize("preset", ["strong", "standard"])
def test_blur_removes_high_frequency_detail(pattern: Image.Image, preset: str) -> None:
    blurred = make_blurred(pattern, RenditionSettings.from_preset(preset, grayscale=False))
    assert blurred.size == pattern.size and blurred.mode == pattern.mode
    assert high_frequency_energy(blurred) < 0.02 * high_frequency_energy(pattern)


def test_weakest_blur_still_removes_most_detail(pattern: Image.Image) -> None:
    blurred = make_blurred(pattern, RenditionSettings(blur_fraction=0.01))
    assert high_frequency_energy(blurred) < 0.05 * high_frequency_energy(pattern)


@pytest.mark.parametrize("fraction", [0.01, 0.03, 0.06])
def test_fast_blur_matches_a_true_gaussian(fraction: float) -> None:
    picture = decode_for_display(
        make_demo_image(random.Random(2), "shapes", (1200, 900), "PNG"), VIEW
    )
    sigma = blur_sigma(picture.size, RenditionSettings(fraction))
    reference = picture.filter(ImageFilter.GaussianBlur(sigma))
    fast = make_blurred(picture, RenditionSettings(fraction))
    # Closer to the true blur than a true blur with a 10% larger sigma is.
    slightly_stronger = picture.filter(ImageFilter.GaussianBlur(sigma * 1.1))
    error = ImageStat.Stat(ImageChops.difference(fast, reference)).mean
    tolerance = ImageStat.Stat(ImageChops.difference(slightly_stronger, reference)).mean
    assert all(e <= t for e, t in zip(error, tolerance, strict=True)), (error, tolerance)


def test_tiny_pictures_are_blurred_too() -> None:
    tiny = make_demo_image(random.Random(3), "test_pattern", (24, 18), "PNG")
    picture = decode_for_display(tiny, None)
    blurred = make_blurred(picture, RenditionSettings(0.01))
    assert high_frequency_energy(blurred) < 0.3 * high_frequency_energy(picture)


def test_no_blur_is_an_unchanged_copy(pattern: Image.Image) -> None:
    copy = make_blurred(pattern, RenditionSettings(0.0))
    assert copy is not pattern and copy.tobytes() == pattern.tobytes()


def test_grayscale() -> None:
    colourful = Image.new("RGB", (4, 4), (255, 0, 0))
    grey = make_grayscale(colourful)
    assert grey.mode == "L" and grey.getpixel((0, 0)) == 76  # ITU-R 601-2 luma of red


# --- the renderer ----------------------------------------------------------------------------


def test_blurred_rendition_is_blurred_and_sharp_is_not(
    decoder: SafeDecoder | None, pattern_png: bytes
) -> None:
    renderer = Renderer(decoder, RenditionCache())
    settings = RenditionSettings(grayscale=False)
    blurred = renderer.blurred(pattern_png, "pattern", VIEW, settings)
    sharp = renderer.sharp(pattern_png, "pattern", VIEW, settings)
    assert blurred.size == sharp.size == (800, 600)
    assert blurred.mode == sharp.mode == "RGB"
    assert high_frequency_energy(sharp) > 60
    assert high_frequency_energy(blurred) < 0.02 * high_frequency_energy(sharp)


@pytest.mark.parametrize("view", [(1600, 1200), (800, 600), (120, 90), (16, 16)])
@pytest.mark.parametrize("preset", ["strong", "standard"])
def test_blurred_path_never_returns_an_unblurred_picture(
    view: tuple[int, int], preset: str
) -> None:
    # A pattern made at the view size keeps all its fine detail in the sharp rendition.
    data = make_demo_image(random.Random(4), "test_pattern", view, "PNG")
    renderer = Renderer(None, RenditionCache())
    settings = RenditionSettings.from_preset(preset)
    # Ask for the sharp rendition first: the blurred one must not be served from it.
    sharp = renderer.sharp(data, "pattern", view, settings)
    assert high_frequency_energy(sharp) > 30
    for _ in range(2):  # made, then from the cache
        blurred = renderer.blurred(data, "pattern", view, settings)
        assert blurred.size == sharp.size
        assert high_frequency_energy(blurred) < 0.3 * high_frequency_energy(sharp)


def test_grayscale_setting_applies_to_both_renditions(pattern_png: bytes) -> None:
    renderer = Renderer(None, RenditionCache())
    settings = RenditionSettings(grayscale=True)
    assert renderer.blurred(pattern_png, "p", VIEW, settings).mode == "L"
    assert renderer.sharp(pattern_png, "p", VIEW, settings).mode == "L"
    colour = RenditionSettings(grayscale=False)
    assert renderer.sharp(pattern_png, "p", VIEW, colour).mode == "RGB"


def test_renditions_come_from_the_cache(pattern_png: bytes) -> None:
    cache = RenditionCache()
    renderer = Renderer(None, cache)
    settings = RenditionSettings()
    first = renderer.blurred(pattern_png, "pattern", VIEW, settings)
    # Same hash, size and settings: served without decoding (the bytes are not even read).
    assert renderer.blurred(b"", "pattern", VIEW, settings) is first
    assert RenditionKey("pattern", VIEW, settings, "blurred") in cache
    # Another size, other settings or the other kind are separate renditions.
    with pytest.raises(MediaError):
        renderer.blurred(b"", "pattern", (400, 300), settings)
    with pytest.raises(MediaError):
        renderer.blurred(b"", "pattern", VIEW, RenditionSettings(0.05))
    with pytest.raises(MediaError):
        renderer.sharp(b"", "pattern", VIEW, settings)
    # A sharp rendition does not depend on the blur strength.
    sharp = renderer.sharp(pattern_png, "pattern", VIEW, settings)
    assert renderer.sharp(b"", "pattern", VIEW, RenditionSettings(0.05)) is sharp


def test_decode_errors_reach_the_caller(decoder: SafeDecoder | None) -> None:
    renderer = Renderer(decoder, RenditionCache())
    with pytest.raises(TruncatedFile):
        renderer.blurred(make_bad_files()["truncated.jpg"], "t", VIEW, RenditionSettings())


@pytest.mark.parametrize("fraction", [0.01, 0.03, 0.06])
def test_blurred_rendition_from_a_reduced_decode_matches_a_true_gaussian(
    fraction: float,
) -> None:
    data = make_demo_image(random.Random(2), "shapes", (2400, 1800), "JPEG")
    settings = RenditionSettings(fraction, grayscale=False)
    fast = Renderer(None, RenditionCache()).blurred(data, "shapes", VIEW, settings)
    full = decode_for_display(data, VIEW)
    assert fast.size == full.size == VIEW
    sigma = blur_sigma(full.size, settings)
    reference = full.filter(ImageFilter.GaussianBlur(sigma))
    # Closer to the true blur than a true blur with a 10% larger sigma is.
    slightly_stronger = full.filter(ImageFilter.GaussianBlur(sigma * 1.1))
    error = ImageStat.Stat(ImageChops.difference(fast, reference)).mean
    tolerance = ImageStat.Stat(ImageChops.difference(slightly_stronger, reference)).mean
    assert all(e <= t for e, t in zip(error, tolerance, strict=True)), (error, tolerance)


def test_blurred_rendition_of_a_big_picture_is_made_from_a_small_decode(
    decoder: SafeDecoder | None,
) -> None:
    data = make_demo_image(random.Random(5), "faces", (3000, 2000), "JPEG")
    calls: list[tuple[str, object]] = []

    class Spy(Renderer):
        def _decode_reduced(self, data, view_size, short_side):  # type: ignore[no-untyped-def]
            picture, display_size = super()._decode_reduced(data, view_size, short_side)
            calls.append(("reduced", picture.size))
            return picture, display_size

    blurred = Spy(decoder, RenditionCache()).blurred(data, "f", (1600, 1200),
                                                    RenditionSettings())
    assert blurred.size == (1600, 1067) and blurred.mode == "L"
    assert calls == [("reduced", (201, 134))]  # 4 pixels per sigma at 3 %


def test_sharp_rendition_can_bypass_the_cache(pattern_png: bytes) -> None:
    cache = RenditionCache()
    renderer = Renderer(None, cache)
    settings = RenditionSettings()
    sharp = renderer.sharp(pattern_png, "pattern", VIEW, settings, cache=False)
    assert high_frequency_energy(sharp) > 60
    assert len(cache) == 0
    cached = renderer.sharp(pattern_png, "pattern", VIEW, settings)
    assert renderer.sharp(pattern_png, "pattern", VIEW, settings, cache=False) is not cached


def test_area_presets_scale_the_reviewers_own_blur() -> None:
    assert settings_for_area("standard", 0.03, True) == RenditionSettings(0.03, True)
    assert settings_for_area("strong", 0.03, True) == RenditionSettings(0.05, True)
    assert settings_for_area("none", 0.03, False) == RenditionSettings(0.0, False)
    assert settings_for_area("standard", 0.01, True).blur_fraction == 0.01
    assert settings_for_area("strong", 0.01, True).blur_fraction == pytest.approx(0.01667,
                                                                                 abs=1e-4)
    assert settings_for_area("strong", 0.06, True).blur_fraction == 0.06  # capped
    with pytest.raises(ValueError, match="unknown blur preset"):
        settings_for_area("extreme", 0.03, True)
    with pytest.raises(ValueError, match="blur_fraction"):
        settings_for_area("standard", 0.2, True)


# --- the cache --------------------------------------------------------------------------------


def _key(name: str) -> RenditionKey:
    return RenditionKey(name, (100, 100), RenditionSettings(), "blurred")


def _picture(width: int = 100, height: int = 100) -> Image.Image:
    return Image.new("L", (width, height))  # one byte per pixel


def test_cache_is_bounded_and_evicts_the_least_recently_used() -> None:
    cache = RenditionCache(max_bytes=30_000)
    for name in ("a", "b", "c"):
        cache.put(_key(name), _picture())
    assert len(cache) == 3 and cache.total_bytes == 30_000
    assert cache.get(_key("a")) is not None  # "a" is now the most recently used
    cache.put(_key("d"), _picture())
    assert _key("b") not in cache
    assert all(_key(name) in cache for name in ("a", "c", "d"))
    assert cache.total_bytes == 30_000
    cache.put(_key("e"), _picture(200, 100))  # twice the size: evicts two
    assert [name for name in "acde" if _key(name) in cache] == ["d", "e"]
    assert cache.total_bytes <= cache.max_bytes


def test_cache_skips_oversized_pictures_and_replaces_entries() -> None:
    cache = RenditionCache(max_bytes=10_000)
    cache.put(_key("big"), _picture(200, 200))
    assert len(cache) == 0 and cache.total_bytes == 0
    cache.put(_key("a"), _picture(50, 50))
    cache.put(_key("a"), _picture(60, 60))
    assert len(cache) == 1 and cache.total_bytes == 3_600
    cache.clear()
    assert len(cache) == 0 and cache.total_bytes == 0
    with pytest.raises(ValueError, match="kind"):
        cache.put(RenditionKey("x", (1, 1), RenditionSettings(), "raw"), _picture())


def test_cache_counts_bytes_as_pillow_holds_them() -> None:
    assert image_bytes(Image.new("L", (10, 10))) == 100
    assert image_bytes(Image.new("RGB", (10, 10))) == 400


def test_cache_stays_consistent_under_concurrent_use() -> None:
    cache = RenditionCache(max_bytes=50_000)

    def work(worker: int) -> None:
        for index in range(200):
            cache.put(_key(f"{worker}-{index % 17}"), _picture(50 + index % 30, 50))
            cache.get(_key(f"{worker}-{(index * 7) % 17}"))

    threads = [threading.Thread(target=work, args=(worker,)) for worker in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    held = [cache.get(_key(f"{w}-{i}")) for w in range(4) for i in range(17)]
    assert cache.total_bytes == sum(image_bytes(p) for p in held if p is not None)
    assert cache.total_bytes <= 50_000
