"""Ops' screen and the alert rules agree: every figure of the flow (app/src/views/ops-figures.json)
names a metric its query reads, every alert it names is a rule of
deploy/observability/alerts.yml that watches that metric at the same threshold, and every rule
about the flow is shown on the screen. (That each metric is served where the figure reads it:
tests/test_ops_flow.py.)"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
FIGURES: list[dict[str, Any]] = json.loads(
    (ROOT / "app" / "src" / "views" / "ops-figures.json").read_text()
)
RULES = {
    rule["alert"]: rule
    for group in yaml.safe_load((ROOT / "deploy" / "observability" / "alerts.yml").read_text())[
        "groups"
    ]
    for rule in group["rules"]
}
# the counter a figure of the last hour stands for (its rules watch the counter's rate)
STANDS_FOR = {"bridges_deliveries_last_hour": "bridges_deliveries_total"}
# what the flow screen is about; a rule on HTTP, the pool or a process being up is not
FLOW_METRICS = {f["metric"] for f in FIGURES} | set(STANDS_FOR.values())


def _metrics_in(expression: str) -> set[str]:
    return set(re.findall(r"\bbridges_[a-z_]+", expression))


def test_each_figure_reads_the_metric_it_names() -> None:
    for figure in FIGURES:
        assert _metrics_in(figure["promql"]) == {figure["metric"]}, figure["key"]
        for label, value in figure.get("labels", {}).items():
            assert f'{label}="{value}"' in figure["promql"], figure["key"]


def test_each_alert_a_figure_names_watches_its_metric_at_its_threshold() -> None:
    for figure in FIGURES:
        for alert in figure.get("alerts", []):
            assert alert in RULES, f"{figure['key']} names {alert}, which alerts.yml lacks"
            watched = _metrics_in(RULES[alert]["expr"])
            assert figure["metric"] in watched or STANDS_FOR.get(figure["metric"]) in watched
            threshold = re.search(r">\s*([\d.]+)\s*$", RULES[alert]["expr"].strip())
            if "above" in figure and figure["metric"] in watched:
                assert threshold and float(threshold.group(1)) == figure["above"], figure["key"]


def test_every_alert_about_the_flow_is_on_the_screen() -> None:
    shown = {alert for f in FIGURES for alert in f.get("alerts", [])}
    about_the_flow = {
        name for name, rule in RULES.items() if _metrics_in(rule["expr"]) & FLOW_METRICS
    }
    assert about_the_flow - shown == set()
    assert {"BridgesOutboxStuck", "BridgesDeadLetters", "BridgesDeliveriesDead"} <= about_the_flow
