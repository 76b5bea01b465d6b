"""What ops see of a service at a glance (`GET /ops/summary`): its gauges of state sampled now
by the very samplers its Prometheus gauges come from (`bridges_kit.sampling` and the service's
own), so the ops screen and the alert rules read the same numbers under the same names. The
figures are read from the database and JetStream, so they hold for every replica together;
what belongs to one process (its connection pool) is left out."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, Field

from bridges_kit.metrics import Metrics

if TYPE_CHECKING:
    from bridges_kit.runtime import Runtime

# One process's own state, not the service's: scraped per replica, not summed up here.
PROCESS_LOCAL = frozenset(
    {
        "bridges_db_pool_connections",
        "bridges_db_pool_waiting",
        "bridges_searches_waiting",
        "bridges_service_info",
    }
)


class Sample(BaseModel):
    metric: str = Field(description="the Prometheus metric's name, as /metrics exposes it")
    labels: dict[str, str]
    value: float


class FlowSummary(BaseModel):
    service: str
    sampled_at: datetime
    samples: list[Sample]


async def sample_now(runtime: Runtime[Any, Any]) -> FlowSummary:
    """Every gauge of state of the service, sampled now (not the process's last round)."""
    metrics = Metrics(runtime.settings.service_name)
    await runtime.sampler(metrics).tick()
    samples = [
        Sample(metric=sample.name, labels=dict(sample.labels), value=sample.value)
        for family in metrics.registry.collect()
        if family.type == "gauge" and family.name not in PROCESS_LOCAL
        for sample in family.samples
    ]
    return FlowSummary(
        service=runtime.settings.service_name, sampled_at=datetime.now(UTC), samples=samples
    )
