"""`python -m services.codec`: the codec server for Temporal's Web UI (SERVICE_PORT, default 8106)."""

from services.codec.server import create_app
from services.common.serve import serve

if __name__ == "__main__":
    serve(create_app, 8106)
