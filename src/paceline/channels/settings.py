"""What every once-per-change channel's `[plugins.NAME]` table accepts (the built-in e-mail and
webhook channels' settings extend it). Apart from `paceline.channels`, which the plugins load
on every start, because it is a Pydantic model."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class DeliverySettings(BaseModel):
    """The retry keys every once-per-change channel's `[plugins.NAME]` table accepts."""

    model_config = ConfigDict(extra="forbid")

    retries: int = Field(default=2, ge=0, le=10)
    backoff_seconds: float = Field(default=2.0, ge=0, le=300)
