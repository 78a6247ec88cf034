"""A magicgui form generated from a settings dataclass (one control per GUI field).

Types choose the control (``int`` -> spin box, ``float`` -> float spin box, ``bool`` ->
check box, ``Literal[...]`` -> combo box, ``str`` -> line edit); ``option(...)`` (=
:func:`napari_vaemf.core.settings.setting`) in the field's metadata adds magicgui options
(min, max, step, choices, label) and ``gui=False`` leaves a field off the form (it keeps its
default); the field's ``#`` comment is the tooltip.
"""
from __future__ import annotations

import typing
from typing import Any, Generic, TypeVar

from magicgui.widgets import Container, Widget, create_widget

from ..core.settings import field_help, gui_fields, widget_options
from ..core.settings import setting as option
from ._settings import load_settings, save_settings

__all__ = ["option", "SettingsForm"]

S = TypeVar("S")


class SettingsForm(Generic[S]):
    """Controls for the fields of settings dataclass ``cls``, loaded from and saved to disk.

    ``key`` names the JSON file (see :mod:`._settings`); ``choices`` overrides the choices
    of a field at run time (e.g. the devices present on this machine).
    """

    def __init__(self, cls: type[S], key: str, choices: dict[str, list] | None = None):
        self.cls = cls
        self.key = key
        values = load_settings(cls, key)
        hints = typing.get_type_hints(cls)
        helps = field_help(cls)
        self.widgets: dict[str, Widget] = {}
        for f in gui_fields(cls):
            opts = widget_options(f)
            value = getattr(values, f.name)
            hint = hints[f.name]
            if choices and f.name in choices:
                opts["choices"] = list(choices[f.name])
                if value not in opts["choices"]:
                    value = opts["choices"][0]
                hint = str
                opts.setdefault("widget_type", "ComboBox")
            elif typing.get_origin(hint) is typing.Literal:
                opts.setdefault("choices", list(typing.get_args(hint)))
                hint = str
                opts.setdefault("widget_type", "ComboBox")
            if isinstance(value, float) and "step" not in opts:
                opts["step"] = _step(value)
            label = opts.pop("label", f.name.replace("_", " "))
            widget = create_widget(
                value=value, annotation=hint, name=f.name, label=label, options=opts
            )
            widget.tooltip = helps.get(f.name) or None
            self.widgets[f.name] = widget
        self.container = Container(widgets=list(self.widgets.values()), labels=True)

    @property
    def native(self):
        """The Qt widget of the form (to put in a layout)."""
        return self.container.native

    def values(self) -> S:
        """The settings currently shown (fields not on the form keep their defaults)."""
        return self.cls(**{name: w.value for name, w in self.widgets.items()})

    def set_values(self, **values: Any) -> None:
        for name, value in values.items():
            self.widgets[name].value = value

    def save(self) -> None:
        """Persist the current values (called when a job starts and on close)."""
        save_settings(self.key, self.values())

    def set_enabled(self, enabled: bool) -> None:
        for w in self.widgets.values():
            w.enabled = enabled


def _step(value: float) -> float:
    return 0.1 if abs(value) >= 1 else 0.01
