"""Widget settings: typed dataclasses persisted as one small JSON file per widget.

Each widget keeps its user-facing choices in a settings dataclass (one ``#`` comment per
field, read by :func:`napari_vaemf.core.settings.field_help` as the control's tooltip).
Only the fields a form shows are stored. Values are stored under the user config dir
(``platformdirs``); set the
environment variable ``NAPARI_VAEMF_CONFIG_DIR`` to put them elsewhere (the tests do).

Nothing here imports Qt.
"""
from __future__ import annotations

import dataclasses
import json
import logging
import os
import typing
from pathlib import Path
from typing import Any, TypeVar

from ..core.settings import gui_fields

__all__ = ["CONFIG_ENV", "config_dir", "load_settings", "save_settings"]

log = logging.getLogger(__name__)

CONFIG_ENV = "NAPARI_VAEMF_CONFIG_DIR"

S = TypeVar("S")


def config_dir() -> Path:
    """Folder holding the widgets' settings files (``$NAPARI_VAEMF_CONFIG_DIR`` wins)."""
    env = os.environ.get(CONFIG_ENV)
    if env:
        return Path(env)
    import platformdirs

    return Path(platformdirs.user_config_dir("napari-vaemf", appauthor=False))


def _path(key: str) -> Path:
    return config_dir() / f"{key}.json"


def load_settings(cls: type[S], key: str) -> S:
    """The stored settings ``key`` as a ``cls``; defaults for anything missing or unusable.

    A value whose JSON type does not match the field's default (a hand-edited or older
    file) is dropped with a log message rather than passed on.
    """
    defaults = cls()
    path = _path(key)
    try:
        stored = json.loads(path.read_text())
    except FileNotFoundError:
        return defaults
    except (OSError, ValueError) as exc:
        log.warning("ignoring unreadable settings %s: %s", path, exc)
        return defaults
    if not isinstance(stored, dict):
        return defaults
    hints = typing.get_type_hints(cls)
    good: dict[str, Any] = {}
    for f in gui_fields(cls):
        if f.name not in stored:
            continue
        value = stored[f.name]
        if _fits(value, getattr(defaults, f.name), hints.get(f.name)):
            good[f.name] = value
        else:
            log.info("settings %s: dropping %s=%r (wrong type)", key, f.name, value)
    return dataclasses.replace(defaults, **good)


def _fits(value: Any, default: Any, hint: Any) -> bool:
    if typing.get_origin(hint) is typing.Literal:
        return value in typing.get_args(hint)
    if isinstance(default, tuple):
        return isinstance(value, (list, tuple)) and len(value) == len(default)
    if isinstance(default, bool):
        return isinstance(value, bool)
    if isinstance(default, float):
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if isinstance(default, int):
        return isinstance(value, int) and not isinstance(value, bool)
    if default is None:
        return True
    return isinstance(value, type(default))


def save_settings(key: str, settings: Any) -> Path:
    """Write ``settings`` (a dataclass) to its JSON file; returns the path."""
    path = _path(key)
    path.parent.mkdir(parents=True, exist_ok=True)
    shown = {f.name: getattr(settings, f.name) for f in gui_fields(type(settings))}
    path.write_text(json.dumps(shown, indent=1, sort_keys=True))
    return path
