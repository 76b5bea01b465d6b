"""The SSRF guard: which addresses webhooks may reach, which URLs are refused before any lookup,
and how a checked URL is pinned to its address (IP literals only: no DNS is queried)."""

from __future__ import annotations

from ipaddress import ip_address

import pytest

from bridges_notifications.netguard import UnsafeUrl, check_url, parse_networks, pin, why_forbidden

NOT_GLOBAL = [
    pytest.param("127.0.0.1", id="loopback"),
    pytest.param("10.1.2.3", id="10/8"),
    pytest.param("172.16.0.1", id="172.16/12"),
    pytest.param("172.31.255.254", id="172.16/12-top"),
    pytest.param("192.168.1.1", id="192.168/16"),
    pytest.param("169.254.169.254", id="link-local-metadata"),
    pytest.param("100.64.0.1", id="carrier-grade-nat"),
    pytest.param("100.100.100.200", id="carrier-grade-nat-metadata"),
    pytest.param("0.0.0.0", id="unspecified-v4"),
    pytest.param("192.0.0.170", id="192.0.0/24"),
    pytest.param("192.0.2.1", id="test-net-1"),
    pytest.param("198.18.0.1", id="benchmarking-198.18/15"),
    pytest.param("240.0.0.1", id="240/4"),
    pytest.param("255.255.255.255", id="broadcast"),
    pytest.param("224.0.0.1", id="multicast-local"),
    pytest.param("224.0.1.1", id="multicast-global"),
    pytest.param("::1", id="loopback-v6"),
    pytest.param("::", id="unspecified-v6"),
    pytest.param("fe80::1", id="link-local-v6"),
    pytest.param("fd00::1", id="unique-local-fc00/7"),
    pytest.param("fec0::1", id="site-local-fec0/10"),
    pytest.param("ff02::1", id="multicast-v6-link"),
    pytest.param("ff0e::1", id="multicast-v6-global"),
    pytest.param("2001:db8::1", id="documentation-v6"),
    pytest.param("4000::1", id="unallocated-v6"),
    pytest.param("::a9fe:a9fe", id="ipv4-compatible"),
    pytest.param("::ffff:10.0.0.1", id="ipv4-mapped-private"),
    pytest.param("::ffff:169.254.169.254", id="ipv4-mapped-metadata"),
    pytest.param("2002:a9fe:a9fe::", id="6to4-metadata"),
    pytest.param("2002:0a00:0001::", id="6to4-private"),
    pytest.param("2002:e000:0101::", id="6to4-multicast"),
    pytest.param("2001:0:4136:e378:8000:63bf:f5ff:fffe", id="teredo-private-client"),
    pytest.param("2001:0:a00:1:8000:63bf:f7f7:f7f7", id="teredo-private-server"),
    pytest.param("64:ff9b::a9fe:a9fe", id="nat64-metadata"),
    pytest.param("64:ff9b::a00:1", id="nat64-private"),
]

GLOBAL = [
    pytest.param("93.184.216.34", id="public-v4"),
    pytest.param("8.8.8.8", id="public-dns"),
    pytest.param("2606:4700:4700::1111", id="public-v6"),
    pytest.param("2002:5db8:d822::", id="6to4-public"),
    pytest.param("::ffff:8.8.8.8", id="ipv4-mapped-public"),
    pytest.param("64:ff9b::808:808", id="nat64-public"),
    pytest.param("2001:0:4136:e378:8000:63bf:f7f7:f7f7", id="teredo-public"),
]


@pytest.mark.parametrize("address", NOT_GLOBAL)
def test_addresses_that_are_not_globally_routable_are_refused(address):
    assert why_forbidden(ip_address(address)) is not None


@pytest.mark.parametrize("address", GLOBAL)
def test_globally_routable_addresses_are_allowed(address):
    assert why_forbidden(ip_address(address)) is None


def test_6to4_wrapping_the_metadata_address_is_refused():
    reason = why_forbidden(ip_address("2002:a9fe:a9fe::"))
    assert reason is not None
    assert "169.254.169.254 (6to4)" in reason


def test_teredo_is_judged_by_its_client_too():
    reason = why_forbidden(ip_address("2001:0:4136:e378:8000:63bf:f5ff:fffe"))
    assert reason is not None
    assert "10.0.0.1 (Teredo client)" in reason


def test_an_allowed_network_lets_its_private_addresses_through_and_no_others():
    allowed = parse_networks(["127.0.0.0/8"])
    assert why_forbidden(ip_address("127.0.0.1"), allowed) is None
    assert why_forbidden(ip_address("127.0.0.1")) is not None
    assert why_forbidden(ip_address("10.0.0.1"), allowed) is not None
    assert why_forbidden(ip_address("::1"), allowed) is not None


async def test_a_metadata_address_behind_6to4_is_refused_in_a_url():
    with pytest.raises(UnsafeUrl, match=r"169\.254\.169\.254"):
        await check_url("http://[2002:a9fe:a9fe::]/")


async def test_a_carrier_grade_nat_literal_is_refused_in_a_url():
    with pytest.raises(UnsafeUrl, match="not globally routable"):
        await check_url("http://100.100.100.200/latest/meta-data/")


async def test_credentials_in_the_url_are_refused_and_not_echoed():
    with pytest.raises(UnsafeUrl, match="signing secret") as refused:
        await check_url("https://user:hunter2@93.184.216.34/x")
    assert "hunter2" not in str(refused.value)


@pytest.mark.parametrize(
    "url",
    [
        "https://user:hunter2@93.184.216.34:99999/",
        "https://user:hunter2@93.184.216.34/x\x00",
        "ftp://user:hunter2@93.184.216.34/",
    ],
)
async def test_no_refusal_echoes_a_password(url):
    with pytest.raises(UnsafeUrl) as refused:
        await check_url(url)
    assert "hunter2" not in str(refused.value)


async def test_an_at_sign_without_a_password_is_refused_too():
    with pytest.raises(UnsafeUrl, match="credentials"):
        await check_url("https://token@93.184.216.34/x")


@pytest.mark.parametrize(
    "url",
    [
        pytest.param("http://" + "a" * 64 + ".example.org/", id="label-over-63"),
        pytest.param("http://" + ".".join(["a" * 60] * 5) + "/", id="name-over-253"),
        pytest.param("http://hooks..example.org/", id="empty-label"),
        pytest.param("http://exa$mple.org/", id="bad-character"),
        pytest.param("http://-hooks.example.org/", id="leading-hyphen"),
        pytest.param("http://\u05d0a.example.org/", id="idna-bidi-failure"),
    ],
)
async def test_a_malformed_host_name_is_refused_before_any_lookup(url):
    with pytest.raises(UnsafeUrl, match="not a valid host name"):
        await check_url(url)


@pytest.mark.parametrize(
    "url",
    [
        pytest.param("http://93.184.216.34:99999/", id="above-65535"),
        pytest.param("http://93.184.216.34:http/", id="not-a-number"),
        pytest.param("http://93.184.216.34:0/", id="zero"),
        pytest.param("http://[::1/", id="broken-ipv6-literal"),
    ],
)
async def test_a_bad_port_or_authority_is_refused(url):
    with pytest.raises(UnsafeUrl):
        await check_url(url)


@pytest.mark.parametrize(
    "url",
    [
        pytest.param("http://93.184.216.34/x\x00y", id="nul"),
        pytest.param("http://93.184.\x00216.34/", id="nul-in-host"),
        pytest.param("http://93.184.216.34/a b", id="space"),
        pytest.param("http://93.184.216.34/\tx", id="tab"),
        pytest.param("http://93.184.216.34\n/", id="newline"),
        pytest.param(" http://93.184.216.34/", id="leading-space"),
        pytest.param("http://exa\u200bmple.org/", id="zero-width-space"),
    ],
)
async def test_whitespace_and_control_characters_are_refused(url):
    with pytest.raises(UnsafeUrl, match="whitespace or control"):
        await check_url(url)


async def test_other_schemes_are_refused():
    with pytest.raises(UnsafeUrl, match="not an http"):
        await check_url("file:///etc/passwd")


async def test_a_public_literal_needs_no_allowlist():
    pinned = await pin("https://93.184.216.34/hooks")
    assert pinned.url == "https://93.184.216.34/hooks"


async def test_a_pinned_allowed_literal_keeps_path_query_and_host():
    allowed = parse_networks(["127.0.0.0/8", "::1/128"])
    pinned = await pin("http://127.0.0.1:8080/hooks/a?x=1&y=2", allowed)
    assert pinned.url == "http://127.0.0.1:8080/hooks/a?x=1&y=2"
    assert (pinned.host_header, pinned.server_name) == ("127.0.0.1:8080", "127.0.0.1")
    pinned = await pin("http://[::1]:9000/h?z=3", allowed)
    assert pinned.url == "http://[::1]:9000/h?z=3"
    assert (pinned.host_header, pinned.server_name) == ("[::1]:9000", "::1")
