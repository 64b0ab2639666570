"""The one reader of the history: DynamoDB-JSON export files, as written by DynamoDB's export to S3
(``AWSDynamoDB/<id>/data/*.json.gz``) and by ``meli-radar export --format ndjson`` (``data/*.json``).
Each line is ``{"Item": {<attribute>: {"S"|"N"|"L"|"M"|"BOOL"|"NULL": ...}}}``. A snapshot item's
``entries`` is one string, a JSON text of columns (``{"id": [19615337, "MLBU2811003407"], "type": "PU",
"resolution": "RO", "price": [4599, null], "currency": "BRL", ...}``; crates/core/src/snapshot.rs,
``entries_to_columns``): an id of the item's site followed by a number is that number (a string is a
whole id), ``position`` is left out when the positions are 1…n in column order, ``type`` and
``resolution`` are one letter per entry, the currency is written once when every entry with a price
shares it and the others have none, a field no entry has is left out. ``site``, ``category`` and
``taken_at`` are read from the keys when the item does not store them. It carries no title, brand or
link: those are in the product items (``PROD#{site}#{id}`` / ``META``), joined on site and id
(``with_names``); nor the price range and seller count. Items written before are read too: whole ids,
positions, site/category/taken_at attributes; columns with titles, long type names and a currency per
entry; and before that a list of maps.

Parsing is ``from_json`` against a typed schema (no Python in the per-row path). Lines that are not
items, and items that are not snapshots, are counted, never fatal.
"""

from __future__ import annotations

import json
import math
import os
from typing import Iterable

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql import types as T

# The snapshot as the job works with it (the shape of crates/core/src/snapshot.rs).
ENTRY_TYPE = T.StructType(
    [
        T.StructField("position", T.IntegerType()),
        T.StructField("id", T.StringType()),
        T.StructField("type", T.StringType()),
        T.StructField("title", T.StringType()),
        T.StructField("brand", T.StringType()),
        T.StructField("permalink", T.StringType()),
        T.StructField("price", T.DoubleType()),
        T.StructField("currency", T.StringType()),
        T.StructField("reviews_total", T.LongType()),
        T.StructField("rating", T.DoubleType()),
        # Own-listing sales: only present on entries of a seller's own listings (sold_quantity is
        # visible to the listing's owner only); the calibration prefers it when a category has it.
        T.StructField("sold_quantity", T.LongType()),
    ]
)
SNAPSHOT_SCHEMA = T.StructType(
    [
        T.StructField("site", T.StringType()),
        T.StructField("category", T.StringType()),
        T.StructField("taken_at", T.StringType()),
        T.StructField("entries", T.ArrayType(ENTRY_TYPE)),
    ]
)

# The stored entries' columns: one array per entry field, except `type` and `currency`, read as text:
# Spark keeps a JSON value that is not a string as its JSON text, so a string of codes (or one currency)
# and an array (items written before) both arrive, and are told apart by a leading "[".
_TEXT_COLUMNS = ("type", "currency")
_COLUMNS_SCHEMA = T.StructType(
    [
        T.StructField(f.name, T.StringType() if f.name in _TEXT_COLUMNS else T.ArrayType(f.dataType))
        for f in ENTRY_TYPE.fields
    ]
)
# The one-letter codes of the `type` column (crates/core/src/snapshot.rs, `Coded`).
_TYPE_CODES = {"I": "ITEM", "P": "PRODUCT", "U": "USER_PRODUCT"}

_S = T.StructType([T.StructField("S", T.StringType())])
_N = T.StructType([T.StructField("N", T.StringType())])
_ENTRY_DYNAMO = T.StructType(
    [
        T.StructField(f.name, _N if isinstance(f.dataType, (T.IntegerType, T.LongType, T.DoubleType)) else _S)
        for f in ENTRY_TYPE.fields
    ]
)
_LINE_SCHEMA = T.StructType(
    [
        T.StructField(
            "Item",
            T.StructType(
                [
                    T.StructField("pk", _S),
                    T.StructField("sk", _S),
                    T.StructField("site", _S),
                    T.StructField("category", _S),
                    T.StructField("taken_at", _S),
                    # Calibration items (CAL#…/RANKCURVE).
                    T.StructField("b", _N),
                    T.StructField("b_stderr", _N),
                    T.StructField("fitted_at", _S),
                    T.StructField("n", _N),
                    # Product items (PROD#…/META): the names.
                    T.StructField("title", _S),
                    T.StructField("brand", _S),
                    T.StructField("permalink", _S),
                    T.StructField(
                        "entries",
                        T.StructType(
                            [
                                T.StructField("L", T.ArrayType(T.StructType([T.StructField("M", _ENTRY_DYNAMO)]))),
                                T.StructField("S", T.StringType()),
                            ]
                        ),
                    ),
                ]
            ),
        )
    ]
)


def _entry_from_dynamo(m):
    """A DynamoDB map of an entry → the ENTRY_TYPE struct (numbers are strings in DynamoDB JSON)."""
    cols = []
    for f in ENTRY_TYPE.fields:
        if isinstance(f.dataType, (T.IntegerType, T.LongType, T.DoubleType)):
            cols.append(m[f.name]["N"].cast(f.dataType).alias(f.name))
        else:
            cols.append(m[f.name]["S"].alias(f.name))
    return F.struct(*cols)


def _entries_from_columns(text, site):
    """The JSON text of columns of an item of ``site`` → an array of ENTRY_TYPE structs, one per id (a
    missing column gives nulls; ``get`` is null past an array's end, never an error)."""
    c = F.from_json(text, _COLUMNS_SCHEMA)
    codes = F.create_map(*[F.lit(x) for kv in _TYPE_CODES.items() for x in kv])

    def text_column(name, x, i, one):
        raw = c[name]
        listed = F.get(F.from_json(raw, T.ArrayType(T.StringType())), i)
        return F.when(raw.startswith("["), listed).otherwise(one(raw, i))

    def field(f, x, i):
        if f.name == "id":
            # A number (Spark keeps its JSON text) is an id of the item's site; a whole id never is
            # all digits (it starts with its site).
            return F.when(x.rlike("^[0-9]+$"), F.concat(site, x)).otherwise(x)
        if f.name == "position":
            # No position column: the positions are 1…n in column order.
            return F.coalesce(F.get(c["position"], i), i + 1)
        if f.name == "type":
            return text_column("type", x, i, lambda raw, i: F.try_element_at(codes, raw.substr(i + 1, F.lit(1))))
        if f.name == "currency":
            # One currency: that of every entry with a price (the others have none).
            return text_column("currency", x, i, lambda raw, i: F.when(F.get(c["price"], i).isNotNull(), raw))
        return F.get(c[f.name], i)

    return F.transform(c["id"], lambda x, i: F.struct(*[field(f, x, i).alias(f.name) for f in ENTRY_TYPE.fields]))


def read_lines(spark: SparkSession, path: str) -> DataFrame:
    """The text lines of every ``*.json`` / ``*.json.gz`` file under ``path`` (a file or a folder,
    local or ``s3://``)."""
    reader = spark.read.option("recursiveFileLookup", "true").option("pathGlobFilter", "*.json*")
    lines = reader.text(path)
    # DynamoDB's manifest-summary.json / manifest-files.json describe the export; they hold no items.
    return lines.where(~F.regexp_extract(F.input_file_name(), r"([^/]*)$", 1).startswith("manifest"))


def parse_items(lines: DataFrame) -> DataFrame:
    """Lines → one row per line: ``item`` (null for a line that is not an export item)."""
    return lines.select(F.from_json(F.col("value"), _LINE_SCHEMA, {"mode": "PERMISSIVE"})["Item"].alias("item"))


def snapshots_from_items(items: DataFrame) -> DataFrame:
    """Snapshot items (``CAT#…`` / ``SNAP#…``) → SNAPSHOT_SCHEMA rows."""
    it = F.col("item")
    snaps = items.where(
        it.isNotNull() & it["pk"]["S"].startswith("CAT#") & it["sk"]["S"].startswith("SNAP#")
    )
    # site/category from the attributes, else from the key (CAT#{site}#{cat}); the time likewise
    # (SNAP#{time}): items store them only when the keys do not give them back.
    pk_parts = F.split(it["pk"]["S"], "#")
    site = F.coalesce(it["site"]["S"], pk_parts.getItem(1))
    return snaps.select(
        site.alias("site"),
        F.coalesce(it["category"]["S"], pk_parts.getItem(2)).alias("category"),
        F.coalesce(it["taken_at"]["S"], F.substring(it["sk"]["S"], 6, 64)).alias("taken_at"),
        F.coalesce(
            F.transform(it["entries"]["L"], lambda e: _entry_from_dynamo(e["M"])),
            _entries_from_columns(it["entries"]["S"], site),
            F.array(),
        ).alias("entries"),
    )


def names_from_items(items: DataFrame) -> DataFrame:
    """Product items (``PROD#{site}#{id}`` / ``META``) → (site, id, title, brand, permalink)."""
    it = F.col("item")
    meta = items.where(it.isNotNull() & it["pk"]["S"].startswith("PROD#") & (it["sk"]["S"] == "META"))
    parts = F.split(it["pk"]["S"], "#")
    return meta.select(
        parts.getItem(1).alias("site"),
        parts.getItem(2).alias("id"),
        it["title"]["S"].alias("title"),
        it["brand"]["S"].alias("brand"),
        it["permalink"]["S"].alias("permalink"),
    )


def with_names(snaps: DataFrame, names: DataFrame) -> DataFrame:
    """The snapshots with the names of their entries: an entry without title, brand and link (a slim
    item) takes its product item's; one that has them (an item written before) keeps its own. The
    names go to every snapshot of a site as one map (a broadcast join on the site, no shuffle of the
    entries)."""
    per_site = (
        names.groupBy("site", "id")
        .agg(*[F.first(c, ignorenulls=True).alias(c) for c in ("title", "brand", "permalink")])
        .groupBy("site")
        .agg(F.map_from_entries(F.collect_list(F.struct("id", F.struct("title", "brand", "permalink")))).alias("_names"))
    )
    joined = snaps.join(F.broadcast(per_site), on="site", how="left")

    def fill(e):
        n = F.try_element_at(F.col("_names"), e["id"])
        bare = e["title"].isNull() & e["brand"].isNull() & e["permalink"].isNull()
        named = e.withField("title", n["title"]).withField("brand", n["brand"]).withField("permalink", n["permalink"])
        return F.when(bare & n.isNotNull(), named).otherwise(e)

    return joined.select(*[F.transform("entries", fill).alias(c) if c == "entries" else c for c in snaps.columns])


def calibration_from_items(items: DataFrame) -> DataFrame:
    """Calibration items (``CAL#{site}#{cat}`` / ``RANKCURVE``) → (site, category, b, b_stderr,
    fitted_at, n): the curves the scorer was using."""
    it = F.col("item")
    cal = items.where(it.isNotNull() & it["pk"]["S"].startswith("CAL#") & (it["sk"]["S"] == "RANKCURVE"))
    parts = F.split(it["pk"]["S"], "#")
    return cal.select(
        parts.getItem(1).alias("site"),
        parts.getItem(2).alias("category"),
        it["b"]["N"].cast("double").alias("b"),
        it["b_stderr"]["N"].cast("double").alias("b_stderr"),
        it["fitted_at"]["S"].alias("fitted_at"),
        it["n"]["N"].cast("long").alias("n"),
    )


def read_export(spark: SparkSession, path: str) -> tuple[DataFrame, DataFrame, dict]:
    """The snapshots (with their entries' names from the product items) and the calibration items of
    an export, and counts of what was read (lines, items, snapshots, and lines that were not items)."""
    items = parse_items(read_lines(spark, path)).cache()
    counts = items.agg(
        F.count(F.lit(1)).alias("lines"),
        F.count("item").alias("items"),
        F.sum(
            F.when(
                F.col("item")["pk"]["S"].startswith("CAT#") & F.col("item")["sk"]["S"].startswith("SNAP#"), 1
            ).otherwise(0)
        ).alias("snapshots"),
    ).first()
    stats = {
        "lines": counts["lines"],
        "items": counts["items"],
        "snapshots": counts["snapshots"] or 0,
        "not_items": counts["lines"] - counts["items"],
    }
    snaps = with_names(snapshots_from_items(items), names_from_items(items))
    return snaps, calibration_from_items(items), stats


def snapshots_from_json(spark: SparkSession, snapshots: Iterable[dict]) -> DataFrame:
    """Snapshots as JSON objects (the vectors' and `meli-radar score --input`'s shape) →
    SNAPSHOT_SCHEMA rows."""
    lines = [(json.dumps(s),) for s in snapshots]
    df = spark.createDataFrame(lines, "j string")
    return df.select(F.from_json("j", SNAPSHOT_SCHEMA).alias("s")).select("s.*")


# ---------------------------------------------------------------------------------------------
# Writing items (the calibration): plain JSON values → DynamoDB JSON, one {"Item": …} per line.


def to_dynamo(value):
    """A JSON value in DynamoDB's typed JSON (what the export has and ``meli-radar import`` reads)."""
    if value is None:
        return {"NULL": True}
    if isinstance(value, bool):
        return {"BOOL": value}
    if isinstance(value, int):
        return {"N": str(value)}
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"DynamoDB has no number for {value}")
        return {"N": repr(value)}
    if isinstance(value, str):
        return {"S": value}
    if isinstance(value, (list, tuple)):
        return {"L": [to_dynamo(v) for v in value]}
    if isinstance(value, dict):
        return {"M": {k: to_dynamo(v) for k, v in value.items()}}
    raise TypeError(f"cannot write {type(value).__name__} as DynamoDB JSON")


def write_items(items: list[dict], path: str) -> None:
    """Writes plain items as a DynamoDB-JSON export file (local path), replacing it."""
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        for item in items:
            f.write(json.dumps({"Item": {k: to_dynamo(v) for k, v in item.items()}}, sort_keys=True))
            f.write("\n")
    os.replace(tmp, path)
