"""Offline checks of terraform/: formatting, parsing, wiring between modules, exposure.

Nothing here talks to AWS. `terraform validate` runs when a local provider mirror is
present (TF_PLUGIN_DIR, default /opt/tf-plugins); checkov runs when installed.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

hcl2 = pytest.importorskip("hcl2", reason="python-hcl2 is not installed (it is in the [dev] extra)")
from hcl2.utils import SerializationOptions  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
TF = ROOT / "terraform"
ENV = TF / "environments" / "prod"
MODULES = TF / "modules"

EXPECTED_MODULES = {"network", "bastion", "database", "service", "backup", "monitoring", "secrets", "iam"}
# The seed's terraform.tfvars names (Option B, step 4 and step 8).
SEED_TFVARS = {
    "project_name", "environment", "db_instance_type", "db_volume_size", "db_password",
    "backup_retention_days", "enable_cross_region_backup", "cloudwatch_alarm_email",
    "allowed_cidr_blocks", "enable_public_access", "ssh_key_name", "enable_bastion",
    "deploy_backend", "backend_instance_type", "backend_instance_count",
}
MODULE_META_ARGS = {"source", "version", "count", "for_each", "providers", "depends_on"}

_OPTS = SerializationOptions(strip_string_quotes=True, with_comments=False, explicit_blocks=False)
_VAR_REF = re.compile(r"\bvar\.([A-Za-z_][A-Za-z0-9_-]*)")
_LOCAL_REF = re.compile(r"\blocal\.([A-Za-z_][A-Za-z0-9_-]*)")
_MODULE_REF = re.compile(
    r"\bmodule\.([A-Za-z_][A-Za-z0-9_-]*)(?:\[[^\]]*\])?(?:\.([A-Za-z_][A-Za-z0-9_-]*))?"
)
_DATA_REF = re.compile(r"\bdata\.([a-z][a-z0-9_]*)\.([A-Za-z_][A-Za-z0-9_-]*)")
_RESOURCE_REF = re.compile(r"(?<![\w.])((?:aws)_[a-z0-9_]+)\.([A-Za-z_][A-Za-z0-9_-]*)")


# ------------------------------------------------------------------ helpers


def parse_hcl(text: str) -> dict[str, Any]:
    return hcl2.loads(text, serialization_options=_OPTS)


def tf_files(root: Path = TF) -> list[Path]:
    return sorted(p for p in root.rglob("*.tf") if ".terraform" not in p.parts)


def strings(obj: Any) -> Iterator[str]:
    """Every string in a parsed HCL structure (expressions serialize as "${...}" strings)."""
    if isinstance(obj, str):
        yield obj
    elif isinstance(obj, dict):
        for key, value in obj.items():
            yield str(key)
            yield from strings(value)
    elif isinstance(obj, list):
        for item in obj:
            yield from strings(item)


@dataclass
class Module:
    path: Path
    variables: dict[str, dict[str, Any]] = field(default_factory=dict)
    outputs: dict[str, dict[str, Any]] = field(default_factory=dict)
    locals: set[str] = field(default_factory=set)
    modules: dict[str, dict[str, Any]] = field(default_factory=dict)
    resources: dict[str, dict[str, Any]] = field(default_factory=dict)  # "type.name" -> body
    data: dict[str, dict[str, Any]] = field(default_factory=dict)  # "type.name" -> body
    texts: list[str] = field(default_factory=list)  # every string of every block

    @property
    def refs(self) -> Iterator[str]:
        return iter(self.texts)


def load_module(path: Path) -> Module:
    mod = Module(path)
    for file in sorted(path.glob("*.tf")):
        doc = parse_hcl(file.read_text())
        for block in doc.get("variable", []):
            mod.variables.update(block)
        for block in doc.get("output", []):
            mod.outputs.update(block)
        for block in doc.get("locals", []):
            mod.locals.update(block)
        for block in doc.get("module", []):
            mod.modules.update(block)
        for block in doc.get("resource", []):
            for rtype, named in block.items():
                for rname, body in named.items():
                    mod.resources[f"{rtype}.{rname}"] = body
        for block in doc.get("data", []):
            for dtype, named in block.items():
                for dname, body in named.items():
                    mod.data[f"{dtype}.{dname}"] = body
        mod.texts.extend(strings(doc))
    return mod


def module_dirs() -> list[Path]:
    return sorted({p.parent for p in tf_files()})


def undeclared_variables(mod: Module) -> list[str]:
    used = {m for text in mod.texts for m in _VAR_REF.findall(text)}
    return sorted(f"{mod.path.relative_to(ROOT)}: var.{name}" for name in used - set(mod.variables))


def module_call_violations(mod: Module) -> list[str]:
    problems: list[str] = []
    for call, body in mod.modules.items():
        source = body.get("source", "")
        if not source.startswith(("./", "../")):
            problems.append(f"{mod.path.name}: module {call} has a non-local source {source!r}")
            continue
        child = load_module((mod.path / source).resolve())
        if not child.variables and not child.resources:
            problems.append(f"{mod.path.name}: module {call} points at an empty folder {source}")
            continue
        passed = set(body) - MODULE_META_ARGS
        required = {name for name, spec in child.variables.items() if "default" not in spec}
        for name in sorted(passed - set(child.variables)):
            problems.append(f"module {call}: passes {name!r}, which {source} does not declare")
        for name in sorted(required - passed):
            problems.append(f"module {call}: misses required input {name!r} of {source}")
    return problems


def reference_violations(mod: Module) -> list[str]:
    """local.X, module.X(.out), data.T.N and aws_T.N references must name declared things."""
    problems: set[str] = set()
    children = {
        name: load_module((mod.path / body["source"]).resolve())
        for name, body in mod.modules.items()
        if str(body.get("source", "")).startswith(("./", "../"))
    }
    for text in mod.texts:
        for name in _LOCAL_REF.findall(text):
            if name not in mod.locals:
                problems.add(f"local.{name} is not declared")
        for name, attr in _MODULE_REF.findall(text):
            if name not in mod.modules:
                problems.add(f"module.{name} is not declared")
            elif attr and name in children and attr not in children[name].outputs:
                problems.add(f"module.{name}.{attr}: no such output")
        for dtype, dname in _DATA_REF.findall(text):
            if f"{dtype}.{dname}" not in mod.data:
                problems.add(f"data.{dtype}.{dname} is not declared")
        for rtype, rname in _RESOURCE_REF.findall(_DATA_REF.sub("", text)):
            if f"{rtype}.{rname}" not in mod.resources:
                problems.add(f"{rtype}.{rname} is not declared")
    return sorted(f"{mod.path.relative_to(ROOT)}: {p}" for p in problems)


def output_violations(mod: Module) -> list[str]:
    """Every output has a value that references something (no constant or empty outputs)."""
    problems = []
    for name, body in mod.outputs.items():
        value = body.get("value")
        texts = list(strings(value))
        if value is None or not any("${" in t for t in texts):
            problems.append(f"{mod.path.relative_to(ROOT)}: output {name} references nothing")
        if not body.get("description"):
            problems.append(f"{mod.path.relative_to(ROOT)}: output {name} has no description")
    return problems


def terraform_bin() -> str | None:
    return shutil.which("terraform") or (
        "/usr/local/bin/terraform" if Path("/usr/local/bin/terraform").exists() else None
    )


def terraform_env() -> dict[str, str]:
    # No version checks against the network, no user CLI config.
    return {**os.environ, "CHECKPOINT_DISABLE": "1", "TF_IN_AUTOMATION": "1",
            "TF_CLI_CONFIG_FILE": "/dev/null"}


# ------------------------------------------------------------------- layout


def test_layout_has_one_module_per_concern() -> None:
    present = {p.name for p in MODULES.iterdir() if p.is_dir()}
    assert present >= EXPECTED_MODULES, f"missing modules: {sorted(EXPECTED_MODULES - present)}"
    for name in EXPECTED_MODULES:
        for file in ("main.tf", "variables.tf", "outputs.tf", "versions.tf"):
            assert (MODULES / name / file).is_file(), f"modules/{name}/{file} is missing"
    for file in ("main.tf", "variables.tf", "outputs.tf", "versions.tf", "terraform.tfvars.example"):
        assert (ENV / file).is_file(), f"environments/prod/{file} is missing"
    called = {Path(body["source"]).name for body in load_module(ENV).modules.values()}
    assert called >= EXPECTED_MODULES, f"prod does not call: {sorted(EXPECTED_MODULES - called)}"


# --------------------------------------------------------------- formatting


def test_terraform_fmt() -> None:
    binary = terraform_bin()
    if binary is None:
        pytest.skip("terraform binary not found; `terraform fmt -check` not run")
    proc = subprocess.run(
        [binary, "fmt", "-check", "-recursive", "-diff", "-no-color", str(TF)],
        capture_output=True, text=True, timeout=120, env=terraform_env(),
    )
    assert proc.returncode == 0, f"terraform fmt would change:\n{proc.stdout}\n{proc.stderr}"


# ------------------------------------------------------------------ parsing


HCL_FILES = [*tf_files(), *sorted(TF.rglob("*.tftest.hcl")), *sorted(TF.rglob("*.tfvars.example"))]


@pytest.mark.parametrize("path", HCL_FILES, ids=lambda p: str(p.relative_to(TF)))
def test_every_tf_file_parses(path: Path) -> None:
    doc = parse_hcl(path.read_text())
    assert doc, f"{path} parsed to nothing"


def test_tfvars_example_uses_declared_names_and_the_seeds() -> None:
    example = ENV / "terraform.tfvars.example"
    values = parse_hcl(example.read_text())
    declared = set(load_module(ENV).variables)
    assert sorted(set(values) - declared) == []
    assert sorted(SEED_TFVARS - declared) == [], "seed tfvars names must stay declared"
    # Every seed name shows up in the example, set or (secrets) commented out.
    text = example.read_text()
    assert sorted(n for n in SEED_TFVARS if not re.search(rf"^#?\s*{n}\s*=", text, re.M)) == []
    assert "db_password" not in values, "the example must not carry a password value"


# ------------------------------------------------------------------- wiring


@pytest.mark.parametrize("path", module_dirs(), ids=lambda p: str(p.relative_to(TF)))
def test_referenced_variables_are_declared(path: Path) -> None:
    assert undeclared_variables(load_module(path)) == []


@pytest.mark.parametrize("path", module_dirs(), ids=lambda p: str(p.relative_to(TF)))
def test_module_calls_pass_declared_and_required_inputs(path: Path) -> None:
    assert module_call_violations(load_module(path)) == []


@pytest.mark.parametrize("path", module_dirs(), ids=lambda p: str(p.relative_to(TF)))
def test_references_name_declared_things(path: Path) -> None:
    assert reference_violations(load_module(path)) == []


@pytest.mark.parametrize("path", module_dirs(), ids=lambda p: str(p.relative_to(TF)))
def test_outputs_reference_something_and_are_described(path: Path) -> None:
    assert output_violations(load_module(path)) == []


@pytest.mark.parametrize("path", module_dirs(), ids=lambda p: str(p.relative_to(TF)))
def test_variables_are_typed_and_described(path: Path) -> None:
    mod = load_module(path)
    problems = [
        f"{name}: {'no type' if 'type' not in spec else 'no description'}"
        for name, spec in mod.variables.items()
        if "type" not in spec or not spec.get("description")
    ]
    assert problems == []


def test_checkers_catch_violations(tmp_path: Path) -> None:
    """The wiring checks above can fail: a broken pair of modules trips each of them."""
    child = tmp_path / "modules" / "child"
    child.mkdir(parents=True)
    (child / "main.tf").write_text(
        'variable "needed" {\n  type = string\n}\n'
        'variable "optional" {\n  type    = string\n  default = "x"\n}\n'
        'resource "aws_s3_bucket" "b" {\n  bucket = var.undeclared\n}\n'
        'output "name" {\n  value = aws_s3_bucket.b.id\n}\n'
        'output "constant" {\n  description = "x"\n  value = "fixed"\n}\n'
    )
    root = tmp_path / "root"
    root.mkdir()
    (root / "main.tf").write_text(
        'module "c" {\n  source  = "../modules/child"\n  unknown = 1\n}\n'
        'output "o" {\n  description = "x"\n  value = module.c.missing\n}\n'
        'output "p" {\n  description = "x"\n  value = aws_instance.nope.id\n}\n'
    )
    global ROOT
    saved, ROOT = ROOT, tmp_path
    try:
        assert undeclared_variables(load_module(child)) == ["modules/child: var.undeclared"]
        assert module_call_violations(load_module(root)) == [
            "module c: passes 'unknown', which ../modules/child does not declare",
            "module c: misses required input 'needed' of ../modules/child",
        ]
        assert reference_violations(load_module(root)) == [
            "root: aws_instance.nope is not declared",
            "root: module.c.missing: no such output",
        ]
        assert output_violations(load_module(child)) == [
            "modules/child: output name has no description",
            "modules/child: output constant references nothing",
        ]
    finally:
        ROOT = saved


# ------------------------------------------------------------------ the root


def test_root_pins_terraform_and_providers() -> None:
    doc = parse_hcl((ENV / "versions.tf").read_text())
    block = doc["terraform"][0]
    assert block.get("required_version"), "required_version is not set"
    providers = block["required_providers"]
    providers = providers[0] if isinstance(providers, list) else providers
    aws = providers["aws"]
    assert aws["source"] == "hashicorp/aws"
    assert re.fullmatch(r"(=\s*)?\d+\.\d+\.\d+|~>\s*\d+\.\d+\.\d+", aws["version"]), (
        f"pin the AWS provider to one release (= X.Y.Z or ~> X.Y.Z), not {aws['version']!r}"
    )


def test_root_variables_validate_their_inputs() -> None:
    variables = load_module(ENV).variables
    must_validate = {
        "project_name", "environment", "db_instance_type", "db_volume_size", "db_password",
        "backup_retention_days", "cloudwatch_alarm_email", "allowed_cidr_blocks",
        "backend_instance_count", "image_tag", "timescaledb_image", "redis_image",
    }
    assert sorted(n for n in must_validate if not variables[n].get("validation")) == []
    for secret in ("db_password", "redis_password"):
        assert variables[secret].get("sensitive") is True, f"{secret} must be sensitive"
        assert variables[secret].get("ephemeral") is True, f"{secret} must stay out of the state"
        assert "default" not in variables[secret], f"{secret} must have no default"


def test_backup_and_monitoring_follow_the_seed() -> None:
    env = load_module(ENV).variables
    assert env["backup_retention_days"]["default"] == 30
    assert env["db_instance_type"]["default"] == "t4g.small"
    assert env["db_volume_size"]["default"] == 100
    network = load_module(MODULES / "network")
    assert network.variables["vpc_cidr"]["default"] == "10.0.0.0/16"
    assert network.variables["public_subnet_cidrs"]["default"][0] == "10.0.1.0/24"
    assert network.variables["private_subnet_cidrs"]["default"][0] == "10.0.2.0/24"
    assert "aws_nat_gateway.this" in network.resources
    db = load_module(MODULES / "database")
    volume = db.resources["aws_ebs_volume.data"]
    assert volume["type"] == "gp3" and volume["encrypted"] is True
    assert "user_data" in db.resources["aws_instance.database"]
    backup = load_module(MODULES / "backup")
    rule = backup.resources["aws_backup_plan.daily"]["rule"][0]
    assert rule["lifecycle"][0]["delete_after"] == "${var.retention_days}"
    assert "aws_backup_vault.this" in backup.resources
    monitoring = load_module(MODULES / "monitoring")
    assert monitoring.variables["cpu_threshold_percent"]["default"] == 80
    assert monitoring.variables["disk_threshold_percent"]["default"] == 85
    alarms = {k: v for k, v in monitoring.resources.items() if k.startswith("aws_cloudwatch_metric_alarm.")}
    metrics = {body["metric_name"] for body in alarms.values()}
    assert {"CPUUtilization", "disk_used_percent", "HealthCheckOk", "HealthyHostCount"} <= metrics
    assert all(body.get("alarm_actions") for body in alarms.values()), "every alarm must notify"
    assert monitoring.resources["aws_sns_topic_subscription.email"]["protocol"] == "email"
    secrets = load_module(MODULES / "secrets")
    for name in ("PRIVATE_KEY", "DISCORD_BOT_TOKEN", "TELEGRAM_BOT_TOKEN"):
        assert any(name in t for t in secrets.texts), f"no Secrets Manager secret for {name}"
    assert "aws_secretsmanager_secret.database" in secrets.resources


# ---------------------------------------------------------------- exposure


def ingress_rules(mod: Module) -> dict[str, dict[str, Any]]:
    return {k: v for k, v in mod.resources.items() if k.startswith("aws_vpc_security_group_ingress_rule.")}


def exposure_violations(modules: dict[str, Module]) -> list[str]:
    problems: list[str] = []
    for name, mod in modules.items():
        for key, body in mod.resources.items():
            if key.startswith("aws_security_group.") and ("ingress" in body or "egress" in body):
                problems.append(f"{name}: {key} has inline rules (use separate rule resources)")
            compute = key.startswith(("aws_instance.", "aws_launch_template."))
            if compute and name != "bastion" and body.get("associate_public_ip_address") is True:
                problems.append(f"{name}: {key} gets a public address")
            if compute:
                tokens = [m.get("http_tokens") for m in body.get("metadata_options", [])]
                if tokens != ["required"]:
                    problems.append(f"{name}: {key} does not require IMDSv2")
        for key, rule in ingress_rules(mod).items():
            port = rule.get("from_port")
            cidr = str(rule.get("cidr_ipv4", ""))
            source_sg = rule.get("referenced_security_group_id")
            if name == "database":
                if source_sg is None or "cidr_ipv4" in rule:
                    problems.append(f"database: {key} admits a CIDR block; only security groups may reach it")
                if port not in (5432, 6379, 22):
                    problems.append(f"database: {key} opens port {port}")
            if port == 8080 and source_sg != "${aws_security_group.alb[0].id}":
                problems.append(f"{name}: {key} opens 8080 to something other than the ALB")
            if port == 22 and name != "bastion" and source_sg is None:
                problems.append(f"{name}: {key} opens SSH to a CIDR block (SSH goes through the bastion)")
            if port == 22 and name == "bastion" and "var.allowed_ssh_cidrs" not in cidr:
                problems.append(f"bastion: {key} admits SSH from {cidr!r}, not allowed_ssh_cidrs")
            if "0.0.0.0/0" in cidr or "alb_ingress_cidrs" in cidr:
                sg = rule.get("security_group_id", "")
                if not (name == "service" and "aws_security_group.alb" in sg and port in (80, 443)):
                    problems.append(f"{name}: {key} opens port {port} to the internet")
    return problems


def test_security_groups_expose_only_what_must_be_exposed() -> None:
    modules = {name: load_module(MODULES / name) for name in EXPECTED_MODULES}
    assert exposure_violations(modules) == []
    service_sg_ports = {r.get("from_port") for r in ingress_rules(modules["service"]).values()
                        if "aws_security_group.service" in r.get("security_group_id", "")}
    assert service_sg_ports == {8080, 22, 9090}, service_sg_ports


def test_exposure_check_catches_an_open_database() -> None:
    bad = Module(MODULES / "database")
    bad.resources["aws_vpc_security_group_ingress_rule.open"] = {
        "security_group_id": "${aws_security_group.database.id}",
        "from_port": 5432, "to_port": 5432, "ip_protocol": "tcp", "cidr_ipv4": "0.0.0.0/0",
    }
    bad.resources["aws_instance.x"] = {"associate_public_ip_address": True}
    assert exposure_violations({"database": bad}) == [
        "database: aws_instance.x gets a public address",
        "database: aws_instance.x does not require IMDSv2",
        "database: aws_vpc_security_group_ingress_rule.open admits a CIDR block; "
        "only security groups may reach it",
        "database: aws_vpc_security_group_ingress_rule.open opens port 5432 to the internet",
    ]


def test_images_match_docker_compose() -> None:
    yaml = pytest.importorskip("yaml", reason="PyYAML is not installed")
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    env = load_module(ENV).variables
    assert env["timescaledb_image"]["default"] == compose["services"]["timescaledb"]["image"]
    assert env["redis_image"]["default"] == compose["services"]["redis"]["image"]


def test_user_data_templates_escape_shell_braces() -> None:
    """In a .tftpl, "${X}" is Terraform's; shell expansions must be written "$${X}".

    Every ${name} in a template must therefore be one of the variables its
    templatefile() call passes.
    """
    problems = []
    for template in sorted(MODULES.rglob("*.tftpl")):
        main = (template.parent / "main.tf").read_text()
        pattern = rf'templatefile\("\$\{{path\.module\}}/{re.escape(template.name)}",\s*\{{(.*?)\}}\)'
        call = re.search(pattern, main, re.S)
        assert call, f"{template.name} is not rendered by templatefile() in main.tf"
        text = template.read_text()
        passed = set(re.findall(r"^\s*([a-z_]+)\s*=", call.group(1), re.M))
        used = set(re.findall(r"(?<!\$)\$\{\s*([A-Za-z_][A-Za-z0-9_]*)", text))
        loops = re.findall(r"%\{\s*for\s+(\w+)\s*,\s*(\w+)\s+in\s+(\w+)", text)
        directives = {coll for _, _, coll in loops} | set(re.findall(r"%\{\s*if\s+(\w+)", text))
        loop_vars = {v for k, v, _ in loops} | {k for k, _, _ in loops}
        unknown = (used | directives) - passed - loop_vars
        problems += [f"{template.relative_to(ROOT)}: ${{{name}}} is not passed" for name in sorted(unknown)]
        problems += [f"{template.relative_to(ROOT)}: {name} is passed but unused"
                     for name in sorted(passed - used - directives)]
    assert problems == []


# --------------------------------------------------- terraform validate


def _plugin_dir() -> Path | None:
    candidate = Path(os.environ.get("TF_PLUGIN_DIR", "/opt/tf-plugins"))
    pinned = parse_hcl((ENV / "versions.tf").read_text())["terraform"][0]["required_providers"]
    pinned = pinned[0] if isinstance(pinned, list) else pinned
    version = re.sub(r"^[=~>\s]+", "", pinned["aws"]["version"])
    if (candidate / "registry.terraform.io" / "hashicorp" / "aws" / version).is_dir():
        return candidate
    return None


def test_terraform_validate_and_mocked_plans(tmp_path: Path) -> None:
    binary = terraform_bin()
    plugins = _plugin_dir()
    if binary is None or plugins is None:
        pytest.skip("terraform validate needs the terraform binary and a local mirror of the "
                    "pinned AWS provider (TF_PLUGIN_DIR, default /opt/tf-plugins)")
    copy = tmp_path / "terraform"
    shutil.copytree(TF, copy, ignore=shutil.ignore_patterns(".terraform", "*.tfstate*", "terraform.tfvars"))
    workdir = copy / "environments" / "prod"
    init = subprocess.run(
        [binary, "init", "-backend=false", "-input=false", "-no-color", f"-plugin-dir={plugins}"],
        cwd=workdir, capture_output=True, text=True, timeout=300, env=terraform_env(),
    )
    assert init.returncode == 0, init.stdout + init.stderr
    proc = subprocess.run(
        [binary, "validate", "-json", "-no-color"],
        cwd=workdir, capture_output=True, text=True, timeout=300, env=terraform_env(),
    )
    result = json.loads(proc.stdout)
    messages = [f"{d['severity']}: {d['summary']} {d.get('detail', '')}" for d in result["diagnostics"]]
    assert result["valid"], messages
    assert [m for m in messages if m.startswith("error")] == []

    # environments/prod/tests/*.tftest.hcl: plans against a mocked AWS provider
    # (optional modules, counts, the ALB switch, validations that must refuse).
    test = subprocess.run(
        [binary, "test", "-no-color"],
        cwd=workdir, capture_output=True, text=True, timeout=600, env=terraform_env(),
    )
    assert test.returncode == 0, test.stdout[-4000:] + test.stderr[-4000:]
    assert re.search(r"Success! [1-9]\d* passed, 0 failed", test.stdout), test.stdout[-2000:]


# ------------------------------------------------------------------ checkov

_SKIP = re.compile(r"#\s*checkov:skip=([A-Z0-9_]+)(?::(.*))?")


def test_checkov_skips_are_justified() -> None:
    problems = []
    for path in tf_files():
        for lineno, line in enumerate(path.read_text().splitlines(), 1):
            m = _SKIP.search(line)
            if m and len((m.group(2) or "").strip()) < 20:
                problems.append(f"{path.relative_to(ROOT)}:{lineno}: {m.group(1)} skipped without a reason")
    assert problems == []


def checkov_bin() -> str | None:
    venv = str(ROOT / ".venv" / "bin" / "checkov")
    candidates = (os.environ.get("CHECKOV_BIN"), venv, shutil.which("checkov"))
    for candidate in candidates:
        if candidate and Path(candidate).is_file():
            return candidate
    return None


def test_checkov_is_clean() -> None:
    binary = checkov_bin()
    if binary is None:
        pytest.skip("checkov is not installed (CHECKOV_BIN, .venv/bin/checkov or PATH)")
    proc = subprocess.run(
        [binary, "-d", str(TF), "--framework", "terraform", "--skip-download", "--compact",
         "--quiet", "-o", "json"],
        capture_output=True, text=True, timeout=600,
        env={**os.environ, "BC_SKIP_MAPPING": "TRUE", "CHECKOV_RUN_SCA_PACKAGE_SCAN_V2": "false"},
    )
    reports = json.loads(proc.stdout)
    reports = reports if isinstance(reports, list) else [reports]
    failed = [
        f"{c['check_id']} {c['resource']} ({c['file_path']}:{c['file_line_range'][0]})"
        for report in reports
        for c in report.get("results", {}).get("failed_checks", [])
    ]
    assert failed == []
    unjustified = [
        f"{c['check_id']} {c['resource']}"
        for report in reports
        for c in report.get("results", {}).get("skipped_checks", [])
        if len((c.get("check_result", {}).get("suppress_comment") or "").strip()) < 20
    ]
    assert unjustified == []
