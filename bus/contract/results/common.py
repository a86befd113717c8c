"""What every answer's model shares: no field it does not name, times, pages."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

Time = Annotated[datetime, Field(description="ISO 8601, as given or recorded.")]
Utc = Annotated[datetime, Field(description="The same time in UTC, `...Z`: sorts as text.")]
Day = date


class Result(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Page(Result):
    total: int = Field(ge=0, description="How many there are in all, beyond this page.")
    limit: int = Field(ge=1)
    offset: int = Field(ge=0)
