from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    print("lighthouse: skeleton")
    return 0


if __name__ == "__main__":
    sys.exit(main())
