"""The base of every settings model: unknown keys refused, types taken strictly."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

__all__ = ["Settings"]


class Settings(BaseModel):
    """A block of an environment file.

    Strict: YAML already gives numbers and booleans their types, so a quoted
    'yes' where a flag belongs, or a 'true' where a percentage belongs, is a
    mistake to report rather than a value to convert.
    """

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, strict=True)
