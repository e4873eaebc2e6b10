"""`python -m parallel_adapters.testing [--port 8787 ...]` runs the emulator."""

import sys

from ._cli import main

sys.exit(main(prog="python -m parallel_adapters.testing"))
