"""The catalogue of problem codes, read from the source: every `Problem(status, code, title)`, every
rule refusal (`Rejection`, `Refusal`, `refusal`) and the status tables beside them, found with `ast`
(nothing is listed by hand but the words: services/common/problem_texts.py). It feeds the error-code
pages (`/problems`, `/problems/{code}`), the problem responses of each route in the OpenAPI document,
and the Chinese titles of problem+json (`Accept-Language: zh-CN`)."""

import ast
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

SERVICES = Path(__file__).resolve().parents[1]
# The pure rules beside a workflow (workflows/<process>/rules.py) refuse for the service of the
# same name (workflows/repair/rules.py: the repair service answers its refusals over HTTP).
WORKFLOW_RULES = SERVICES.parent / "workflows"
# A call naming one of these with a literal status and code: (status position, code position, title position).
_PROBLEM_CALLS = {"Problem": (0, 1, 2), "_problem": (0, 1, 2), "_service_problem": (0, 1, 2)}
_UNAUTHORISED = "_unauthorised"  # services/common/auth.py: always 401
_RULE_CALLS = frozenset({"Rejection", "Refusal", "refusal"})  # code first; status from a table or kwarg
_STATUS_TABLES = frozenset({"STATUS", "STATUS_OF"})
_DEFAULT_RULE_STATUS = {"Rejection": 422, "Refusal": 409, "refusal": 422}


@dataclass
class Code:
    code: str
    statuses: set[int] = field(default_factory=set)
    titles: set[str] = field(default_factory=set)
    services: set[str] = field(default_factory=set)


def _service_of(path: Path) -> str:
    root = SERVICES if path.is_relative_to(SERVICES) else WORKFLOW_RULES
    return path.relative_to(root).parts[0]


def _constants(trees: dict[Path, ast.Module]) -> dict[str, str]:
    """Module-level NAME = "text" assignments of every module (codes are often named constants)."""
    out: dict[str, str] = {}
    for tree in trees.values():
        for node in tree.body:
            if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant):
                if isinstance(node.value.value, str):
                    for target in node.targets:
                        if isinstance(target, ast.Name):
                            out.setdefault(target.id, node.value.value)
    return out


def _literal(node: ast.AST | None, names: dict[str, str]) -> object:
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.Name):
        return names.get(node.id)
    return None


def _callee(node: ast.Call) -> str:
    f = node.func
    return f.id if isinstance(f, ast.Name) else f.attr if isinstance(f, ast.Attribute) else ""


def _arg(node: ast.Call, i: int) -> ast.AST | None:
    return node.args[i] if len(node.args) > i else None


def scan(root: Path = SERVICES) -> dict[str, Code]:
    """Every problem code the services can answer, with its status(es), English title(s), services."""
    trees = {
        p: ast.parse(p.read_text(encoding="utf-8"), filename=str(p))
        for p in [*sorted(root.rglob("*.py")), *sorted(WORKFLOW_RULES.glob("*/rules.py"))]
        if "migrations" not in p.parts
    }
    names = _constants(trees)
    codes: dict[str, Code] = {}

    def add(code: object, status: object, title: object, path: Path) -> None:
        if not isinstance(code, str) or not code or not code.replace("_", "").isalpha():
            return
        entry = codes.setdefault(code, Code(code))
        if isinstance(status, int) and 400 <= status <= 599:
            entry.statuses.add(status)
        if isinstance(title, str):
            entry.titles.add(title)
        entry.services.add(_service_of(path))

    tables: dict[str, int] = {}  # the refusal status tables of every module (a code has one status)
    for path, tree in trees.items():
        for node in ast.walk(tree):
            if isinstance(node, ast.Assign) and isinstance(node.value, ast.Dict):
                target = node.targets[0]
                if isinstance(target, ast.Name) and target.id in _STATUS_TABLES:
                    for k, v in zip(node.value.keys, node.value.values, strict=True):
                        code, status = _literal(k, names), _literal(v, names)
                        if isinstance(code, str) and isinstance(status, int):
                            tables[code] = status
                            add(code, status, None, path)
                if isinstance(target, ast.Name) and target.id == "_CODES_BY_STATUS":
                    for k, v in zip(node.value.keys, node.value.values, strict=True):
                        add(_literal(v, names), _literal(k, names), None, path)
    for path, tree in trees.items():
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            name = _callee(node)
            if name in _PROBLEM_CALLS:
                s, c, t = _PROBLEM_CALLS[name]
                add(
                    _literal(_arg(node, c), names), _literal(_arg(node, s), names), _literal(_arg(node, t), names), path
                )
            elif name == _UNAUTHORISED:
                add(_literal(_arg(node, 0), names), 401, _literal(_arg(node, 1), names), path)
            elif name in _RULE_CALLS:
                code = _literal(_arg(node, 0), names)
                status = next((_literal(k.value, names) for k in node.keywords if k.arg == "status"), None)
                if status is None and isinstance(code, str):
                    status = tables.get(code, _DEFAULT_RULE_STATUS[name])
                add(code, status, None, path)
    return codes


@lru_cache(maxsize=1)
def catalogue() -> dict[str, Code]:
    """The scanned codes plus those a refusal is renamed to over HTTP (messaging.http_code)."""
    from services.common.problem_texts import RENAMED

    codes = scan()
    for old, (new, status) in RENAMED.items():
        if old in codes:
            entry = codes.setdefault(new, Code(new))
            entry.statuses.add(status)
            entry.services |= codes[old].services
    return dict(sorted(codes.items()))


def codes_by_status(service: str | None = None) -> dict[int, list[str]]:
    """{status: [codes]} of one service (and of common and the gateway, in front of all), or of every service."""
    out: dict[int, set[str]] = {}
    for entry in catalogue().values():
        if service is None or entry.services & {service, "common", "gateway"}:
            for status in entry.statuses:
                out.setdefault(status, set()).add(entry.code)
    return {s: sorted(c) for s, c in sorted(out.items())}
