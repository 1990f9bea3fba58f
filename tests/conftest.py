"""Shared test fixtures: the kernel families this CPU can run, and the real model's directory."""

from __future__ import annotations

import os
import sys
from typing import List

import pytest

import bertcore
from bertcore import _core

HERE = os.path.dirname(os.path.abspath(__file__))
if HERE not in sys.path:
    sys.path.insert(0, HERE)  # tests/corpus.py and friends

SUPPORTED_ISAS: List[str] = list(_core.cpu_info()["supported_isas"])


def pytest_report_header(config: pytest.Config) -> List[str]:
    info = bertcore.cpu_info()
    return [
        f"bertcore {bertcore.__version__}: CPU {info['brand']!r}, supported ISAs {info['supported_isas']}, "
        f"default ISA {info['isa']}, default threads {info['num_threads']}"
    ]


@pytest.fixture(params=SUPPORTED_ISAS)
def isa(request: pytest.FixtureRequest) -> str:
    """Each kernel family this CPU supports, in turn."""
    return str(request.param)
