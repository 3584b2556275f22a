"""`python -m services.repair`: the repair service on SERVICE_PORT (default 8103)."""

from services.common.serve import serve
from services.repair.app import create_app

if __name__ == "__main__":
    serve(create_app, 8103)
