"""Where each value and its history live in the shared storage: the layout other tools read.

Template-owned: `cruft update` replaces this file; changes go to the platform team's template.

    <base>/<asset key parts>.<format>
    <base>/<asset key parts>/partition=<key>/data.<format>            one partition
    <base>/<asset key parts>/<dimension>=<key>/.../data.<format>      multi-partitions
    <base>/storage/<run id>/<step>/<output>.<format>                  op outputs

`<format>` is `parquet`, `json` or, by opt-in, `pickle`. Key parts and partition keys are
percent-escaped like URLs, so `a/b`, `..` or `日本` stay one folder name; plain names (letters,
digits, `_`, `-`, `.`) are written as they are. A leading `.` is escaped too: names starting with
`.` are the store's own, which readers of the layout skip.

The history of `<base>/<first part>/<rest>.<format>` is kept in
`<base>/<first part>/.versions/<rest>@/`: inside the owning team's prefix (its write rules cover
it), outside every asset's folder, so a folder read sees exactly the current objects.
"""

from urllib.parse import quote, unquote

import dagster as dg

PARTITION_FILE = "data"
HISTORY = ".versions"


def escape(name: str) -> str:
    """One folder or file name for any key part or partition key, and the same one every time."""
    escaped = quote(name, safe="")
    return "%2E" + escaped[1:] if escaped.startswith(".") else escaped


def partition_dirs(partition: str) -> str:
    """Hive-style folders, which DuckDB, Athena, Spark and pyarrow datasets turn into columns."""
    if isinstance(partition, dg.MultiPartitionKey):
        items = sorted(partition.keys_by_dimension.items())
    else:
        items = [("partition", partition)]
    return "/".join(f"{dimension}={escape(key)}" for dimension, key in items)


def partition_key(dirs: str) -> str:
    """The Dagster partition key that `partition_dirs` stored in these folders."""
    values = [unquote(folder.partition("=")[2]) for folder in dirs.split("/")]
    return "|".join(values)  # a multi-partition key joins its dimensions' keys, sorted by name


def object_stem(root: str, key_parts: list[str], dirs: str | None) -> str:
    """Where a value goes, without its format's extension."""
    path = "/".join([root, *map(escape, key_parts)])
    return f"{path}/{dirs}/{PARTITION_FILE}" if dirs else path


def history_dir(root: str, stem: str) -> str:
    """Where the versions of every format of the value at `stem` are kept and journaled."""
    first, _, rest = stem.removeprefix(root + "/").partition("/")
    if not rest:  # a one-part key is a folder of its own: its history sits beside it
        return f"{root}/{HISTORY}/{first}@"
    return f"{root}/{first}/{HISTORY}/{rest}@"
