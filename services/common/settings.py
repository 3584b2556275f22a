"""Settings shared by every process, read from the environment (CONTRACT §5)."""

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, model_validator
from pydantic_settings import SettingsConfigDict

from services.common.fetch_waits import fetch_min_bytes, fetch_wait_ms
from services.common.production_settings import ProductionSettings, check_consistency

# Documented in the README: only for a laptop. Any other environment must set CREDIT_JWT_SECRET.
DEV_JWT_SECRET = "dev-only-credit-secret-change-me-0123456789"
DEV_LEDGER_SEED = "6465762d6f6e6c792d6c65646765722d7369676e696e672d6b65792d30303031"
PROJECT_ROOT = Path(__file__).resolve().parents[2]


class Settings(ProductionSettings):
    """Every setting of every process. The production ones (Kafka and Temporal security, database
    TLS, identity provider, payload codec, JSON logs) are in ProductionSettings; README table
    "Production settings"."""

    model_config = SettingsConfigDict(env_prefix="", extra="ignore", case_sensitive=False)

    credit_env: str = "development"
    kafka_bootstrap_servers: str = "127.0.0.1:9092"
    temporal_address: str = "127.0.0.1:7233"
    temporal_namespace: str = "default"
    database_url: str | None = None
    # Connections a process keeps (as many again may open under a burst). PostgreSQL's default
    # max_connections is 100 for every process on a host: the test stacks and a laptop run ten
    # processes beside each other, so they set it lower than a pod in production.
    database_pool_size: int = Field(10, ge=1)
    credit_var_dir: Path = PROJECT_ROOT / "var"
    credit_api_url: str = "http://127.0.0.1:8000"
    # Where the watch's supplier checks read `GET /v1/credit/...` (issue 13); unset: CREDIT_API_URL.
    # Deployments point it at publication's own address: a platform's backlog of awards then does
    # not queue in the public gateway ahead of purchasers' checks (bench/README.md "Issue 13").
    credit_watch_credit_url: str | None = None
    # The evaluation service itself (not the gateway): the owner of the records, asked by the appeal
    # and repair services when their replica has not heard of a record yet. The runner already tells
    # the gateway where it is, so that address is taken when CREDIT_EVALUATION_URL is not set.
    credit_evaluation_url: str = Field(
        "http://127.0.0.1:8101",
        validation_alias=AliasChoices("credit_evaluation_url", "gateway_upstream_evaluation"),
    )
    # The services that keep replicas of credit.records, whose /readyz (lag) the console shows.
    credit_appeal_url: str = Field(
        "http://127.0.0.1:8104", validation_alias=AliasChoices("credit_appeal_url", "gateway_upstream_appeal")
    )
    credit_repair_url: str = Field(
        "http://127.0.0.1:8103", validation_alias=AliasChoices("credit_repair_url", "gateway_upstream_repair")
    )
    # The watch itself (issue 15): the evaluations service reads its figures at /internal/v1/figures.
    credit_watch_url: str = Field(
        "http://127.0.0.1:8107", validation_alias=AliasChoices("credit_watch_url", "gateway_upstream_watch")
    )
    # How long the evaluations service waits for the watch's figures (the activity is retried).
    credit_watch_timeout_seconds: float = Field(default=20.0, gt=0)
    # How long an application waits for the owner's answer before it is told to retry (503).
    credit_owner_timeout_seconds: float = 2.0
    credit_jwt_secret: str = DEV_JWT_SECRET
    # The longest lifetime a bearer token may have (issue 21: a token valid for 100 years was
    # accepted). An operational value of the department, not a legal one; 24 h covers a working
    # day's session and the 8 h tokens of the local tools.
    credit_jwt_max_lifetime_seconds: int = Field(default=86_400, ge=60)
    # Production verifies RS256 tokens of the identity provider; when set, HS256 is refused.
    credit_jwt_jwks_url: str | None = None
    credit_policy_region: str = "410300"
    # Issue 13: where the watch sends its notices of deadline warnings to people. Unset (a laptop),
    # each notice is stored `not_configured`. The SMS gateway is an HTTP API with a key.
    credit_notify_url: str | None = None
    credit_sms_url: str | None = None
    credit_sms_key: str | None = None
    # Attempts of one notice before it is recorded `failed` (an operational value, no law sets one).
    credit_notify_attempts: int = Field(default=5, ge=1)
    # How long a consumer's fetch may wait for data (issue 19; services.common.fetch_waits). The
    # profile gives the defaults for the kind of broker: `local` (Tansu holds each fetch for the
    # whole wait even when data arrives: the wait is latency) or `kafka` (answers as soon as data
    # is there: a long wait costs nothing). Unset: `local` in development, `kafka` elsewhere.
    kafka_fetch_profile: Literal["local", "kafka"] | None = None
    # Consumers on a latency path (the intake, publication's read model, the watch); unset: the profile's.
    kafka_fetch_max_wait_ms: int | None = Field(None, ge=1)
    # Consumers off the latency path (replicas, workflow starters, the experts' feed); unset: the profile's.
    kafka_background_fetch_max_wait_ms: int | None = Field(None, ge=1)
    # One consumer's wait by its group id, over the two above (JSON, e.g. {"credit-evaluation": 10}).
    kafka_fetch_max_wait_ms_by_consumer: dict[str, int] = {}
    # One consumer's fetch_min_bytes by its group id (JSON); unset: the profile's (fetch_waits.py).
    kafka_fetch_min_bytes_by_consumer: dict[str, int] = {}
    # `local` profile: a consumer idle this long fetches with a longer wait until its next records
    # (latency consumers the background wait, background ones 2 s: services.common.fetch_waits); 0: never.
    kafka_idle_backoff_seconds: float = Field(2.0, ge=0)
    # Bigger batches amortise each transaction's round trips and the offset commit.
    kafka_max_batch: int = 2000
    outbox_batch: int = 1000
    outbox_poll_seconds: float = 0.02
    # After a relay round that published less than a batch, the next round waits this long, so the
    # commits meanwhile go out together (one round per commit saturated a small machine under a
    # trickle: services/common/leading.py). It adds up to this much to an event's latency.
    outbox_linger_seconds: float = Field(0.015, ge=0)
    # An idle relay's slowest poll: a safety net only, since writers NOTIFY the relay's leader at
    # commit (and wake() it in-process); issue 19: 1 s polls of a dozen idle relays cost CPU.
    outbox_idle_poll_seconds: float = 5.0
    # Temporal commands the repair service sends a second at most (a workflow per repairable record:
    # a burst of intake must not take the Temporal server, and the machine, from the read path).
    credit_repair_dispatch_per_second: float = 50
    # A Temporal command refused for a reason other than an outage (services.common.command_relay)
    # is tried this many times, waiting backoff, 2x backoff, … between tries, then kept as `failed`
    # with the reason; outages are waited out without a limit (operational values, not legal ones).
    credit_command_attempts: int = Field(default=5, ge=1, le=100)
    credit_command_backoff_seconds: float = Field(default=1.0, ge=0, le=3600)
    # Likewise the watch's clock starts and stops (a platform catching up on a backlog of awards).
    credit_watch_dispatch_per_second: float = 25
    # A message whose transaction keeps failing on its own (not because the database is down) is
    # tried this many times, waiting backoff, 2x backoff, … between tries, then dead-lettered
    # `processing_failed` so the partition goes on (operational values, not legal ones).
    credit_poison_attempts: int = Field(default=3, ge=1, le=10)
    credit_poison_backoff_seconds: float = Field(default=0.2, ge=0, le=10)
    # An activity failing for a reason other than an outage is given up after this many attempts
    # (`services.common.activity_failures`); outages are retried without a limit.
    credit_activity_attempts: int = Field(default=5, ge=1, le=100)
    # Size limits (issue 21; operational values, not legal ones): an HTTP request body (413 beyond),
    # a Kafka message consumed (dead-lettered `message_too_large` beyond) or produced (the relay's
    # max_request_size), the copy of a refused input kept in its dead letter, and the evidence
    # items of one report, appeal or repair application (read once, at start).
    credit_max_body_bytes: int = Field(default=1_048_576, ge=1024)
    kafka_max_message_bytes: int = Field(default=1_048_576, ge=1024)
    credit_dead_letter_original_max_bytes: int = Field(default=16_384, ge=1024)
    credit_max_evidence_items: int = Field(default=50, ge=1, le=10_000)
    # How far ahead of this system's clock an event's `time` may be (clock skew between systems):
    # further is refused `invalid_time` (issue 21: an event dated 2030 was accepted). Operational.
    credit_event_time_max_skew_seconds: int = Field(default=900, ge=0)
    log_level: str = "INFO"
    # Overrides the policy's longest sleep of the expiry sweep (tests and demos use seconds).
    credit_expiry_max_sleep_seconds: int | None = None
    # Ed25519 seed (64 hex chars) signing ledger checkpoints; the development default is public.
    credit_ledger_signing_seed: str = DEV_LEDGER_SEED
    credit_ledger_checkpoint_seconds: int = 600
    # Overrides the policy's grant length for evidence access (tests use seconds).
    credit_evidence_grant_seconds: int | None = None
    # Where employers of review experts are notified (overrides the policy's endpoint).
    credit_employer_notification_url: str | None = None
    # The national platforms publications and withdrawals are pushed to (001 Art. 21); unset: not pushed.
    credit_national_procurement_url: str | None = None
    credit_national_credit_url: str | None = None
    # 001 Art. 21: the same-level public credit information system (同级公共信用信息系统) gets serious records.
    credit_public_credit_url: str | None = None
    # Overrides the policy's push_escalation_hours (tests use seconds).
    credit_push_escalation_seconds: int | None = None
    # Issue 21 (10): regions whose projects an e-procurement platform carries, by its event `source`
    # (JSON, e.g. {"urn:eproc:luoyang": ["410300"]}). A purchaser or agency reporting over Kafka may
    # report where it is registered (its USCC's division code) or in these regions (its project is there).
    credit_platform_regions: dict[str, list[str]] = {}

    @model_validator(mode="after")
    def _no_dev_secret_outside_development(self) -> "Settings":
        if self.credit_env != "development" and self.credit_jwt_secret == DEV_JWT_SECRET:
            raise ValueError("CREDIT_JWT_SECRET must be set outside development")
        if self.credit_env != "development" and self.credit_ledger_signing_seed == DEV_LEDGER_SEED:
            raise ValueError("CREDIT_LEDGER_SIGNING_SEED must be set outside development")
        check_consistency(self)
        return self

    def fetch_wait_ms(self, consumer: str, *, background: bool = False) -> int:
        """The fetch wait of the consumer group `consumer` (services.common.fetch_waits)."""
        return fetch_wait_ms(self, consumer, background=background)

    def fetch_min_bytes(self, consumer: str, *, background: bool = False) -> int:
        """The fetch_min_bytes of the consumer group `consumer` (services.common.fetch_waits)."""
        return fetch_min_bytes(self, consumer, background=background)

    def database_url_for(self, service: str) -> str:
        """PostgreSQL when DATABASE_URL is given (one database, each service its own tables),
        else one SQLite file per service, so services never share tables."""
        if self.database_url:
            url = self.database_url
            if url.startswith("postgresql://") or url.startswith("postgres://"):
                url = "postgresql+asyncpg://" + url.split("://", 1)[1]
            return url
        self.credit_var_dir.mkdir(parents=True, exist_ok=True)
        return f"sqlite+aiosqlite:///{self.credit_var_dir / (service + '.db')}"


@lru_cache
def get_settings() -> Settings:
    return Settings()
