"""Safe media for the viewer: identify and decode untrusted files, render blurred views.

Nothing here imports Qt. Synthetic demo media lives in `reviewer.demo.images`.
"""

from reviewer.media.check import check_file, check_files
from reviewer.media.decode import (
    DEFAULT_LIMITS,
    MIME_TYPES,
    NEUTRAL_GREY,
    SUPPORTED_FORMATS,
    DecodeLimits,
    MediaInfo,
    SafeDecoder,
    decode_for_display,
    decode_reduced,
    detect_format,
    probe,
    sha256_hex,
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
from reviewer.media.render import (
    BLUR_PRESETS,
    Renderer,
    RenditionCache,
    RenditionKey,
    RenditionSettings,
    blur_sigma,
    make_blurred,
    make_grayscale,
    settings_for_area,
)

__all__ = [
    "BLUR_PRESETS",
    "DEFAULT_LIMITS",
    "MIME_TYPES",
    "NEUTRAL_GREY",
    "SUPPORTED_FORMATS",
    "CorruptFile",
    "DecodeLimits",
    "DecodeMemoryExceeded",
    "DecodeTimeout",
    "DecoderClosed",
    "EmptyFile",
    "ImageTooLarge",
    "MediaError",
    "MediaInfo",
    "Renderer",
    "RenditionCache",
    "RenditionKey",
    "RenditionSettings",
    "SafeDecoder",
    "TruncatedFile",
    "UnsupportedFormat",
    "blur_sigma",
    "check_file",
    "check_files",
    "decode_for_display",
    "decode_reduced",
    "detect_format",
    "make_blurred",
    "make_grayscale",
    "probe",
    "settings_for_area",
    "sha256_hex",
]
