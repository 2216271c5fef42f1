"""Reproduction: the results store the chapters write and the reproduction pages read."""

from vidsynth_lite.reproduce import report
from vidsynth_lite.reproduce.results import ResultsError, available, read_results, results_path, write_results

__all__ = ["ResultsError", "available", "read_results", "report", "results_path", "write_results"]
