"""One settings class: every knob, read from MESHKEEPER_* environment variables."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

from pydantic import field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict


class Settings(BaseSettings):
    """meshkeeper's configuration; nothing connects when it is built."""

    model_config = SettingsConfigDict(env_prefix="MESHKEEPER_", extra="ignore")

    database_url: str | None = None
    data_dir: Path = Path("var")
    http_host: str = "127.0.0.1"
    http_port: int = 8080
    log_level: str = "INFO"
    probe_networks: Annotated[list[str], NoDecode] = []
    join_rate_limit: int = 10
    join_rate_window_s: float = 60.0
    # Largest request body the API reads (the CSV import's limit); more is a 413.
    max_body_bytes: int = 10 * 1024 * 1024
    # The console: how long a sign-in lasts, and the map's tile layer ("" draws no tiles).
    console_session_hours: float = 12.0
    map_tile_url: str = "https://tile.openstreetmap.org/{z}/{x}/{y}.png"
    # A request (head and body) must arrive whole within this many seconds; 408 after.
    request_timeout_s: float = 30.0
    # Reverse proxies whose X-Forwarded-For / X-Forwarded-Proto are believed (addresses or
    # networks, "*" for any); none by default, so a client cannot choose its own address.
    trusted_proxies: Annotated[list[str], NoDecode] = []
    # Event streams (SSE) open at once: per token, per client address, and in all; 429 beyond.
    stream_max_per_token: int = 10
    stream_max_per_client: int = 20
    stream_max_total: int = 200

    # MeshDB's browser clients and forms (issue 12): CORS origins, geocoding, reCAPTCHA, PSKs.
    cors_origins: Annotated[list[str], NoDecode] = []
    geocoder: Literal["none", "nyc"] = "none"
    nyc_geosearch_url: str = "https://geosearch.planninglabs.nyc/v2/search"
    nyc_open_data_url: str = "https://data.cityofnewyork.us"
    recaptcha_v3_secret: str | None = None
    recaptcha_v2_secret: str | None = None
    recaptcha_v3_threshold: float = 0.5
    recaptcha_verify_url: str = "https://www.google.com/recaptcha/api/siteverify"
    nn_assign_psk: str | None = None
    query_psk: str | None = None

    # Longest wait on PostgreSQL for one statement in `run`, `api` and `daemon`; beyond it the
    # API answers 503 and the daemon backs off (ipam/db_guard.py).
    db_timeout_s: float = 1.0

    # Several daemons share the targets (daemon/sharding.py): this one's name, its group (it
    # polls only nodes / devices of that group; unset: those with none), networks it can reach.
    poller_name: str | None = None
    poller_group: str | None = None
    poller_networks: Annotated[list[str], NoDecode] = []
    poller_heartbeat_s: float = 5.0

    # The daemon: one job per collector (0 disables a job), at this niceness (nice(1)): polling
    # is batch work, an operator's request on the same box should get the CPU first.
    daemon_nice: int = 10
    icmp_interval_s: float = 60.0
    snmp_interval_s: float = 300.0
    uisp_interval_s: float = 300.0
    webhook_interval_s: float = 5.0
    jitter_s: float = 5.0
    icmp_count: int = 3
    icmp_timeout_s: float = 2.0
    icmp_rate: float = 5000.0
    down_after: int = 2
    up_after: int = 1
    snmp_community: str = "public"
    snmp_port: int = 161
    snmp_timeout_s: float = 2.0
    snmp_retries: int = 1
    snmp_concurrency: int = 100
    uisp_url: str | None = None
    uisp_token: str | None = None
    uisp_username: str | None = None
    uisp_password: str | None = None
    uisp_verify_tls: bool = True
    uisp_aliases: Annotated[dict[str, int], NoDecode] = {"sn1": 227, "sn3": 713}
    webhook_max_failures: int = 36
    # Webhook URLs may not point here (link-local: a cloud's metadata service, RFC 3927).
    webhook_deny_networks: Annotated[list[str], NoDecode] = ["169.254.0.0/16", "fe80::/10"]
    exit_types: Annotated[list[str], NoDecode] = ["POP", "Supernode"]
    # The routing table as a witness: link-state database sources (empty: the job is off).
    routing_sources: Annotated[list[str], NoDecode] = []
    routing_interval_s: float = 60.0
    routing_timeout_s: float = 10.0
    # Incidents and notifications (issue 15).
    flap_transitions: int = 12
    notify_hold_s: float = 0.0
    notifications_file: Path | None = None
    notify_interval_s: float = 5.0
    # Measurement history (ipam/observed/history.py): samples per poll, then rollups.
    history_enabled: bool = True
    history_raw_days: float = 7.0
    history_5m_days: float = 90.0
    history_hourly_days: float = 730.0
    history_rollup_interval_s: float = 300.0

    @field_validator(
        "probe_networks",
        "webhook_deny_networks",
        "trusted_proxies",
        "poller_networks",
        mode="before",
    )
    @classmethod
    def _split_cidrs(cls, value: object) -> object:
        """Accept 'a/8,b/16' (or whitespace-separated) from the environment."""
        if isinstance(value, str):
            return [part for part in value.replace(",", " ").split() if part]
        return value

    @field_validator("routing_sources", mode="before")
    @classmethod
    def _split_sources(cls, value: object) -> object:
        """Accept 'bird:///run/bird/bird.ctl,file:///x' from the environment."""
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("exit_types", "cors_origins", mode="before")
    @classmethod
    def _split_words(cls, value: object) -> object:
        """Accept 'POP,Supernode' (or 'https://a,https://b') from the environment."""
        if isinstance(value, str):
            return [part for part in value.replace(",", " ").split() if part]
        return value

    @field_validator("uisp_aliases", mode="before")
    @classmethod
    def _aliases(cls, value: object) -> object:
        """Accept 'sn1=227,sn3=713' from the environment."""
        if isinstance(value, str):
            pairs = (part.split("=", 1) for part in value.replace(",", " ").split() if part)
            return {name.strip().lower(): int(nn) for name, nn in pairs}
        return value

    @property
    def admin_token_path(self) -> Path:
        """Where the first run writes the admin token."""
        return self.data_dir / "admin-token"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once from the environment."""
    return Settings()
