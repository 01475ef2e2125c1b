"""A processed file as SQL for DuckDB: every field read as text, from the file itself or one chunk of it.

SQL is composed from names and values only through `ident` and `literal`, which quote them.
"""

# ruff: noqa: S608

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from lakebox_layer.parsing import MAX_JSON_OBJECT_BYTES, MAX_LINE_BYTES
from lakebox_layer.records import FileFormat


def literal(value: str | None) -> str:
    return "NULL" if value is None else "'" + value.replace("'", "''") + "'"


def ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def pointer(name: str) -> str:
    """A JSON pointer to a top-level key (RFC 6901 escapes)."""
    return "/" + name.replace("~", "~0").replace("/", "~1")


@dataclass(frozen=True)
class Source:
    """A processed file read as text: one VARCHAR per name in `names`, for CSV the cells under the header as written,
    for JSON each record's top-level fields (nested values as JSON text, NULL where absent or null)."""

    path: Path
    file_format: FileFormat
    compression: str | None
    names: list[str]
    delimiter: str = ","
    # The largest JSON object DuckDB reads (it sets aside twice this for its buffers, whatever the file's size).
    object_bytes: int = MAX_JSON_OBJECT_BYTES

    @property
    def is_json(self) -> bool:
        return self.file_format is not FileFormat.CSV

    @property
    def chunked(self) -> bool:
        """Whether DuckDB gets the file in chunks: CSV and JSON Lines, not a JSON document or array."""
        return self.file_format in (FileFormat.CSV, FileFormat.JSON_LINES)

    @property
    def relation(self) -> str:
        """The whole file as SQL (see `read` for one chunk of it)."""
        return self.read(self.path, self.compression)

    def objects(self, path: Path, compression: str | None = None) -> str:
        """A JSON file's records that are objects, one `json` column; an object may be up to `object_bytes` (DuckDB's
        default refuses one over 16 MiB)."""
        shape = "newline_delimited" if self.file_format is FileFormat.JSON_LINES else "auto"
        compressed = "gzip" if compression == "gzip" else "none"
        return (f"(SELECT json FROM read_json_objects({literal(str(path))}, format = {literal(shape)}, "
                f"compression = {literal(compressed)}, maximum_object_size = {self.object_bytes}) "
                f"WHERE json_type(json) = 'OBJECT')")

    def read(self, path: Path, compression: str | None = None) -> str:
        """A file of this source's shape (the file itself or one chunk of it) as SQL, one VARCHAR per name."""
        compressed = "gzip" if compression == "gzip" else "none"
        if not self.is_json:
            # The dialect pinned (nothing sniffed per chunk), the header line skipped, every column text, and a line
            # as long as validation accepts (DuckDB's default refuses one over 2 MB).
            columns = ", ".join(f"{literal(name)}: 'VARCHAR'" for name in self.names)
            return (f"read_csv({literal(str(path))}, header = true, auto_detect = false, "
                    f"delim = {literal(self.delimiter)}, quote = '\"', escape = '\"', columns = {{{columns}}}, "
                    f"compression = {literal(compressed)}, max_line_size = {MAX_LINE_BYTES})")
        objects = self.objects(path, compression)
        if not self.names:
            return objects
        # Each record is parsed once for all its fields (a path list), not once per field and per use.
        paths = ", ".join(literal(pointer(name)) for name in self.names)
        fields = ", ".join(f"__fields[{index}] AS {ident(name)}" for index, name in enumerate(self.names, 1))
        return f"(SELECT {fields} FROM (SELECT json_extract_string(json, [{paths}]) AS __fields FROM {objects}))"

    def text(self, name: str) -> str:
        """The SQL expression of a field's text; NULL where the field is absent or null."""
        return ident(name)


Reader = Callable[[Source, Path, "str | None"], str]
