"""The cluster overlay (docker-compose.cluster.yml), the compose test's second step: three NATS
nodes as one JetStream cluster and two containers of each service behind Caddy. A referral goes
through while one NATS node is killed; `down -v` leaves nothing."""

from __future__ import annotations

import json
import os
import signal
import uuid
from collections.abc import Iterator

import pytest

from bridges_devstack.demo import DEMO_AGENCY_NAME, demo_agency_id
from tests.compose.project import CLUSTER_OVERLAY, TEST_OVERLAY, ComposeProject, Origin, running

CLUSTER = {
    "nats": 1,
    "nats-2": 1,
    "nats-3": 1,
    "postgres": 1,
    "mailpit": 1,
    "caddy": 1,
    "idp": 1,
    "receiver": 1,
    "directory": 2,
    "referrals": 2,
    "notifications": 2,
}


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ComposeProject]:
    project = ComposeProject(
        f"bridges-ctc-{uuid.uuid4().hex[:6]}",
        tmp_path_factory.mktemp("ctc"),
        overlays=(CLUSTER_OVERLAY, TEST_OVERLAY),
    )
    with running(project, CLUSTER):
        yield project


def test_streams_have_three_copies_and_each_service_two_containers(project: ComposeProject):
    jsz = json.loads(
        project.run(
            "exec",
            "-T",
            "nats",
            "wget",
            "-qO-",
            "http://127.0.0.1:8222/jsz?streams=true&config=true",
        )
    )
    streams = [s for account in jsz["account_details"] for s in account["stream_detail"]]
    assert streams and all(s["config"]["num_replicas"] == 3 for s in streams), streams
    for service in ("directory", "referrals", "notifications"):
        assert len(project.containers(service)) == 2, service
    print(f"{len(streams)} streams with 3 copies each; 2 containers of each service")


def test_a_referral_reaches_the_agency_while_a_nats_node_is_down(project: ComposeProject):
    origin = Origin(project)
    origin.register_receiver(demo_agency_id())
    (node,) = project.containers("nats-2")
    os.kill(node["State"]["Pid"], signal.SIGKILL)
    print(f"killed nats-2 (SIGKILL to pid {node['State']['Pid']})")
    referral_ids = [origin.file_by_api(DEMO_AGENCY_NAME) for _ in range(3)]
    for referral_id in referral_ids:
        project.webhook_for(referral_id, "org.bridges.referral.requested.v1")


def test_down_with_volumes_leaves_nothing_of_the_cluster(project: ComposeProject):
    project.run("down", "-v", "--remove-orphans", "--timeout", "20")
    left = project.leftovers()
    assert left == {"containers": [], "volumes": [], "networks": []}
    print(f"after down -v: {left}")
