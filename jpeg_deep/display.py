"""``python -m jpeg_deep.display``: the same as ``jpeg-deep display`` (``--help`` lists the
options; :func:`jpeg_deep.engine.display.display` draws)."""
import sys

from jpeg_deep.cli import display_main

if __name__ == "__main__":
    sys.exit(display_main())
