"""The per-category rank→demand curve `share(p) ∝ p^-b` (docs/signals.md §4), fitted from the demand
evidence the history holds:

- **own-listing sales**: `sold_quantity` growth on entries of a seller's own listings (only the
  listing's owner sees it, so it exists only where a seller connected their account);
- **review-count growth**: buyers review a roughly constant share of what they buy, so the rate at
  which a product gains reviews while it sits at position p is proportional to its sales there.

Totals are read now and then (reviews every couple of days, FetchConfig.reviews_ttl), and the
snapshots in between repeat the last reading. For each (site, category) and each evidence kind, the
unit of evidence is a reading interval: a product's stay in the list between two consecutive changes
of its total, with the growth over it and the (time-weighted geometric) mean position it held. Per
position, the growth per hour over all the time spent there (growth summed over hours summed) is
regressed on the position in log-log space (ordinary least squares over the positions with a
positive rate): the slope is `-b`, `b_stderr` the slope's standard error, and `n` the product-snapshot
steps the intervals cover. Sales evidence wins when a category has enough of it (at least
`min_positions` positions and `min_observations` steps); otherwise reviews. Categories with too
little evidence get no item (the scorer keeps its default, and says so).
"""

from __future__ import annotations

from pyspark.sql import DataFrame
from pyspark.sql import Window as W
from pyspark.sql import functions as F

from .signals import LIST

MIN_POSITIONS = 5
MIN_OBSERVATIONS = 200


EVIDENCE = (("sales", "sold_quantity"), ("reviews", "reviews_total"))


def _intervals(entries: DataFrame, evidence: str, column: str) -> DataFrame:
    """The reading intervals of one total (`reviews_total` or `sold_quantity`).

    A total is read when the fetcher refreshes it, which for reviews is every couple of days
    (FetchConfig.reviews_ttl), not at every snapshot: between two readings the snapshots repeat the
    last value. So the unit of evidence is the interval between two consecutive *changes* of a
    product's total while it stays in the list (in every snapshot of it, in order): it starts at a
    snapshot that shows a new value (a reading) and ends at the next one, and its growth happened
    while the product held the positions of the snapshots in between. Before the first change of a
    stay, when the value was read is unknown, so that stretch gives nothing. Every consecutive pair
    of snapshots of the interval is one piece: its hours, and the position in the later snapshot.
    """
    e = entries.where(F.col(column).isNotNull()).select(*LIST, "t", "k", "id", "position", F.col(column).alias("v"))
    wp = W.partitionBy(*LIST, "id").orderBy("t")
    step = (F.lag("k").over(wp) == F.col("k") - 1) & (F.lag("t").over(wp) < F.col("t"))
    e = e.select(
        "*",
        F.coalesce(step, F.lit(False)).alias("step"),
        ((F.col("t") - F.lag("t").over(wp)).cast("double") / 3600.0).alias("hours"),
        (F.col("v") - F.lag("v").over(wp)).alias("dv"),
    )
    # A stay: a run of consecutive snapshots of the list holding the product.
    e = e.select("*", F.sum(F.when(F.col("step"), 0).otherwise(1)).over(wp).alias("stay"))
    chg = (F.col("step") & (F.col("dv") != 0)).cast("int")
    ws = W.partitionBy(*LIST, "id", "stay").orderBy("t")
    # The interval a piece belongs to: the number of changes before it (a change closes an interval).
    e = e.where(F.col("step")).select("*", chg.alias("chg"), (F.sum(chg).over(ws) - chg).alias("j"))
    per = (
        e.where(F.col("j") >= 1)
        .groupBy(*LIST, "id", "stay", "j")
        .agg(
            F.sum("dv").alias("growth"),
            F.sum("hours").alias("hours"),
            F.sum(F.col("hours") * F.log(F.col("position").cast("double"))).alias("hlogp"),
            F.count(F.lit(1)).alias("steps"),
            F.sum("chg").alias("closed"),
        )
    )
    # Only closed intervals (the next reading was seen), positive time, no shrinking totals.
    per = per.where((F.col("closed") == 1) & (F.col("hours") > 0) & (F.col("growth") >= 0))
    return per.select(
        *LIST,
        F.lit(evidence).alias("evidence"),
        # The interval's (time-weighted geometric) mean position.
        F.greatest(F.round(F.exp(F.col("hlogp") / F.col("hours"))), F.lit(1.0)).cast("int").alias("position"),
        F.col("growth").cast("double").alias("growth"),
        "hours",
        "steps",
    )


def observations(prepared: DataFrame) -> DataFrame:
    """(site, category, evidence, position, growth, hours, steps): one row per reading interval
    (`_intervals`) of each evidence kind; `prepared` is `signals.prepare`'s output."""
    wl = W.partitionBy(*LIST).orderBy("t")
    s = prepared.select(*LIST, "t", "entries", F.row_number().over(wl).alias("k"))
    e = s.select(*LIST, "t", "k", F.explode("entries").alias("e")).select(
        *LIST, "t", "k", "e.id", "e.position", "e.reviews_total", "e.sold_quantity"
    ).where(F.col("position") >= 1)
    out = None
    for evidence, column in EVIDENCE:
        part = _intervals(e, evidence, column)
        out = part if out is None else out.unionByName(part)
    return out


def fit(prepared: DataFrame, min_positions: int = MIN_POSITIONS, min_observations: int = MIN_OBSERVATIONS) -> DataFrame:
    """(site, category, b, b_stderr, n, positions, evidence): one row per category with enough
    evidence."""
    obs = observations(prepared)
    keys = [*LIST, "evidence"]
    # Per position: the growth per hour over all the time spent there (a ratio of sums, so long
    # intervals weigh by their length); `n` counts product-snapshot steps.
    per_pos = (
        obs.groupBy(*keys, "position")
        .agg((F.sum("growth") / F.sum("hours")).alias("rate"), F.sum("steps").alias("n"))
        .where(F.col("rate") > 0)
        .select(*keys, F.log(F.col("position").cast("double")).alias("x"), F.log("rate").alias("y"), "n")
    )
    sums = per_pos.groupBy(*keys).agg(
        F.count(F.lit(1)).alias("m"),
        F.sum("n").alias("n"),
        F.avg("x").alias("mx"),
        F.avg("y").alias("my"),
    )
    dev = per_pos.join(sums, on=keys).select(
        *keys, (F.col("x") - F.col("mx")).alias("dx"), (F.col("y") - F.col("my")).alias("dy")
    )
    moments = dev.groupBy(*keys).agg(
        F.sum(F.col("dx") * F.col("dx")).alias("sxx"),
        F.sum(F.col("dx") * F.col("dy")).alias("sxy"),
        F.sum(F.col("dy") * F.col("dy")).alias("syy"),
    )
    f = sums.join(moments, on=keys).where(
        (F.col("m") >= min_positions) & (F.col("n") >= min_observations) & (F.col("sxx") > 0)
    )
    slope = F.col("sxy") / F.col("sxx")
    # Residual sum of squares of the fit: syy − slope·sxy (≥ 0 up to rounding).
    rss = F.greatest(F.col("syy") - slope * F.col("sxy"), F.lit(0.0))
    fitted = f.select(
        *keys,
        (-slope).alias("b"),
        F.sqrt(rss / (F.col("m") - 2) / F.col("sxx")).alias("b_stderr"),
        F.col("n").cast("long").alias("n"),
        F.col("m").cast("int").alias("positions"),
    )
    # Sales evidence first, then reviews.
    rank = F.row_number().over(
        W.partitionBy(*LIST).orderBy(F.when(F.col("evidence") == "sales", 0).otherwise(1))
    )
    return fitted.select("*", rank.alias("r")).where(F.col("r") == 1).drop("r")


def items(fitted_rows: list, fitted_at: str) -> list[dict]:
    """The `CAL#{site}#{cat}` / `RANKCURVE` items (docs/signals.md §4) of collected `fit` rows."""
    out = []
    for r in fitted_rows:
        out.append(
            {
                "pk": f"CAL#{r['site']}#{r['category']}",
                "sk": "RANKCURVE",
                "b": float(r["b"]),
                "b_stderr": float(r["b_stderr"]),
                "fitted_at": fitted_at,
                "n": int(r["n"]),
            }
        )
    return sorted(out, key=lambda i: i["pk"])
