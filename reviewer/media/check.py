"""`reviewer-admin media-check`: would the viewer show these files, and if not, why not.

Each file is identified, size-checked (each frame of an animation too) and decoded exactly
as the viewer would, and gets one line: "OK <format> <width>x<height>" or "ERROR <reason>".
Checking never raises. A video gets "OK <container> <width>x<height> <codec> <seconds> s
<fps> fps <audio|no audio>" after the viewer's checks and a decode of frames spread over
it, within `VideoLimits`' frame and time budgets.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import TextIO

from reviewer.media.decode import (
    DEFAULT_LIMITS,
    DecodeLimits,
    SafeDecoder,
    decode_for_display,
    probe,
)
from reviewer.media.errors import MediaError
from reviewer.media.video import (
    DEFAULT_VIDEO_LIMITS,
    VideoLimits,
    VideoReader,
    evenly_spaced,
    looks_like_video,
)
from reviewer.media.video_worker import check_video_bounded

# Decoding to a small size exercises every byte of the file while costing little.
_CHECK_SIZE = (256, 256)
# Positions decoded across a video: enough to find one cut off or damaged part-way.
_VIDEO_CHECK_POSITIONS = 4


def check_file(
    path: str | os.PathLike[str],
    decoder: SafeDecoder | None = None,
    limits: DecodeLimits = DEFAULT_LIMITS,
) -> str:
    """One verdict line for the file at `path`; decodes in `decoder` if one is given."""
    try:
        with open(path, "rb") as file:
            data = file.read()
    except OSError as exc:
        return f"ERROR cannot read the file: {exc.strerror or exc}"
    if looks_like_video(data):
        return check_video(data, bounded=decoder is not None)
    try:
        info = probe(data, decoder.limits if decoder is not None else limits)
        if decoder is not None:
            decoder.decode(data, _CHECK_SIZE)
        else:
            decode_for_display(data, _CHECK_SIZE, limits)
    except MediaError as exc:
        return f"ERROR {exc.reason}"
    except Exception as exc:  # a checker reports, it never crashes on a file
        return f"ERROR the file could not be checked: {type(exc).__name__}"
    return f"OK {info.format} {info.width}x{info.height}"


def check_video(data: bytes, limits: VideoLimits = DEFAULT_VIDEO_LIMITS, *,
                bounded: bool = False) -> str:
    """One verdict line for a video's bytes, as the viewer would open and storyboard it;
    `bounded`: in a worker process with the viewer's memory and time limits."""
    try:
        if bounded:
            info = check_video_bounded(data, limits)
        else:
            with VideoReader(data, limits) as reader:
                info = reader.info
                for position in [0.0, *evenly_spaced(info.duration_s,
                                                     _VIDEO_CHECK_POSITIONS)]:
                    reader.frame_at(position)
    except MediaError as exc:
        return f"ERROR {exc.reason}"
    except Exception as exc:  # a checker reports, it never crashes on a file
        return f"ERROR the file could not be checked: {type(exc).__name__}"
    audio = "audio" if info.has_audio else "no audio"
    return (f"OK {info.container} {info.width}x{info.height} {info.codec} "
            f"{info.duration_s:.1f} s {info.frame_rate:g} fps {audio}")


def check_files(
    paths: Iterable[str | os.PathLike[str]],
    out: TextIO,
    *,
    hard_bounds: bool = True,
    limits: DecodeLimits = DEFAULT_LIMITS,
) -> int:
    """Write "<path>: <verdict>" for each file to `out`; 0 if all are OK, else 1.

    With `hard_bounds`, files are decoded in a `SafeDecoder` worker, so no file can hang or
    exhaust the checker.
    """
    all_ok = True
    decoder = SafeDecoder(limits) if hard_bounds else None
    try:
        for path in paths:
            verdict = check_file(path, decoder, limits)
            all_ok = all_ok and verdict.startswith("OK ")
            out.write(f"{os.fspath(path)}: {verdict}\n")
    finally:
        if decoder is not None:
            decoder.close()
    return 0 if all_ok else 1
