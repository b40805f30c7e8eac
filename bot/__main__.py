"""Entry point for ``python -m bot``."""

import os
import sys

from bot.cli import main

try:
    sys.exit(main())
except BrokenPipeError:
    # The reader went away (`python -m bot ask --explain … | head`): not an error of ours.
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    sys.exit(0)
