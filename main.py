"""Start Reviewer Workstation: ``python main.py`` is the same as ``reviewer-workstation``."""

import multiprocessing
import sys

from ui.app import main

if __name__ == "__main__":
    multiprocessing.freeze_support()  # the media decoder's worker process in a frozen build
    sys.exit(main())
