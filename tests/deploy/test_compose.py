"""Offline checks of docker-compose.yml (no Docker engine needed).

Compose's own variable interpolation is reproduced here (``${VAR}``, ``${VAR:-default}``,
``${VAR-default}``, ``${VAR:?error}``, ``${VAR?error}``, ``$$``) so the file can be
checked as compose would see it with a given .env.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

yaml = pytest.importorskip(
    "yaml", reason="PyYAML is not installed: add pyyaml to the [dev] extra to check docker-compose.yml"
)

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "docker-compose.yml"

SERVICES = {"timescaledb", "redis", "migrate", "backend", "worker", "prometheus", "grafana"}
MONITORING = ("prometheus", "grafana")
LIGHTHOUSE_SERVICES = {"migrate": ["migrate"], "backend": ["run"], "worker": ["worker"]}
SECRET_NAME = re.compile(r"PASSWORD|SECRET|TOKEN|KEY|AUTH|CREDENTIAL", re.I)
# Variables the application reads (the brief's list); compose must pass each of them.
APP_ENV = {
    "DATABASE_URL", "REDIS_URL", "USDC_CONTRACT_ADDRESS", "RPC_URL_FUJI", "RPC_URL_BASE_SEPOLIA",
    "FACILITATOR_URL", "PRIVATE_KEY", "DISCORD_WEBHOOK_URL", "DISCORD_BOT_TOKEN",
    "TELEGRAM_BOT_TOKEN", "TELEGRAM_API_BASE_URL", "PAYMENT_ADDRESS", "API_PORT", "METRICS_PORT",
    "LIGHTHOUSE_ALLOW_PRIVATE_TARGETS", "LOG_LEVEL", "PUBLIC_BASE_URL", "API_HOST",
    "LIGHTHOUSE_DEFAULT_TIER", "LIGHTHOUSE_ADMINS", "LOG_FORMAT",
}

_VAR = re.compile(
    r"\$(?:\$"
    r"|\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])((?:[^{}]|\{[^{}]*\})*))?\}"
    r"|([A-Za-z_][A-Za-z0-9_]*))"
)
_PURE_INTERPOLATION = re.compile(r"^\$\{[A-Za-z_][A-Za-z0-9_]*(?::?[-?][^}]*)?\}$")


class MissingVariable(Exception):
    pass


def interpolate(text: str, env: Mapping[str, str]) -> str:
    def repl(m: re.Match[str]) -> str:
        if m.group(0) == "$$":
            return "$"
        name = m.group(1) or m.group(4)
        op, arg = m.group(2), m.group(3) or ""
        value = env.get(name)
        if op in (":-", ":?") and not value:
            value = None
        if value is None:
            if op in (":-", "-"):
                return interpolate(arg, env)
            if op in (":?", "?"):
                raise MissingVariable(f"{name}: {arg}")
            return ""
        return value

    return _VAR.sub(repl, text)


def resolve(obj: Any, env: Mapping[str, str]) -> Any:
    if isinstance(obj, str):
        return interpolate(obj, env)
    if isinstance(obj, dict):
        return {k: resolve(v, env) for k, v in obj.items()}
    if isinstance(obj, list):
        return [resolve(v, env) for v in obj]
    return obj


def raw_compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE.read_text())


SAMPLE_ENV = {"POSTGRES_PASSWORD": "pg-sample-password", "REDIS_PASSWORD": "redis-sample-password",
              "GRAFANA_ADMIN_PASSWORD": "grafana-sample-password"}


def compose(env: Mapping[str, str] = SAMPLE_ENV) -> dict[str, Any]:
    return resolve(raw_compose(), env)


def env_dict(service: Mapping[str, Any]) -> dict[str, str]:
    environment = service.get("environment") or {}
    if isinstance(environment, list):
        return dict(item.split("=", 1) if "=" in item else (item, "") for item in environment)
    return {k: "" if v is None else str(v) for k, v in environment.items()}


def walk(obj: Any, path: str = "") -> Iterator[tuple[str, Any]]:
    yield path, obj
    if isinstance(obj, dict):
        for k, v in obj.items():
            yield from walk(v, f"{path}.{k}" if path else str(k))
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            yield from walk(v, f"{path}[{i}]")


# ----------------------------------------------------------------- checkers


def image_violations(doc: Mapping[str, Any]) -> list[str]:
    problems = []
    for name, svc in doc["services"].items():
        image = svc.get("image")
        if not image:
            problems.append(f"{name}: no image")
            continue
        ref = image.split("@", 1)[0]
        tag = ref.rsplit(":", 1)[1] if ":" in ref.rsplit("/", 1)[-1] else None
        if tag is None:
            problems.append(f"{name}: {image} has no tag")
        elif tag == "latest" or tag.startswith("latest-"):
            problems.append(f"{name}: {image} uses a floating latest tag")
    return problems


def secret_literal_violations(doc: Mapping[str, Any]) -> list[str]:
    """Secret-looking values must come from ${...}; URLs must not embed literal passwords."""
    problems = []
    for name, svc in doc["services"].items():
        for key, value in env_dict(svc).items():
            if SECRET_NAME.search(key) and value and not _PURE_INTERPOLATION.match(value):
                problems.append(f"{name}: {key} is a literal, not a ${{...}} interpolation")
            for cred in re.findall(r"://[^:/@\s]*:([^@\s]+)@", value):
                if not _PURE_INTERPOLATION.match(cred):
                    problems.append(f"{name}: {key} embeds a literal password")
        for path, value in walk(svc.get("command", []), "command"):
            if isinstance(value, str) and re.search(r"--requirepass\s+(?!\"?\$)", value):
                problems.append(f"{name}: {path} passes a literal --requirepass")
    return problems


def dependency_violations(doc: Mapping[str, Any]) -> list[str]:
    problems = []
    services = doc["services"]
    wants = {
        "migrate": {"timescaledb": "service_healthy", "redis": "service_healthy"},
        "backend": {"timescaledb": "service_healthy", "redis": "service_healthy",
                    "migrate": "service_completed_successfully"},
        "worker": {"timescaledb": "service_healthy", "redis": "service_healthy",
                   "migrate": "service_completed_successfully"},
    }
    for name, needed in wants.items():
        deps = services.get(name, {}).get("depends_on", {})
        if isinstance(deps, list):
            problems.append(f"{name}: depends_on is a list (no conditions)")
            continue
        for dep, condition in needed.items():
            got = (deps.get(dep) or {}).get("condition")
            if got != condition:
                problems.append(f"{name}: depends_on {dep} has condition {got!r}, expected {condition!r}")
    for name, svc in services.items():
        deps = svc.get("depends_on", {})
        for dep in deps if isinstance(deps, (list, dict)) else []:
            if dep not in services:
                problems.append(f"{name}: depends on unknown service {dep}")
    return problems


def volume_violations(doc: Mapping[str, Any]) -> list[str]:
    problems = []
    declared = set(doc.get("volumes") or {})
    for name, svc in doc["services"].items():
        for volume in svc.get("volumes", []):
            source = volume.get("source") if isinstance(volume, dict) else volume.split(":", 1)[0]
            if source and not source.startswith((".", "/", "~")) and source not in declared:
                problems.append(f"{name}: volume {source} is not declared at the top level")
    return problems


# -------------------------------------------------------------------- tests


def test_services_keep_the_seed_names_plus_monitoring() -> None:
    assert set(raw_compose()["services"]) == SERVICES


def test_images_are_pinned() -> None:
    doc = compose()
    assert image_violations(doc) == []
    assert re.fullmatch(r"timescale/timescaledb:2\.\d+\.\d+-pg16", doc["services"]["timescaledb"]["image"])
    assert re.fullmatch(r"redis:7\.\d+\.\d+(-[a-z0-9.]+)?", doc["services"]["redis"]["image"])
    assert re.fullmatch(r"prom/prometheus:v2\.\d+\.\d+", doc["services"]["prometheus"]["image"])
    assert re.fullmatch(r"grafana/grafana:\d+\.\d+\.\d+", doc["services"]["grafana"]["image"])
    # Lighthouse services run one image, built from this repository's Dockerfile.
    images = {doc["services"][s]["image"] for s in LIGHTHOUSE_SERVICES}
    assert len(images) == 1, images
    for name in LIGHTHOUSE_SERVICES:
        build = doc["services"][name].get("build", {})
        assert (ROOT / build.get("context", ".") / build.get("dockerfile", "Dockerfile")).is_file()


def test_image_check_catches_latest_and_untagged() -> None:
    doc = {"services": {"a": {"image": "redis"}, "b": {"image": "timescale/timescaledb:latest-pg16"},
                        "c": {"image": "localhost:5000/x"}, "d": {"image": "redis:7.4.2"}}}
    assert image_violations(doc) == [
        "a: redis has no tag",
        "b: timescale/timescaledb:latest-pg16 uses a floating latest tag",
        "c: localhost:5000/x has no tag",
    ]


def test_health_checks_everywhere_it_matters() -> None:
    services = compose()["services"]
    for name in ("timescaledb", "redis", "backend", "worker", *MONITORING):
        check = services[name].get("healthcheck")
        assert check and not check.get("disable"), f"{name} has no health check"
        assert check["test"][0] in ("CMD", "CMD-SHELL"), f"{name}: test must be CMD or CMD-SHELL"
    assert "pg_isready" in " ".join(services["timescaledb"]["healthcheck"]["test"])
    assert "redis-cli ping" in " ".join(services["redis"]["healthcheck"]["test"])
    for name in ("backend", "worker"):
        assert services[name]["healthcheck"]["test"] == ["CMD", "lighthouse", "healthcheck"]
    assert "127.0.0.1:9090/-/healthy" in " ".join(services["prometheus"]["healthcheck"]["test"])
    assert "127.0.0.1:3000/api/health" in " ".join(services["grafana"]["healthcheck"]["test"])


def test_dependencies_wait_for_health_and_migrations() -> None:
    assert dependency_violations(compose()) == []


def test_dependency_check_catches_plain_lists() -> None:
    doc = {"services": {"migrate": {"depends_on": ["timescaledb"]},
                        "backend": {"depends_on": {"timescaledb": {"condition": "service_started"}}},
                        "worker": {}}}
    problems = dependency_violations(doc)
    assert "migrate: depends_on is a list (no conditions)" in problems
    assert ("backend: depends_on timescaledb has condition 'service_started', "
            "expected 'service_healthy'") in problems
    assert "backend: depends on unknown service timescaledb" in problems
    assert len(problems) == 9


def test_commands_match_the_cli() -> None:
    services = compose()["services"]
    for name, argv in LIGHTHOUSE_SERVICES.items():
        assert services[name]["command"] == argv
    assert services["migrate"]["restart"] == "no"
    cli = pytest.importorskip("lighthouse.cli")
    parser = cli.build_parser()
    sub = next(a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction")
    assert {argv[0] for argv in LIGHTHOUSE_SERVICES.values()} <= set(sub.choices)
    assert "healthcheck" in sub.choices


def test_worker_scales() -> None:
    worker = raw_compose()["services"]["worker"]
    assert "container_name" not in worker, "--scale worker=N needs no container_name"
    assert "ports" not in worker, "--scale worker=N needs no fixed host ports"


def test_no_secret_literals() -> None:
    doc = raw_compose()
    assert secret_literal_violations(doc) == []
    text = COMPOSE.read_text()
    assert "pg-sample-password" not in text
    # Required secrets fail loudly when .env lacks them.
    for name in ("POSTGRES_PASSWORD", "REDIS_PASSWORD", "GRAFANA_ADMIN_PASSWORD"):
        assert re.search(rf"\$\{{{name}:\?[^}}]+\}}", text), f"{name} must be ${{{name}:?...}}"
        with pytest.raises(MissingVariable, match=name):
            compose({k: v for k, v in SAMPLE_ENV.items() if k != name})


def test_secret_check_catches_literals() -> None:
    doc = {"services": {
        "db": {"environment": {"POSTGRES_PASSWORD": "hunter2", "PRIVATE_KEY": "${PRIVATE_KEY:-}"}},
        "app": {"environment": ["DATABASE_URL=postgresql://u:hunter2@db/x", "DISCORD_BOT_TOKEN=abc"]},
        "redis": {"command": ["redis-server", "--requirepass hunter2"]},
    }}
    assert secret_literal_violations(doc) == [
        "db: POSTGRES_PASSWORD is a literal, not a ${...} interpolation",
        "app: DATABASE_URL embeds a literal password",
        "app: DISCORD_BOT_TOKEN is a literal, not a ${...} interpolation",
        "redis: command[1] passes a literal --requirepass",
    ]


def test_named_volumes_and_persistence() -> None:
    doc = compose()
    assert volume_violations(doc) == []
    assert set(doc["volumes"]) == {"timescaledb-data", "redis-data", "lighthouse-data",
                                   "prometheus-data", "grafana-data"}
    assert "lighthouse-data:/var/lib/lighthouse" in doc["services"]["backend"]["volumes"]
    assert "prometheus-data:/prometheus" in doc["services"]["prometheus"]["volumes"]
    assert "grafana-data:/var/lib/grafana" in doc["services"]["grafana"]["volumes"]
    assert "timescaledb-data:/var/lib/postgresql/data" in doc["services"]["timescaledb"]["volumes"]
    assert "redis-data:/data" in doc["services"]["redis"]["volumes"]
    assert "--appendonly yes" in " ".join(doc["services"]["redis"]["command"])
    bad = {"services": {"x": {"volumes": ["undeclared:/data", "./local:/x"]}}, "volumes": {}}
    assert volume_violations(bad) == ["x: volume undeclared is not declared at the top level"]


def test_one_network_and_loopback_only_data_ports() -> None:
    doc = compose()
    assert list(doc["networks"]) == ["lighthouse"]
    for name, svc in doc["services"].items():
        assert svc.get("networks") == ["lighthouse"], f"{name} is not on the lighthouse network"
    for name in ("timescaledb", "redis", *MONITORING):
        for port in doc["services"][name].get("ports", []):
            assert str(port).startswith("127.0.0.1:"), f"{name} publishes {port} beyond loopback"
    backend_ports = [str(p).rsplit(":", 1)[-1] for p in doc["services"]["backend"]["ports"]]
    assert sorted(backend_ports) == ["8080", "9090"]


def test_app_environment_is_complete_and_valid() -> None:
    """What compose hands the containers passes Lighthouse's own settings validation."""
    doc = compose()
    for name in LIGHTHOUSE_SERVICES:
        env = env_dict(doc["services"][name])
        assert sorted(APP_ENV - set(env)) == [], f"{name} misses variables"
        assert env["DATABASE_URL"] == "postgresql://lighthouse:pg-sample-password@timescaledb:5432/lighthouse"
        assert env["REDIS_URL"] == "redis://:redis-sample-password@redis:6379/0"
        assert (env["API_PORT"], env["METRICS_PORT"]) == ("8080", "9090")

    settings_mod = pytest.importorskip("lighthouse.core.settings")
    env = env_dict(doc["services"]["backend"])
    saved = dict(os.environ)
    try:
        for key in list(os.environ):
            if key in APP_ENV or key.startswith("LIGHTHOUSE_") or key in ("LOG_FORMAT", "PORT", "API_HOST"):
                del os.environ[key]
        os.environ.update(env)
        settings = settings_mod.load_settings()
    finally:
        os.environ.clear()
        os.environ.update(saved)
    assert settings.api_port == 8080 and settings.metrics_port == 9090
    # The container listens on every interface; the default is loopback (a laptop run).
    assert settings.api_host == "0.0.0.0"
    assert settings_mod.Settings.model_fields["api_host"].default == "127.0.0.1"
    assert settings.default_tier == "free" and settings.admins == ""
    assert settings.database_url is not None and settings.redis_url is not None
    assert settings.allow_private_targets is False
    # Empty optional secrets must mean "not configured", never an empty credential.
    for field in ("private_key", "discord_webhook_url", "discord_bot_token", "telegram_bot_token",
                  "signing_key"):
        value = getattr(settings, field)
        assert value is None or value.get_secret_value() == "", field


def test_env_example_lists_what_compose_requires() -> None:
    example = ROOT / ".env.example"
    if not example.exists():
        pytest.skip(".env.example does not exist yet")
    names = set(re.findall(r"^\s*#?\s*([A-Z][A-Z0-9_]*)=", example.read_text(), re.M))
    required = set(re.findall(r"\$\{([A-Z][A-Z0-9_]*):?\?", COMPOSE.read_text()))
    assert sorted(required - names) == []


def test_interpolation_follows_compose_rules() -> None:
    env = {"SET": "v", "EMPTY": ""}
    assert interpolate("${SET} ${EMPTY:-d} ${EMPTY-d} ${UNSET:-a${SET}} $$x $SET", env) == "v d  av $x v"
    with pytest.raises(MissingVariable):
        interpolate("${EMPTY:?needed}", env)
    assert interpolate("${EMPTY?needed}", env) == ""
