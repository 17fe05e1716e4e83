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

    @field_validator("probe_networks", mode="before")
    @classmethod
    def _split_cidrs(cls, value: object) -> object:
        """Accept 'a/8,b/16' (or whitespace-separated) from the environment."""
        if isinstance(value, str):
            return [part for part in value.replace(",", " ").split() if part]
        return value

    @property
    def admin_token_path(self) -> Path:
        """Where the first run writes the admin token."""
        return self.data_dir / "admin-token"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once from the environment."""
    return Settings()
