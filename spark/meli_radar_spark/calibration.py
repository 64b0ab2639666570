"""The per-category rank→demand curve `share(p) ∝ p^-b` (docs/signals.md §4), fitted from the demand
evidence the history holds:

- **own-listing sales**: `sold_quantity` growth on entries of a seller's own listings (only the
  listing's owner sees it, so it exists only where a seller connected their account);
- **review-count growth**: buyers review a roughly constant share of what they buy, so the rate at
  which a product gains reviews while it sits at position p is proportional to its sales there.

For each (site, category) and each evidence kind: every product seen in two consecutive snapshots
with a total on both sides gives one observation, its growth per hour, attributed to its position in
the later snapshot. The mean growth per position is regressed on the position in log-log space
(ordinary least squares over the positions with a positive mean): the slope is `-b`, and `b_stderr`
is the slope's standard error. Sales evidence wins when a category has enough of it (at least
`min_positions` positions and `min_observations` observations); otherwise reviews. Categories with too little evidence get no item (the
scorer keeps its default, and says so).
"""

from __future__ import annotations

from pyspark.sql import DataFrame
from pyspark.sql import Window as W
from pyspark.sql import functions as F

from .signals import LIST

MIN_POSITIONS = 5
MIN_OBSERVATIONS = 200


def observations(prepared: DataFrame) -> DataFrame:
    """(site, category, evidence, position, growth per hour) for consecutive appearances of a product
    in consecutive snapshots of its list (`prepared` is `signals.prepare`'s output)."""
    wl = W.partitionBy(*LIST).orderBy("t")
    s = prepared.select(*LIST, "t", "entries", F.row_number().over(wl).alias("k"))
    e = s.select(*LIST, "t", "k", F.explode("entries").alias("e")).select(
        *LIST, "t", "k", "e.id", "e.position", "e.reviews_total", "e.sold_quantity"
    )
    wp = W.partitionBy(*LIST, "id").orderBy("t")
    e = e.select(
        "*",
        F.lag("k").over(wp).alias("lag_k"),
        F.lag("t").over(wp).alias("lag_t"),
        F.lag("reviews_total").over(wp).alias("lag_reviews"),
        F.lag("sold_quantity").over(wp).alias("lag_sold"),
    ).where((F.col("lag_k") == F.col("k") - 1) & (F.col("t") > F.col("lag_t")))
    hours = (F.col("t") - F.col("lag_t")).cast("double") / 3600.0
    ev = F.explode(
        F.filter(
            F.array(
                F.when(
                    F.col("reviews_total").isNotNull() & F.col("lag_reviews").isNotNull(),
                    F.struct(
                        F.lit("reviews").alias("evidence"),
                        ((F.col("reviews_total") - F.col("lag_reviews")) / hours).alias("growth"),
                    ),
                ),
                F.when(
                    F.col("sold_quantity").isNotNull() & F.col("lag_sold").isNotNull(),
                    F.struct(
                        F.lit("sales").alias("evidence"),
                        ((F.col("sold_quantity") - F.col("lag_sold")) / hours).alias("growth"),
                    ),
                ),
            ),
            lambda x: x.isNotNull(),
        )
    )
    return e.select(*LIST, "position", ev.alias("o")).select(*LIST, "position", "o.evidence", "o.growth")


def fit(prepared: DataFrame, min_positions: int = MIN_POSITIONS, min_observations: int = MIN_OBSERVATIONS) -> DataFrame:
    """(site, category, b, b_stderr, n, positions, evidence): one row per category with enough
    evidence."""
    obs = observations(prepared)
    keys = [*LIST, "evidence"]
    per_pos = (
        obs.groupBy(*keys, "position")
        .agg(F.avg("growth").alias("mean_growth"), F.count(F.lit(1)).alias("n"))
        .where((F.col("mean_growth") > 0) & (F.col("position") >= 1))
        .select(*keys, F.log(F.col("position").cast("double")).alias("x"), F.log("mean_growth").alias("y"), "n")
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
