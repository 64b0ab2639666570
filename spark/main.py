"""The entry point `spark-submit` runs (EMR Serverless: `entryPoint`), with the package shipped as
`--py-files meli_radar_spark.zip` (`make spark-package`). Arguments: those of `meli_radar_spark.job`."""

import sys

from meli_radar_spark.job import main

if __name__ == "__main__":
    sys.exit(main())
