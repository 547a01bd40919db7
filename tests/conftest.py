"""Shared test configuration.

Hypothesis profiles (select with HYPOTHESIS_PROFILE, default ``ci``):
  ci        fixed seed (derandomized), example counts sized for the 10-minute CI budget
  thorough  many more examples, random seeds, no deadline: for long local runs
"""
import os

from hypothesis import HealthCheck, settings

settings.register_profile(
    "ci", max_examples=25, derandomize=True, deadline=None, print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
settings.register_profile(
    "thorough", max_examples=500, deadline=None, print_blob=True,
    suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
