"""DataFrame rows as plain JSON objects, times as RFC 3339 UTC strings (the vectors' shape; small
results only: this collects to the driver)."""

from __future__ import annotations

import json

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

TS_FORMAT = "yyyy-MM-dd'T'HH:mm:ss'Z'"


def rows(df: DataFrame) -> list[dict]:
    out = df.select(F.to_json(F.struct(*df.columns), {"timestampFormat": TS_FORMAT}).alias("j")).collect()
    return [json.loads(r["j"]) for r in out]
