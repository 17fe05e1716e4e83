"""One settings class: every knob, read from MESHKEEPER_* environment variables."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Annotated

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

    # Longest wait on PostgreSQL for one statement in `run`, `api` and `daemon`; beyond it the
    # API answers 503 and the daemon backs off (ipam/db_guard.py).
    db_timeout_s: float = 1.0

    # Several daemons share the targets (daemon/sharding.py): this one's name, its group (it
    # polls only nodes / devices of that group; unset: those with none), networks it can reach.
    poller_name: str | None = None
    poller_group: str | None = None
    poller_networks: Annotated[list[str], NoDecode] = []
    poller_heartbeat_s: float = 5.0

    # The daemon: one job per collector (0 disables a job).
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
    exit_types: Annotated[list[str], NoDecode] = ["POP", "Supernode"]

    @field_validator("probe_networks", "poller_networks", mode="before")
    @classmethod
    def _split_cidrs(cls, value: object) -> object:
        """Accept 'a/8,b/16' (or whitespace-separated) from the environment."""
        if isinstance(value, str):
            return [part for part in value.replace(",", " ").split() if part]
        return value

    @field_validator("exit_types", mode="before")
    @classmethod
    def _split_words(cls, value: object) -> object:
        """Accept 'POP,Supernode' from the environment."""
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
