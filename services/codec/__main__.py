"""`python -m services.codec`: the codec server for Temporal's Web UI (SERVICE_PORT, default 8106)."""

from services.codec.server import create_app
from services.common.serve import serve

# Its own port: the local runner's services take 8101-8111 around it (tests/unit/test_gateway.py).
PORT = 8106

if __name__ == "__main__":
    serve(create_app, PORT)
