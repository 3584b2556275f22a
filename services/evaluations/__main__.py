"""`python -m services.evaluations`: the evaluations service on SERVICE_PORT (default 8109)."""

from services.common.serve import serve
from services.evaluations.app import create_app

if __name__ == "__main__":
    serve(create_app, 8109)
