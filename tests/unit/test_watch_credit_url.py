"""The watch's supplier checks read publication itself, not the public gateway (issue 13): in the
local runner, compose and Kubernetes CREDIT_WATCH_CREDIT_URL names publication's own address, and
the watch uses it over CREDIT_API_URL."""

from pathlib import Path

import yaml

from deploy.local.stack import SERVICES, LocalStack

ROOT = Path(__file__).resolve().parents[2]


def test_the_local_runner_points_the_watch_at_publication(tmp_path: Path) -> None:
    local = LocalStack(tmp_path)
    publication = next(s for s in SERVICES if s.name == "publication")
    env = local.env()
    assert env["CREDIT_WATCH_CREDIT_URL"] == local.url(publication)
    assert env["CREDIT_WATCH_CREDIT_URL"] != env["CREDIT_API_URL"]


def test_kubernetes_points_the_watch_at_publications_service() -> None:
    docs = list(yaml.safe_load_all((ROOT / "deploy/k8s/base/watch.yaml").read_text()))
    (deployment,) = [d for d in docs if d and d["kind"] == "Deployment"]
    env = {e["name"]: e.get("value") for e in deployment["spec"]["template"]["spec"]["containers"][0]["env"]}
    service = next(
        d
        for d in yaml.safe_load_all((ROOT / "deploy/k8s/base/publication.yaml").read_text())
        if d and d["kind"] == "Service"
    )
    port = next(p["port"] for p in service["spec"]["ports"] if p["name"] == "http")
    assert env["CREDIT_WATCH_CREDIT_URL"] == f"http://{service['metadata']['name']}:{port}"


def test_compose_points_the_watch_at_publication() -> None:
    compose = yaml.safe_load((ROOT / "deploy/compose/compose.yaml").read_text())
    assert compose["services"]["watch"]["environment"]["CREDIT_WATCH_CREDIT_URL"] == "http://publication:8080"


def test_the_setting_is_read_over_the_api_url(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from services.common.settings import Settings

    monkeypatch.setenv("CREDIT_WATCH_CREDIT_URL", "http://publication.internal:8080")
    s = Settings()
    assert (s.credit_watch_credit_url or s.credit_api_url) == "http://publication.internal:8080"
