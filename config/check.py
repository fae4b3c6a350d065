"""Config errors an operator can act on: where, what was given, what is allowed.

pydantic's messages are right but terse ("Extra inputs are not permitted");
an operator editing YAML at night needs the path, the value, and for a typo
the key that was meant. ``gridwatch config check`` and the worker's hot reload
both print these lines, so a file refused live reads the same as at the desk.
"""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from config.models import Settings, load_settings


def _model_at(loc: tuple[int | str, ...]) -> type[BaseModel] | None:
    """The config model owning the mapping at ``loc`` (list indexes skipped)."""
    model: Any = Settings
    for part in loc:
        if isinstance(part, int):
            continue
        field = model.model_fields.get(part) if isinstance(model, type) else None
        if field is None:
            return None
        model = _inner_model(field.annotation)
        if model is None:
            return None
    return model


def _inner_model(annotation: Any) -> type[BaseModel] | None:
    """A model type inside ``X``, ``list[X]``, ``tuple[X, ...]``, ``dict[str, X]``, ``X | None``."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()):
        found = _inner_model(arg)
        if found is not None:
            return found
    return None


def _suggest(loc: tuple[int | str, ...]) -> str:
    """``; did you mean 'allowed_lateness_s'?`` for a misspelt key, else nothing."""
    parent = _model_at(loc[:-1])
    if parent is None or not isinstance(loc[-1], str):
        return ""
    close = difflib.get_close_matches(loc[-1], list(parent.model_fields), n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else ""


def explain(exc: ValidationError) -> list[str]:
    """One line per error: ``path: message (got value)`` plus a suggestion for typos.

    >>> try:
    ...     Settings(pipeline={"alowed_lateness_s": 60})
    ... except ValidationError as exc:
    ...     print(*explain(exc))
    pipeline.alowed_lateness_s: unknown key (got 60); did you mean 'allowed_lateness_s'?
    """
    lines = []
    for err in exc.errors(include_url=False):
        loc = tuple(err["loc"])
        path = ".".join(str(x) for x in loc) or "(top level)"
        if err["type"] == "extra_forbidden":
            lines.append(f"{path}: unknown key (got {err.get('input')!r}){_suggest(loc)}")
            continue
        msg = err["msg"].removeprefix("Value error, ")
        lines.append(f"{path}: {msg} (got {err.get('input')!r})")
    return lines


def check_file(path: str | Path) -> tuple[Settings | None, list[str]]:
    """The settings a file gives, or every reason it is refused."""
    try:
        return load_settings(path), []
    except ValidationError as exc:
        return None, explain(exc)
    except yaml.YAMLError as exc:
        return None, [f"not valid YAML: {exc}".replace("\n", " ")]
    except (OSError, ValueError) as exc:
        return None, [str(exc)]
