"""Why a media file cannot be shown, in words a reviewer understands.

Every failure of the media pipeline is a `MediaError` whose `reason` is safe to put on screen
as is ("the file is truncated"). The classes say what kind of failure it was, so callers can
react (retry, report the file as damaged) without parsing text. The errors pickle, so they
cross the boundary of the decoder process unchanged.
"""

from __future__ import annotations


class MediaError(Exception):
    """A media file cannot be shown; `reason` is a short phrase for the reviewer."""

    default_reason = "the file cannot be shown"

    def __init__(self, reason: str | None = None) -> None:
        self.reason = reason or self.default_reason
        super().__init__(self.reason)


class EmptyFile(MediaError):
    default_reason = "the file is empty"


class UnsupportedFormat(MediaError):
    default_reason = "the file is not a supported image"

    @classmethod
    def looks_like(cls, what: str | None) -> UnsupportedFormat:
        """The file is something else; `what` names it if recognisable ("a PDF document")."""
        if not what:
            return cls()
        return cls(f"{cls.default_reason} (looks like {what})")


class TruncatedFile(MediaError):
    default_reason = "the file is truncated"


class CorruptFile(MediaError):
    default_reason = "the file is damaged"

    @classmethod
    def because(cls, what: str) -> CorruptFile:
        return cls(f"{cls.default_reason}: {what}")


class ImageTooLarge(MediaError):
    default_reason = "the image is too large to show"

    @classmethod
    def pixels(cls, max_pixels: int) -> ImageTooLarge:
        return cls(f"the image is larger than {_megapixels(max_pixels)} megapixels")

    @classmethod
    def side(cls, max_side: int) -> ImageTooLarge:
        return cls(f"the image is wider or taller than {max_side} pixels")


class DecodeTimeout(MediaError):
    default_reason = "decoding took too long"

    @classmethod
    def after(cls, seconds: float) -> DecodeTimeout:
        return cls(f"decoding took longer than {seconds:g} s")


class DecodeMemoryExceeded(MediaError):
    default_reason = "decoding needed more memory than allowed"

    @classmethod
    def needing(cls, needed_mb: int, allowed_mb: int) -> DecodeMemoryExceeded:
        return cls(
            f"decoding would need about {needed_mb} MB of memory, "
            f"more than the {allowed_mb} MB allowed"
        )


class DecoderClosed(MediaError):
    default_reason = "the image decoder has been closed"


def _megapixels(pixels: int) -> str:
    return f"{pixels / 1_000_000:g}"
