"""The container healthcheck (`python -m bridges_kit.healthcheck`): exit 0 when this process's
own service answers /readyz (PostgreSQL and NATS reachable), 1 otherwise. It asks the service
itself, so it holds under any orchestrator, or none."""

from __future__ import annotations

import os
import sys
import urllib.error
import urllib.request


def main() -> int:
    port = os.environ.get("BRIDGES_HTTP_PORT", "8100")
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=3) as answer:
            return 0 if answer.status == 200 else 1
    except (urllib.error.URLError, OSError) as exc:
        print(f"not ready: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    raise SystemExit(main())
