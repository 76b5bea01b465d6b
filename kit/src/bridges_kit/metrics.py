"""Prometheus metrics of one service process (its own registry, so tests can run several)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest


class Metrics:
    def __init__(self, service: str) -> None:
        self.registry = CollectorRegistry()
        labels = {"service": service}
        self.http_requests = Counter(
            "bridges_http_requests",
            "HTTP requests served",
            ["method", "route", "status"],
            registry=self.registry,
        ).labels
        self.http_latency = Histogram(
            "bridges_http_request_seconds",
            "HTTP request latency",
            ["method", "route"],
            registry=self.registry,
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
        ).labels
        self.outbox_published = Counter(
            "bridges_outbox_published",
            "Events published from the outbox",
            registry=self.registry,
        )
        self.consumer_messages = Counter(
            "bridges_consumer_messages",
            "Messages handled by durable consumers",
            ["consumer", "outcome"],
            registry=self.registry,
        ).labels
        self.info = Gauge(
            "bridges_service_info", "Service identity", ["service"], registry=self.registry
        ).labels(**labels)
        self.info.set(1)

    def render(self) -> bytes:
        return generate_latest(self.registry)
