"""Synthetic videos for the demo, the tests and the benchmark: moving shapes and a beep.

Drawn by code from a `random.Random`; nothing here depicts anything real. `make_bad_videos`
builds the broken and hostile inputs the video decoder must refuse with a clear reason.
"""

from __future__ import annotations

import io
import math
import random
import struct

import av
from PIL import Image, ImageDraw

_COLOURS = [(255, 214, 0), (80, 170, 255), (120, 220, 120), (255, 140, 200), (200, 40, 40)]


def make_demo_video(
    rng: random.Random,
    size: tuple[int, int] = (640, 360),
    duration_s: float = 8.0,
    fps: int = 25,
    *,
    codec: str = "libx264",
    container: str = "mp4",
    audio: bool = True,
    gop: int | None = None,
    checker: int = 0,
) -> bytes:
    """An encoded video of shapes moving over a background, with a beep every second.

    `checker` > 0 fills the background with a checkerboard of that cell size: sharp detail
    that a blur must remove (for tests). `gop` is the keyframe interval in frames (default:
one second, as streaming uploads usually are).
    """
    width, height = size
    frames = max(1, round(duration_s * fps))
    background = _background(rng, size, checker)
    shapes = [
        (rng.choice(_COLOURS), rng.randrange(3), max(4, min(size) // rng.randrange(4, 8)),
         rng.random(), rng.random(), rng.uniform(-0.4, 0.4), rng.uniform(-0.4, 0.4))
        for _ in range(3)
    ]
    out = io.BytesIO()
    with av.open(out, mode="w", format=container) as output:
        video = output.add_stream(codec, rate=fps)
        video.width, video.height = width, height
        video.pix_fmt = "yuv420p"
        if codec == "libx264":
            video.options = {"preset": "ultrafast", "crf": "18"}
        video.codec_context.gop_size = gop or fps
        sound = None
        if audio:
            sound = output.add_stream("aac", rate=22050)
            sound.layout = "mono"
        for index in range(frames):
            t = index / fps
            picture = background.copy()
            draw = ImageDraw.Draw(picture)
            for colour, kind, radius, x0, y0, vx, vy in shapes:
                x = _bounce(x0 + vx * t) * (width - 2 * radius) + radius
                y = _bounce(y0 + vy * t) * (height - 2 * radius) + radius
                box = (x - radius, y - radius, x + radius, y + radius)
                if kind == 0:
                    draw.ellipse(box, fill=colour)
                elif kind == 1:
                    draw.rectangle(box, fill=colour)
                else:
                    draw.polygon([(x, y - radius), (x + radius, y + radius),
                                  (x - radius, y + radius)], fill=colour)
            frame = av.VideoFrame.from_image(picture)
            frame.pts = index
            for packet in video.encode(frame):
                output.mux(packet)
        for packet in video.encode(None):
            output.mux(packet)
        if sound is not None:
            for packet in sound.encode(_beeps(duration_s, 22050)):
                output.mux(packet)
            for packet in sound.encode(None):
                output.mux(packet)
    return out.getvalue()


def _bounce(value: float) -> float:
    """`value` folded into 0..1, as a ball bouncing between two walls."""
    value = value % 2.0
    return value if value <= 1.0 else 2.0 - value


def _background(rng: random.Random, size: tuple[int, int], checker: int) -> Image.Image:
    width, height = size
    if checker > 0:
        cells = (-(-width // checker), -(-height // checker))
        row = bytes((0, 255)) * (cells[0] // 2 + 1)
        rows = [row[y % 2: y % 2 + cells[0]] for y in range(cells[1])]
        board = Image.frombytes("L", cells, b"".join(rows))
        board = board.resize((cells[0] * checker, cells[1] * checker), Image.Resampling.NEAREST)
        return board.crop((0, 0, width, height)).convert("RGB")
    top = tuple(rng.randrange(0, 100) for _ in range(3))
    bottom = tuple(rng.randrange(120, 256) for _ in range(3))
    ramp = Image.linear_gradient("L").resize(size)
    return Image.merge("RGB", [
        ramp.point(lambda v, a=a, b=b: a + (b - a) * v // 255)
        for a, b in zip(top, bottom, strict=True)
    ])


def _beeps(duration_s: float, rate: int) -> av.AudioFrame:
    """A 440 Hz beep for the first 0.2 s of every second, silence otherwise (mono, s16)."""
    samples = max(1, round(duration_s * rate))
    beep = [int(8000 * math.sin(2 * math.pi * 440 * n / rate)) for n in range(rate // 5)]
    second = struct.pack(f"<{rate}h", *beep, *([0] * (rate - len(beep))))
    pcm = (second * (samples // rate + 1))[: 2 * samples]
    frame = av.AudioFrame(format="s16", layout="mono", samples=samples)
    frame.sample_rate = rate
    frame.pts = 0
    frame.planes[0].update(pcm)
    return frame


def make_bad_videos() -> dict[str, bytes]:
    """Named broken inputs: each must be refused with a reason, never shown or crash."""
    rng = random.Random(20260601)
    good = make_demo_video(rng, (160, 120), 2.0, 10, audio=False)
    mkv = make_demo_video(rng, (160, 120), 3.0, 10, container="matroska", audio=False)
    png = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 0, 0)).save(png, "PNG")
    return {
        "zero_length.mp4": b"",
        "truncated.mp4": good[: len(good) * 3 // 5],
        "truncated_middle.mkv": mkv[: len(mkv) // 2],
        "absurd_dimensions.mp4": make_demo_video(rng, (8208, 16), 0.3, 10, audio=False),
        "absurd_frame_rate.mp4": make_demo_video(rng, (64, 48), 0.05, 1000, audio=False),
        "unsupported_codec.mkv": make_demo_video(rng, (64, 48), 1.0, 5, codec="ffv1",
                                                 container="matroska", audio=False),
        "image_named.mp4": png.getvalue(),
        "text_named.mp4": b"this is not a video at all\n" * 4,
    }
