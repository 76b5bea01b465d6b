"""The two probes of a service process, named once for every orchestrator:

- `live`: GET /healthz answers at all (any status) within 2 s. A process that misses it 3 times
  in a row, 5 s apart, is hung (stopped, deadlocked, its event loop blocked): restart it.
  `bridges up`'s supervisor does; Kubernetes: `livenessProbe` (httpGet /healthz,
  timeoutSeconds 2, periodSeconds 5, failureThreshold 3).
- `ready`: GET /readyz answers 200 (PostgreSQL and NATS reachable) within 3 s. Not ready: send
  it no traffic yet, restart nothing (an outage of PostgreSQL is not the process's fault).
  Compose: the healthcheck (`depends_on: service_healthy`); Kubernetes: `readinessProbe`.

`python -m bridges_kit.healthcheck [live|ready]` (default ready) asks this container's own
service and exits 0 or 1, so it holds under any orchestrator, or none.
"""

from __future__ import annotations

import os
import sys
import urllib.error
import urllib.request
from dataclasses import dataclass


@dataclass(frozen=True)
class Probe:
    path: str
    timeout_s: float
    period_s: float
    misses: int  # in a row, before the orchestrator acts
    any_status: bool  # alive: any HTTP answer will do; ready: only 200

    def passes(self, port: int | str) -> bool:
        """One probe of the service listening on this machine's `port`."""
        try:
            url = f"http://127.0.0.1:{port}{self.path}"
            with urllib.request.urlopen(url, timeout=self.timeout_s) as r:
                return self.any_status or r.status == 200
        except urllib.error.HTTPError:
            return self.any_status  # it answered, with an error status
        except (urllib.error.URLError, OSError):
            return False


LIVE = Probe("/healthz", timeout_s=2.0, period_s=5.0, misses=3, any_status=True)
READY = Probe("/readyz", timeout_s=3.0, period_s=10.0, misses=6, any_status=False)
PROBES = {"live": LIVE, "ready": READY}


def main(argv: list[str]) -> int:
    name = argv[0] if argv else "ready"
    probe = PROBES.get(name)
    if probe is None:
        print(f"usage: python -m bridges_kit.healthcheck [{'|'.join(PROBES)}]", file=sys.stderr)
        return 2
    port = os.environ.get("BRIDGES_HTTP_PORT", "8100")
    if probe.passes(port):
        return 0
    print(f"not {name}: {probe.path} did not answer as it should", file=sys.stderr)
    return 1


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
