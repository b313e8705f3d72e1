"""Reading a config file into a :class:`~jpeg_deep.config.schema.Config`: the file, its bases,
the command-line overrides, the defaults. Nothing here checks the values against tasks or
networks (:mod:`jpeg_deep.config.validation` does) and nothing writes: loading a config has no
side effect.

A config is a plain Python file whose lower-case module-level names are settings. It may start
from other files with ``base``::

    base = "../base_ssd300_voc.py"          # a path relative to this file (or a list of them)
    data = merge(protocol="07+12")          # the base's data dict with one key changed
    epochs = 240                            # any other setting replaces the base's value

Bases are applied in order, each file's settings over the previous ones; a base may have
bases. A setting replaces the inherited value whole, except a :func:`merge`, which changes the
named keys of the inherited dict (recursively, for nested merges).
"""
from __future__ import annotations

import ast
import importlib.util
import pprint
import types
from dataclasses import fields
from pathlib import Path

from jpeg_deep.config.schema import DEFAULTS, REQUIRED, SETTINGS, Config
from jpeg_deep.errors import ConfigError

#: The module-level name that lists a config's base files (not a setting).
BASE = "base"


class merge(dict):  # noqa: N801 - written like dict(...) in config files
    """In a config file: the inherited dict of this setting with these keys changed."""

    def __repr__(self):
        return f"merge({', '.join(f'{k}={v!r}' for k, v in self.items())})"


def config_file(path) -> Path:
    """Accept a config folder or the ``config.py`` inside it."""
    path = Path(path)
    if path.is_dir():
        path = path / "config.py"
    if not path.is_file():
        raise ConfigError(f"{path}: no such config file (expected a folder holding config.py)")
    return path


def load_module(path) -> types.ModuleType:
    path = Path(path)
    spec = importlib.util.spec_from_file_location(f"jpeg_deep_config_{abs(hash(path))}", path)
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
    except Exception as err:
        raise ConfigError(f"{path}: the config raised {type(err).__name__}: {err}") from err
    return module


def known_settings() -> set:
    return {f.name for f in fields(Config)} - {"path"}


def file_settings(path) -> tuple[dict, list]:
    """The settings one file states, ``{name: value}``, and its base files (resolved paths);
    unknown lower-case names are refused."""
    module = load_module(path)
    known = known_settings()
    values = {name: getattr(module, name) for name in known if hasattr(module, name)}
    unknown = [n for n in vars(module) if n.islower() and not n.startswith("_") and n != BASE
               and n not in known and not isinstance(vars(module)[n], types.ModuleType)
               and not callable(vars(module)[n])]
    if unknown:
        raise ConfigError(f"{path}: unknown setting(s): {', '.join(sorted(unknown))}; "
                          f"known: {', '.join(sorted(known))}")
    bases = getattr(module, BASE, ())
    bases = [bases] if isinstance(bases, (str, Path)) else bases
    if not isinstance(bases, (list, tuple)) or not all(isinstance(b, (str, Path)) for b in bases):
        raise ConfigError(f"{path}: base must be a file path (relative to the config) or a list "
                          f"of them, not {bases!r}")
    return values, [(Path(path).parent / b).resolve() for b in bases]


def _apply(values: dict, changes: dict, where) -> dict:
    out = dict(values)
    for name, value in changes.items():
        if isinstance(value, merge):
            inherited = out.get(name, DEFAULTS.get(name))
            if inherited is not None and not isinstance(inherited, dict):
                raise ConfigError(f"{where}: {name} = merge(...) needs an inherited dict, "
                                  f"not {inherited!r}")
            value = _apply(dict(inherited or {}), value, where)
        out[name] = value
    return out


def resolved_settings(path) -> dict:
    """The settings of ``path`` with its bases applied (defaults not filled in)."""
    return _resolve(path)[0]


def _resolve(path, _seen=()) -> tuple[dict, list]:
    """``resolved_settings`` of ``path``, and the file's own bases."""
    path = Path(path).resolve()
    if path in _seen:
        chain = " -> ".join(str(p) for p in (*_seen, path))
        raise ConfigError(f"{path}: the config's bases form a loop: {chain}")
    values, bases = file_settings(path)
    resolved = {}
    for base in bases:
        if not base.is_file():
            raise ConfigError(f"{path}: base {base} does not exist")
        resolved = _apply(resolved, _resolve(base, (*_seen, path))[0], base)
    return _plain(_apply(resolved, values, path)), bases


def _plain(value):
    """Merges resolved: plain dicts all the way down."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def has_bases(path) -> bool:
    return bool(file_settings(config_file(path))[1])


def read_config(path, *, overrides=None) -> Config:
    """The config of ``path`` (a folder or its ``config.py``): its bases and ``overrides``
    (command-line settings) applied, the defaults filled in. Not validated."""
    path = config_file(path)
    values = resolved_settings(path)
    known = known_settings()
    bad = sorted(set(overrides or {}) - known)
    if bad:
        raise ConfigError(f"{path}: cannot override unknown setting(s) {', '.join(bad)}; "
                          f"known: {', '.join(sorted(known))}")
    values.update(overrides or {})
    missing = [name for name in REQUIRED if name not in values]
    if missing:
        raise ConfigError(f"{path}: missing required setting(s): {', '.join(missing)}")
    return Config(path=path, **values)


def resolved_source(path) -> str | None:
    """A standalone config file stating every setting ``path`` and its bases set (what an
    experiment folder keeps, so that it never needs the base files); None for a config without
    bases (the file itself is standalone)."""
    path = config_file(path)
    values, bases = _resolve(path)
    if not bases:
        return None
    lines = [f'"""The config {path}, its bases applied (written by jpeg_deep)."""', ""]
    for name in (n for n in ("network", *SETTINGS) if n in values):
        text = pprint.pformat(values[name], width=96 - len(name) - 3, sort_dicts=False)
        try:
            same = ast.literal_eval(text) == values[name]
        except (ValueError, SyntaxError):
            same = False
        if not same:
            raise ConfigError(f"{path}: setting {name} = {values[name]!r} cannot be written as "
                              "a Python literal (an experiment folder keeps the resolved config)")
        lines.append(f"{name} = " + text.replace("\n", "\n" + " " * (len(name) + 3)))
    return "\n".join(lines) + "\n"
