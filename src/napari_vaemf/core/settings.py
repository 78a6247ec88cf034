"""Settings dataclasses as the one source of every option: CLI flags and widget forms.

A settings class is a plain ``@dataclass`` whose fields have a default and a one-line ``#``
comment (the help text). :func:`setting` adds presentation hints to a field without
changing its default: ``cli=False`` keeps it off the command line, ``gui=False`` off the
widget form, ``flag`` renames the CLI option, and the remaining keywords (``min``, ``max``,
``step``, ``label``) are magicgui widget options.

- :func:`add_options` adds one argparse option per CLI field (``--batch-size`` for
  ``batch_size``), with ``default=None`` so that only the flags a user gave override the
  dataclass; :func:`from_args` builds the dataclass from the parsed namespace.
- :func:`gui_fields` lists the fields a widget shows (the widget form reads defaults, types
  and help from the same class).

Nothing here imports Qt or napari.
"""
from __future__ import annotations

import argparse
import ast
import dataclasses
import functools
import inspect
import textwrap
import types
import typing
from typing import Any, TypeVar

from napari_vaemf.core.errors import ParameterError

__all__ = ["setting", "field_help", "add_options", "from_args", "gui_fields", "cli_fields",
           "flag_of", "widget_options"]

S = TypeVar("S")


def setting(default: Any, *, cli: bool = True, gui: bool = True, flag: str | None = None,
            **widget: Any) -> Any:
    """A dataclass field with ``default`` and presentation hints (see the module docstring)."""
    meta = {"cli": cli, "gui": gui, "flag": flag, "widget": widget}
    return dataclasses.field(default=default, metadata=meta)


def widget_options(f: dataclasses.Field) -> dict:
    """The magicgui options (min, max, step, label, ...) of field ``f``."""
    return dict(f.metadata.get("widget", {}))


def cli_fields(cls: type) -> list[dataclasses.Field]:
    """Fields of settings class ``cls`` that are command-line options."""
    return [f for f in dataclasses.fields(cls) if f.metadata.get("cli", True)]


def gui_fields(cls: type) -> list[dataclasses.Field]:
    """Fields of settings class ``cls`` that a widget form shows."""
    return [f for f in dataclasses.fields(cls) if f.metadata.get("gui", True)]


def flag_of(f: dataclasses.Field) -> str:
    """The command-line flag of field ``f`` (``--batch-size`` for ``batch_size``)."""
    return f.metadata.get("flag") or "--" + f.name.replace("_", "-")


@functools.lru_cache(maxsize=None)
def field_help(cls: type) -> dict[str, str]:
    """Map field name -> the ``#`` comment on its line in the class source (or '').

    Fields inherited from a base class take their comment from that class.
    """
    out: dict[str, str] = {}
    for klass in reversed(cls.__mro__):
        if not dataclasses.is_dataclass(klass) or klass is object:
            continue
        try:
            source = textwrap.dedent(inspect.getsource(klass))
        except (OSError, TypeError):
            continue
        lines = source.splitlines()
        for node in ast.parse(source).body[0].body:  # type: ignore[attr-defined]
            if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
                line = lines[node.end_lineno - 1]
                out[node.target.id] = line.split("#", 1)[1].strip() if "#" in line else ""
    return {f.name: out.get(f.name, "") for f in dataclasses.fields(cls)}


def _literal_choices(hint: Any) -> tuple | None:
    if typing.get_origin(hint) is typing.Literal:
        return typing.get_args(hint)
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        for arg in typing.get_args(hint):
            got = _literal_choices(arg)
            if got:
                return got
    return None


def _base_type(hint: Any, default: Any) -> Any:
    """The scalar type argparse converts to, from the annotation (or the default)."""
    args = [a for a in typing.get_args(hint) if a is not type(None)]
    if typing.get_origin(hint) is tuple:
        return args[0] if args else str
    if args and typing.get_origin(hint) is not typing.Literal:
        return _base_type(args[0], default)
    if hint in (int, float, str, bool):
        return hint
    return type(default) if default is not None else str


def _bool(text: str) -> bool:
    low = text.strip().lower()
    if low in ("1", "true", "yes", "on"):
        return True
    if low in ("0", "false", "no", "off"):
        return False
    raise argparse.ArgumentTypeError(f"expected true or false, got {text!r}")


def _finite(kind: type):
    def convert(text: str):
        try:
            value = kind(text)
        except ValueError as err:
            raise argparse.ArgumentTypeError(f"invalid {kind.__name__} value: {text!r}") from err
        if kind is float and value != value:  # NaN
            raise argparse.ArgumentTypeError("NaN is not a valid value")
        return value

    convert.__name__ = kind.__name__
    return convert


def add_options(parser: argparse.ArgumentParser | Any, cls: type, *, skip: tuple[str, ...] = (),
                title: str | None = None) -> None:
    """Add one option per CLI field of ``cls`` to ``parser`` (or to a new group ``title``).

    Every option defaults to ``None`` (the dataclass holds the real default, shown in the
    help as ``(default: …)``); :func:`from_args` fills in only what the user gave.
    """
    target = parser.add_argument_group(title) if title else parser
    hints = typing.get_type_hints(cls)
    helps = field_help(cls)
    for f in cli_fields(cls):
        if f.name in skip:
            continue
        hint = hints[f.name]
        default = f.default if f.default is not dataclasses.MISSING else f.default_factory()
        text = helps.get(f.name, "")
        shown = " ".join(map(str, default)) if isinstance(default, tuple) else default
        if default is not None:
            text = f"{text} (default: {shown})"
        kw: dict[str, Any] = {"default": None, "dest": f.name, "help": text.replace("%", "%%")}
        choices = _literal_choices(hint) or f.metadata.get("widget", {}).get("choices")
        kind = _base_type(hint, default)
        if typing.get_origin(hint) is tuple:
            kw.update(nargs="+", type=_finite(kind), metavar=kind.__name__.upper())
        elif kind is bool:
            kw.update(type=_bool, metavar="{true,false}")
        elif choices:
            kw.update(choices=list(choices))
        else:
            kw.update(type=_finite(kind) if kind in (int, float) else kind,
                      metavar=kind.__name__.upper())
        target.add_argument(flag_of(f), **kw)


def from_args(cls: type[S], args: argparse.Namespace, base: S | None = None, **fixed: Any) -> S:
    """``cls`` from ``base`` (default: the class defaults), the flags given in ``args``
    (attributes that are not None) and ``fixed`` values; a bad value raises ParameterError
    naming the option."""
    values = dataclasses.asdict(base) if base is not None else {}
    for f in cli_fields(cls):
        got = getattr(args, f.name, None)
        if got is not None:
            values[f.name] = tuple(got) if isinstance(got, list) else got
    values.update(fixed)
    names = {f.name for f in dataclasses.fields(cls)}
    try:
        return cls(**{k: v for k, v in values.items() if k in names})
    except (TypeError, ValueError) as err:
        raise ParameterError(str(err)) from err
