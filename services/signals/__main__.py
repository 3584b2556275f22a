"""`python -m services.signals`: the signals service on SERVICE_PORT (default 8108)."""

from services.common.serve import serve
from services.signals.app import create_app

if __name__ == "__main__":
    serve(create_app, 8108)
