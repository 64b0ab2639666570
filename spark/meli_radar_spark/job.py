"""The Spark job: `python -m meli_radar_spark.job --input EXPORT --out DIR` (or `spark-submit
job.py …` on EMR Serverless; see spark/README.md).

Reads the history (a DynamoDB export, from S3 or from `meli-radar export`), recomputes the signals
and events of every snapshot, fits the per-category rank→demand curves and writes:

    OUT/history/                        the snapshots' entries          (Parquet, site=/date=)
    OUT/signals/products/               per-product signals             (Parquet, site=/date=)
    OUT/signals/categories/             per-category signals            (Parquet, site=/date=)
    OUT/events/                         events after re-arm             (Parquet, site=/date=)
    OUT/reports/volatility/             category volatility per day     (Parquet, site=/date=)
    OUT/reports/time_to_number_one/     per product, and …_summary/     (Parquet, site=/date=)
    OUT/reports/breakouts/              breakout products per day       (Parquet, site=/date=)
    OUT/reports/diffusion/              leader site → follower site     (Parquet, site=/date=)
    OUT/calibration/curves/             the fitted curves               (Parquet, site=/date=run date)
    OUT/calibration/items.json          CAL#…/RANKCURVE items, DynamoDB JSON (`meli-radar import`)
    OUT/runs/date=RUN_DATE/summary.json what the run read and wrote

Every table is overwritten partition by partition (dynamic partition overwrite) and the calibration's
`fitted_at` is the run date, so running again for the same run date gives the same outputs.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
import time

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from . import calibration, export, reports, session, signals
from .config import SignalConfig


def _local(path: str) -> bool:
    return "://" not in path or path.startswith("file://")


def _write(df: DataFrame, path: str, date_col: str | None = "taken_at") -> DataFrame:
    """Writes `df` partitioned by site and date; returns it with its `date` column (for its schema)."""
    if date_col is not None:
        df = df.withColumn("date", F.date_format(F.col(date_col), "yyyy-MM-dd"))
    df.write.mode("overwrite").partitionBy("site", "date").parquet(path)
    return df


# The tables of a run, in the order they are listed: (name, path under --out).
TABLES = [
    ("history", "history"),
    ("product signals", "signals/products"),
    ("category signals", "signals/categories"),
    ("events", "events"),
    ("volatility", "reports/volatility"),
    ("time to #1", "reports/time_to_number_one"),
    ("time to #1 summary", "reports/time_to_number_one_summary"),
    ("breakouts", "reports/breakouts"),
    ("diffusion", "reports/diffusion"),
    ("calibration curves", "calibration/curves"),
]


def _read(spark: SparkSession, path: str, schema, parts: DataFrame | None) -> DataFrame:
    """A written table, read back with its schema (a table with no rows is a folder without Parquet
    files, which Spark cannot infer a schema from), limited to the (site, date) partitions of this
    run when `parts` is given (the folder may hold other dates from earlier histories)."""
    df = spark.read.schema(schema).parquet(path)
    return df if parts is None else df.join(F.broadcast(parts), on=["site", "date"], how="left_semi")


def _write_text(spark: SparkSession, lines: list[str], path: str) -> None:
    """A small text file, locally or on S3 (through Spark, as one part file in a folder)."""
    if _local(path):
        p = path[len("file://"):] if path.startswith("file://") else path
        os.makedirs(os.path.dirname(os.path.abspath(p)), exist_ok=True)
        with open(p + ".tmp", "w", encoding="utf-8") as f:
            f.writelines(line + "\n" for line in lines)
        os.replace(p + ".tmp", p)
    else:
        spark.createDataFrame([(x,) for x in lines], "value string").coalesce(1).write.mode("overwrite").text(path)


def _num(x, digits: int = 3):
    return None if x is None else round(float(x), digits)


def headlines(t: dict[str, DataFrame], top: int = 3) -> dict:
    """A few numbers from the written tables (small aggregates, collected): events by kind, the most
    and least volatile lists, time to #1, the largest breakouts, the fastest cross-country rises."""
    kinds = t["events"].groupBy("kind").count().orderBy(F.desc("count"), "kind").collect()
    vol = (
        t["reports/volatility"]
        .groupBy("site", "category")
        .agg(
            (F.sum(F.col("volatility_mean") * F.col("snapshots")) / F.sum("snapshots")).alias("volatility"),
            (F.sum(F.col("churn_mean") * F.col("snapshots")) / F.sum("snapshots")).alias("churn"),
            F.sum("entrants").alias("entrants"),
            F.count(F.lit(1)).alias("days"),
        )
        .where(F.col("volatility").isNotNull())
        .orderBy(F.desc("volatility"), "site", "category")
        .collect()
    )
    ttn = t["reports/time_to_number_one"]
    ttn_all = ttn.agg(
        F.count(F.lit(1)).alias("products"),
        F.percentile_approx("hours", 0.5).alias("p50"),
        F.percentile_approx("hours", 0.9).alias("p90"),
    ).first()
    fastest = ttn.orderBy("hours", "site", "category", "id").limit(top).collect()
    br = t["reports/breakouts"]
    br_best = (
        br.groupBy("site", "category", "id")
        .agg(
            F.min("best_position").alias("best_position"),
            F.max("max_change_24h").alias("max_change_24h"),
            F.min("first_breakout").alias("first_breakout"),
            F.first("title", ignorenulls=True).alias("title"),
        )
        .cache()
    )
    n_breakouts = br_best.count()
    biggest = br_best.orderBy(F.desc_nulls_last("max_change_24h"), "best_position", "id").limit(top).collect()
    br_best.unpersist()
    dif = t["reports/diffusion"]
    routes = (
        dif.where(F.col("kind") == "brand")
        .groupBy("site", "follower_site")
        .agg(F.count(F.lit(1)).alias("brands"), F.percentile_approx("lag_hours", 0.5).alias("lag_p50"))
        .orderBy(F.desc("brands"), "site", "follower_site")
        .collect()
    )
    first_brands = (
        dif.where(F.col("kind") == "brand").orderBy(F.desc("lag_hours"), "key", "site", "follower_site").limit(top)
        .collect()
    )

    def where(r):
        return f"{r['site']}/{r['category']}"

    return {
        "events_by_kind": {r["kind"]: r["count"] for r in kinds},
        "most_volatile": [
            {"list": where(r), "volatility": _num(r["volatility"]), "churn": _num(r["churn"]), "entrants": r["entrants"]}
            for r in vol[:top]
        ],
        "least_volatile": [
            {"list": where(r), "volatility": _num(r["volatility"]), "churn": _num(r["churn"]), "entrants": r["entrants"]}
            for r in vol[-1:] if len(vol) > top
        ],
        "time_to_number_one": {
            "products": ttn_all["products"],
            "hours_p50": _num(ttn_all["p50"], 2),
            "hours_p90": _num(ttn_all["p90"], 2),
            "fastest": [{"list": where(r), "id": r["id"], "title": r["title"], "hours": _num(r["hours"], 2)}
                        for r in fastest],
        },
        "breakouts": {
            "products": n_breakouts,
            "largest": [{"list": where(r), "id": r["id"], "title": r["title"], "best_position": r["best_position"],
                         "max_change_24h": r["max_change_24h"], "first_breakout": str(r["first_breakout"])}
                        for r in biggest],
        },
        "diffusion": {
            "routes": [{"leader": r["site"], "follower": r["follower_site"], "brands": r["brands"],
                        "lag_hours_p50": _num(r["lag_p50"], 2)} for r in routes],
            "longest_leads": [{"brand": r["key"], "leader": r["site"], "follower": r["follower_site"],
                               "lag_hours": _num(r["lag_hours"], 2)} for r in first_brands],
        },
    }


def report_lines(doc: dict) -> list[str]:
    """What `main` prints: where everything is, row counts, the headlines, the fitted curves."""
    w, r, h = doc["wrote"], doc["read"], doc["headlines"]
    out = [
        f"read {r['snapshots']} snapshot items ({r['lines']} lines, {r['not_items']} not items) from {doc['input']}",
        f"scored {w['snapshots_scored']} snapshots ({w['product_rows']} product rows): {w['events']} events, "
        f"{w['suppressed']} held back by re-arm, in {doc['seconds']} s",
    ]
    if h["events_by_kind"]:
        out.append("  events: " + ", ".join(f"{k} {n}" for k, n in h["events_by_kind"].items()))
    out.append("")
    out.append("headlines:")
    for v in h["most_volatile"]:
        out.append(f"  most volatile list   {v['list']:<14} mean volatility {v['volatility']:.3f}, churn "
                   f"{v['churn']:.3f}, {v['entrants']} entrants")
    for v in h["least_volatile"]:
        out.append(f"  least volatile list  {v['list']:<14} mean volatility {v['volatility']:.3f}, churn "
                   f"{v['churn']:.3f}, {v['entrants']} entrants")
    ttn = h["time_to_number_one"]
    if ttn["products"]:
        out.append(f"  time to #1           {ttn['products']} products reached #1 after their list's first snapshot: "
                   f"p50 {ttn['hours_p50']} h, p90 {ttn['hours_p90']} h")
        for f in ttn["fastest"]:
            out.append(f"    {f['hours']:>7.2f} h  {f['list']:<14} {f['title'] or f['id']}")
    else:
        out.append("  time to #1           no product reached #1 after its list's first snapshot")
    br = h["breakouts"]
    out.append(f"  breakouts            {br['products']} products classed breakout")
    for b in br["largest"]:
        climb = "" if b["max_change_24h"] is None else f", +{b['max_change_24h']} places in 24 h"
        out.append(f"    {b['list']:<14} {b['title'] or b['id']}: best #{b['best_position']}{climb}")
    routes = h["diffusion"]["routes"]
    if routes:
        out.append("  diffusion (brands)   " + ", ".join(
            f"{x['leader']}→{x['follower']} {x['brands']} (lag p50 {x['lag_hours_p50']} h)" for x in routes))
        for d in h["diffusion"]["longest_leads"]:
            out.append(f"    {d['brand']}: {d['leader']} {d['lag_hours']} h before {d['follower']}")
    else:
        out.append("  diffusion (brands)   no brand rose in one site before another")
    out.append("")
    if doc["calibration"]:
        out.append(f"calibration: {len(doc['calibration'])} categories, share(p) ∝ p^-b:")
        for c in doc["calibration"]:
            out.append(f"  {c['site']}/{c['category']:<12} b = {c['b']:.3f} ± {c['b_stderr']:.3f}  "
                       f"({c['evidence']}, {c['n']} product-snapshot steps, {c['positions']} positions)")
    else:
        out.append("calibration: no category had enough demand evidence (review or sales totals that change "
                   "between readings at 5 positions or more, over 200 product-snapshot steps or more): "
                   "the scorer keeps its default curve")
    out.append("")
    out.append(f"outputs (Parquet, partitioned by site and date) under {doc['out']}:")
    for tbl in doc["tables"]:
        out.append(f"  {tbl['name']:<20} {tbl['rows']:>9} rows  {tbl['path']}/")
    out.append(f"  calibration items    {w['calibrated_categories']:>9} items {doc['out']}/calibration/items.json "
               "(`meli-radar import --input` loads them)")
    out.append(f"  run summary                         {doc['out']}/runs/date={doc['run_date']}/summary.json")
    return out


def run(spark: SparkSession, input_path: str, out: str, run_date: str, cfg: SignalConfig | None = None) -> dict:
    cfg = cfg or SignalConfig()
    started = time.time()
    snaps, cal_in, stats = export.read_export(spark, input_path)
    if stats["snapshots"] == 0:
        raise SystemExit(
            f"no snapshot items in {input_path} ({stats['lines']} lines, {stats['items']} items): "
            "pass a DynamoDB export or the folder `meli-radar export --out` wrote"
        )
    bad = signals.bad_times(snaps)
    sig = signals.compute(snaps, cfg, cal_in)

    history = snaps.select(
        "site", "category", F.try_to_timestamp(F.col("taken_at")).alias("taken_at"), F.posexplode("entries")
    ).select("site", "category", "taken_at", "col.*").drop("pos")
    written = {}
    written["history"] = _write(history.where(F.col("taken_at").isNotNull()), f"{out}/history")
    written["signals/products"] = _write(sig.products.drop("t"), f"{out}/signals/products")
    written["signals/categories"] = _write(sig.categories.drop("t"), f"{out}/signals/categories")
    written["events"] = _write(sig.events.drop("t"), f"{out}/events")

    written["reports/volatility"] = _write(reports.volatility(sig.categories), f"{out}/reports/volatility", None)
    per, summary = reports.time_to_number_one(sig.products)
    written["reports/time_to_number_one"] = _write(per, f"{out}/reports/time_to_number_one", None)
    written["reports/time_to_number_one_summary"] = _write(summary, f"{out}/reports/time_to_number_one_summary", None)
    written["reports/breakouts"] = _write(reports.breakouts(sig.products), f"{out}/reports/breakouts", None)
    written["reports/diffusion"] = _write(reports.diffusion(sig.products), f"{out}/reports/diffusion", None)

    fitted_at = f"{run_date}T00:00:00Z"
    curves = calibration.fit(signals.prepare(snaps)).withColumn("fitted_at", F.lit(fitted_at))
    curve_rows = curves.collect()
    written["calibration/curves"] = _write(curves.withColumn("date", F.lit(run_date)), f"{out}/calibration/curves", None)
    items = calibration.items(curve_rows, fitted_at)
    lines = [json.dumps({"Item": {k: export.to_dynamo(v) for k, v in i.items()}}, sort_keys=True) for i in items]
    _write_text(spark, lines, f"{out}/calibration/items.json")

    # What this run wrote, read back (not recomputed): the partitions of the history's (site, day)s.
    parts = (
        snaps.select("site", F.date_format(F.try_to_timestamp(F.col("taken_at")), "yyyy-MM-dd").alias("date"))
        .where(F.col("date").isNotNull())
        .distinct()
        .cache()
    )
    tables = {
        path: _read(spark, f"{out}/{path}", df.schema, None if path == "calibration/curves" else parts)
        for path, df in written.items()
    }
    rows_by_table = {path: t.count() for path, t in tables.items()}
    counts = {
        "snapshots_scored": rows_by_table["signals/categories"],
        "product_rows": rows_by_table["signals/products"],
        "events": rows_by_table["events"],
        "suppressed": sig.suppressed.agg(F.sum("suppressed")).first()[0] or 0,
        "calibrated_categories": len(items),
    }
    summary_doc = {
        "run_date": run_date,
        "input": input_path,
        "out": out,
        "read": dict(stats, bad_times=bad),
        "wrote": counts,
        "tables": [{"name": name, "path": f"{out}/{path}", "rows": rows_by_table[path]} for name, path in TABLES],
        "headlines": headlines(tables),
        "calibration": [
            {"site": r["site"], "category": r["category"], "b": r["b"], "b_stderr": r["b_stderr"], "n": r["n"],
             "positions": r["positions"], "evidence": r["evidence"]}
            for r in curve_rows
        ],
        "seconds": round(time.time() - started, 1),
    }
    parts.unpersist()
    _write_text(spark, [json.dumps(summary_doc, indent=1)], f"{out}/runs/date={run_date}/summary.json")
    return summary_doc


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="meli-radar-spark", description=__doc__.split("\n\n")[0])
    ap.add_argument("--input", required=True, help="a DynamoDB export (folder or file, local or s3://)")
    ap.add_argument("--out", required=True, help="where the outputs go (local folder or s3://…)")
    ap.add_argument("--run-date", default=dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d"),
                    help="YYYY-MM-DD (default today, UTC): the calibration's fitted_at and the run's summary")
    ap.add_argument("--master", default=None, help="e.g. local[2]; unset on EMR Serverless")
    ap.add_argument("--shuffle-partitions", type=int, default=None,
                    help="spark.sql.shuffle.partitions (default 8 in local mode, Spark's own elsewhere)")
    ap.add_argument("--config", default=None, help="signal thresholds as a JSON object (docs/signals.md §2)")
    args = ap.parse_args(argv)
    try:
        dt.date.fromisoformat(args.run_date)
    except ValueError:
        ap.error(f"--run-date {args.run_date!r} is not YYYY-MM-DD")
    cfg = SignalConfig.from_json(json.loads(args.config)) if args.config else SignalConfig()
    parts = args.shuffle_partitions or (8 if (args.master or "").startswith("local") else None)
    spark = session.build("meli-radar-spark", master=args.master, shuffle_partitions=parts)
    doc = run(spark, args.input, args.out.rstrip("/"), args.run_date, cfg)
    print("\n".join(report_lines(doc)))
    spark.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
