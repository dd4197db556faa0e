"""Reading a pack's files: YAML that remembers its lines, CSV and GeoJSON, plain or gzipped."""

from __future__ import annotations

import gzip
import io
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

FORMAT = 1


@dataclass(frozen=True)
class Problem:
    file: str
    line: int | None
    message: str

    def __str__(self) -> str:
        where = f"{self.file}, line {self.line}" if self.line else self.file
        return f"{where}: {self.message}"


@dataclass
class Problems:
    found: list[Problem] = field(default_factory=list)

    def add(self, file: str, line: int | None, message: str) -> None:
        self.found.append(Problem(file, line, message))

    def __bool__(self) -> bool:
        return bool(self.found)


class Mapping(dict[str, Any]):
    """A YAML mapping that knows the line it starts on (1-based)."""

    line: int | None = None


# libyaml's parser when PyYAML was built with it: ten times faster on a large catalog.
_Base = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _Loader(_Base):  # type: ignore[valid-type,misc]
    pass


def _mapping(loader: _Loader, node: yaml.MappingNode) -> Mapping:
    found = Mapping(loader.construct_mapping(node, deep=True))  # type: ignore[arg-type]
    found.line = node.start_mark.line + 1
    return found


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping)


def line_of(value: Any) -> int | None:
    return getattr(value, "line", None)


def find(folder: Path, stem: str) -> Path | None:
    """`stem`.yaml, else .yml, else .json: the first that exists."""
    for suffix in (".yaml", ".yml", ".json"):
        path = folder / f"{stem}{suffix}"
        if path.exists():
            return path
    return None


def read_yaml(path: Path, name: str, problems: Problems) -> Mapping | None:
    try:
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=_Loader)
    except UnicodeDecodeError:
        problems.add(name, None, "is not UTF-8 text: save it as UTF-8.")
        return None
    except yaml.MarkedYAMLError as e:
        line = e.problem_mark.line + 1 if e.problem_mark else None
        problems.add(name, line, f"is not valid YAML: {e.problem}.")
        return None
    if data is None:
        return Mapping()
    if not isinstance(data, Mapping):
        problems.add(name, 1, "must be a mapping of sections (key: value), not a list or text.")
        return None
    return data


def open_text(path: Path) -> io.TextIOBase:
    if path.name.endswith(".gz"):
        return gzip.open(path, "rt", encoding="utf-8-sig", newline="")  # type: ignore[return-value]
    return open(path, encoding="utf-8-sig", newline="")


def read_geojson(path: Path, name: str, problems: Problems) -> list[Any] | None:
    try:
        with open_text(path) as f:
            data = json.load(f)
    except json.JSONDecodeError as e:
        problems.add(name, e.lineno, f"is not valid JSON: {e.msg}.")
        return None
    except (OSError, UnicodeDecodeError) as e:
        problems.add(name, None, f"cannot be read: {e}.")
        return None
    if not isinstance(data, dict) or data.get("type") != "FeatureCollection":
        problems.add(name, None, "is not a GeoJSON FeatureCollection.")
        return None
    features = data.get("features")
    if not isinstance(features, list):
        problems.add(name, None, "has no list of features.")
        return None
    return features


def write_gzip(path: Path, text: str) -> None:
    """Gzip with no name or time in the header: the same text gives the same bytes."""
    with path.open("wb") as raw, gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0) as f:
        f.write(text.encode("utf-8"))


def dump_yaml(data: Any) -> str:
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100)
