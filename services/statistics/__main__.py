"""`python -m services.statistics`: the statistics read model on SERVICE_PORT (default 8110)."""

from services.common.serve import serve
from services.statistics.app import create_app

if __name__ == "__main__":
    serve(create_app, 8110)
