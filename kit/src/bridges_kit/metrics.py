"""Prometheus metrics of one service process (its own registry, so tests can run several).

Counters and histograms move as work happens; gauges of state (backlogs, ages, pending
messages, dead letters, referrals by status, the pool) are sampled every `metrics_sample_s` by
`bridges_kit.sampling`. Every label has a bounded set of values: routes are route templates
("unmatched" for none), methods the HTTP methods, statuses and outcomes the domain's own names,
consumers the service's durable names. deploy/observability/ has the dashboard and the alerts
built on these names; docs/operations.md says what each alert means.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

HTTP_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


def method_label(method: str) -> str:
    """A client chooses the method: anything unusual is counted as one label, "other"."""
    return method if method in HTTP_METHODS else "other"


class Metrics:
    def __init__(self, service: str) -> None:
        self.registry = r = CollectorRegistry()
        self.http_requests = Counter(
            "bridges_http_requests",
            "HTTP requests served",
            ["method", "route", "status"],
            registry=r,
        ).labels
        self.http_latency = Histogram(
            "bridges_http_request_seconds",
            "HTTP request latency",
            ["method", "route"],
            registry=r,
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
        ).labels
        self.outbox_published = Counter(
            "bridges_outbox_published", "Events published from the outbox", registry=r
        )
        self.outbox_backlog = Gauge(
            "bridges_outbox_backlog", "Outbox rows waiting to be published", registry=r
        )
        self.outbox_oldest_age = Gauge(
            "bridges_outbox_oldest_age_seconds",
            "Age of the oldest outbox row waiting to be published (0: none waits)",
            registry=r,
        )
        self.consumer_messages = Counter(
            "bridges_consumer_messages",
            "Messages handled by durable consumers",
            ["consumer", "outcome"],
            registry=r,
        ).labels
        self.consumer_pending = Gauge(
            "bridges_consumer_pending",
            "Messages of the stream this durable consumer has not been delivered yet",
            ["consumer"],
            registry=r,
        ).labels
        self.consumer_ack_pending = Gauge(
            "bridges_consumer_ack_pending",
            "Messages delivered to this consumer and not yet acknowledged",
            ["consumer"],
            registry=r,
        ).labels
        self.consumer_redelivered = Gauge(
            "bridges_consumer_redelivered",
            "Messages delivered more than once and not yet acknowledged",
            ["consumer"],
            registry=r,
        ).labels
        self.dead_letters = Gauge(
            "bridges_dead_letters",
            "Events this service's consumers parked and nobody replayed yet",
            ["consumer"],
            registry=r,
        ).labels
        self.pool_connections = Gauge(
            "bridges_db_pool_connections",
            "PostgreSQL connections of this process's pool",
            ["state"],
            registry=r,
        ).labels
        self.pool_waiting = Gauge(
            "bridges_db_pool_waiting",
            "Requests and workers waiting for a pooled connection",
            registry=r,
        )
        # the domain's gauges and counters; each service sets those it owns
        self.searches_waiting = Gauge(
            "bridges_searches_waiting",
            "Directory searches waiting their turn at the database (BRIDGES_SEARCH_CONCURRENCY "
            "run at once)",
            registry=r,
        )
        self.referrals = Gauge(
            "bridges_referrals", "Referrals by status", ["status"], registry=r
        ).labels
        self.referrals_overdue = Gauge(
            "bridges_referrals_overdue",
            "Open referrals not received within their urgency's response time",
            registry=r,
        )
        self.referrals_filed = Gauge(
            "bridges_referrals_filed_recent",
            "Referrals filed in the last hour (window 1h) and the last day (window 24h)",
            ["window"],
            registry=r,
        ).labels
        self.deliveries = Counter(
            "bridges_deliveries",
            "Delivery attempts by channel and outcome (succeeded, failed: retried, dead)",
            ["channel", "outcome"],
            registry=r,
        ).labels
        self.deliveries_waiting = Gauge(
            "bridges_deliveries_waiting",
            "Deliveries by status (pending: to be attempted; dead: gave up, replayable)",
            ["status"],
            registry=r,
        ).labels
        self.deliveries_last_hour = Gauge(
            "bridges_deliveries_last_hour",
            "Delivery outcomes in the last hour, every replica's, as bridges_deliveries_total "
            "counts them (succeeded; failed: an attempt failed, retried; dead: gave up)",
            ["outcome"],
            registry=r,
        ).labels
        self.endpoints = Gauge(
            "bridges_endpoints",
            "Webhook endpoints by state (resting: failing, its breaker open; paused by ops; "
            "disabled; active)",
            ["state"],
            registry=r,
        ).labels
        self.info = Gauge(
            "bridges_service_info", "Service identity", ["service"], registry=r
        ).labels(service=service)
        self.info.set(1)

    def render(self) -> bytes:
        return generate_latest(self.registry)
