"""Sub-commands (being built)."""

import argparse


def register(sub: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    """Add this module's sub-commands to the parser."""
