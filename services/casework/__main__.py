"""`python -m services.casework`: the casework service on SERVICE_PORT (default 8105)."""

from services.casework.app import create_app
from services.common.serve import serve

if __name__ == "__main__":
    serve(create_app, 8105)
