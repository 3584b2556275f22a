"""`python -m services.publication`: the publication service on SERVICE_PORT (default 8102)."""

from services.common.serve import serve
from services.publication.app import create_app

if __name__ == "__main__":
    serve(create_app, 8102)
