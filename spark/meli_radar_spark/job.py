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


def _write(df: DataFrame, path: str, date_col: str | None = "taken_at") -> None:
    if date_col is not None:
        df = df.withColumn("date", F.date_format(F.col(date_col), "yyyy-MM-dd"))
    df.write.mode("overwrite").partitionBy("site", "date").parquet(path)


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
    _write(history.where(F.col("taken_at").isNotNull()), f"{out}/history")
    _write(sig.products.drop("t"), f"{out}/signals/products")
    _write(sig.categories.drop("t"), f"{out}/signals/categories")
    _write(sig.events.drop("t"), f"{out}/events")

    _write(reports.volatility(sig.categories), f"{out}/reports/volatility", None)
    per, summary = reports.time_to_number_one(sig.products)
    _write(per, f"{out}/reports/time_to_number_one", None)
    _write(summary, f"{out}/reports/time_to_number_one_summary", None)
    _write(reports.breakouts(sig.products), f"{out}/reports/breakouts", None)
    _write(reports.diffusion(sig.products), f"{out}/reports/diffusion", None)

    fitted_at = f"{run_date}T00:00:00Z"
    curves = calibration.fit(signals.prepare(snaps)).withColumn("fitted_at", F.lit(fitted_at))
    curve_rows = curves.collect()
    _write(curves.withColumn("date", F.lit(run_date)), f"{out}/calibration/curves", None)
    items = calibration.items(curve_rows, fitted_at)
    lines = [json.dumps({"Item": {k: export.to_dynamo(v) for k, v in i.items()}}, sort_keys=True) for i in items]
    _write_text(spark, lines, f"{out}/calibration/items.json")

    counts = {
        "snapshots_scored": sig.categories.count(),
        "product_rows": sig.products.count(),
        "events": sig.events.count(),
        "suppressed": sig.suppressed.agg(F.sum("suppressed")).first()[0] or 0,
        "calibrated_categories": len(items),
    }
    summary_doc = {
        "run_date": run_date,
        "input": input_path,
        "out": out,
        "read": dict(stats, bad_times=bad),
        "wrote": counts,
        "calibration": [
            {"site": r["site"], "category": r["category"], "b": r["b"], "b_stderr": r["b_stderr"], "n": r["n"],
             "evidence": r["evidence"]}
            for r in curve_rows
        ],
        "seconds": round(time.time() - started, 1),
    }
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
    w = doc["wrote"]
    print(f"read {doc['read']['snapshots']} snapshot items ({doc['read']['lines']} lines, "
          f"{doc['read']['not_items']} not items) from {args.input}")
    print(f"scored {w['snapshots_scored']} snapshots ({w['product_rows']} product rows): {w['events']} events, "
          f"{w['suppressed']} held back by re-arm; {w['calibrated_categories']} categories calibrated "
          f"in {doc['seconds']} s")
    if not doc["calibration"]:
        print("  no category had enough demand evidence (growing review or sales totals at 5 positions or more, "
              "200 observations or more): the scorer keeps its default curve")
    for c in doc["calibration"]:
        print(f"  {c['site']}/{c['category']}: b = {c['b']:.3f} ± {c['b_stderr']:.3f} ({c['n']} {c['evidence']} observations)")
    out = doc["out"]
    print("reports:")
    for name in ("volatility", "time_to_number_one", "time_to_number_one_summary", "breakouts", "diffusion"):
        print(f"  {out}/reports/{name}/")
    print(f"signals: {out}/signals/products/, {out}/signals/categories/; events: {out}/events/")
    print(f"calibration items: {out}/calibration/items.json (load with `meli-radar import --input …`)")
    print(f"run summary: {out}/runs/date={doc['run_date']}/summary.json")
    spark.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
