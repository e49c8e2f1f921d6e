"""The image's entrypoint and health check, exercised without Docker.

The argv comes from the Dockerfile (ENTRYPOINT + CMD, HEALTHCHECK) and from
docker-compose.yml (the worker and migrate commands), so these tests break when
either drifts from the CLI. The service runs on the embedded PostgreSQL and Redis
(DATABASE_URL/REDIS_URL unset) with its data dir in a temporary folder; every
request goes to 127.0.0.1 and every wait is bounded.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BIN = ROOT / ".venv" / "bin"
DOCKERFILE = ROOT / "Dockerfile"
COMPOSE = ROOT / "docker-compose.yml"

HEALTHY_WITHIN_S = 60.0
EXIT_WITHIN_S = 20.0

# Variables that would point the service at real servers or start real bots.
_SCRUB = re.compile(r"^(DATABASE_URL|REDIS_URL|PRIVATE_KEY|DISCORD_.*|TELEGRAM_.*|API_.*|METRICS_PORT|PORT|"
                    r"LIGHTHOUSE_.*|RPC_URL_.*|FACILITATOR_URL|X402_.*|PAYMENT_ADDRESS|PUBLIC_BASE_URL|"
                    r"USDC_CONTRACT_ADDRESS|LOG_.*)$")


# ------------------------------------------------------------- the image spec


def _final_stage_lines() -> list[str]:
    joined = re.sub(r"\\\n", " ", DOCKERFILE.read_text())
    lines = [ln.strip() for ln in joined.splitlines() if ln.strip() and not ln.strip().startswith("#")]
    last_from = max(i for i, ln in enumerate(lines) if ln.upper().startswith("FROM "))
    return lines[last_from:]


def _exec_form(keyword: str) -> list[str]:
    found = [ln for ln in _final_stage_lines() if ln.upper().startswith(keyword + " ")]
    assert found, f"the Dockerfile's final stage has no {keyword}"
    text = found[-1][len(keyword):].strip()
    if keyword == "HEALTHCHECK":
        text = text.split("CMD", 1)[1].strip()
    argv = json.loads(text)
    assert isinstance(argv, list) and argv, f"{keyword} must be in exec form"
    return argv


def _compose_command(service: str, fallback: list[str]) -> list[str]:
    try:
        import yaml
    except ImportError:
        return fallback
    command = yaml.safe_load(COMPOSE.read_text())["services"][service]["command"]
    return command if isinstance(command, list) else command.split()


def _local(argv: list[str]) -> list[str]:
    """The image's PATH has the venv's bin first; here that is .venv/bin."""
    first = BIN / argv[0]
    assert first.exists(), f"{first} does not exist: is the project installed in .venv?"
    return [str(first), *argv[1:]]


ENTRYPOINT = _exec_form("ENTRYPOINT")
CMD = _exec_form("CMD")
HEALTHCHECK = _exec_form("HEALTHCHECK")


@pytest.fixture(scope="module", autouse=True)
def cli_exists() -> None:
    lighthouse = BIN / ENTRYPOINT[0]
    if not lighthouse.exists():
        pytest.skip(f"{lighthouse} is not installed")
    proc = subprocess.run([str(lighthouse), "run", "--help"], capture_output=True, text=True, timeout=60)
    if proc.returncode != 0:
        pytest.skip(f"`lighthouse run --help` fails (exit {proc.returncode}): the CLI is not there yet")


# ------------------------------------------------------------------ helpers


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def service_env() -> Iterator[dict[str, str]]:
    # Under /tmp, not a home directory: pgserver opens the parents of its data dir when root.
    data_dir = Path(tempfile.mkdtemp(prefix="lh-entrypoint-", dir="/tmp"))
    env = {k: v for k, v in os.environ.items() if not _SCRUB.match(k)}
    env.update(
        LIGHTHOUSE_DATA_DIR=str(data_dir),
        API_PORT=str(free_port()),
        METRICS_PORT=str(free_port()),
        LIGHTHOUSE_ALLOW_PRIVATE_TARGETS="1",
        LOG_LEVEL="INFO",
    )
    yield env
    shutil.rmtree(data_dir, ignore_errors=True)


def run_probe(argv: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(_local(argv), env=env, capture_output=True, text=True, timeout=30)


def tail(path: Path, lines: int = 40) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def wait_healthy(proc: subprocess.Popen[bytes], env: dict[str, str], log: Path) -> None:
    url = f"http://127.0.0.1:{env['API_PORT']}/health"
    deadline = time.monotonic() + HEALTHY_WITHIN_S
    last = None
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"the service exited with {proc.returncode} before it was healthy:\n{tail(log)}")
        last = run_probe([*HEALTHCHECK, "--url", url], env)
        if last.returncode == 0:
            return
        time.sleep(0.5)
    probe = last.stderr if last else "none"
    pytest.fail(f"not healthy within {HEALTHY_WITHIN_S:.0f} s; last probe: {probe}\n{tail(log)}")


def stop(proc: subprocess.Popen[bytes], log: Path) -> int:
    proc.send_signal(signal.SIGTERM)
    try:
        return proc.wait(timeout=EXIT_WITHIN_S)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=10)
        pytest.fail(f"still running {EXIT_WITHIN_S:.0f} s after SIGTERM:\n{tail(log)}")


def get(url: str) -> tuple[int, bytes]:
    with urllib.request.urlopen(url, timeout=5) as resp:
        return resp.status, resp.read()


# -------------------------------------------------------------------- tests


ROLES = {
    "dockerfile-cmd": lambda: [*ENTRYPOINT, *CMD],
    "compose-worker": lambda: [*ENTRYPOINT, *_compose_command("worker", ["worker"])],
}


@pytest.mark.parametrize("role", sorted(ROLES))
def test_role_serves_health_and_stops_cleanly_on_sigterm(role: str, service_env: dict[str, str]) -> None:
    argv = ROLES[role]()
    log = Path(service_env["LIGHTHOUSE_DATA_DIR"]) / "service.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(_local(argv), env=service_env, stdout=out, stderr=subprocess.STDOUT,
                                cwd=service_env["LIGHTHOUSE_DATA_DIR"])
    try:
        wait_healthy(proc, service_env, log)

        # The HEALTHCHECK exactly as the image runs it: no --url, API_PORT from the environment.
        exact = run_probe(HEALTHCHECK, service_env)
        assert exact.returncode == 0, exact.stderr

        status, body = get(f"http://127.0.0.1:{service_env['API_PORT']}/health")
        health = json.loads(body)
        assert status == 200
        assert (health["status"], health["database"], health["redis"]) == ("ok", "connected", "connected")

        status, body = get(f"http://127.0.0.1:{service_env['METRICS_PORT']}/metrics")
        assert status == 200 and b"# TYPE" in body, "no Prometheus metrics on METRICS_PORT"

        code = stop(proc, log)
        assert code == 0, f"exit code {code} after SIGTERM:\n{tail(log)}"
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)

    # The probe fails once nothing answers: the container would be marked unhealthy.
    after = run_probe(HEALTHCHECK, service_env)
    assert after.returncode == 1, after.stdout + after.stderr


def test_migrate_command_is_one_shot(service_env: dict[str, str]) -> None:
    argv = [*ENTRYPOINT, *_compose_command("migrate", ["migrate"])]
    proc = subprocess.run(_local(argv), env=service_env, capture_output=True, text=True,
                          timeout=HEALTHY_WITHIN_S, cwd=service_env["LIGHTHOUSE_DATA_DIR"])
    assert proc.returncode == 0, proc.stdout + proc.stderr
    again = subprocess.run(_local(argv), env=service_env, capture_output=True, text=True,
                           timeout=HEALTHY_WITHIN_S, cwd=service_env["LIGHTHOUSE_DATA_DIR"])
    assert again.returncode == 0, "a second migrate must be a no-op: " + again.stdout + again.stderr


def test_healthcheck_fails_without_a_service(service_env: dict[str, str]) -> None:
    proc = run_probe(HEALTHCHECK, service_env)
    assert proc.returncode == 1, proc.stdout + proc.stderr
