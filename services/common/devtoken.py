"""Mint a local HS256 token: `python -m services.common.devtoken --role finance_officer --org 410300
--region 410300`. Only the token goes to stdout, so `TOKEN=$(python -m services.common.devtoken ...)`
works; it is signed with CREDIT_JWT_SECRET (the development secret unless set)."""

import argparse
import sys

from services.common.auth import DEFAULT_TTL_SECONDS, Role, mint_token
from services.common.identifiers import is_division_code
from services.common.settings import get_settings


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m services.common.devtoken", description=__doc__)
    parser.add_argument("--role", required=True, choices=[r.value for r in Role])
    parser.add_argument("--org", required=True, help="the caller's USCC, expert id or division code")
    parser.add_argument("--region", required=True, help="6-digit administrative division code")
    parser.add_argument("--sub", help="subject of the token (default: <role>@<org>)")
    parser.add_argument("--ttl", type=int, default=DEFAULT_TTL_SECONDS, help="lifetime in seconds")
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if not is_division_code(args.region):
        parser.error(f"--region must be a 6-digit administrative division code, got {args.region!r}")
    settings = get_settings()
    if settings.credit_jwt_jwks_url:
        sys.stderr.write("warning: CREDIT_JWT_JWKS_URL is set; services will refuse this HS256 token\n")
    token = mint_token(
        sub=args.sub or f"{args.role}@{args.org}",
        role=args.role,
        org=args.org,
        region=args.region,
        secret=settings.credit_jwt_secret,
        ttl_seconds=args.ttl,
    )
    sys.stdout.write(token + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
