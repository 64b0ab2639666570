"""`make bench-spark`: the Spark job's signals on a generated history, next to the Rust scorer over
the same snapshots in the same run.

The history: LISTS best-seller lists (sites × categories), hourly snapshots of 20 entries, each list
drawing from a pool of 32 products whose popularity drifts (a slow sine per product plus noise), so
products climb, fall, leave and come back; prices and review totals move too. ENTRIES snapshot
entries in all (default 10 million: 500,000 snapshots).

Spark computes the signals and events of every snapshot (`signals.compute`, the products written as
Parquet, the events counted); the Rust scorer (`meli-radar score --input`, the same step as the
Lambda's) scores the same snapshots list by list, two lists at a time (two cores, as Spark's
local[2]). Both print rows (snapshot entries) per second, and the event counts are compared: they
must be equal, since both implement docs/signals.md.
"""

from __future__ import annotations

import argparse
import glob
import gzip
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from pyspark.sql import functions as F  # noqa: E402
from pyspark.sql import Window as W  # noqa: E402

from meli_radar_spark import export, session, signals  # noqa: E402

POOL = 32
LEN = 20
SITES = [("MLB", "BRL"), ("MLA", "ARS"), ("MLM", "MXN"), ("MLC", "CLP")]


def generate(spark, entries: int, lists: int):
    snaps_per_list = max(2, entries // (LEN * lists))
    cand = (
        spark.range(lists).withColumnRenamed("id", "l")
        .crossJoin(spark.range(snaps_per_list).withColumnRenamed("id", "h"))
        .crossJoin(spark.range(POOL).withColumnRenamed("id", "i"))
    )
    site = F.element_at(F.array(*[F.lit(s) for s, _ in SITES]), (F.col("l") % len(SITES) + 1).cast("int"))
    cur = F.element_at(F.array(*[F.lit(c) for _, c in SITES]), (F.col("l") % len(SITES) + 1).cast("int"))
    seed = F.col("l") * 1000 + F.col("i")
    period = 24.0 + F.abs((F.hash(seed, F.lit(1)) % 200).cast("double"))
    phase = (F.hash(seed, F.lit(2)) % 628).cast("double") / 100.0
    base = F.abs((F.hash(seed, F.lit(3)) % 1000).cast("double")) / 1000.0
    noise = (F.hash(seed, F.col("h")) % 1000).cast("double") / 8000.0
    score = base + F.sin(F.col("h") / period * 6.283 + phase) * 0.6 + noise
    cand = cand.select(
        "l", "h", "i", site.alias("site"), cur.alias("currency"), score.alias("score"),
    )
    ranked = cand.select(
        "*", F.row_number().over(W.partitionBy("l", "h").orderBy(F.desc("score"), "i")).alias("position")
    ).where(F.col("position") <= LEN)
    h = F.col("h")
    price_step = F.floor(h / (48 + F.col("i") % 24))
    entry = F.struct(
        F.col("position").cast("int").alias("position"),
        F.concat(F.col("site"), F.lit("P"), (F.col("l") * 1000 + F.col("i")).cast("string")).alias("id"),
        F.lit("PRODUCT").alias("type"),
        F.concat(F.lit("Produto "), F.col("i").cast("string")).alias("title"),
        F.concat(F.lit("Marca "), (F.col("i") % 9).cast("string")).alias("brand"),
        (F.lit(100.0) + (F.hash(F.col("l"), F.col("i"), price_step) % 40).cast("double")).alias("price"),
        F.col("currency"),
        (F.lit(100) + h * (F.col("i") % 5) + (F.col("i") * 37) % 500).cast("long").alias("reviews_total"),
    )
    snaps = ranked.groupBy("l", "h", "site").agg(F.array_sort(F.collect_list(entry)).alias("entries"))
    return snaps.select(
        "site",
        F.concat(F.col("site"), (F.col("l") + 1000).cast("string")).alias("category"),
        F.date_format(F.timestamp_seconds(F.lit(1_780_000_000) + h * 3600), "yyyy-MM-dd'T'HH:mm:ss'Z'").alias(
            "taken_at"
        ),
        "entries",
    )


def run_rust(binary: str, lines_dir: str, work: str, workers: int = 2):
    """Scores each list's snapshots with `meli-radar score`; returns (seconds, events).

    A list's input (a JSON array of its snapshots) is written just before it is scored and removed
    after, so at most `workers` of them are on disk at a time. Timed: each `meli-radar score` process
    (start, parse, score, print), summed over the lists and divided by the workers."""
    files = sorted(glob.glob(os.path.join(lines_dir, "site=*", "category=*", "*.json*")))
    by_list = {}
    for f in files:
        by_list.setdefault(os.path.dirname(f), []).append(f)

    def write_input(d, fs):
        # The partition folders hold the list's keys: put them back into each snapshot.
        site = os.path.basename(os.path.dirname(d)).split("=", 1)[1]
        cat = os.path.basename(d).split("=", 1)[1]
        head = '{"site":"%s","category":"%s",' % (site, cat)
        arr = os.path.join(work, f"{site}-{cat}.json")
        with open(arr, "w") as out:
            out.write("[")
            first = True
            for f in fs:
                with (gzip.open(f, "rt") if f.endswith(".gz") else open(f)) as src:
                    for line in src:
                        if not first:
                            out.write(",")
                        out.write(head + line.rstrip("\n")[1:])
                        first = False
            out.write("]")
        return arr

    def one(item):
        d, fs = item
        path = write_input(d, fs)
        try:
            t0 = time.time()
            r = subprocess.run([binary, "score", "--input", path], capture_output=True, text=True)
            secs = time.time() - t0
        finally:
            os.remove(path)
        if r.returncode != 0:
            raise RuntimeError(f"meli-radar score {path}: {r.stderr.strip()}")
        return secs, [json.loads(x) for x in r.stdout.splitlines() if x.strip()]

    with ThreadPoolExecutor(workers) as pool:
        results = list(pool.map(one, sorted(by_list.items())))
    secs = sum(s for s, _ in results) / workers
    keys = {(e["pk"], e["sk"]) for _, rs in results for e in rs}
    return secs, keys


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--entries", type=int, default=10_000_000)
    ap.add_argument("--lists", type=int, default=200)
    ap.add_argument("--meli-radar", default=None, help="the meli-radar binary (the Rust side); skipped without")
    ap.add_argument("--work", default=None, help="scratch folder (default: a temporary one, removed)")
    ap.add_argument("--driver-memory", default="6g")
    args = ap.parse_args()

    work = args.work or tempfile.mkdtemp(prefix="meli-spark-bench-")
    os.makedirs(work, exist_ok=True)
    spark = session.build("meli-radar-bench", master="local[2]", shuffle_partitions=8,
                          extra={"spark.driver.memory": args.driver_memory})
    try:
        t0 = time.time()
        history = os.path.join(work, "history")
        # gzip'd JSON lines (the shape of an export's data files), a list per folder.
        generate(spark, args.entries, args.lists).write.mode("overwrite").partitionBy("site", "category").option(
            "compression", "gzip"
        ).json(history)
        snaps = spark.read.schema(export.SNAPSHOT_SCHEMA).json(history)
        n_entries = snaps.select(F.sum(F.size("entries"))).first()[0]
        n_snaps = snaps.count()
        print(f"generated {n_snaps} snapshots, {n_entries} entries, {args.lists} lists in {time.time() - t0:.1f} s")

        t0 = time.time()
        sig = signals.compute(snaps)
        sig.products.write.mode("overwrite").parquet(os.path.join(work, "products"))
        spark_keys = {(r["pk"], r["sk"]) for r in sig.events.select("pk", "sk").collect()}
        spark_secs = time.time() - t0
        print(f"spark  (local[2]):          {spark_secs:8.1f} s  {n_entries / spark_secs:12,.0f} entries/s  "
              f"{len(spark_keys)} events")

        if args.meli_radar:
            rust_secs, rust_keys = run_rust(args.meli_radar, history, work)
            print(f"rust scorer (2 processes):  {rust_secs:8.1f} s  {n_entries / rust_secs:12,.0f} entries/s  "
                  f"{len(rust_keys)} events")
            print(f"ratio: Spark {n_entries / spark_secs:,.0f} ÷ Rust {n_entries / rust_secs:,.0f} entries/s = "
                  f"{rust_secs / spark_secs:.2f} (above 1: Spark is faster)")
            if spark_keys != rust_keys:
                only_s, only_r = sorted(spark_keys - rust_keys), sorted(rust_keys - spark_keys)
                print(f"EVENTS DIFFER: {len(only_s)} only in Spark (e.g. {only_s[:3]}), "
                      f"{len(only_r)} only in Rust (e.g. {only_r[:3]})")
                return 1
            print("events: identical keys in both")
        return 0
    finally:
        spark.stop()
        if not args.work:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
