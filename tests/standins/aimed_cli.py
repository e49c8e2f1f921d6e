"""The real ``lighthouse`` command line, with discord.py aimed at a Discord stand-in.

For tests that start the service as a subprocess, the way a deployment does: discord.py
2.7 takes its endpoints only from class attributes (see ``aim_discord_py``), which the
service never sets, so the subprocess runs this module instead of ``lighthouse.cli``. It
sets them from ``STANDIN_DISCORD_API_BASE`` and ``STANDIN_DISCORD_GATEWAY`` and hands the
arguments to ``lighthouse.cli.main`` unchanged.

    PYTHONPATH=tests python -m standins.aimed_cli run
"""

from __future__ import annotations

import os
import sys


def main() -> int:
    from lighthouse.cli import main as lighthouse
    from standins.discord_api import aim_discord_py

    aim_discord_py(os.environ["STANDIN_DISCORD_API_BASE"], os.environ["STANDIN_DISCORD_GATEWAY"])
    return lighthouse(sys.argv[1:])


if __name__ == "__main__":
    raise SystemExit(main())
