"""Reproduction: the results store the chapters write and the reproduction pages read."""

from vidsynth_lite.reproduce import report
from vidsynth_lite.reproduce.results import available, read_results, write_results

__all__ = ["available", "read_results", "report", "write_results"]
