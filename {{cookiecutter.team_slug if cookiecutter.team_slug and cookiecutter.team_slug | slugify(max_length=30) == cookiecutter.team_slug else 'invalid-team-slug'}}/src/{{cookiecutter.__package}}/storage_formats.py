"""Which open format each value is stored in, and how it is written and read back.

Template-owned, like storage.py. Tables go to Parquet and plain values to JSON, so any team
reads them whatever its Python, pandas, polars or numpy versions, and so do DuckDB, Athena or
Spark. pyarrow owns both the format and the transfer; pandas and polars are only touched when a
value already is one, or when the reading asset asks for one.
"""

import datetime
import json
import pickle
import sys
import typing
from collections.abc import Iterator
from typing import Any

import dagster as dg
import pyarrow as pa
import pyarrow.fs as pafs
import pyarrow.parquet as pq

PARQUET, JSON, PICKLE = "parquet", "json", "pickle"
READ_ORDER = (PARQUET, JSON, PICKLE)
SUPPORTED = (
    "a pandas or polars DataFrame or a pyarrow Table (stored as Parquet), or dicts, lists, "
    "strings, numbers, booleans, None, dates and datetimes (stored as JSON)"
)


class UnsupportedValue(TypeError):
    """A value that has no open format here."""


def as_table(value: object) -> "pa.Table | _PandasSlices | None":
    """The value as an Arrow table if it is a table; pandas and polars are never imported here.

    A pandas frame is converted lazily, in slices, as it is written: see `write_table`.
    """
    if isinstance(value, pa.Table):
        return value
    pandas = sys.modules.get("pandas")
    if pandas is not None and isinstance(value, pandas.DataFrame):
        return _PandasSlices(value)
    polars = sys.modules.get("polars")
    if polars is not None and isinstance(value, polars.DataFrame):
        return value.to_arrow()
    return None


class _PandasSlices:
    """A pandas frame seen as Arrow record batches of SLICE_ROWS rows each.

    Converting it whole would hold a second copy of the frame; one slice at a time keeps the
    extra memory to one slice while pyarrow encodes and uploads the previous one.
    """

    SLICE_ROWS = 1_000_000

    def __init__(self, frame: Any) -> None:
        self.frame = frame
        self.schema = pa.Schema.from_pandas(frame)
        self.num_rows = len(frame)

    def to_batches(self) -> Iterator[pa.RecordBatch]:
        for start in range(0, self.num_rows, self.SLICE_ROWS):
            rows = self.frame.iloc[start : start + self.SLICE_ROWS]
            yield pa.RecordBatch.from_pandas(rows, schema=self.schema)


def _json_default(value: object) -> str:
    if isinstance(value, (datetime.date, datetime.datetime)):
        return value.isoformat()
    raise UnsupportedValue(f"{type_name(value)} is not JSON")


def to_json(value: object) -> bytes:
    try:
        return json.dumps(value, default=_json_default, allow_nan=False).encode()
    except (TypeError, ValueError) as error:
        raise UnsupportedValue(str(error)) from error


def type_name(value: object) -> str:
    kind = type(value)
    return (
        kind.__qualname__
        if kind.__module__ == "builtins"
        else f"{kind.__module__}.{kind.__qualname__}"
    )


def write_table(table: pa.Table | _PandasSlices, filesystem: pafs.FileSystem, path: str) -> None:
    """Stream the table to Parquet: pyarrow uploads it to S3 in parts while it encodes."""
    with pq.ParquetWriter(path, table.schema, filesystem=filesystem) as writer:
        if isinstance(table, pa.Table):
            writer.write_table(table)
        else:
            for batch in table.to_batches():
                writer.write_batch(batch)


def write_bytes(data: bytes, filesystem: pafs.FileSystem, path: str) -> None:
    with filesystem.open_output_stream(path) as stream:
        stream.write(data)


def read_table(
    filesystem: pafs.FileSystem, path: str, wanted: Any, columns: list[str] | None
) -> Any:
    """Read only the requested columns, as the type the consuming asset annotates.

    Unannotated inputs get a pyarrow Table: pyarrow is the one table library every repo has.
    """
    table = pq.read_table(path, filesystem=filesystem, columns=columns)
    library = getattr(wanted, "__module__", "") or ""
    if library.startswith("pandas"):
        return table.to_pandas(split_blocks=True, self_destruct=True)
    if library.startswith("polars"):
        import polars

        return polars.from_arrow(table)
    return table


def read_json(filesystem: pafs.FileSystem, path: str, wanted: Any) -> Any:
    with filesystem.open_input_stream(path) as stream:
        value = json.loads(stream.read())
    if wanted in (datetime.date, datetime.datetime):
        return wanted.fromisoformat(value)
    return value


def read_pickle(filesystem: pafs.FileSystem, path: str) -> Any:
    with filesystem.open_input_stream(path) as stream:
        return pickle.loads(stream.read())


def element_type(annotation: Any) -> Any:
    """The annotated type of one partition when several load as a dict keyed by partition."""
    if typing.get_origin(annotation) in (dict, typing.Mapping):
        return typing.get_args(annotation)[-1]
    return annotation


def table_metadata(table: pa.Table | _PandasSlices) -> dict[str, Any]:
    """What the catalog shows other teams: every column with its Arrow type, and the row count."""
    columns = [dg.TableColumn(field.name, str(field.type)) for field in table.schema]
    return {
        "dagster/column_schema": dg.TableSchema(columns=columns),
        "dagster/row_count": table.num_rows,
    }
