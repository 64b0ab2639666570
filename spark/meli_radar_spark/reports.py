"""The reports that need the whole history (all of them from the signals, so they agree with them):

- ``volatility``: category volatility over time — per list and day, the mean and max volatility and
  churn against the previous list, entrants, and snapshots;
- ``time_to_number_one``: per product that reached #1 after the list's first snapshot, the hours from
  its first appearance to its first time at #1 (``time_to_number_one_summary``: count, mean and
  percentiles per list);
- ``breakouts``: products classed ``breakout`` (docs/signals.md §3), per list and day, with their
  best position and largest 24 h climb;
- ``diffusion``: cross-country diffusion — brands (and titles) that rose (trend ``rising``,
  ``breakout`` or ``new`` in a top 10) in one site before another: the leader site, the follower site
  and the lag in hours.
"""

from __future__ import annotations

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from .signals import LIST


def _day(c: str = "taken_at"):
    return F.date_format(F.col(c), "yyyy-MM-dd")


def volatility(categories: DataFrame) -> DataFrame:
    return (
        categories.withColumn("date", _day())
        .groupBy(*LIST, "date")
        .agg(
            F.count(F.lit(1)).alias("snapshots"),
            F.avg("volatility").alias("volatility_mean"),
            F.max("volatility").alias("volatility_max"),
            F.avg("churn").alias("churn_mean"),
            F.sum("entrants").alias("entrants"),
            F.avg("list_length").alias("list_length_mean"),
        )
    )


def time_to_number_one(products: DataFrame) -> tuple[DataFrame, DataFrame]:
    started = products.groupBy(*LIST).agg(F.min("taken_at").alias("list_started"))
    per = (
        products.groupBy(*LIST, "id")
        .agg(
            F.min("first_seen").alias("first_seen"),
            F.min(F.when(F.col("position") == 1, F.col("taken_at"))).alias("first_number_one"),
            F.first("title", ignorenulls=True).alias("title"),
            F.first("brand", ignorenulls=True).alias("brand"),
        )
        .join(started, on=LIST)
        # Products of the first snapshot have no known start: the list's history begins with them.
        .where(F.col("first_number_one").isNotNull() & (F.col("first_seen") > F.col("list_started")))
        .select(
            *LIST,
            "id",
            "title",
            "brand",
            "first_seen",
            "first_number_one",
            ((F.unix_timestamp("first_number_one") - F.unix_timestamp("first_seen")) / 3600.0).alias("hours"),
            F.date_format("first_number_one", "yyyy-MM-dd").alias("date"),
        )
    )
    summary = per.groupBy(*LIST).agg(
        F.count(F.lit(1)).alias("products"),
        F.avg("hours").alias("hours_mean"),
        F.percentile_approx("hours", 0.5).alias("hours_p50"),
        F.percentile_approx("hours", 0.9).alias("hours_p90"),
        F.min("hours").alias("hours_min"),
        F.max("hours").alias("hours_max"),
        F.max("date").alias("date"),
    )
    return per, summary


def breakouts(products: DataFrame) -> DataFrame:
    return (
        products.where(F.col("trend") == "breakout")
        .withColumn("date", _day())
        .groupBy(*LIST, "date", "id")
        .agg(
            F.min("taken_at").alias("first_breakout"),
            F.count(F.lit(1)).alias("snapshots"),
            F.min("position").alias("best_position"),
            F.max("change_24h").alias("max_change_24h"),
            F.first("title", ignorenulls=True).alias("title"),
            F.first("brand", ignorenulls=True).alias("brand"),
        )
    )


def _norm(c):
    """A matching key: lower case, letters and digits only, single spaces."""
    return F.trim(F.regexp_replace(F.lower(c), r"[^\p{L}\p{N}]+", " "))


def diffusion(products: DataFrame, top: int = 10) -> DataFrame:
    rising = products.where(F.col("trend").isin("rising", "breakout", "new") & (F.col("position") <= top))
    keyed = rising.select(
        "site", "taken_at", F.explode(
            F.filter(
                F.array(
                    F.struct(F.lit("brand").alias("kind"), _norm(F.col("brand")).alias("key")),
                    F.struct(F.lit("title").alias("kind"), _norm(F.col("title")).alias("key")),
                ),
                lambda x: x["key"].isNotNull() & (F.length(x["key"]) > 0),
            )
        ).alias("k"),
    ).select("site", "taken_at", "k.kind", "k.key")
    first = keyed.groupBy("kind", "key", "site").agg(F.min("taken_at").alias("first_rise"))
    a, b = first.alias("a"), first.alias("b")
    pairs = a.join(
        b, (F.col("a.kind") == F.col("b.kind")) & (F.col("a.key") == F.col("b.key")) & (F.col("a.site") != F.col("b.site"))
    ).where(F.col("a.first_rise") < F.col("b.first_rise"))
    return pairs.select(
        F.col("a.kind").alias("kind"),
        F.col("a.key").alias("key"),
        F.col("a.site").alias("site"),  # the leader
        F.col("b.site").alias("follower_site"),
        F.col("a.first_rise").alias("leader_first_rise"),
        F.col("b.first_rise").alias("follower_first_rise"),
        ((F.unix_timestamp(F.col("b.first_rise")) - F.unix_timestamp(F.col("a.first_rise"))) / 3600.0).alias(
            "lag_hours"
        ),
        F.date_format(F.col("a.first_rise"), "yyyy-MM-dd").alias("date"),
    )
