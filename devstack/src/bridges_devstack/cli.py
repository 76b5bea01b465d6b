"""`bridges up` (the whole system on this machine) and `bridges token` (a dev JWT)."""

from __future__ import annotations

import argparse
import warnings
from dataclasses import asdict
from pathlib import Path

from bridges_devstack.ports import Ports
from bridges_kit import cli as kit_cli


def main(argv: list[str] | None = None) -> int:
    # platformdirs warns when XDG_RUNTIME_DIR is unset (containers, CI); nothing depends on it.
    warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")
    parser = argparse.ArgumentParser(prog="bridges")
    sub = parser.add_subparsers(dest="command", required=True)
    up = sub.add_parser("up", help="run everything on embedded PostgreSQL and NATS")
    up.add_argument("--run-dir", type=Path, default=kit_cli.DEFAULT_RUN_DIR)
    for name, port in asdict(Ports()).items():
        up.add_argument(f"--{name.replace('_', '-')}-port", type=int, default=port, dest=name)
    kit_cli.add_token_command(sub)
    args = parser.parse_args(argv)
    if args.command == "token":
        kit_cli.print_token(args)
        return 0
    from bridges_devstack.stack import up as run_up

    return run_up(args.run_dir, Ports(**{name: getattr(args, name) for name in asdict(Ports())}))


if __name__ == "__main__":
    raise SystemExit(main())
