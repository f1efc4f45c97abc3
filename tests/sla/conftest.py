"""SLA tests: hypothesis keeps no example database in the checkout (no .hypothesis/ directory),
and every test starts with an empty calendar cache."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, settings

settings.register_profile(
    "sla", database=None, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile("sla")


@pytest.fixture(autouse=True)
def _fresh_calendar_cache():
    from sla.selectors import cache_clear

    cache_clear()
    yield
    cache_clear()
