"""Command-line arguments with one-line errors: the parser of every command of the package
(the engine, the data check, the runner) and its integer types."""

from __future__ import annotations

import argparse
from typing import NoReturn

#: the exit code of an argument or preflight error
EXIT_CODE = 2


class ArgumentParser(argparse.ArgumentParser):
    """An ``argparse`` parser whose errors are one ``error:`` line (value and valid
    choices, as argparse words them) and a pointer to ``--help``, exit code 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_CODE, f"error: {message}\n       ({self.prog} --help lists the options)\n")


def _int_at_least(low: int, words: str):
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = None
        if value is None or value < low:
            raise argparse.ArgumentTypeError(f"must be {words}, got {text!r}")
        return value

    return parse


#: ``argparse`` types: an integer >= 1, an integer >= 0
positive_int = _int_at_least(1, "a positive integer")
non_negative_int = _int_at_least(0, "an integer >= 0")
