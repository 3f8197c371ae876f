"""Benchmark: how fast a selected case's media is on screen blurred, and memory over a shift.

Prints measured figures and ratios against a baseline measured in the same run; asserts
nothing. Run with `.venv/bin/python bench/bench_media.py` (about a minute; `--small` for a
CI-sized run: every picture and the view a quarter of the side, one run per figure, 10
images in the memory run).

1. "Case selected" to blurred rendition ready at a 1,600 x 1,200 view, for a 24-megapixel
   JPEG and a 4,000 x 3,000 PNG: through `Renderer` with a `SafeDecoder` (the app's path),
   cache cleared before each run, median of several runs. Baseline: decode at full size,
   Pillow's GaussianBlur at full size (sigma 3 % of the shorter side), then greyscale and
   scale to the view, in process; and the same with greyscale first (a cheaper blur, the
   ratio that counts). Also shown: the renderer's earlier path (decode at the view size,
   blur there) and the reveal latency (sharp rendition, uncached).
2. Memory while viewing 300 images in a row, each a cache miss (blurred view, thumbnail,
   and a reveal for every tenth): resident memory of this process at the start, every 50
   images, at its peak and at the end, and the rendition cache's size against its bound.
"""

from __future__ import annotations

import argparse
import random
import resource
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

from PIL import Image, ImageFilter, ImageOps

from reviewer.demo.images import make_demo_image
from reviewer.media.decode import SafeDecoder
from reviewer.media.render import (
    Renderer,
    RenditionCache,
    RenditionSettings,
    blur_sigma,
    make_blurred,
    make_grayscale,
)

VIEW = (1600, 1200)
THUMBNAIL = (112, 84)
SMALL = {"divisor": 4, "runs": 1, "items": 10}
SETTINGS = RenditionSettings()  # standard blur (3 %), greyscale: the defaults


def rss_mb(pid: str = "self") -> float:
    """Resident memory from /proc (Linux); elsewhere the peak from getrusage."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024 if sys.platform == "darwin" else 1024)


def median_ms(work: Callable[[], object], runs: int, before: Callable[[], None]) -> float:
    times = []
    for _ in range(runs):
        before()
        started = time.perf_counter()
        work()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def photo_like_jpeg(rng: random.Random, size: tuple[int, int]) -> bytes:
    """A synthetic picture with film grain, saved at quality 90: as costly to decode as a
    camera photo of that size (about 9 MB at 24 megapixels), unlike flat synthetic art."""
    import io

    with Image.open(io.BytesIO(make_demo_image(rng, "faces", size, "PNG"))) as drawn:
        grain = Image.effect_noise(size, 40).convert("RGB")
        photo = Image.blend(drawn.convert("RGB"), grain, 0.25)
    out = io.BytesIO()
    photo.save(out, "JPEG", quality=90)
    return out.getvalue()


def scaled(size: tuple[int, int], divisor: int) -> tuple[int, int]:
    return size[0] // divisor, size[1] // divisor


def baseline_blurred(data: bytes, grey_first: bool, view: tuple[int, int]) -> Image.Image:
    """The naive way: decode everything, blur everything, then make it fit the view."""
    import io

    with Image.open(io.BytesIO(data)) as opened:
        picture = ImageOps.exif_transpose(opened).convert("L" if grey_first else "RGB")
    sigma = SETTINGS.blur_fraction * min(picture.size)
    picture = picture.filter(ImageFilter.GaussianBlur(sigma)).convert("L")
    picture.thumbnail(view, Image.Resampling.BICUBIC)
    return picture


def bench_latency(decoder: SafeDecoder, runs: int, divisor: int = 1) -> None:
    view = scaled(VIEW, divisor)
    print(f"Blurred rendition ready at a {view[0]} x {view[1]} view, median of {runs} runs "
          "(cache cleared each run)")
    jpeg, png = scaled((6000, 4000), divisor), scaled((4000, 3000), divisor)
    jpeg_mp, png_mp = jpeg[0] * jpeg[1] / 1e6, png[0] * png[1] / 1e6
    samples = {
        f"{jpeg_mp:.3g} MP JPEG ({jpeg[0]} x {jpeg[1]}), photo-like":
            photo_like_jpeg(random.Random(1), jpeg),
        f"{jpeg_mp:.3g} MP JPEG ({jpeg[0]} x {jpeg[1]}), flat cartoon":
            make_demo_image(random.Random(1), "faces", jpeg, "JPEG"),
        f"{png_mp:.3g} MP PNG ({png[0]} x {png[1]})":
            make_demo_image(random.Random(2), "shapes", png, "PNG"),
    }
    cache = RenditionCache()
    renderer = Renderer(decoder, cache)
    for name, data in samples.items():
        renderer.blurred(data, "warm-up", view, SETTINGS)  # the worker is started and warm
        ours = median_ms(lambda data=data: renderer.blurred(data, "x", view, SETTINGS),
                         runs, cache.clear)

        def view_size_path(data: bytes = data) -> Image.Image:
            picture = make_grayscale(decoder.decode(data, view))
            return make_blurred(picture, SETTINGS)

        earlier = median_ms(view_size_path, runs, cache.clear)
        baseline_runs = max(3, runs // 2) if runs > 1 else 1
        baseline_rgb = median_ms(lambda data=data: baseline_blurred(data, False, view),
                                 baseline_runs, lambda: None)
        baseline = median_ms(lambda data=data: baseline_blurred(data, True, view),
                             baseline_runs, lambda: None)
        reveal = median_ms(
            lambda data=data: renderer.sharp(data, "x", view, SETTINGS, cache=False),
            runs, lambda: None)
        size = renderer.blurred(data, "x", view, SETTINGS).size
        sigma = blur_sigma(size, SETTINGS)
        print(f"  {name}, {len(data) / 1e6:.1f} MB, shown at {size[0]} x {size[1]}, "
              f"sigma {sigma:.0f} px")
        print(f"    renderer + SafeDecoder (reduced decode): {ours:7.1f} ms")
        print(f"    earlier path (decode at view size, blur): {earlier:7.1f} ms")
        print(f"    baseline: full decode, full-size blur:    {baseline_rgb:7.1f} ms"
              f"   -> {baseline_rgb / ours:5.1f}x faster")
        print(f"    baseline, greyscale before the blur:      {baseline:7.1f} ms"
              f"   -> {baseline / ours:5.1f}x faster")
        print(f"    reveal (sharp rendition, not cached):     {reveal:7.1f} ms")


def bench_memory(decoder: SafeDecoder, items: int, divisor: int = 1) -> None:
    print(f"\nMemory while viewing {items} images in a row (each a cache miss)")
    view = scaled(VIEW, divisor)
    wide, tall, png = (scaled(size, divisor) for size in ((6000, 4000), (4000, 6000),
                                                          (4000, 3000)))
    rng = random.Random(3)
    sources = [photo_like_jpeg(rng, wide), photo_like_jpeg(rng, tall)]
    sources += [make_demo_image(rng, kind, wide, "JPEG")
                for kind in ("shapes", "gore_stand_in")]
    sources += [make_demo_image(rng, kind, png, "PNG")
                for kind in ("shapes", "faces", "noise")]
    cache = RenditionCache()
    renderer = Renderer(decoder, cache)
    renderer.blurred(sources[0], "warm-up", view, SETTINGS)
    cache.clear()
    start = peak = rss_mb()
    print(f"  start: {start:7.1f} MB resident ({len(sources)} source files held, "
          f"{sum(map(len, sources)) / 1e6:.1f} MB)")
    started = time.perf_counter()
    for index in range(items):
        data = sources[index % len(sources)]
        content_hash = f"item-{index}"  # another item each time: never served from cache
        renderer.blurred(data, content_hash, view, SETTINGS)
        renderer.blurred(data, content_hash, THUMBNAIL, SETTINGS)
        if index % 10 == 0:
            sharp = renderer.sharp(data, content_hash, view, SETTINGS, cache=False)
            del sharp  # dropped on re-blur, as the viewer does
        peak = max(peak, rss_mb())
        if (index + 1) % 50 == 0:
            print(f"  after {index + 1:3d}: {rss_mb():7.1f} MB resident, cache "
                  f"{cache.total_bytes / 2**20:6.1f} MB in {len(cache)} renditions")
    elapsed = time.perf_counter() - started
    end = rss_mb()
    worker = decoder.worker_pid
    print(f"  peak {peak:.1f} MB, end {end:.1f} MB resident; growth over the start "
          f"{end - start:+.1f} MB; cache bound {cache.max_bytes / 2**20:.0f} MB")
    if worker is not None:
        print(f"  decoder worker process (separate, capped): {rss_mb(str(worker)):.1f} MB")
    if items:
        print(f"  {items} images in {elapsed:.1f} s ({elapsed / items * 1000:.0f} ms each, "
              "blurred view and thumbnail, a reveal every tenth)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=None,
                        help="runs per latency figure (default 7)")
    parser.add_argument("--items", type=int, default=None,
                        help="images for the memory run (default 300)")
    parser.add_argument("--small", action="store_true",
                        help=f"a CI-sized run: pictures and view 1/{SMALL['divisor']} of the "
                             f"side, {SMALL['runs']} run per figure, {SMALL['items']} images "
                             "(unless given)")
    args = parser.parse_args()
    divisor = SMALL["divisor"] if args.small else 1
    runs = args.runs or (SMALL["runs"] if args.small else 7)
    items = args.items if args.items is not None else (SMALL["items"] if args.small else 300)
    with SafeDecoder() as decoder:
        bench_latency(decoder, runs, divisor)
        bench_memory(decoder, items, divisor)


if __name__ == "__main__":
    main()
