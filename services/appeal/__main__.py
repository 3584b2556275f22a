"""`python -m services.appeal`: the appeal service on SERVICE_PORT (default 8104)."""

from services.appeal.app import create_app
from services.common.serve import serve

if __name__ == "__main__":
    serve(create_app, 8104)
