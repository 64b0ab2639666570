"""One local SparkSession for the whole test session (starting one takes seconds)."""

import os
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))  # spark/ on the path: `import meli_radar_spark`

REPO = os.path.abspath(os.path.join(HERE, "..", ".."))


@pytest.fixture(scope="session")
def spark():
    from meli_radar_spark import session

    s = session.build("meli-radar-tests", master="local[2]", shuffle_partitions=2)
    yield s
    s.stop()


@pytest.fixture(scope="session")
def repo():
    return REPO
