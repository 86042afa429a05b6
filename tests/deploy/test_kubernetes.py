"""The Kubernetes manifests: each overlay builds, validates offline, and fits the gateway.

Built with a real kustomize (``kustomize`` or ``kubectl kustomize``), then
validated strictly against the schemas ``kubernetes-validate`` ships (no
cluster, no network), for the oldest and the newest Kubernetes we target.
"""

from __future__ import annotations

import copy
import functools
import shutil
import subprocess
from pathlib import Path
from typing import Any

import orjson
import pytest
import yaml
from kubernetes_validate import utils as kv

from gateway.security.clients import ClientConfig
from gateway.settings import load_settings

REPO = Path(__file__).resolve().parents[2]
KUSTOMIZE_ROOT = REPO / "deploy" / "kubernetes"
OVERLAYS = ["base", "overlays/dev", "overlays/production"]
VERSIONS = ["1.29.0", "1.37.0"]


def kustomize_command() -> list[str]:
    if shutil.which("kustomize"):
        return ["kustomize", "build"]
    if shutil.which("kubectl"):
        return ["kubectl", "kustomize"]
    pytest.skip("neither kustomize nor kubectl (which has kustomize built in) is installed")


def build(overlay: str) -> list[dict[str, Any]]:
    """The overlay's resources (fresh copies; each overlay is built once per run)."""
    return copy.deepcopy(_built(overlay))


@functools.cache
def _built(overlay: str) -> list[dict[str, Any]]:
    done = subprocess.run(
        [*kustomize_command(), str(KUSTOMIZE_ROOT / overlay)],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return [doc for doc in yaml.safe_load_all(done.stdout) if doc]


def by_kind(docs: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [doc for doc in docs if doc["kind"] == kind]


def one(docs: list[dict[str, Any]], kind: str, component: str | None = None) -> dict[str, Any]:
    found = [
        doc
        for doc in by_kind(docs, kind)
        if component is None
        or doc["metadata"].get("labels", {}).get("app.kubernetes.io/component") == component
    ]
    assert len(found) == 1, f"{len(found)} {kind} ({component})"
    return found[0]


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_each_overlay_builds_and_validates_strictly(overlay: str) -> None:
    docs = build(overlay)
    kinds = {doc["kind"] for doc in docs}
    assert {
        "Deployment",
        "Service",
        "HorizontalPodAutoscaler",
        "PodDisruptionBudget",
        "ConfigMap",
        "Job",
        "ServiceAccount",
    } <= kinds
    for version in VERSIONS:
        for doc in docs:
            kv.validate(doc, version, strict=True)


def test_the_validation_would_catch_a_mistake() -> None:
    deployment = one(build("base"), "Deployment")
    probe = deployment["spec"]["template"]["spec"]["containers"][0]["readinessProbe"]
    probe["httpGett"] = probe.pop("httpGet")
    with pytest.raises(kv.ValidationError):
        kv.validate(deployment, VERSIONS[0], strict=True)


def container(deployment: dict[str, Any]) -> dict[str, Any]:
    [gateway] = deployment["spec"]["template"]["spec"]["containers"]
    result: dict[str, Any] = gateway
    return result


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_probes_drain_and_grace_fit_together(overlay: str, tmp_path: Path) -> None:
    docs = build(overlay)
    deployment = one(docs, "Deployment")
    pod = deployment["spec"]["template"]["spec"]
    gateway = container(deployment)
    assert gateway["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert gateway["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert deployment["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"] == 0
    [config_map] = by_kind(docs, "ConfigMap")
    toml = tmp_path / "gateway.toml"
    toml.write_text(config_map["data"]["gateway.toml"])
    settings = load_settings(toml)  # the real Settings: an unknown or bad key fails here
    assert settings.env == "production"
    pre_stop = gateway["lifecycle"]["preStop"]["exec"]["command"]
    assert pre_stop[0] == "sleep"
    # SIGKILL comes after the whole drain: preStop, the delay and the grace period.
    needed = (
        float(pre_stop[1]) + settings.shutdown_drain_delay_seconds + settings.shutdown_grace_seconds
    )
    assert pod["terminationGracePeriodSeconds"] > needed
    mounted = {m["mountPath"] for m in gateway["volumeMounts"]}
    env = {item["name"]: item.get("value") for item in gateway["env"]}
    assert str(Path(env["GATEWAY_CONFIG"]).parent) in mounted
    assert config_map["metadata"]["name"] in {
        v["configMap"]["name"] for v in pod["volumes"] if "configMap" in v
    }
    resources = gateway["resources"]
    assert resources["requests"]["cpu"] and resources["requests"]["memory"]
    assert resources["limits"]["memory"]
    assert pod["securityContext"]["runAsNonRoot"] is True


def test_selectors_and_the_metrics_port_match_the_pods() -> None:
    docs = build("overlays/production")
    deployment = one(docs, "Deployment")
    labels = deployment["spec"]["template"]["metadata"]["labels"]
    service = one(docs, "Service")
    assert service["spec"]["selector"].items() <= labels.items()
    pdb = one(docs, "PodDisruptionBudget")
    assert pdb["spec"]["selector"]["matchLabels"].items() <= labels.items()
    hpa = one(docs, "HorizontalPodAutoscaler")
    assert hpa["spec"]["scaleTargetRef"]["name"] == deployment["metadata"]["name"]
    assert hpa["spec"]["minReplicas"] >= 2, "a PDB of one unavailable needs two pods"
    annotations = deployment["spec"]["template"]["metadata"]["annotations"]
    assert annotations["prometheus.io/path"] == "/metrics"
    port = int(annotations["prometheus.io/port"])
    assert port in {p["containerPort"] for p in container(deployment)["ports"]}
    assert "metrics" in {p["name"] for p in service["spec"]["ports"]}
    # Production brings its own Secret: no placeholder credentials are deployed.
    assert not by_kind(docs, "Secret")
    assert container(deployment)["image"].endswith(":0.1.0")


def test_the_schema_job_checks_and_creates_the_gateway_tables() -> None:
    job = one(build("base"), "Job", component="schema")
    [step] = job["spec"]["template"]["spec"]["containers"]
    command = " ".join(step["command"])
    assert "gateway check" in command
    assert "gateway outbox" in command
    assert job["spec"]["template"]["spec"]["restartPolicy"] == "Never"
    seed = one(build("overlays/dev"), "Job", component="seed")
    assert seed["spec"]["template"]["spec"]["containers"][0]["args"][0] == "seed"


def test_the_placeholder_secret_reads_as_settings() -> None:
    secret = one(build("base"), "Secret")
    values = secret["stringData"]
    assert all(name.startswith("GATEWAY_") for name in values)
    clients = [ClientConfig(**item) for item in orjson.loads(values["GATEWAY_CLIENTS"])]
    assert clients and all(client.key_hashes for client in clients)
