"""`python -m bridges_referrals [serve|migrate|token]`."""

from __future__ import annotations

from bridges_kit.cli import service_main
from bridges_referrals import bootstrap


def main(argv: list[str] | None = None) -> None:
    service_main("bridges-referrals", bootstrap.build_runtime, bootstrap.build_app, argv)


if __name__ == "__main__":
    main()
