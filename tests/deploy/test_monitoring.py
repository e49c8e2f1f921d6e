"""Offline checks of the monitoring stack in docker-compose.yml: Prometheus scrapes what
the Lighthouse services expose, Grafana is provisioned with that Prometheus and the
dashboard in deploy/grafana/dashboards/lighthouse.json, and every metric the dashboard
queries is one Lighthouse exports (core/metrics.py)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from test_compose import compose, env_dict

yaml = pytest.importorskip("yaml")

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
DASHBOARD = DEPLOY / "grafana" / "dashboards" / "lighthouse.json"
METRIC = re.compile(r"\blighthouse_[a-z_]+\b")


def mounts(service: dict[str, Any]) -> dict[str, str]:
    """Bind mounts of a service: container path -> host path (relative to the repository)."""
    out = {}
    for volume in service.get("volumes", []):
        source, target = volume.split(":")[:2]
        if source.startswith("./"):
            out[target] = source[2:]
    return out


def exported_metric_names() -> set[str]:
    """Every sample name Lighthouse's registry can expose, whatever has been observed."""
    from lighthouse.core.metrics import Metrics

    names: set[str] = set()
    for family in Metrics().registry.collect():
        if family.type == "counter":
            names |= {f"{family.name}_total", f"{family.name}_created"}
        elif family.type == "histogram":
            names |= {f"{family.name}_{s}" for s in ("bucket", "sum", "count", "created")}
        else:
            names.add(family.name)
    return names


def queried_metrics(dashboard: dict[str, Any]) -> set[str]:
    texts = [t["expr"] for p in dashboard["panels"] for t in p.get("targets", [])]
    texts += [v.get("definition", "") for v in dashboard.get("templating", {}).get("list", [])]
    return {m for text in texts for m in METRIC.findall(text)}


def unknown_metrics(dashboard: dict[str, Any], known: set[str]) -> list[str]:
    return sorted(queried_metrics(dashboard) - known)


def test_prometheus_scrapes_the_backend_and_every_worker() -> None:
    services = compose()["services"]
    prometheus = services["prometheus"]
    config_path = next(a.split("=", 1)[1] for a in prometheus["command"]
                       if a.startswith("--config.file="))
    config = yaml.safe_load((ROOT / mounts(prometheus)[config_path]).read_text())
    jobs = {j["job_name"]: j for j in config["scrape_configs"]}
    metrics_port = env_dict(services["backend"])["METRICS_PORT"]
    assert jobs["lighthouse-backend"]["static_configs"] == [{"targets": [f"backend:{metrics_port}"]}]
    # Workers scale, so they are found by name, each replica by its own address.
    [dns] = jobs["lighthouse-worker"]["dns_sd_configs"]
    assert dns["names"] == ["worker"] and dns["type"] == "A" and str(dns["port"]) == metrics_port
    assert metrics_port in [str(p) for p in services["worker"]["expose"]]


def test_grafana_gets_the_datasource_and_the_dashboard() -> None:
    services = compose()["services"]
    grafana = services["grafana"]
    bound = mounts(grafana)
    provisioning = ROOT / bound["/etc/grafana/provisioning"]
    [source] = yaml.safe_load((provisioning / "datasources" / "prometheus.yml").read_text())[
        "datasources"]
    assert source["url"] == "http://prometheus:9090" and source["type"] == "prometheus"
    assert "9090" in services["prometheus"]["ports"][0].rsplit(":", 1)[-1]
    [provider] = yaml.safe_load((provisioning / "dashboards" / "lighthouse.yml").read_text())[
        "providers"]
    dashboards_dir = provider["options"]["path"]
    assert ROOT / bound[dashboards_dir] == DASHBOARD.parent
    home = env_dict(grafana)["GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH"]
    assert home.startswith(dashboards_dir + "/")
    assert (DASHBOARD.parent / home.rsplit("/", 1)[1]).is_file()
    # Every panel and variable reads the provisioned datasource.
    dashboard = json.loads(DASHBOARD.read_text())
    uids = {p["datasource"]["uid"] for p in dashboard["panels"]}
    uids |= {t["datasource"]["uid"] for p in dashboard["panels"] for t in p["targets"]}
    uids |= {v["datasource"]["uid"] for v in dashboard["templating"]["list"]}
    assert uids == {source["uid"]}
    assert services["grafana"]["depends_on"]["prometheus"]["condition"] == "service_healthy"


def test_dashboard_queries_only_metrics_lighthouse_exports() -> None:
    dashboard = json.loads(DASHBOARD.read_text())
    assert unknown_metrics(dashboard, exported_metric_names()) == []
    used = queried_metrics(dashboard)
    assert {"lighthouse_monitor_up", "lighthouse_monitor_latency_seconds"} <= used
    ids = [p["id"] for p in dashboard["panels"]]
    assert len(ids) == len(set(ids)) and all(p["targets"] for p in dashboard["panels"])


def test_unknown_metric_check_catches_a_typo() -> None:
    bad = {"panels": [{"targets": [{"expr": "sum(rate(lighthouse_checkz_total[5m]))"}]}],
           "templating": {"list": [{"definition": "label_values(lighthouse_monitor_up, type)"}]}}
    assert unknown_metrics(bad, exported_metric_names()) == ["lighthouse_checkz_total"]
