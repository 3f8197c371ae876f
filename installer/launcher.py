"""The frozen app's entry point.

`multiprocessing.freeze_support()` comes before any other import, so that the media
decoder's helper processes (the fork server, spawned workers, the resource tracker), which
re-run this executable, divert at once instead of first importing the whole app.

`--check-bundle`, for the build's smoke test only, exercises what PyInstaller cannot see
being used (worker processes, dialects and secret stores chosen at run time, files read by
path, versions read from package metadata) and exits.
"""

import multiprocessing
import sys


def check_bundle() -> int:
    import importlib.metadata
    import io

    from PIL import Image
    from sqlalchemy import create_engine

    from reviewer.media.decode import SafeDecoder
    from reviewer.policy.taxonomy import load_taxonomy
    from reviewer.store.database import head_revision

    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 30, 30)).save(buffer, "PNG")
    methods = [m for m in ("spawn", "forkserver") if m in multiprocessing.get_all_start_methods()]
    for method in methods:
        with SafeDecoder(start_method=method) as decoder:
            picture = decoder.decode(buffer.getvalue(), (32, 32))
        if picture.size != (32, 24) or picture.getpixel((0, 0)) != (200, 30, 30):
            print(f"decoder ({method}): wrong picture {picture.size}", file=sys.stderr)
            return 1
        print(f"decoder ({method}): OK")

    import random

    from PySide6.QtCore import QCoreApplication
    from PySide6.QtMultimedia import QMediaDevices  # video sound: the module and its plugins

    from reviewer.demo.video import make_demo_video
    from reviewer.media.video_worker import probe_video_bounded

    info = probe_video_bounded(make_demo_video(random.Random(1), (64, 48), 0.5, 10))
    _app = QCoreApplication.instance() or QCoreApplication([])
    print(f"video worker: OK ({info.summary()}); "
          f"audio outputs: {len(QMediaDevices.audioOutputs())}")

    for url in ("sqlite://", "postgresql+psycopg://reviewer@localhost/reviewer"):
        engine = create_engine(url)  # loads the dialect and the driver; connects to nothing
        print(f"dialect {engine.dialect.name}+{engine.dialect.driver}: OK")
        engine.dispose()

    backends = importlib.metadata.entry_points(group="keyring.backends")
    for backend in backends:
        backend.load()
    print(f"keyring backends: {', '.join(sorted(b.name for b in backends))}")

    print(f"migrations: head {head_revision()}")
    print(f"taxonomy: {len(load_taxonomy().areas)} policy areas")
    for distribution in ("SQLAlchemy", "alembic", "pillow", "psycopg", "keyring",
                         "platformdirs"):
        importlib.metadata.version(distribution)
    print("package metadata: OK")
    return 0


if __name__ == "__main__":
    multiprocessing.freeze_support()
    if sys.argv[1:] == ["--check-bundle"]:
        sys.exit(check_bundle())

    from ui.app import main

    sys.exit(main())
