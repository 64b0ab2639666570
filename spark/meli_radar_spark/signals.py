"""Per-product and per-category signals and events of docs/signals.md, over a whole history.

The Rust scorer scores one snapshot at a time against its lookback; here every snapshot of every
list is scored at once, as if the snapshots had been scored in time order (what `score_series` does),
with window functions over two partitionings:

- the list (`site`, `category`) ordered by time: the previous list `P`, the 24 h reference `R24`, the
  trend reference, the history size, volatility, churn and their 24 h means;
- the product within its list ordered by time: first seen, the previous position, the positions at
  the references, the reviews reference, momentum (decayed sums over a range window, see
  `_decay_sums`), dwell runs and the top-N hysteresis state (gaps and islands: the start of the
  current run and the last time in the zone); and the product within its list and currency, for the
  rolling price minimum.

All of it is native Spark SQL (window functions, and a few higher-order functions over the ≤ 20
positions of a list for volatility): no Python UDF.

Re-arm is sequential per (list, key kind, product): candidate times are collected and folded with
`aggregate` (an event fires when the last one that fired is more than `rearm_secs` before it).

Times are epoch seconds (`t`) inside; the outputs carry timestamps.
"""

from __future__ import annotations

from dataclasses import dataclass

from pyspark import StorageLevel
from pyspark.sql import Column, DataFrame
from pyspark.sql import Window as W
from pyspark.sql import functions as F

from .config import DAY_SECS, SignalConfig

LIST = ["site", "category"]


@dataclass
class Signals:
    products: DataFrame  # one row per entry of every non-empty snapshot
    categories: DataFrame  # one row per non-empty snapshot
    events: DataFrame  # the events that fired (re-arm applied)
    suppressed: DataFrame  # per list: events held back by re-arm


def _lit_long(x: int) -> Column:
    return F.lit(int(x)).cast("long")


def prepare(snaps: DataFrame) -> DataFrame:
    """SNAPSHOT_SCHEMA rows → (site, category, t, entries): non-empty snapshots, one per list and time,
    entries ordered by position. Rows whose time does not parse are dropped (count them with
    `bad_times`)."""
    s = snaps.select(
        *LIST,
        F.unix_timestamp(F.try_to_timestamp(F.col("taken_at"))).alias("t"),
        F.array_sort(
            F.coalesce(F.col("entries"), F.array()),
            lambda a, b: F.when(a["position"] < b["position"], -1).when(a["position"] > b["position"], 1).otherwise(0),
        ).alias("entries"),
    )
    return s.where(F.col("t").isNotNull() & (F.size("entries") > 0)).dropDuplicates([*LIST, "t"])


def bad_times(snaps: DataFrame) -> int:
    return snaps.where(F.try_to_timestamp(F.col("taken_at")).isNull()).count()


def _curve(calibration: DataFrame | None, cfg: SignalConfig) -> DataFrame | None:
    if calibration is None:
        return None
    return calibration.select(
        *LIST,
        F.col("b").cast("double").alias("cal_b"),
        F.col("b_stderr").cast("double").alias("cal_s"),
    ).dropDuplicates(LIST)


def _finite(c: Column) -> Column:
    return c.isNotNull() & ~F.isnan(c) & (F.abs(c) < F.lit(float("inf")))


def list_frame(prepared: DataFrame, cfg: SignalConfig, calibration: DataFrame | None = None) -> DataFrame:
    """One row per non-empty snapshot with what its scoring needs from the list's history."""
    L = cfg.lookback_secs()
    tol = cfg.day_tolerance_secs
    tau = float(max(cfg.momentum_tau_secs, 1))
    wl = W.partitionBy(*LIST).orderBy("t")
    t = F.col("t")

    s = prepared.select(
        *LIST,
        "t",
        "entries",
        F.size("entries").alias("len"),
        F.transform("entries", lambda e: e["id"]).alias("ids"),
        F.map_from_arrays(
            F.transform("entries", lambda e: e["position"]), F.transform("entries", lambda e: e["id"])
        ).alias("occ"),
    ).withColumn("num1", F.try_element_at("occ", F.lit(1)))

    prev_any = F.lag("t").over(wl)
    next_any = F.lead("t").over(wl)
    s = s.select(
        "*",
        F.row_number().over(wl).alias("k"),
        prev_any.alias("prev_any"),
        next_any.alias("next_any"),
        F.lag("len").over(wl).alias("prev_len_any"),
        F.lag("num1").over(wl).alias("prev_num1_any"),
        F.lag("occ").over(wl).alias("prev_occ_any"),
        F.lag("ids").over(wl).alias("prev_ids_any"),
        F.min("t").over(W.partitionBy(*LIST)).alias("list_started"),
        F.count("t").over(wl.rangeBetween(-L, -1)).alias("history_snapshots"),
        F.min("t").over(wl.rangeBetween(-L, -1)).alias("h_first"),
        F.first("len").over(wl.rangeBetween(-L, -1)).alias("h_first_len"),
        F.max("t").over(wl.rangeBetween(W.unboundedPreceding, -DAY_SECS)).alias("r24_before"),
        F.last("len").over(wl.rangeBetween(W.unboundedPreceding, -DAY_SECS)).alias("r24_before_len"),
        F.min("t").over(wl.rangeBetween(-DAY_SECS + 1, -1)).alias("r24_after"),
        F.first("len").over(wl.rangeBetween(-DAY_SECS + 1, -1)).alias("r24_after_len"),
        _decay_sums(
            F.lit(1.0), t, tau, max(cfg.momentum_window_secs, 0), wl.rangeBetween(-max(cfg.momentum_window_secs, 0), 0)
        ).alias("mom_den"),
    )
    has_prev = F.col("prev_any").isNotNull() & (F.col("prev_any") >= t - L)
    target = t - DAY_SECS
    db = target - F.col("r24_before")
    da = F.col("r24_after") - target
    before_ok = F.col("r24_before").isNotNull() & (db <= tol)
    after_ok = F.col("r24_after").isNotNull() & (da <= tol)
    pick_before = before_ok & (~after_ok | (db <= da))
    r24 = F.when(pick_before, F.col("r24_before")).when(after_ok, F.col("r24_after"))
    r24_len = F.when(pick_before, F.col("r24_before_len")).when(after_ok, F.col("r24_after_len"))
    s = s.select(
        *LIST,
        "t",
        "entries",
        "len",
        "ids",
        "occ",
        "num1",
        "k",
        "list_started",
        "history_snapshots",
        "h_first",
        has_prev.alias("has_prev"),
        F.when(has_prev, F.col("prev_any")).alias("p_t"),
        F.when(has_prev, F.col("prev_len_any")).alias("prev_len"),
        F.when(has_prev, F.col("prev_num1_any")).alias("prev_num1"),
        F.when(has_prev, F.col("prev_occ_any")).alias("prev_occ"),
        F.when(has_prev, F.col("prev_ids_any")).alias("prev_ids"),
        F.when(F.col("next_any") - t <= L, F.col("next_any")).alias("next_t"),
        r24.alias("r24_t"),
        F.coalesce(r24, F.col("h_first")).alias("ref_t"),
        # The length of the trend reference (outside(T) = len(T) + 1).
        F.when(r24.isNotNull(), r24_len).otherwise(F.col("h_first_len")).alias("ref_len"),
        "mom_den",
        (F.col("k") == 1).alias("baseline"),
    )

    # Volatility, churn, entrants and exits against P.
    m = F.greatest(F.col("len"), F.coalesce(F.col("prev_len"), F.lit(0)))
    changed = F.size(
        F.filter(
            F.sequence(F.lit(1), F.greatest(m, F.lit(1))),
            lambda p: ~F.try_element_at("occ", p).eqNullSafe(F.try_element_at("prev_occ", p)),
        )
    )
    ent = F.size(F.array_except("ids", "prev_ids"))
    ext = F.size(F.array_except("prev_ids", "ids"))
    s = s.select(
        "*",
        F.when(F.col("has_prev"), changed / m).alias("volatility"),
        F.when(
            F.col("has_prev"),
            F.when((F.col("len") + F.col("prev_len")) > 0, (ent + ext) / (F.col("len") + F.col("prev_len"))).otherwise(
                0.0
            ),
        ).alias("churn"),
        F.when(F.col("has_prev"), ent).otherwise(0).alias("entrants"),
        F.when(F.col("has_prev"), ext).otherwise(0).alias("exits"),
    )

    # The curve: the category's calibration when it is usable, else the default (with a note).
    cal = _curve(calibration, cfg)
    if cal is not None:
        s = s.join(F.broadcast(cal), on=LIST, how="left")
    else:
        s = s.withColumn("cal_b", F.lit(None).cast("double")).withColumn("cal_s", F.lit(None).cast("double"))
    usable = _finite(F.col("cal_b")) & (F.col("cal_b") > 0) & _finite(F.col("cal_s")) & (F.col("cal_s") >= 0)
    s = s.select(
        "*",
        F.when(usable, F.col("cal_b")).otherwise(F.lit(cfg.demand_b)).alias("curve_b"),
        F.when(usable, F.col("cal_s")).otherwise(F.lit(cfg.demand_b_stderr)).alias("curve_s"),
        F.when(usable, "calibrated").otherwise("default").alias("curve_source"),
        F.when(
            F.col("cal_b").isNotNull() & ~usable,
            F.format_string(
                "calibration ignored: b = %s and b_stderr = %s (need a finite b > 0 and a finite b_stderr >= 0)",
                F.col("cal_b"),
                F.col("cal_s"),
            ),
        ).alias("curve_note"),
    ).drop("cal_b", "cal_s")
    return s


def _decay_sums(value: Column, t: Column, tau: float, window_secs: int, w) -> Column:
    """`Σ exp(−(t − t_x)/τ) · value_x` over a range window of `window_secs` seconds, with native window
    sums only. `exp(t_x/τ)` overflows for epoch seconds, so times are taken relative to an anchor
    that changes every `period` seconds (`period/τ` stays far from overflow); a window shorter than
    the period spans at most two anchors, told apart by their parity, and each of the two sums is
    rescaled to `t` by its own anchor."""
    period = max(10 * 86_400, 2 * window_secs + 1)
    if period / tau > 600:
        raise ValueError(f"momentum window {window_secs} s is too long for tau {tau} s")
    anchor = F.floor(t / period)
    # Per row: its value against its own anchor.
    rel = F.exp((t - anchor * period).cast("double") / tau) * value
    even = F.sum(F.when(anchor % 2 == 0, rel).otherwise(0.0)).over(w)
    odd = F.sum(F.when(anchor % 2 == 1, rel).otherwise(0.0)).over(w)
    same = F.when(anchor % 2 == 0, even).otherwise(odd)
    other = F.when(anchor % 2 == 0, odd).otherwise(even)
    f_same = F.exp((anchor * period - t).cast("double") / tau)
    f_prev = F.exp(((anchor - 1) * period - t).cast("double") / tau)
    return same * f_same + other * f_prev


def product_frame(lists: DataFrame, cfg: SignalConfig) -> DataFrame:
    """One row per entry of every non-empty snapshot, with the product's window values: native
    window functions over the product's rows in its list (one partitioning, one sort), plus one over
    (product, currency) for the rolling price minimum."""
    L = cfg.lookback_secs()
    tau = float(max(cfg.momentum_tau_secs, 1))
    t = F.col("t")
    pos = F.col("position")
    wp = W.partitionBy(*LIST, "id").orderBy("t")
    upto = wp.rowsBetween(W.unboundedPreceding, W.currentRow)
    ns = cfg.top_ns()
    hh = cfg.hysteresis

    e = lists.select(
        *[c for c in lists.columns if c not in ("entries", "ids", "occ", "prev_occ", "prev_ids")],
        F.explode("entries").alias("e"),
    ).select("*", "e.*").drop("e")

    def valid(p: Column) -> Column:
        return p.isNotNull() & (p > 0) & ~F.isnan(p) & (p < F.lit(float("inf")))

    e = e.withColumn("valid_price", F.when(valid(F.col("price")), F.col("price")))
    # Rolling price minimum: same product, same currency, the current snapshot excluded.
    wc = W.partitionBy(*LIST, "id", "currency").orderBy("t")
    e = e.withColumn("price_min_window", F.min("valid_price").over(wc.rangeBetween(-cfg.price_window_secs, -1)))

    pts = F.greatest(F.lit(0), cfg.momentum_base - pos).cast("double")
    before_day = wp.rangeBetween(W.unboundedPreceding, -DAY_SECS)
    after_day = wp.rangeBetween(-DAY_SECS + 1, -1)
    hist = wp.rangeBetween(-L, -1)
    cols = [
        "*",
        F.min("t").over(upto).alias("first_seen"),
        F.lag("k").over(wp).alias("lag_k"),
        F.lag("t").over(wp).alias("lag_t"),
        F.lag("position").over(wp).alias("lag_pos"),
        F.lag("reviews_total").over(wp).alias("lag_reviews"),
        F.lead("k").over(wp).alias("lead_k"),
        F.first("reviews_total", ignorenulls=True).over(wp.rangeBetween(-cfg.reviews_window_secs, -1)).alias(
            "reviews_ref"
        ),
        _decay_sums(pts, t, tau, max(cfg.momentum_window_secs, 0), wp.rangeBetween(-max(cfg.momentum_window_secs, 0), 0))
        .alias("mom_num"),
        # The product's rows around the 24 h reference and at the oldest snapshot of H: the position
        # there when the row is exactly that snapshot.
        F.last("t").over(before_day).alias("x_before_t"),
        F.last("position").over(before_day).alias("x_before_pos"),
        F.first("t").over(after_day).alias("x_after_t"),
        F.first("position").over(after_day).alias("x_after_pos"),
        F.first("t").over(hist).alias("x_first_t"),
        F.first("position").over(hist).alias("x_first_pos"),
    ]
    for n in ns:
        # The latest time at or before this row when the product was in the top N.
        cols.append(F.last(F.when(pos <= n, t), ignorenulls=True).over(upto).alias(f"last_in_{n}"))
    e = e.select(*cols)

    in_p = F.coalesce(F.col("has_prev") & (F.col("lag_k") == F.col("k") - 1), F.lit(False))
    e = e.withColumn("in_p", in_p)

    def run_start(cond: Column, lag_cond: Column) -> Column:
        """Start of the current run of consecutive snapshots where `cond` holds (gaps and islands)."""
        starts = cond & ~(F.col("in_p") & F.coalesce(lag_cond, F.lit(False)))
        return F.when(cond, F.last(F.when(starts, t), ignorenulls=True).over(upto))

    lag_pos = F.col("lag_pos")
    cols = [
        "*",
        # Dwell runs: a run starts where the product is in the zone and was not in it in P.
        run_start(pos <= cfg.dwell_top, lag_pos <= cfg.dwell_top).alias("top_since_t"),
        run_start(pos <= 1, lag_pos <= 1).alias("one_since_t"),
    ]
    for n in ns:
        # Hysteresis: within the run of consecutive snapshots in the band (≤ N + h), the state is true
        # from the first snapshot in the top N on; walked from a start s0, it is true at a row when the
        # last time in the top N is in the current band run and not before s0.
        cols.append(run_start(pos <= n + hh, lag_pos <= n + hh).alias(f"band_since_{n}"))
    e = e.select(*cols)

    def state_from(n: int, s0: Column) -> Column:
        band_since = F.col(f"band_since_{n}")
        last_in = F.col(f"last_in_{n}")
        return band_since.isNotNull() & last_in.isNotNull() & (last_in >= F.greatest(band_since, s0))

    w_lag = W.partitionBy(*LIST, "id").orderBy("t")
    cols = ["*"]
    for n in ns:
        cols.append(state_from(n, t - L).alias(f"is_top_{n}"))
        # was_N: the state at P walked from this snapshot's lookback start (t − L).
        at_p = F.lag(F.struct(F.col(f"band_since_{n}").alias("b"), F.col(f"last_in_{n}").alias("l"))).over(w_lag)
        cols.append(at_p.alias(f"at_p_{n}"))
        # For the next snapshot, when the product is not in it (it dropped out): the state here,
        # walked from the next snapshot's lookback start.
        cols.append(F.coalesce(state_from(n, F.col("next_t") - L), F.lit(False)).alias(f"was_top_{n}_next"))
    e = e.select(*cols)
    cols = ["*"]
    for n in ns:
        ap = F.col(f"at_p_{n}")
        was = F.col("in_p") & ap["b"].isNotNull() & ap["l"].isNotNull() & (ap["l"] >= F.greatest(ap["b"], t - L))
        cols.append(F.coalesce(was, F.lit(False)).alias(f"was_top_{n}"))
    e = e.select(*cols)

    def at(ref: Column) -> Column:
        return (
            F.when(F.col("x_before_t") == ref, F.col("x_before_pos"))
            .when(F.col("x_after_t") == ref, F.col("x_after_pos"))
            .when(F.col("x_first_t") == ref, F.col("x_first_pos"))
        )

    e = e.select(
        "*",
        F.when(F.col("in_p"), lag_pos).alias("prev_position"),
        at(F.col("r24_t")).alias("position_24h"),
        F.coalesce(at(F.col("ref_t")), F.col("ref_len") + 1).alias("ref_pos"),
        F.when(F.col("mom_den") > 0, F.col("mom_num") / F.col("mom_den")).otherwise(0.0).alias("momentum"),
    )

    is_new = (F.col("first_seen") > F.col("list_started")) & ((t - F.col("first_seen")) < cfg.new_window_secs)
    up = F.col("ref_pos") - F.col("position")
    trend = (
        F.when(is_new, "new")
        .when(F.col("ref_t").isNull(), "stable")
        .when((up >= cfg.breakout_places) & (F.col("position") <= cfg.breakout_top), "breakout")
        .when(up >= cfg.trend_places, "rising")
        .when(-up >= cfg.trend_places, "falling")
        .otherwise("stable")
    )
    p = F.greatest(F.col("position"), F.lit(1)).cast("double")
    b = F.greatest(F.col("curve_b"), F.lit(0.0))
    sd = F.greatest(F.col("curve_s"), F.lit(0.0))
    e = e.select(
        "*",
        (F.col("prev_position") - F.col("position")).alias("change_prev"),
        (F.col("position_24h") - F.col("position")).alias("change_24h"),
        trend.alias("trend"),
        F.when(
            F.col("valid_price").isNotNull() & F.col("price_min_window").isNotNull(),
            F.col("valid_price") / F.col("price_min_window") - 1.0,
        ).alias("price_vs_min"),
        F.when(F.col("in_p") & F.col("reviews_total").isNotNull() & F.col("lag_reviews").isNotNull(),
               F.col("reviews_total") - F.col("lag_reviews")).alias("reviews_delta"),
        (F.col("reviews_total") - F.col("reviews_ref")).alias("reviews_delta_24h"),
        (t - F.col("top_since_t")).alias("top_dwell_secs"),
        (t - F.col("one_since_t")).alias("number_one_dwell_secs"),
        F.struct(
            F.pow(p, -b).alias("share"),
            F.pow(p, -(b + 2 * sd)).alias("low"),
            F.pow(p, -F.greatest(b - 2 * sd, F.lit(0.0))).alias("high"),
        ).alias("demand"),
        # Dropped out of the next snapshot (this one is that snapshot's P).
        (F.col("next_t").isNotNull() & (F.col("lead_k").isNull() | (F.col("lead_k") != F.col("k") + 1))).alias(
            "drops_next"
        ),
    )
    return e


_FACTS = {
    "from_position": "int",
    "to_position": "int",
    "previous_number_one": "string",
    "reference_price": "double",
    "price_change_share": "double",
    "reviews_before": "long",
    "reviews_after": "long",
    "reviews_delta": "long",
    "last_seen_at": "long",
}


def _event(kind: str, n: int | None, severity: Column, **facts: Column) -> Column:
    """One event as a struct: its kind, the key kind (top-N events carry N), severity and numbers."""
    key_kind = {"entered_top_n": f"entered_top_{n}", "left_top_n": f"left_top_{n}"}.get(kind, kind)
    unknown = set(facts) - set(_FACTS)
    if unknown:
        raise ValueError(f"unknown event facts {sorted(unknown)}")
    cols = [
        F.lit(kind).alias("kind"),
        F.lit(key_kind).alias("key_kind"),
        F.lit(n).cast("int").alias("n"),
        severity.alias("severity"),
    ]
    for name, typ in _FACTS.items():
        cols.append(facts.get(name, F.lit(None)).cast(typ).alias(name))
    return F.struct(*cols)


def _candidates(products: DataFrame, cfg: SignalConfig) -> DataFrame:
    """Every event condition that holds, before re-arm."""
    L = cfg.lookback_secs()
    t = F.col("t")
    pos = F.col("position")
    prev = F.col("prev_position")
    info, notable, major = F.lit("info"), F.lit("notable"), F.lit("major")
    live = ~F.col("baseline")
    has_p = F.col("has_prev")

    evs = []
    # Entrants and re-entries.
    not_in_p = prev.isNull()
    seen_before = F.col("first_seen") < t
    evs.append(
        F.when(
            live & not_in_p & ~seen_before,
            _event("new_entrant", None, F.when(pos <= cfg.smallest_top(), notable).otherwise(info), to_position=pos),
        )
    )
    evs.append(
        F.when(
            live & not_in_p & seen_before & has_p,
            _event(
                "reentry",
                None,
                info,
                to_position=pos,
                last_seen_at=F.when(F.col("lag_t") >= t - L, F.col("lag_t")),
            ),
        )
    )
    # Top N with hysteresis.
    for n in cfg.top_ns():
        was, is_ = F.col(f"was_top_{n}"), F.col(f"is_top_{n}")
        facts = dict(from_position=prev, to_position=pos)
        evs.append(F.when(live & has_p & is_ & ~was, _event("entered_top_n", n, notable if n <= 3 else info, **facts)))
        evs.append(F.when(live & has_p & was & ~is_, _event("left_top_n", n, info, **facts)))
    # New #1.
    evs.append(
        F.when(
            live & has_p & (pos == 1) & F.col("prev_num1").isNotNull() & (F.col("prev_num1") != F.col("id")),
            _event("new_number_one", None, major, from_position=prev, to_position=F.lit(1),
                   previous_number_one=F.col("prev_num1")),
        )
    )
    # Climbers and fallers.
    th = max(cfg.move_places, 1)
    up = prev - pos
    evs.append(
        F.when(
            live & has_p & prev.isNotNull() & (up >= th),
            _event("climber", None, F.when((up >= 2 * th) | (pos <= 3), notable).otherwise(info),
                   from_position=prev, to_position=pos),
        )
    )
    evs.append(
        F.when(
            live & has_p & prev.isNotNull() & (-up >= th),
            _event("faller", None, info, from_position=prev, to_position=pos),
        )
    )
    # Price drop against the rolling minimum.
    share = F.col("price_vs_min")
    pth = cfg.price_drop_share
    if pth > 0:
        drop = -share
        evs.append(
            F.when(
                live & has_p & share.isNotNull() & F.col("price_min_window").isNotNull() & (share <= -pth),
                _event(
                    "price_drop",
                    None,
                    F.when(drop >= 3.0 * pth, major).when(drop >= 2.0 * pth, notable).otherwise(info),
                    from_position=prev,
                    to_position=pos,
                    reference_price=F.col("price_min_window"),
                    price_change_share=share,
                ),
            )
        )
    # Reviews surge.
    before = F.col("reviews_ref")
    delta = F.col("reviews_delta_24h")
    rth = F.greatest(F.lit(float(max(cfg.reviews_surge_min, 1))), F.ceil(max(cfg.reviews_surge_share, 0.0) * before))
    evs.append(
        F.when(
            live & has_p & delta.isNotNull() & before.isNotNull() & F.col("reviews_total").isNotNull() & (delta >= rth),
            _event(
                "reviews_surge",
                None,
                F.when(delta >= 2.0 * rth, notable).otherwise(info),
                from_position=prev,
                to_position=pos,
                reviews_before=before,
                reviews_after=F.col("reviews_total"),
                reviews_delta=delta,
            ),
        )
    )
    current = products.select(
        *LIST,
        "t",
        F.col("id").alias("product"),
        F.col("type").alias("product_type"),
        "title",
        "brand",
        "permalink",
        "price",
        "currency",
        F.col("momentum").alias("ev_momentum"),
        F.col("trend").alias("ev_trend"),
        F.explode(F.filter(F.array(*evs), lambda x: x.isNotNull())).alias("ev"),
    )

    # Products of P that are not in S: dropped_out and left_top_N, at S's time.
    dropped_evs = [_event("dropped_out", None, info, from_position=pos)]
    for n in cfg.top_ns():
        dropped_evs.append(
            F.when(F.col(f"was_top_{n}_next"), _event("left_top_n", n, info, from_position=pos))
        )
    dropped = products.where(F.col("drops_next")).select(
        *LIST,
        F.col("next_t").alias("t"),
        F.col("id").alias("product"),
        F.col("type").alias("product_type"),
        "title",
        "brand",
        "permalink",
        "price",
        "currency",
        F.lit(None).cast("double").alias("ev_momentum"),
        F.lit(None).cast("string").alias("ev_trend"),
        F.explode(F.filter(F.array(*dropped_evs), lambda x: x.isNotNull())).alias("ev"),
    )
    return current.unionByName(dropped).select(
        "*", "ev.*"
    ).drop("ev").withColumnRenamed("ev_momentum", "momentum").withColumnRenamed("ev_trend", "trend")


def _rearm(cands: DataFrame, cfg: SignalConfig) -> tuple[DataFrame, DataFrame]:
    """Applies re-arm: per (list, key kind, product), an event fires when the last one that fired is
    more than `rearm_secs` before it (docs/signals.md §6). Returns (fired, suppressed per list)."""
    r = cfg.rearm()
    keys = [*LIST, "key_kind", "product"]
    folded = cands.groupBy(*keys).agg(F.array_sort(F.collect_list("t")).alias("ts"))
    init = F.struct(_lit_long(-(2**62)).alias("last"), F.array().cast("array<long>").alias("fired"))

    def step(acc, x):
        fire = x > acc["last"] + r
        return F.struct(
            F.when(fire, x).otherwise(acc["last"]).alias("last"),
            F.when(fire, F.concat(acc["fired"], F.array(x))).otherwise(acc["fired"]).alias("fired"),
        )

    fired_keys = folded.select(*keys, F.explode(F.aggregate("ts", init, step)["fired"]).alias("t"))
    fired = cands.join(fired_keys, on=[*keys, "t"], how="left_semi")
    total = cands.groupBy(*LIST).agg(F.count(F.lit(1)).alias("candidates"))
    kept = fired.groupBy(*LIST).agg(F.count(F.lit(1)).alias("fired"))
    suppressed = total.join(kept, on=LIST, how="left").select(
        *LIST, (F.col("candidates") - F.coalesce(F.col("fired"), F.lit(0))).alias("suppressed")
    )
    return fired, suppressed


def _ts(c: Column) -> Column:
    return F.timestamp_seconds(c)


def compute(snaps: DataFrame, cfg: SignalConfig | None = None, calibration: DataFrame | None = None) -> Signals:
    """Signals and events of every non-empty snapshot of `snaps` (SNAPSHOT_SCHEMA)."""
    cfg = cfg or SignalConfig()
    # Both feed several outputs: computed once.
    lists = list_frame(prepare(snaps), cfg, calibration).persist(StorageLevel.MEMORY_AND_DISK)
    prods = product_frame(lists, cfg).persist(StorageLevel.MEMORY_AND_DISK)

    # New entrants of the last 24 h (first seen after the list started), back onto the lists.
    firsts = (
        prods.where((F.col("first_seen") == F.col("t")) & (F.col("t") > F.col("list_started")))
        .groupBy(*LIST, "t")
        .agg(F.count(F.lit(1)).alias("n_first"))
    )
    wl = W.partitionBy(*LIST).orderBy("t")
    day = wl.rangeBetween(-DAY_SECS, 0)
    cats = lists.drop("entries", "ids", "occ", "prev_occ", "prev_ids").join(firsts, on=[*LIST, "t"], how="left")
    n_day = F.count(F.lit(1)).over(day)
    cats = cats.select(
        "*",
        F.sum(F.coalesce(F.col("n_first"), F.lit(0))).over(wl.rangeBetween(-DAY_SECS + 1, 0)).alias("ne24"),
        F.when(
            n_day > 1,
            (F.sum("volatility").over(day) - F.coalesce(F.first("volatility").over(day), F.lit(0.0))) / (n_day - 1),
        ).alias("volatility_24h"),
    )
    categories = cats.select(
        *LIST,
        "t",
        _ts(F.col("t")).alias("taken_at"),
        F.col("baseline"),
        F.col("has_prev").alias("has_previous"),
        F.col("len").alias("list_length"),
        F.col("prev_len").alias("previous_length"),
        _ts(F.col("p_t")).alias("previous_at"),
        "volatility",
        "churn",
        "entrants",
        "exits",
        "volatility_24h",
        F.col("ne24").alias("new_entrants_24h"),
        (F.col("ne24") / F.col("len")).alias("new_entrant_rate"),
        "history_snapshots",
        F.struct(
            F.col("curve_b").alias("b"),
            F.col("curve_s").alias("b_stderr"),
            F.col("curve_source").alias("source"),
            F.col("curve_note").alias("note"),
        ).alias("demand"),
    )

    products = prods.select(
        *LIST,
        "t",
        _ts(F.col("t")).alias("taken_at"),
        "id",
        "type",
        "position",
        "title",
        "brand",
        "permalink",
        "price",
        "currency",
        "reviews_total",
        "rating",
        "sold_quantity",
        "prev_position",
        "change_prev",
        "position_24h",
        "change_24h",
        _ts(F.col("first_seen")).alias("first_seen"),
        _ts(F.col("top_since_t")).alias("top_since"),
        "top_dwell_secs",
        _ts(F.col("one_since_t")).alias("number_one_since"),
        "number_one_dwell_secs",
        "momentum",
        "trend",
        "price_min_window",
        "price_vs_min",
        "reviews_delta",
        "reviews_delta_24h",
        "reviews_ref",
        "demand",
    )

    cands = _candidates(prods, cfg)
    fired, suppressed = _rearm(cands, cfg)
    ts_str = F.date_format(_ts(F.col("t")), "yyyy-MM-dd'T'HH:mm:ss'Z'")
    events = fired.select(
        F.concat(F.lit("EVT#"), F.col("site"), F.lit("#"), F.col("category")).alias("pk"),
        F.concat_ws("#", ts_str, F.col("key_kind"), F.col("product")).alias("sk"),
        "kind",
        "key_kind",
        "n",
        "severity",
        *LIST,
        "product",
        "product_type",
        "t",
        _ts(F.col("t")).alias("taken_at"),
        F.date_format(_ts(F.col("t")), "yyyy-MM-dd").alias("day"),
        "title",
        "brand",
        "permalink",
        "price",
        "currency",
        "from_position",
        "to_position",
        (F.col("from_position") - F.col("to_position")).alias("places"),
        "previous_number_one",
        "reference_price",
        "price_change_share",
        "reviews_before",
        "reviews_after",
        "reviews_delta",
        _ts(F.col("last_seen_at")).alias("last_seen_at"),
        "momentum",
        "trend",
        (F.col("t") + F.lit(cfg.event_ttl_days * 86_400)).alias("expires_at"),
    )
    return Signals(products=products, categories=categories, events=events, suppressed=suppressed)
