"""meli-radar's batch job: the whole history of the best-seller lists through Spark.

Modules:
- ``config``: the signal thresholds (``docs/signals.md`` §2), the mirror of ``SignalConfig``.
- ``export``: the one reader of DynamoDB-JSON exports (the S3 export and ``meli-radar export``), and
  the writer of DynamoDB-JSON items (the calibration).
- ``signals``: per-product and per-category signals and events with window functions.
- ``calibration``: the per-category rank→demand exponent ``b`` from review growth by position.
- ``reports``: volatility over time, time to #1, breakouts, cross-country diffusion.
- ``job``: the command line (``python -m meli_radar_spark.job`` or ``spark-submit``).
"""
