"""Command line: ``python -m vidsynth_lite <command>``.

    env                                   print the environment report
    reproduce --list                      every chapter, its profiles and the paper tables it writes
    reproduce CHAPTER [--profile P]       run a chapter with papermill at a profile (default: full), one progress
              [-p NAME VALUE ...]         line per section, then its claims and the paper's tables beside ours;
                                          -p overrides a parameter, checked before anything runs; re-running after
                                          an interruption resumes the chapter's training runs. CHAPTER may
                                          be its notebook instead (notebooks/03_vqvae.py or .ipynb): that
                                          file is run (a jupytext source is converted first)
              [--cell-timeout SECONDS]    per-cell limit (default: smoke 600, lite 3600, full 7 days; 0: none):
                                          a cell past it stops the run with one error naming the cell
    pretrain CHAPTER [ARGS...]            train a chapter's shipped checkpoint (resumable: rerun to finish);
                                          ARGS belong to the chapter (pretrain CHAPTER --help lists them)
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

PROFILES = ("smoke", "lite", "full")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m vidsynth_lite")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("env", help="print the environment report")
    rep = sub.add_parser("reproduce", help="run a chapter with papermill at a profile, or --list the chapters")
    rep.add_argument("chapter", nargs="*", metavar="CHAPTER",
                     help="a chapter name from --list (e.g. vqvae), or its notebook: notebooks/03_vqvae.py, "
                          "or the .ipynb made by 'make notebooks'")
    rep.add_argument("--list", action="store_true", help="list the chapters, their profiles and tables")
    rep.add_argument("--profile", default="full", help="smoke | lite | full (default: full)")
    rep.add_argument("--output", default=None, help="executed notebook (default: _build/executed/<name>)")
    rep.add_argument("--cell-timeout", type=int, default=None, metavar="SECONDS",
                     help="seconds one cell may run before the run fails naming it (default by profile: "
                          "smoke 600, lite 3600, full 7 days; 0: no limit)")
    rep.add_argument("-p", "--param", nargs=2, action="append", default=[], metavar=("NAME", "VALUE"),
                     help="override a parameter (value parsed as YAML)")
    pre = sub.add_parser("pretrain", help="train a chapter's shipped checkpoint (pretrain CHAPTER --help)",
                         add_help=False)
    pre.add_argument("chapter", help="a chapter with a shipped checkpoint, e.g. vqvae")
    args, rest = parser.parse_known_args(argv)
    if args.command != "pretrain" and rest:
        parser.error(f"unrecognized arguments: {' '.join(rest)}")

    if args.command == "pretrain":
        return _pretrain(args.chapter, rest)

    if args.command == "env":
        from vidsynth_lite import runtime

        print(json.dumps(runtime.environment(), indent=2))
        return 0
    if args.list:
        print(_listing())
        return 0
    problem = _check(args)
    if problem:
        print(f"error: {problem}", file=sys.stderr)
        return 2
    return _reproduce(args)


def _pretrain(name: str, argv: list[str]) -> int:
    """Hand the remaining arguments to ``vidsynth_lite.chapters.<module>.pretrain_main``."""
    import importlib

    from vidsynth_lite.chapters import CHAPTERS

    chapter = CHAPTERS.get(name)
    module = importlib.import_module(f"vidsynth_lite.chapters.{chapter.module}") if chapter else None
    if module is None or not hasattr(module, "pretrain_main"):
        shipped = sorted(n for n, c in CHAPTERS.items()
                         if hasattr(importlib.import_module(f"vidsynth_lite.chapters.{c.module}"),
                                    "pretrain_main"))
        print(f"error: no pretrain for {name!r}; chapters with a shipped checkpoint: {shipped}", file=sys.stderr)
        return 2
    return module.pretrain_main(argv)


def _listing() -> str:
    from vidsynth_lite import paths
    from vidsynth_lite.chapters import CHAPTERS

    lines = []
    for name, chapter in CHAPTERS.items():
        folder = paths.configs_dir() / chapter.config_class().chapter
        profiles = [p for p in PROFILES if (folder / f"{p}.yaml").is_file()]
        tables = ", ".join(chapter.tables) if chapter.tables else "no paper table"
        lines.append(f"{name:<12} {chapter.title or chapter.notebook}\n{'':<12} notebook notebooks/"
                     f"{chapter.notebook}.py, profiles {' | '.join(profiles)}; writes results/{chapter.results}"
                     f".json: {tables}")
    return "\n".join(lines)


def _check(args) -> str | None:
    """One line for a wrong chapter, profile or parameter, before papermill starts a kernel."""
    import yaml

    from vidsynth_lite import config
    from vidsynth_lite.chapters import CHAPTERS

    if not args.chapter:
        return "name a chapter (python -m vidsynth_lite reproduce --list shows them)"
    args.notebook = None
    names = set()
    for given in args.chapter:   # a chapter's name or its notebook (the README's 'reproduce NOTEBOOK CHAPTER')
        if Path(given).suffix not in (".py", ".ipynb"):
            names.add(given)
            continue
        by_notebook = {c.notebook: n for n, c in CHAPTERS.items()}
        if Path(given).stem not in by_notebook:
            return (f"{given!r} is not a chapter's notebook; expected one of "
                    f"{[f'notebooks/{nb}.py' for nb in by_notebook]} (see --list)")
        if not Path(given).is_file():
            source = f"notebooks/{Path(given).stem}.py"
            hint = f" (run 'make notebooks' to make it, or give its source {source})" if given.endswith(".ipynb") else ""
            return f"notebook {given!r} not found{hint}"
        names.add(by_notebook[Path(given).stem])
        args.notebook = Path(given)
    if len(names) != 1:
        return f"{' and '.join(repr(g) for g in args.chapter)} name different chapters; name one"
    args.chapter = names.pop()
    if args.chapter not in CHAPTERS:
        return f"unknown chapter {args.chapter!r}; expected one of {sorted(CHAPTERS)} (see --list)"
    if args.profile not in PROFILES:
        return f"unknown profile {args.profile!r}; expected one of {list(PROFILES)}"
    if args.cell_timeout is not None and args.cell_timeout < 0:
        return f"--cell-timeout {args.cell_timeout}: expected seconds >= 0 (0: no limit)"
    try:
        overrides = {name: yaml.safe_load(value) for name, value in args.param}
    except yaml.YAMLError as error:
        detail = " ".join(line.strip() for line in str(error).splitlines() if line.strip())
        return f"a -p value is not valid YAML: {detail}"
    args.overrides = overrides
    env_profile = os.environ.pop(config.PROFILE_ENV, None)  # the profile asked for here wins, as in the run
    try:
        config.resolve(CHAPTERS[args.chapter].config_class(), {**overrides, "profile": args.profile})
    except config.ConfigError as error:
        return f"ConfigError: {error}"
    finally:
        if env_profile is not None:
            os.environ[config.PROFILE_ENV] = env_profile
    return None


def _reproduce(args) -> int:
    from vidsynth_lite import paths
    from vidsynth_lite.chapters import CHAPTERS
    from vidsynth_lite.reproduce import claims as claims_module
    from vidsynth_lite.reproduce.run import CellStalled, run_chapter

    chapter = CHAPTERS[args.chapter]
    notebook = args.notebook or Path(paths.repo_root()) / "notebooks" / f"{chapter.notebook}.py"
    output = args.output or f"_build/executed/{chapter.notebook}-{args.profile}.ipynb"
    Path(output).parent.mkdir(parents=True, exist_ok=True)
    try:
        results = run_chapter(notebook, chapter.config_class().chapter, args.profile, output, args.overrides,
                              args.cell_timeout, results_name=chapter.results, progress=True)
    except CellStalled as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    metrics = results["metrics"]
    found = [claims_module.Claim.from_dict(c) for c in metrics.get("claims", [])]
    print(f"\n{chapter.title or args.chapter} at {args.profile}: results/{chapter.results}.json, executed "
          f"notebook {output}")
    for claim in found:
        print(f"  {claim}")
    for entry in metrics.get("paper_tables", {}).values():
        table = claims_module.PaperTable(**entry)
        print(f"\n{table.name}" + (f"\n  ({table.note})" if table.note else ""))
        widths = [max(len(str(c)) for c in [col, *[r[i] for r in table.rows]]) for i, col in
                  enumerate(table.columns)]
        for row in [table.columns, *table.rows]:
            print("  " + "  ".join(str(c).ljust(w) for c, w in zip(row, widths)))
    if not found and not metrics.get("paper_tables"):
        print(json.dumps(metrics, indent=2)[:4000])
    return 0


if __name__ == "__main__":
    sys.exit(main())
