"""argparse value types shared by the command-line plug-ins (``convert``, ``run``, ...)."""
from __future__ import annotations

import argparse


def int_at_least(minimum: int):
    """argparse type: an integer >= ``minimum``, with a one-line message otherwise."""
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"'{text}' is not an integer") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"{value} must be >= {minimum}")
        return value
    return parse


positive_int, non_negative_int = int_at_least(1), int_at_least(0)
