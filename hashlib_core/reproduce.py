"""The batch runner's command, ``python -m hashlib_core.reproduce --scale smoke|cpu|paper``:
train every cell of a scale's grid, then build the book. The runner itself is the package
:mod:`hashlib_core.runner` (its command line: :mod:`hashlib_core.runner.cli`)."""

import sys

from hashlib_core.runner.cli import main

if __name__ == "__main__":
    sys.exit(main())
