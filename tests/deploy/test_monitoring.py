"""The alert rules and the dashboard in deploy/ use only metrics the hub exposes."""

from __future__ import annotations

import json
import re

import pytest
import yaml

from tests.conftest import REPO_ROOT

DEPLOY = REPO_ROOT / "deploy"
_METRIC = re.compile(r"\b((?:mcp|django|process)_[a-z0-9_]+)")
_HISTOGRAM_PARTS = ("_bucket", "_sum", "_count")


def exposed_names(body: str) -> set[str]:
    names = set()
    for name, kind in re.findall(r"^# TYPE (\S+) (\S+)", body, re.M):
        names.add(name)
        if kind == "histogram":
            names.update(name + part for part in _HISTOGRAM_PARTS)
    return names


def used_in_alerts() -> set[str]:
    rules = yaml.safe_load((DEPLOY / "prometheus" / "alerts.yml").read_text())
    exprs = [rule["expr"] for group in rules["groups"] for rule in group["rules"]]
    return {name for expr in exprs for name in _METRIC.findall(expr)}


def used_in_dashboard() -> set[str]:
    dashboard = json.loads((DEPLOY / "grafana" / "ghl-agent-hub.json").read_text())
    exprs = [target["expr"] for panel in dashboard["panels"] for target in panel["targets"]]
    return {name for expr in exprs for name in _METRIC.findall(expr)}


@pytest.fixture
def metric_names(client, settings) -> set[str]:
    # A web worker has these loaded by the time it serves; make sure this process has too.
    import mcpbridge.supervisor.metrics  # noqa: F401

    settings.METRICS_TOKEN = ""
    settings.METRICS_PUBLIC = True
    client.get("/livez")
    return exposed_names(client.get("/metrics").content.decode())


@pytest.mark.django_db
def test_every_metric_an_alert_uses_is_exposed(metric_names):
    used = used_in_alerts()
    assert {"mcp_at_capacity_refusals_total", "mcp_rate_limit_refusals_total"} <= used
    assert used - metric_names == set()


@pytest.mark.django_db
def test_every_metric_the_dashboard_plots_is_exposed(metric_names):
    used = used_in_dashboard()
    assert len(used) >= 8
    assert used - metric_names == set()


def test_the_dashboard_can_tell_the_workers_apart():
    dashboard = json.loads((DEPLOY / "grafana" / "ghl-agent-hub.json").read_text())
    variables = {v["name"]: v for v in dashboard["templating"]["list"]}
    assert "label_values(mcp_children_active, worker)" in variables["worker"]["definition"]
