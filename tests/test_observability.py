"""The compose `observability` profile's assets, checked without running them: the alert rules
pass `promtool check rules` and their unit tests (`promtool test rules`: each alert fires on
trouble), Prometheus's config is valid, each alert has its runbook entry, the dashboard and the
alerts only use metrics the services export, and the collector's pipeline is whole."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from bridges_kit.metrics import Metrics

ROOT = Path(__file__).resolve().parents[1]
OBSERVABILITY = ROOT / "deploy" / "observability"
PROMTOOL = shutil.which("promtool") or "/usr/bin/promtool"


def promtool(*args: str) -> subprocess.CompletedProcess[str]:
    if not Path(PROMTOOL).exists():
        pytest.fail("promtool is missing: `make test` installs Debian's prometheus package")
    return subprocess.run(
        [PROMTOOL, *args],
        cwd=OBSERVABILITY,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.integration  # promtool, as `make test` installs it
def test_the_alert_rules_are_valid_and_each_fires_on_trouble():
    checked = promtool("check", "rules", "alerts.yml")
    assert checked.returncode == 0, checked.stdout + checked.stderr
    tested = promtool("test", "rules", "alerts.test.yml")
    assert tested.returncode == 0, tested.stdout + tested.stderr
    alerts = _alerts()
    tests = (OBSERVABILITY / "alerts.test.yml").read_text()
    untested = [a["alert"] for a in alerts if f"alertname: {a['alert']}" not in tests]
    assert not untested, f"alerts without a promtool test: {untested}"


@pytest.mark.integration
def test_prometheus_config_is_valid():
    checked = promtool("check", "config", "--syntax-only", "prometheus.yml")
    assert checked.returncode == 0, checked.stdout + checked.stderr


def _alerts() -> list[dict]:
    groups = yaml.safe_load((OBSERVABILITY / "alerts.yml").read_text())["groups"]
    return [rule for group in groups for rule in group["rules"]]


def test_every_alert_has_a_runbook_entry():
    runbook = (ROOT / "docs" / "operations.md").read_text()
    anchors = {_anchor(h) for h in re.findall(r"^#+ (.+)$", runbook, re.M)}
    for alert in _alerts():
        url = alert["annotations"]["runbook_url"]
        assert url == f"docs/operations.md#{alert['alert'].lower()}"
        assert url.split("#")[1] in anchors, f"{alert['alert']}: no runbook entry"
        section = runbook.split(f"### {alert['alert']}")[1].split("\n### ")[0]
        for part in ("Means", "Confirm", "Do"):
            assert f"**{part}**" in section, f"{alert['alert']}: the runbook entry lacks {part}"


def _anchor(heading: str) -> str:
    """GitHub's anchor of a heading."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def _exported() -> set[str]:
    names = {"up"}
    for family in Metrics("any").registry.collect():
        names |= {family.name, *(s.name for s in family.samples)}
        names |= {f"{family.name}_total", f"{family.name}_bucket", f"{family.name}_count"}
    return names


def _metric_names(expr: str) -> set[str]:
    return set(re.findall(r"\b(bridges_[a-z_]+|up)\b(?=\s*[{\[)]|\s*[<>=!]|\s*$)", expr))


def test_the_dashboard_and_the_alerts_use_only_exported_metrics():
    exported = _exported()
    dashboard = json.loads((OBSERVABILITY / "grafana" / "dashboards" / "bridges.json").read_text())
    exprs = [t["expr"] for p in dashboard["panels"] for t in p["targets"]]
    exprs += [a["expr"] for a in _alerts()]
    used = set().union(*(_metric_names(e) for e in exprs))
    assert used, "no metric found in the expressions"
    assert used <= exported, f"not exported by any service: {sorted(used - exported)}"
    titles = " ".join(p["title"].lower() for p in dashboard["panels"])
    for part in ("filed", "outbox", "consumers", "outcome", "dead letters", "overdue", "latency"):
        assert part in titles


def test_the_collector_sends_what_it_receives_to_the_trace_viewer():
    config = yaml.safe_load((OBSERVABILITY / "otel-collector.yaml").read_text())
    pipeline = config["service"]["pipelines"]["traces"]
    assert set(pipeline["receivers"]) <= set(config["receivers"])
    assert set(pipeline["exporters"]) <= set(config["exporters"])
    assert set(pipeline["processors"]) <= set(config["processors"])
    assert config["exporters"]["otlp/jaeger"]["endpoint"] == "jaeger:4317"
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    profile = {
        n for n, s in compose["services"].items() if "observability" in s.get("profiles", [])
    }
    assert profile == {"otel-collector", "jaeger", "prometheus", "grafana"}
