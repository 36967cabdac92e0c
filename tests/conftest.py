"""Shared test settings: a headless matplotlib and hypothesis profiles."""

import os

os.environ.setdefault("MPLBACKEND", "agg")  # before anything imports matplotlib

from hypothesis import HealthCheck, settings  # noqa: E402

settings.register_profile("dev", deadline=None, max_examples=60)
settings.register_profile("ci", deadline=None, max_examples=60, derandomize=True,
                          suppress_health_check=[HealthCheck.too_slow])
in_ci = os.environ.get("CI", "").lower() not in ("", "0", "false", "no")
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci" if in_ci else "dev"))
