"""`make bench`: every benchmark in turn, each printing its figures (JSON in bench/results/)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

BENCHES = [
    "bench.directory_search",
    "bench.intake",
    "bench.notify",
    "bench.pipeline",
    "bench.app",
    "bench.referral_task",
]


def main() -> int:
    root = Path(__file__).resolve().parents[1]
    for module in BENCHES:
        print(f"\n=== {module}", flush=True)
        done = subprocess.run([sys.executable, "-m", module], cwd=root, check=False)
        if done.returncode:
            return done.returncode
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
