"""`python -m services.evaluation`: the evaluation service on SERVICE_PORT (default 8101)."""

from services.common.serve import serve
from services.evaluation.app import create_app

if __name__ == "__main__":
    serve(create_app, 8101)
