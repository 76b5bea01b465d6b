"""`python -m bridges_notifications [serve|migrate|token]`."""

from __future__ import annotations

from bridges_kit.cli import service_main
from bridges_notifications import bootstrap


def main(argv: list[str] | None = None) -> None:
    service_main("bridges-notifications", bootstrap.build_runtime, bootstrap.build_app, argv)


if __name__ == "__main__":
    main()
