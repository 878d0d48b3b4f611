"""Which open format each value is stored in, and how it is written and read back.

Template-owned: `cruft update` replaces this file; changes go to the platform team's template.

Tables go to Parquet and plain values to JSON, so any team reads them whatever its Python,
pandas, polars or numpy versions, and so do DuckDB, Athena or Spark. pyarrow owns both the format
and the transfer; pandas and polars are only touched when a value already is one, or when the
reading asset asks for one.
"""

import datetime
import json
import pickle
import sys
import typing
from collections.abc import Iterator
from typing import Any, BinaryIO

import dagster as dg
import pyarrow as pa
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
    _check_keys(value)
    try:
        return json.dumps(value, default=_json_default, allow_nan=False).encode()
    except (TypeError, ValueError) as error:
        raise UnsupportedValue(str(error)) from error


def _check_keys(value: object) -> None:
    """JSON keys are strings: `1` and `"1"` would both become `"1"`, and one value be lost."""
    if isinstance(value, dict):
        as_json: dict[str, object] = {}
        for key in value:
            if not isinstance(key, (str, int, float, bool, type(None))):
                continue  # json.dumps refuses it, naming its type
            text = json.dumps({key: None})[1:].rpartition(":")[0]
            if text in as_json:
                raise UnsupportedValue(
                    f"the keys {as_json[text]!r} and {key!r} are both {text} in JSON; "
                    "give them distinct string keys"
                )
            as_json[text] = key
        values = value.values()
    elif isinstance(value, (list, tuple)):
        values = value
    else:
        return
    for item in values:
        _check_keys(item)


def type_name(value: object) -> str:
    kind = type(value)
    return (
        kind.__qualname__
        if kind.__module__ == "builtins"
        else f"{kind.__module__}.{kind.__qualname__}"
    )


def write_table(table: pa.Table | _PandasSlices, sink: BinaryIO) -> None:
    """Stream the table to Parquet, slice by slice: the sink publishes it only once complete."""
    with pq.ParquetWriter(sink, table.schema) as writer:
        if isinstance(table, pa.Table):
            writer.write_table(table)
        else:
            for batch in table.to_batches():
                writer.write_batch(batch)


def read(source: pa.NativeFile, kind: str, wanted: Any, columns: list[str] | None) -> Any:
    """The stored value as the consuming asset wants it; pickles only where the caller allowed."""
    if kind == PARQUET:
        return read_table(source, wanted, columns)
    if kind == JSON:
        return read_json(source, wanted)
    return pickle.loads(source.read())


def read_table(source: pa.NativeFile, wanted: Any, columns: list[str] | None) -> Any:
    """Read only the requested columns, as the type the consuming asset annotates.

    Unannotated inputs get a pyarrow Table: pyarrow is the one table library every repo has.
    """
    table = pq.read_table(source, columns=columns)
    library = getattr(wanted, "__module__", "") or ""
    if library.startswith("pandas"):
        return table.to_pandas(split_blocks=True, self_destruct=True)
    if library.startswith("polars"):
        import polars

        return polars.from_arrow(table)
    return table


def read_json(source: pa.NativeFile, wanted: Any) -> Any:
    value = json.loads(source.read())
    if wanted in (datetime.date, datetime.datetime):
        return wanted.fromisoformat(value)
    return value


def is_lazy(wanted: Any) -> bool:
    """Inputs annotated `pyarrow.dataset.Dataset` or `polars.LazyFrame` read nothing up front."""
    name = f"{getattr(wanted, '__module__', '')}.{getattr(wanted, '__qualname__', '')}"
    return name.startswith("pyarrow._dataset.") or name == "polars.lazyframe.frame.LazyFrame"


def lazy(wanted: Any, sources: list[tuple[Any, Any, dict[str, str]]]) -> Any:
    """A dataset over stored Parquet objects, each with its Hive columns as a partition filter.

    Filters on those columns skip whole objects; filters on others skip row groups; only the
    selected columns are fetched.
    """
    import pyarrow.compute as pc
    import pyarrow.dataset as ds

    parquet = ds.ParquetFileFormat()
    fragments = []
    for source, filesystem, columns in sources:
        condition = pc.scalar(True)
        for name, value in columns.items():
            condition = condition & (pc.field(name) == value)
        fragments.append(
            parquet.make_fragment(source, filesystem=filesystem, partition_expression=condition)
        )
    schema = fragments[0].physical_schema if fragments else pa.schema([])
    for name in sources[0][2] if sources else {}:
        schema = schema.append(pa.field(name, pa.string()))
    dataset = ds.FileSystemDataset(fragments, schema, parquet)
    if wanted.__module__.startswith("polars"):
        import polars

        return polars.scan_pyarrow_dataset(dataset)
    return dataset


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
