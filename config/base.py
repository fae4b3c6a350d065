"""Shared pieces of the config models: strict, frozen, hashable."""

from __future__ import annotations

import hashlib

import orjson
from pydantic import BaseModel, ConfigDict, Field


class Section(BaseModel):
    """A config section: unknown keys are errors (typos must not pass silently)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    def config_hash(self) -> str:
        """A short digest that alerts carry, so every decision names the config it ran under."""
        return hash_of(self)


def hash_of(*sections: BaseModel) -> str:
    """The digest of one section, or of several a detector runs under together."""
    dumps = [s.model_dump(mode="json") for s in sections]
    data = orjson.dumps(dumps[0] if len(dumps) == 1 else dumps, option=orjson.OPT_SORT_KEYS)
    return hashlib.sha256(data).hexdigest()[:12]


def local_offset(what: str = "hours and days") -> float:
    """Field for a detector's local clock (UTC offset in hours); a function so every model
    gets its own field object. ``what`` says what the clock places."""
    return Field(default=8.0, ge=-12, le=14,  # type: ignore[no-any-return]
                 description=f"local clock for {what} (China Standard Time); keep equal to "
                 "pipeline.timezone")
