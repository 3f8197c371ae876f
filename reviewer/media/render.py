"""Renditions the viewer shows: blurred (the default) and sharp, optionally in greyscale.

A rendition is made for the size it is displayed at, so the blur hides the same share of
detail whatever the window size. Renditions are cached by content hash, size, settings and
kind; the blurred path never hands out an unblurred picture while blurring is on.
"""

from __future__ import annotations

import math
import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import NamedTuple

from PIL import Image, ImageFilter

from reviewer.media.decode import (
    DEFAULT_LIMITS,
    DecodeLimits,
    SafeDecoder,
    decode_for_display,
    decode_reduced,
)

BLUR_PRESETS = {"strong": 0.05, "standard": 0.03, "none": 0.0}
MIN_BLUR_FRACTION = 0.01
MAX_BLUR_FRACTION = 0.06
# However small the picture, a blurred rendition is blurred by at least this sigma (pixels).
MIN_BLUR_SIGMA = 2.0
# Above this sigma the blur runs on a reduced copy; see `_gaussian_blur`.
_DIRECT_BLUR_SIGMA = 4.0

RENDITION_KINDS = ("blurred", "sharp")


@dataclass(frozen=True)
class RenditionSettings:
    """How a picture is shown.

    `blur_fraction` is the Gaussian sigma as a share of the shorter displayed side: 0.0 for
    no blur, otherwise between 0.01 and 0.06. Greyscale is on by default for wellness.
    """

    blur_fraction: float = BLUR_PRESETS["standard"]
    grayscale: bool = True

    def __post_init__(self) -> None:
        fraction = self.blur_fraction
        if fraction != 0.0 and not MIN_BLUR_FRACTION <= fraction <= MAX_BLUR_FRACTION:
            raise ValueError(
                f"blur_fraction must be 0 or between {MIN_BLUR_FRACTION} and "
                f"{MAX_BLUR_FRACTION}, not {fraction}"
            )

    @classmethod
    def from_preset(cls, name: str, *, grayscale: bool = True) -> RenditionSettings:
        try:
            return cls(blur_fraction=BLUR_PRESETS[name], grayscale=grayscale)
        except KeyError:
            raise ValueError(
                f"unknown blur preset {name!r}; choose from {', '.join(BLUR_PRESETS)}"
            ) from None

    @property
    def blurs(self) -> bool:
        return self.blur_fraction > 0.0


def settings_for_area(preset: str, blur_fraction: float, grayscale: bool) -> RenditionSettings:
    """The rendition settings for a policy area's blur preset and a reviewer's own choice.

    The reviewer's `blur_fraction` is their "standard" blur; a "strong" area blurs that much
    harder again (as the presets relate), up to the maximum, and a "none" area does not blur.
    """
    if preset not in BLUR_PRESETS:
        raise ValueError(f"unknown blur preset {preset!r}; choose from {', '.join(BLUR_PRESETS)}")
    if not MIN_BLUR_FRACTION <= blur_fraction <= MAX_BLUR_FRACTION:
        raise ValueError(
            f"blur_fraction must be between {MIN_BLUR_FRACTION} and {MAX_BLUR_FRACTION}, "
            f"not {blur_fraction}"
        )
    strength = BLUR_PRESETS[preset] / BLUR_PRESETS["standard"]
    fraction = 0.0 if strength == 0.0 else min(MAX_BLUR_FRACTION, blur_fraction * strength)
    return RenditionSettings(blur_fraction=round(fraction, 6), grayscale=grayscale)


def blur_sigma(size: tuple[int, int], settings: RenditionSettings) -> float:
    """The Gaussian sigma, in pixels, for a picture displayed at `size`; 0 for no blur."""
    if not settings.blurs:
        return 0.0
    return max(MIN_BLUR_SIGMA, settings.blur_fraction * min(size))


def make_blurred(img: Image.Image, settings: RenditionSettings) -> Image.Image:
    """A Gaussian-blurred copy of `img`, which is already at its displayed size.

    Only `settings.blur_fraction` is used here (greyscale is `make_grayscale`). With no blur
    the result is a plain copy.
    """
    if img.mode not in ("L", "RGB", "RGBA", "LA"):
        img = img.convert("RGB")
    sigma = blur_sigma(img.size, settings)
    if sigma == 0.0:
        return img.copy()
    return _gaussian_blur(img, sigma)


def _gaussian_blur(img: Image.Image, sigma: float) -> Image.Image:
    """Gaussian blur of `sigma` pixels, cheap even when sigma is large.

    A large blur removes all detail finer than sigma, so it is computed on a copy reduced
    by `factor` (box-averaged, which is itself a mild blur of about factor/3.5 pixels), with
    sigma/factor, then enlarged again with bicubic interpolation. The reduced copy keeps at
    least `_DIRECT_BLUR_SIGMA` pixels per sigma, so the enlargement is smooth and the result
    is a Gaussian blur of sigma within a few percent, at a fraction of the cost.
    """
    factor = int(sigma // _DIRECT_BLUR_SIGMA)
    factor = min(factor, min(img.size))
    if factor < 2:
        return img.filter(ImageFilter.GaussianBlur(sigma))
    small = img.reduce(factor)
    small = small.filter(ImageFilter.GaussianBlur(sigma / factor))
    return small.resize(img.size, Image.Resampling.BICUBIC)


def make_grayscale(img: Image.Image) -> Image.Image:
    """`img` in greyscale (mode "L", ITU-R 601-2 luma)."""
    return img.convert("L")


class RenditionKey(NamedTuple):
    content_hash: str
    view_size: tuple[int, int]
    settings: RenditionSettings
    kind: str


# Bytes per pixel as Pillow holds pictures in memory (RGB is padded to four bytes).
_BYTES_PER_PIXEL = {"1": 1, "L": 1, "P": 1, "I;16": 2}


def image_bytes(img: Image.Image) -> int:
    return img.width * img.height * _BYTES_PER_PIXEL.get(img.mode, 4)


class RenditionCache:
    """A thread-safe least-recently-used cache of renditions, bounded by their total bytes.

    Cached pictures are shared between callers: treat them as read-only.
    """

    def __init__(self, max_bytes: int = 256 * 1024 * 1024) -> None:
        if max_bytes < 0:
            raise ValueError("max_bytes must not be negative")
        self.max_bytes = max_bytes
        self._entries: OrderedDict[RenditionKey, Image.Image] = OrderedDict()
        self._total = 0
        self._lock = threading.Lock()

    def get(self, key: RenditionKey) -> Image.Image | None:
        with self._lock:
            image = self._entries.get(key)
            if image is not None:
                self._entries.move_to_end(key)
            return image

    def put(self, key: RenditionKey, image: Image.Image) -> None:
        """Store `image`, evicting the least recently used; one too big is not stored."""
        if key.kind not in RENDITION_KINDS:
            raise ValueError(f"kind must be one of {RENDITION_KINDS}, not {key.kind!r}")
        size = image_bytes(image)
        with self._lock:
            old = self._entries.pop(key, None)
            if old is not None:
                self._total -= image_bytes(old)
            if size > self.max_bytes:
                return
            self._entries[key] = image
            self._total += size
            while self._total > self.max_bytes:
                _, evicted = self._entries.popitem(last=False)
                self._total -= image_bytes(evicted)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._total = 0

    @property
    def total_bytes(self) -> int:
        with self._lock:
            return self._total

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)

    def __contains__(self, key: object) -> bool:
        with self._lock:
            return key in self._entries


class Renderer:
    """Makes and caches the renditions of one piece of media for a given view size.

    With a `SafeDecoder`, files are decoded in its bounded worker; with None, in process.
    """

    def __init__(
        self,
        decoder: SafeDecoder | None,
        cache: RenditionCache,
        *,
        limits: DecodeLimits = DEFAULT_LIMITS,
    ) -> None:
        self._decoder = decoder
        self._cache = cache
        self._limits = limits

    def blurred(
        self,
        data: bytes,
        content_hash: str,
        view_size: tuple[int, int],
        settings: RenditionSettings,
    ) -> Image.Image:
        """The rendition shown before a reveal: blurred unless `settings` turn blur off.

        A blur removes all detail finer than its sigma, so the picture is decoded only as
        finely as the blur can show (`decode_reduced`), blurred there and enlarged to its
        displayed size: a large file costs a fraction of a full decode and blur.
        """
        key = RenditionKey(content_hash, (view_size[0], view_size[1]), settings, "blurred")
        cached = self._cache.get(key)
        if cached is not None:
            return cached
        if settings.blurs:
            short_side = math.ceil(_DIRECT_BLUR_SIGMA / settings.blur_fraction)
            picture, display_size = self._decode_reduced(data, view_size, short_side)
        else:
            picture = self._decode(data, view_size)
            display_size = picture.size
        if settings.grayscale:
            picture = make_grayscale(picture)
        rendition = _blurred_at(picture, display_size, settings)
        del picture
        self._cache.put(key, rendition)
        return rendition

    def sharp(
        self,
        data: bytes,
        content_hash: str,
        view_size: tuple[int, int],
        settings: RenditionSettings,
        *,
        cache: bool = True,
    ) -> Image.Image:
        """The revealed rendition: not blurred, still greyscale if `settings` say so.

        With `cache=False` the rendition is neither taken from nor kept in the cache, so it
        lives only as long as the caller holds it (the viewer drops it on re-blur).
        """
        # Blur does not affect a sharp rendition, so all blur settings share one entry.
        unblurred = RenditionSettings(blur_fraction=0.0, grayscale=settings.grayscale)
        key = RenditionKey(content_hash, (view_size[0], view_size[1]), unblurred, "sharp")
        cached = self._cache.get(key) if cache else None
        if cached is not None:
            return cached
        picture = self._decode(data, view_size)
        if settings.grayscale:
            picture = make_grayscale(picture)
        if cache:
            self._cache.put(key, picture)
        return picture

    def _decode(self, data: bytes, view_size: tuple[int, int]) -> Image.Image:
        if self._decoder is not None:
            return self._decoder.decode(data, view_size)
        return decode_for_display(data, view_size, self._limits)

    def _decode_reduced(
        self, data: bytes, view_size: tuple[int, int], short_side: int
    ) -> tuple[Image.Image, tuple[int, int]]:
        if self._decoder is not None:
            return self._decoder.decode_reduced(data, view_size, short_side)
        return decode_reduced(data, view_size, short_side, self._limits)


def _blurred_at(
    picture: Image.Image, display_size: tuple[int, int], settings: RenditionSettings
) -> Image.Image:
    """`picture`, possibly a reduced copy, blurred as if at `display_size` and sized to it."""
    if picture.size == display_size or not settings.blurs:
        return make_blurred(picture, settings)
    sigma = blur_sigma(display_size, settings) * picture.width / display_size[0]
    if picture.mode not in ("L", "RGB", "RGBA", "LA"):
        picture = picture.convert("RGB")
    small = _gaussian_blur(picture, sigma)
    return small.resize(display_size, Image.Resampling.BICUBIC)
