"""Issue 22: every success response of every service is typed in the OpenAPI document (an object
with named members, not a bare `object`), and no two services give one schema name two shapes the
gateway's merge would have to choose between (beyond the one known below)."""

from fastapi import FastAPI

from services.appeal.app import create_app as appeal_app
from services.casework.app import create_app as casework_app
from services.evaluation.app import create_app as evaluation_app
from services.publication.app import create_app as publication_app
from services.repair.app import create_app as repair_app
from services.statistics.app import create_app as statistics_app

# Repair's and appeal's request bodies both name an `Applicant`, of different shapes (before issue 22).
KNOWN_CLASHES = {"Applicant"}


def apps() -> dict[str, FastAPI]:
    return {
        "evaluation": evaluation_app(with_temporal=False),
        "publication": publication_app(),
        "repair": repair_app(with_temporal=False),
        "appeal": appeal_app(with_temporal=False),
        "casework": casework_app(with_temporal=False),
        "statistics": statistics_app(with_temporal=False),
    }


def test_every_success_response_is_typed() -> None:
    untyped = []
    for service, app in apps().items():
        for path, item in app.openapi()["paths"].items():
            for method, op in item.items():
                for status, response in op["responses"].items():
                    if status.startswith("2"):
                        content = response.get("content") or {}
                        schema = content.get("application/json", {}).get("schema", {})
                        files = [c.get("schema", {}).get("format") == "binary" for c in content.values()]
                        if "application/json" not in content and files and all(files):
                            continue  # a file (CSV, XLSX, PDF): its media types and a binary body
                        if "$ref" not in schema and not schema.get("properties"):
                            untyped.append(f"{service} {method.upper()} {path} {status}")
    assert untyped == []


def test_no_schema_name_has_two_shapes() -> None:
    seen: dict[str, tuple[str, dict]] = {}
    clashes = set()
    for service, app in apps().items():
        for name, schema in app.openapi().get("components", {}).get("schemas", {}).items():
            if name in seen and seen[name][1] != schema:
                clashes.add(name)
            seen.setdefault(name, (service, schema))
    assert clashes <= KNOWN_CLASHES, clashes - KNOWN_CLASHES
