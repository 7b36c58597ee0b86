"""The config file named by ALERTFOLD_CONFIG: every setting in sections, as one YAML file.

Read through PyYAML's node tree rather than plain `safe_load`, so every value keeps its line
and every refusal (bad YAML, an unknown section or key, a key given twice, an unset `${NAME}`)
names the file and the line. Values are checked later, with the environment's, by the
settings model; this module only turns the file into field values and their lines.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource

from infra.settings_fields import Declared, SettingsError, declarations

_REFERENCE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


class ConfigFileSource(PydanticBaseSettingsSource):
    """The file's settings as field values, each with the line it was set on."""

    def __init__(
        self, settings_cls: type[BaseSettings], path: Path, environ: Mapping[str, str]
    ) -> None:
        super().__init__(settings_cls)
        self.path = path
        reader = _Reader(path, declarations(settings_cls), environ)
        self.values, self.lines = reader.read()

    def where(self, field: str) -> str:
        return f"{self.path}:{self.lines[field]}"

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return self.values.get(field_name), field_name, False

    def __call__(self) -> dict[str, Any]:
        return dict(self.values)


class _Reader:
    def __init__(self, path: Path, declared: Sequence[Declared], environ: Mapping[str, str]):
        self.path = path
        self.environ = environ
        self.sections: dict[str, dict[str, Declared]] = {}
        for one in declared:
            self.sections.setdefault(one.section, {})[one.key.partition(".")[2]] = one
        self.values: dict[str, object] = {}
        self.lines: dict[str, int] = {}
        self.problems: list[str] = []

    def read(self) -> tuple[dict[str, object], dict[str, int]]:
        try:
            text = self.path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as error:
            raise SettingsError(f"cannot read the config file {self.path}: {error}") from None
        loader = yaml.SafeLoader(text)
        try:
            self._read_root(loader, loader.get_single_node())
        except yaml.MarkedYAMLError as error:
            mark = error.problem_mark or error.context_mark
            line = mark.line + 1 if mark else 1
            self.problems.append(f"{self.path}:{line}: not valid YAML: {error.problem}")
        finally:
            loader.dispose()
        if self.problems:
            raise SettingsError("invalid config file:\n  " + "\n  ".join(self.problems))
        return self.values, self.lines

    def _read_root(self, loader: yaml.SafeLoader, root: yaml.Node | None) -> None:
        if root is None:
            return
        if not isinstance(root, yaml.MappingNode):
            self._refuse(
                root, f"expected sections ({', '.join(self.sections)}), not a list or text"
            )
            return
        loader.flatten_mapping(root)
        seen: dict[str, int] = {}
        for name_node, section_node in root.value:
            name = str(name_node.value)
            if self._twice(name_node, name, seen):
                continue
            if name not in self.sections:
                self._refuse(name_node, f"{name}: {_unknown('section', name, self.sections)}")
            elif isinstance(section_node, yaml.MappingNode):
                loader.flatten_mapping(section_node)
                self._read_section(loader, name, section_node)
            elif loader.construct_object(section_node) is not None:
                self._refuse(section_node, f"{name}: expected keys such as `{name}.…: value`")

    def _read_section(self, loader: yaml.SafeLoader, name: str, node: yaml.MappingNode) -> None:
        known = self.sections[name]
        seen: dict[str, int] = {}
        for key_node, value_node in node.value:
            key = f"{name}.{key_node.value}"
            if self._twice(key_node, key, seen):
                continue
            declared = known.get(str(key_node.value))
            if declared is None:
                self._refuse(key_node, f"{key}: {_unknown('setting', str(key_node.value), known)}")
                continue
            value = self._substituted(
                key, value_node, loader.construct_object(value_node, deep=True)
            )
            if value is None or value == "":
                continue  # an empty value leaves the default, as an empty variable does
            if declared.is_path and isinstance(value, str):
                value = str(self.path.parent / Path(value).expanduser())
            self.values[declared.field] = value
            self.lines[declared.field] = value_node.start_mark.line + 1

    def _twice(self, node: yaml.Node, name: str, seen: dict[str, int]) -> bool:
        line = node.start_mark.line + 1
        if name in seen:
            self._refuse(node, f"{name} is given twice (first on line {seen[name]})")
            return True
        seen[name] = line
        return False

    def _substituted(self, key: str, node: yaml.Node, value: object) -> object:
        """`${NAME}` in text replaced from the environment, so secrets stay out of the file."""
        if isinstance(value, str):

            def lookup(match: re.Match[str]) -> str:
                name = match.group(1)
                if name not in self.environ:
                    self._refuse(node, f"{key}: ${{{name}}} is not set in the environment")
                    return ""
                return self.environ[name]

            return _REFERENCE.sub(lookup, value)
        if isinstance(value, list):
            return [self._substituted(key, node, item) for item in value]
        if isinstance(value, dict):
            return {k: self._substituted(key, node, item) for k, item in value.items()}
        return value

    def _refuse(self, node: yaml.Node, problem: str) -> None:
        self.problems.append(f"{self.path}:{node.start_mark.line + 1}: {problem}")


def _unknown(kind: str, name: str, known: Mapping[str, object]) -> str:
    close = difflib.get_close_matches(name, known, n=1)
    if close:
        return f"unknown {kind}; did you mean {close[0]}?"
    return f"unknown {kind}; known: {', '.join(sorted(known))}"
