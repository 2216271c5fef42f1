"""Reproduction: the results store the chapters write and the reproduction pages read."""

from vidsynth_lite.reproduce import claims, report
from vidsynth_lite.reproduce.card import run_card, show_run
from vidsynth_lite.reproduce.claims import Claim, PaperTable, show_claims
from vidsynth_lite.reproduce.results import ResultsError, available, read_results, results_path, write_results

__all__ = ["Claim", "PaperTable", "ResultsError", "available", "claims", "read_results", "report", "results_path",
           "run_card", "show_claims", "show_run", "write_results"]
