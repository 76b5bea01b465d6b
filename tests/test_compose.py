"""docker-compose.yml checked without a Docker engine: the Compose specification, each
service's environment against the settings model the service really reads, and the one origin
Caddy (deploy/caddy/) makes of the app and the three APIs."""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import jsonschema
import nats
import nats.errors
import pytest
import yaml

from bridges_devstack import bus_users
from bridges_devstack.servers import free_port, nats_server_binary, port_open, wait_until
from bridges_directory.bootstrap import DirectorySettings
from bridges_kit.bus import BusLogin
from bridges_kit.settings import Environment, ServiceSettings
from bridges_notifications.bootstrap import NotificationsSettings
from bridges_referrals.bootstrap import ReferralsSettings

ROOT = Path(__file__).resolve().parents[1]
COMPOSE = ROOT / "docker-compose.yml"
SETTINGS: dict[str, type[ServiceSettings]] = {
    "directory": DirectorySettings,
    "referrals": ReferralsSettings,
    "notifications": NotificationsSettings,
    "directory-seed": DirectorySettings,
}
VARIABLE = re.compile(r"\$\{(?P<name>[A-Z0-9_]+)(?:(?P<op>:?[-?])(?P<arg>[^}]*))?\}")
APIS = ("directory", "referrals", "notifications")
CADDY = ROOT / "deploy" / "caddy"
# Settings the app's backend adds to a service (its contract with this file), tolerated until
# that service's settings model reads them; from then on they are checked like any other.
CONTRACTED: dict[str, set[str]] = {}


def _env_example() -> dict[str, str]:
    lines = (ROOT / "deploy" / "env.example").read_text().splitlines()
    pairs = (line.split("=", 1) for line in lines if line.strip() and not line.startswith("#"))
    return {key.strip(): value.strip() for key, value in pairs}


def _interpolate(value: str, env: dict[str, str]) -> str:
    def replace(match: re.Match[str]) -> str:
        name, op, arg = match["name"], match["op"], match["arg"]
        if name in env:
            return env[name]
        if op and op.endswith("-"):
            return arg
        raise AssertionError(f"${{{name}}} is neither in deploy/env.example nor defaulted")

    return VARIABLE.sub(replace, value)


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load(COMPOSE.read_text())


def test_the_file_follows_the_compose_specification(compose):
    schema = json.loads((Path(__file__).parent / "data" / "compose-spec.json").read_text())
    jsonschema.Draft7Validator(schema).validate(compose)


def test_every_variable_is_documented_in_the_env_example():
    env = _env_example()
    for match in VARIABLE.finditer(COMPOSE.read_text()):
        if not (match["op"] or "").endswith("-"):
            assert match["name"] in env, f"{match['name']} missing from deploy/env.example"


def _settings(name: str, environment: dict, secrets: Path) -> ServiceSettings:
    """The settings a service's container would read: its environment as compose interpolates
    it from deploy/env.example, its /run/secrets files stood in for by files under `secrets`."""
    env = {key: _interpolate(str(value), _env_example()) for key, value in environment.items()}
    for key, value in env.items():
        if value.startswith("/run/secrets/"):
            stand_in = secrets / value.removeprefix("/run/secrets/")
            stand_in.write_text("x" * 40)
            env[key] = str(stand_in)
    return SETTINGS[name].from_env(env)


@pytest.mark.parametrize("name", sorted(SETTINGS))
def test_service_environment_is_read_by_its_settings_model(compose, name, tmp_path):
    settings_model = SETTINGS[name]
    service = compose["services"][name]
    unknown = {
        key
        for key in service["environment"]
        if key.startswith("BRIDGES_") and key[8:].lower() not in settings_model.model_fields
    } - CONTRACTED.get(name, set())
    assert not unknown, f"{name}: settings model has no field for {unknown}"
    settings = _settings(name, service["environment"], tmp_path)
    assert settings.environment is Environment.PRODUCTION
    assert settings.jwt_jwks_url and settings.jwt_jwks_url.startswith("https://")
    assert settings.claim_mapping().role_values  # the provider's role names are mapped
    database = urlsplit(settings.database_url.get_secret_value())
    assert (database.hostname, database.path) == (
        "postgres",
        f"/bridges_{settings_model().service_name}",
    )
    assert database.password == "x" * 40  # from its secret file
    assert urlsplit(settings.nats_url).hostname == "nats"
    assert settings.metrics_token is not None  # Prometheus scrapes with the secret's token
    if name in ("directory", "notifications"):  # one signs listing-review links, one checks
        assert getattr(settings, "listing_link_key", None) is not None


@pytest.mark.parametrize("name", ["directory", "referrals", "notifications"])
def test_services_start_after_their_migrations_and_report_their_own_health(compose, name):
    services = compose["services"]
    service = services[name]
    migrate = services[f"{name}-migrate"]
    for dependency, condition in service["depends_on"].items():
        expected = "completed_successfully" if dependency == f"{name}-migrate" else "healthy"
        assert condition == {"condition": f"service_{expected}"}, dependency
        if expected == "healthy":
            assert "healthcheck" in services[dependency], f"{dependency} has no healthcheck"
    assert service["healthcheck"]["test"] == ["CMD", "python", "-m", "bridges_kit.healthcheck"]
    assert service["restart"] == "unless-stopped" and migrate["restart"] == "no"
    assert migrate["command"] == ["migrate"] and migrate["image"] == service["image"]
    assert migrate["build"]["args"]["SERVICE"] == name
    assert migrate["depends_on"] == {"postgres": {"condition": "service_healthy"}}
    assert service["user"] == migrate["user"] == "10001:10001"
    assert service["read_only"] and service["mem_limit"] and service["cpus"]


def test_image_runs_as_a_non_root_user_and_databases_match_the_init_script(compose):
    dockerfile = (ROOT / "Dockerfile").read_text()
    users = re.findall(r"^USER\s+(\S+)", dockerfile, flags=re.MULTILINE)
    assert users and users[-1].split(":")[0] not in {"root", "0"}
    init = (ROOT / "deploy" / "postgres" / "init-databases.sh").read_text()
    services = re.search(r"for service in ([a-z ]+); do", init)
    assert services is not None
    assert set(services[1].split()) == {"directory", "referrals", "notifications"}
    volumes = compose["services"]["postgres"]["volumes"]
    assert any("init-databases.sh:/docker-entrypoint-initdb.d/" in v for v in volumes)
    assert compose["services"]["nats"]["command"] == ["-c", "/run/secrets/nats_conf"]
    assert "jetstream {\n  store_dir: /data\n}" in NATS_CONF.read_text()
    assert any(v.endswith(":/data") for v in compose["services"]["nats"]["volumes"])


# --- the bus: TLS, and each service its own NATS user ----------------------------------------

NATS_CONF = ROOT / "deploy" / "nats" / "nats.conf"
KEYS = {f"nats_{name}_nkey": {name} for name in APIS} | {"nats_ops_nkey": {"ops"}}


def test_each_service_holds_its_own_nats_key_and_no_one_elses(compose, tmp_path):
    services = compose["services"]
    for secret, holders in KEYS.items():
        held = {name for name, service in services.items() if secret in service.get("secrets", [])}
        if secret == "nats_directory_nkey":
            holders = holders | {"directory-seed"}  # it publishes the demo directory's events
        assert held == holders, secret
    assert {n for n, s in services.items() if "nats_server_key" in s.get("secrets", [])} == {"nats"}
    for name in (*APIS, "directory-seed"):
        settings = _settings(name, services[name]["environment"], tmp_path)
        user = name.removesuffix("-seed")
        assert settings.nats_nkey_seed_file == tmp_path / f"nats_{user}_nkey"
        assert settings.nats_tls_ca_file == tmp_path / "nats_ca"
        assert all(u.startswith("tls://") for u in settings.nats_url.split(","))
    ops = services["ops"]["environment"]
    assert ops["BRIDGES_NATS_URL"].startswith("tls://")
    assert ops["BRIDGES_NATS_NKEY_SEED_FILE"] == "/run/secrets/nats_ops_nkey"


def _as_mounted(compose: dict, config: Path, tmp_path: Path) -> Path:
    """`config` with the /run/secrets files it names (and includes) as compose mounts them:
    each secret's file, made as deploy/secrets.sh makes it (a certificate for localhost)."""
    made = tmp_path / "deploy-secrets"
    bus_users.deployment_secrets(made, ["localhost"])
    mounted = tmp_path / "run-secrets"
    mounted.mkdir()
    env = {"BRIDGES_SECRETS_DIR": str(made)}
    for name, secret in compose["secrets"].items():
        source = Path(_interpolate(secret["file"], env))
        if source.is_absolute() and source.exists():
            (mounted / name).write_bytes(source.read_bytes())
    text = config.read_text().replace("/run/secrets/", f"{mounted}/")
    text = text.replace("store_dir: /data", f"store_dir: {json.dumps(str(tmp_path / 'data'))}")
    (mounted / "nats_conf").write_text(text)
    return mounted


@pytest.fixture
def compose_nats(compose: dict, tmp_path: Path) -> Iterator[tuple[int, Path]]:
    """deploy/nats/nats.conf run by this machine's nats-server (on free ports): its port and
    its /run/secrets stand-in."""
    mounted = _as_mounted(compose, NATS_CONF, tmp_path)
    port = free_port()
    args = ["-c", str(mounted / "nats_conf"), "-p", str(port), "-m", str(free_port())]
    with (tmp_path / "nats.log").open("w") as log:
        server = subprocess.Popen(
            [nats_server_binary(), *args], stdout=log, stderr=subprocess.STDOUT
        )
    try:
        wait_until(lambda: port_open(port), 20, "the compose nats-server")
        yield port, mounted
    finally:
        server.terminate()
        server.wait(10)


async def _connect(url: str, login: BusLogin) -> Any:
    return await nats.connect(url, allow_reconnect=False, connect_timeout=2, **login.options())


async def test_the_compose_nats_server_admits_its_users_over_tls_only(
    compose_nats: tuple[int, Path],
):
    port, mounted = compose_nats
    tls, plain = f"tls://localhost:{port}", f"nats://localhost:{port}"
    ca, seed = mounted / "nats_ca", mounted / "nats_directory_nkey"
    client = await _connect(tls, BusLogin("directory", nkey_seed_file=seed, tls_ca_file=ca))
    assert client.is_connected and client.connected_url.scheme == "tls"
    await client.close()
    with pytest.raises(nats.errors.Error, match="Authorization Violation"):
        await _connect(tls, BusLogin("anyone", tls_ca_file=ca))
    with pytest.raises((nats.errors.Error, OSError, TimeoutError)):  # TLS is required
        await _connect(plain, BusLogin("directory", nkey_seed_file=seed))


# --- one origin: Caddy in front -------------------------------------------------------------


@pytest.fixture(scope="module")
def caddyfile() -> str:
    return (CADDY / "Caddyfile").read_text()


def _blocks(caddyfile: str, directive: str) -> dict[str, str]:
    """The bodies of `directive <path> {...}` blocks (closed by a brace at their indentation)."""
    found = re.finditer(
        rf"^(?P<indent>\t*){directive} (?P<path>\S+) \{{\n(?P<body>.*?)^(?P=indent)\}}$",
        caddyfile,
        re.M | re.S,
    )
    return {m["path"]: m["body"] for m in found}


def _upstream(compose: dict, name: str) -> str:
    return f"{name}:{compose['services'][name]['environment']['BRIDGES_HTTP_PORT']}"


def test_caddy_is_the_only_service_with_ports_published_beyond_this_host(compose):
    published = {name for name, service in compose["services"].items() if service.get("ports")}
    local_only = {  # the observability profile's UIs: reached through an SSH tunnel
        name
        for name in published
        if all(str(port).startswith("127.0.0.1:") for port in compose["services"][name]["ports"])
    }
    assert published - local_only == {"caddy"}
    assert all("observability" in compose["services"][n]["profiles"] for n in local_only)
    env = {"BRIDGES_PUBLISH_ADDRESS": "0.0.0.0"}
    ports = {
        _interpolate(str(port), env).split("/")[0] for port in compose["services"]["caddy"]["ports"]
    }
    assert ports == {"0.0.0.0:80:80", "0.0.0.0:443:443"}


# a proxy with the bounds every upstream gets (the `upstream_limits` snippet), nothing else
PROXIED = r"\s*reverse_proxy (\S+) \{\s*import upstream_limits\s*\}\s*"


def test_every_api_is_proxied_under_its_path_to_the_port_it_listens_on(compose, caddyfile):
    proxied = {
        path: re.fullmatch(PROXIED, body)
        for path, body in _blocks(caddyfile, "handle_path").items()
    }
    assert set(proxied) == {f"/api/{name}/*" for name in APIS}
    for name in APIS:
        route = proxied[f"/api/{name}/*"]
        assert route is not None, f"/api/{name}/* does more than proxy"
        assert route[1] == _upstream(compose, name)
        environment = compose["services"][name]["environment"]
        public = _interpolate(environment["BRIDGES_PUBLIC_URL"], _env_example())
        assert urlsplit(public).path == f"/api/{name}"  # its own links go through Caddy too


def test_the_app_is_served_by_caddy_and_its_config_by_referrals(compose, caddyfile):
    handled = _blocks(caddyfile, "handle")
    config = re.fullmatch(PROXIED, handled["/app/config.json"])
    assert config is not None and config[1] == _upstream(compose, "referrals")
    app = handled["/app/*"]
    assert re.search(r"^\s*root \* /srv$", app, re.M)
    assert re.search(r"^\s*file_server$", app, re.M)
    dockerfile = (CADDY / "Dockerfile").read_text()
    assert re.search(r"^FROM \$\{NODE_IMAGE\} AS app-build$", dockerfile, re.M)
    assert re.search(r"^ARG NODE_IMAGE=node:20[-\w.]*$", dockerfile, re.M)
    assert re.search(r"^ARG CADDY_IMAGE=caddy:2\.\d+\.\d+[-\w]*$", dockerfile, re.M)  # pinned
    assert "RUN npm ci --no-audit --no-fund" in dockerfile
    assert "RUN rm -rf dist && npm run build" in dockerfile
    assert "COPY --from=app /src/app/dist /srv/app" in dockerfile
    assert "COPY deploy/caddy/Caddyfile /etc/caddy/Caddyfile" in dockerfile
    build = compose["services"]["caddy"]["build"]
    assert (build["context"], build["dockerfile"]) == (".", "deploy/caddy/Dockerfile")
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert "app/node_modules" in ignored  # installed inside the image only
    assert build["args"]["APP_SOURCE"] == "${BRIDGES_APP_SOURCE:-build}"  # dist: prebuilt
    # the browser finds the directory where Caddy proxies it
    directory_url = compose["services"]["referrals"]["environment"]["BRIDGES_APP_DIRECTORY_URL"]
    assert f"{directory_url}/*" in _blocks(caddyfile, "handle_path")


def test_security_headers(caddyfile):
    site_wide = re.search(r"^\theader \{\n(.*?)^\t\}", caddyfile, re.M | re.S)
    assert site_wide is not None
    assert re.search(r'Strict-Transport-Security "max-age=\d{8,}', site_wide[1])
    assert 'X-Content-Type-Options "nosniff"' in site_wide[1]
    csp = re.search(
        r'header Content-Security-Policy "([^"]+)"', _blocks(caddyfile, "handle")["/app/*"]
    )
    assert csp is not None
    directives = {d.split()[0]: d.split()[1:] for d in csp[1].split("; ")}
    assert directives == {
        "default-src": ["'self'"],
        "connect-src": ["'self'", "{$BRIDGES_OIDC_ORIGIN}"],  # the OpenID provider
        "img-src": ["'self'", "data:"],
        "style-src": ["'self'"],
        "script-src": ["'self'"],
        "worker-src": ["'self'"],
        "manifest-src": ["'self'"],
        "frame-ancestors": ["'none'"],
    }


def test_tls_is_internal_by_default_and_the_domain_comes_from_the_env(compose, caddyfile):
    assert re.search(r"^\{\$BRIDGES_DOMAIN:localhost\} \{$", caddyfile, re.M)
    assert re.search(r"^\ttls \{\$BRIDGES_TLS:internal\}$", caddyfile, re.M)
    caddy = compose["services"]["caddy"]
    placeholders = set(re.findall(r"\{\$([A-Z0-9_]+)", caddyfile))
    assert placeholders == set(caddy["environment"])
    env = _env_example()
    assert {name for name in placeholders if name in env} == placeholders
    assert env["BRIDGES_TLS"] == "internal"
    assert {"caddy-data:/data", "caddy-config:/config"} <= set(caddy["volumes"])
    for name in APIS:
        assert caddy["depends_on"][name] == {"condition": "service_healthy"}
    assert "healthcheck" in caddy


def test_caddy_bounds_slow_clients_and_its_connections_to_each_service(caddyfile):
    """Headers, bodies and idle connections in time (a slowloris is cut off at the edge), and no
    more connections to a service than it accepts (docs/security.md)."""
    timeouts = re.search(r"^\t\ttimeouts \{\n(.*?)^\t\t\}$", caddyfile, re.M | re.S)
    assert timeouts is not None, "no `servers { timeouts {...} }` global option"
    bounds = dict(line.split() for line in timeouts[1].strip().splitlines())
    assert bounds == {"read_header": "10s", "read_body": "30s", "write": "60s", "idle": "2m"}
    assert re.search(r"^\t\tmax_header_size 32KB$", caddyfile, re.M)
    limits = re.search(r"^\(upstream_limits\) \{\n(.*?)^\}$", caddyfile, re.M | re.S)
    assert limits is not None
    assert re.search(r"^\t\tmax_conns_per_host (\d+)$", limits[1], re.M)
    assert re.search(r"^\t\tdial_timeout 5s$", limits[1], re.M)
    assert caddyfile.count("import upstream_limits") == caddyfile.count("reverse_proxy ") == 4


def test_services_believe_x_forwarded_for_from_the_compose_network_only(compose, tmp_path):
    subnet = _interpolate(compose["networks"]["default"]["ipam"]["config"][0]["subnet"], {})
    for name in APIS:
        settings = _settings(name, compose["services"][name]["environment"], tmp_path)
        assert [str(n) for n in settings.trusted_proxies] == [subnet]
        assert settings.rate_limits and settings.ops_only


CLUSTER = ROOT / "docker-compose.cluster.yml"


def _overlaid(base: dict, overlay: dict) -> dict:
    """What `docker compose -f base -f overlay` makes of them (mappings merge, the rest replaces)."""
    merged = dict(base)
    for key, value in overlay.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            merged[key] = _overlaid(base[key], value)
        else:
            merged[key] = value
    return merged


def test_the_cluster_overlay_makes_three_nats_nodes_and_two_of_each_service(compose, tmp_path):
    schema = json.loads((Path(__file__).parent / "data" / "compose-spec.json").read_text())
    overlay = yaml.safe_load(CLUSTER.read_text())
    jsonschema.Draft7Validator(schema).validate(overlay)
    merged = _overlaid(compose, overlay)
    assert merged["secrets"]["nats_cluster_conf"]["file"] == "./deploy/nats/cluster.conf"
    conf = (ROOT / "deploy" / "nats" / "cluster.conf").read_text()
    assert "verify: true" in conf.split("cluster {", 1)[1]  # routes present the bus's certificate
    routes = re.findall(r"nats-route://([a-z0-9-]+):6222", conf)
    assert routes == ["nats", "nats-2", "nats-3"]
    for node in routes:  # each a JetStream node with its own name, store and the shared config
        service = merged["services"][node]
        assert service["command"] == ["-c", "/run/secrets/nats_cluster_conf"]
        assert {"nats_users", "nats_ca", "nats_server_cert", "nats_server_key"} <= set(
            service["secrets"]
        )
        assert service["environment"]["NATS_NODE"]
        assert any(v.endswith(":/data") for v in service["volumes"])
    assert len({merged["services"][n]["environment"]["NATS_NODE"] for n in routes}) == 3
    for name in APIS:
        service = merged["services"][name]
        assert service["deploy"]["replicas"] == 2
        settings = _settings(name, service["environment"], tmp_path)
        assert [urlsplit(u).hostname for u in settings.nats_url.split(",")] == routes
        assert settings.nats_replicas == 3
        assert "ports" not in service  # replicas sit behind Caddy
