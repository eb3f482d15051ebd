"""The `dataset:` section of an experiment spec, validated field by field.

```yaml
dataset:
  name: lastfm
  path: data/user_artists.tsv    # a dataset directory or an interaction log file
  format: tsv                    # csv | tsv | parquet (default: the file's extension)
  columns: {user: userID, item: artistID, rating: weight}   # default: the usual names
  weight: log1p                  # none | log1p | binary | threshold:4
  ids: {user: integer, item: string}   # integer (default) | string, or per column
  items: {path: data/artists.tsv, id: id, title: name}      # optional item metadata
  max_users: 200
```
"""

from __future__ import annotations

from typing import Any

from offline.experiment.spec import DatasetSpec
from offline.experiment.spec_fields import SpecError, integer, known, mapping, required, text
from recmesh.data.log_format import (
    FILE_FORMATS,
    ID_KINDS,
    ColumnMapping,
    FileFormat,
    IdKind,
    IdKinds,
    ItemFile,
    LogFormat,
    Weighting,
)

_LOG_KEYS = ("format", "columns", "weight", "ids", "items")


def parse_dataset(raw: Any) -> DatasetSpec:
    """The validated `dataset:` section; raises SpecError naming the field."""
    body = mapping(raw, "dataset")
    known(body, "dataset", {"name", "path", "max_users", *_LOG_KEYS})
    name = text(required(body, "name", "dataset"), "dataset.name")
    path = body.get("path")
    if path is None and name != "ml-100k":
        raise SpecError("dataset.path", f"dataset {name!r} needs a path (only ml-100k is fetched)")
    if path is None and any(key in body for key in _LOG_KEYS):
        given = next(key for key in _LOG_KEYS if key in body)
        raise SpecError(f"dataset.{given}", "applies to an interaction log given by dataset.path")
    max_users = body.get("max_users")
    return DatasetSpec(
        name=name,
        path=None if path is None else text(path, "dataset.path"),
        max_users=None if max_users is None else integer(max_users, "dataset.max_users", low=10),
        log=LogFormat(
            format=_format(body.get("format"), "dataset.format"),
            columns=_columns(body.get("columns", {})),
            weight=_weight(body.get("weight", "none")),
            ids=_ids(body.get("ids", "integer")),
            items=None if body.get("items") is None else _items(body["items"]),
        ),
    )


def _format(raw: Any, where: str) -> FileFormat | None:
    if raw is None:
        return None
    for known_format in FILE_FORMATS:
        if raw == known_format:
            return known_format
    raise SpecError(where, f"must be one of {', '.join(FILE_FORMATS)}, got {raw!r}")


def _columns(raw: Any) -> ColumnMapping:
    body = mapping(raw, "dataset.columns")
    roles = ("user", "item", "rating", "timestamp")
    known(body, "dataset.columns", set(roles))
    names = {role: text(body[role], f"dataset.columns.{role}") for role in roles if role in body}
    if len(set(names.values())) != len(names):
        raise SpecError("dataset.columns", "names one column for two roles")
    return ColumnMapping(**names)


def _weight(raw: Any) -> Weighting:
    if isinstance(raw, int | float) and not isinstance(raw, bool):
        raise SpecError("dataset.weight", f"write a threshold as threshold:{raw}")
    try:
        return Weighting.parse(text(raw, "dataset.weight"))
    except ValueError as exc:
        raise SpecError("dataset.weight", str(exc)) from None


def _ids(raw: Any) -> IdKinds:
    if not isinstance(raw, dict):
        kind = _id_kind(raw, "dataset.ids")
        return IdKinds(kind, kind)
    body = mapping(raw, "dataset.ids")
    known(body, "dataset.ids", {"user", "item"})
    return IdKinds(**{role: _id_kind(body[role], f"dataset.ids.{role}") for role in body})


def _id_kind(raw: Any, where: str) -> IdKind:
    for kind in ID_KINDS:
        if raw == kind:
            return kind
    raise SpecError(where, f"must be one of {', '.join(ID_KINDS)}, got {raw!r}")


def _items(raw: Any) -> ItemFile:
    where = "dataset.items"
    body = mapping(raw, where)
    optional = ("title", "genres", "year")
    known(body, where, {"path", "id", "genre_separator", "format", *optional})
    separator = text(body.get("genre_separator", "|"), f"{where}.genre_separator", empty=True)
    if not separator:
        raise SpecError(f"{where}.genre_separator", "must not be empty")
    return ItemFile(
        path=text(required(body, "path", where), f"{where}.path"),
        id=text(required(body, "id", where), f"{where}.id"),
        genre_separator=separator,
        format=_format(body.get("format"), f"{where}.format"),
        **{key: text(body[key], f"{where}.{key}") for key in optional if key in body},
    )
