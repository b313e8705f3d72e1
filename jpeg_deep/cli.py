"""What the command-line scripts share: quiet TensorFlow start-up, logging, clean errors."""
from __future__ import annotations

import logging
import os
import sys


def run(main) -> int:
    """Run ``main()``; a user error (bad config, bad path, unreadable data) prints one clear
    line and exits with status 2 instead of a traceback."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    for noisy in ("absl", "tensorflow", "h5py"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    from jpeg_deep.config import ConfigError
    from jpeg_deep.data.datasets import DatasetError
    from jpeg_deep.data.readers import InvalidJPEGError
    from jpeg_deep.distribute import DistributionError
    from jpeg_deep.networks.registry import UnknownNetworkError

    try:
        main()
    except (ConfigError, DatasetError, InvalidJPEGError, UnknownNetworkError,
            FileNotFoundError, DistributionError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    return 0
