"""`python -m services.watch`: the watch service on SERVICE_PORT (default 8107)."""

from services.common.serve import serve
from services.watch.app import create_app

if __name__ == "__main__":
    serve(create_app, 8107)
