"""docs/configuration.md is generated from the config model, so documented defaults are
the defaults.

Regenerate after changing the models in streaming/config/:
python -m tests.streaming.test_config_reference
"""

from __future__ import annotations

import inspect
import json
import types
import typing
from enum import Enum
from pathlib import Path

from pydantic import BaseModel
from pydantic_core import PydanticUndefined

from streaming.config import Distribution, Secret

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "configuration.md"

HEADER = """# Configuration reference

Generated from the models in `streaming/config/` by \
`python -m tests.streaming.test_config_reference`; a test
fails when this page and the model disagree, so every default written here is the built-in one.
A field without a default is required. `config/demo.toml` is a worked example.
"""


def _models(model: type[BaseModel], seen: list[type[BaseModel]]) -> list[type[BaseModel]]:
    if model in seen:
        return seen
    seen.append(model)
    for field in model.model_fields.values():
        for arg in _walk(field.annotation):
            if inspect.isclass(arg) and issubclass(arg, BaseModel):
                _models(arg, seen)
    return seen


def _walk(annotation: object) -> list[object]:
    found = [annotation]
    for arg in typing.get_args(annotation):
        found += _walk(arg)
    return found


def _type(annotation: object) -> str:
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is typing.Annotated:
        return _type(args[0])
    if origin in (typing.Union, types.UnionType):
        return " or ".join(_type(a) for a in args)
    if origin is typing.Literal:
        return " \\| ".join(json.dumps(a) for a in args)
    if inspect.isclass(annotation) and issubclass(annotation, Enum):  # a vocabulary: its values
        return " \\| ".join(json.dumps(m.value) for m in annotation)
    if origin in (tuple, list):
        return f"list of {_type(args[0])}" if args else "list"
    if origin is dict:
        return f"table of {_type(args[1])}"
    if annotation is type(None):
        return "none"
    if annotation is Secret:
        return "secret string"
    return getattr(annotation, "__name__", str(annotation))


def _default(field: object) -> str:
    default = field.default  # type: ignore[attr-defined]
    if default is PydanticUndefined:
        return "required"
    if isinstance(default, BaseModel):
        return "(section)"
    if isinstance(default, Secret):
        return "(secret)"
    if isinstance(default, tuple):  # a list of tables (origin.ladder) shows its fields
        default = [d.model_dump() if isinstance(d, BaseModel) else d for d in default]
    return f"`{json.dumps(default)}`"


def render() -> str:
    """The whole reference page for the current model."""
    parts = [HEADER]
    for model in _models(Distribution, []):
        doc = inspect.getdoc(model) or ""
        parts.append(f"\n## {model.__name__}\n\n{doc}\n\n| field | type | default |\n|---|---|---|")
        for name, field in model.model_fields.items():
            parts.append(f"| `{name}` | {_type(field.annotation)} | {_default(field)} |")
    return "\n".join(parts) + "\n"


def test_configuration_reference_matches_the_model() -> None:
    """docs/configuration.md lists every field with its real default (regenerate it
    if this fails).
    """
    assert DOC.read_text() == render(), "run: python -m tests.streaming.test_config_reference"


if __name__ == "__main__":
    DOC.write_text(render())
    print(f"wrote {DOC}")
