"""Start Reviewer Workstation: ``python main.py`` is the same as ``reviewer-workstation``."""

import sys

from ui.app import main

if __name__ == "__main__":
    sys.exit(main())
