"""Test-suite wiring: real PostgreSQL and nats-server once per session (bridges_devstack.testing),
and how `make test` shares the suite between its two workers (pytest-xdist, `--dist loadgroup`):
a test module stays on one worker (its module fixtures start once), and so does the whole browser
package (one `bridges up` stack and one chromium per worker that runs it), which goes first: it
is the longest unit, and a worker that took it last would run alone at the end."""

from __future__ import annotations

import pytest

pytest_plugins = ["bridges_devstack.testing"]

BROWSER_PACKAGE = "tests/browser/"


def _group(item: pytest.Item) -> str:
    path = item.nodeid.split("::", 1)[0]
    return "browser" if path.startswith(BROWSER_PACKAGE) else path


@pytest.hookimpl(tryfirst=True)  # before xdist reads the groups into the tests' ids
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        item.add_marker(pytest.mark.xdist_group(_group(item)))
    items.sort(key=lambda item: _group(item) != "browser")  # stable: the rest keep their order
