"""Command line: ``python -m vidsynth_lite <command>``.

    env                                     print the environment report
    reproduce NOTEBOOK CHAPTER --profile P  run a chapter with papermill at a profile, print its metrics
                                            (NOTEBOOK: the .ipynb or its jupytext .py source; -p NAME VALUE
                                            overrides a parameter, checked before anything runs)
    pretrain ccvs [--profile lite]          train a chapter's shipped checkpoints (resumable)
"""

from __future__ import annotations

import argparse
import json
import os
import sys


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m vidsynth_lite")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("env", help="print the environment report")
    rep = sub.add_parser("reproduce", help="run a chapter notebook with papermill at a profile")
    rep.add_argument("notebook")
    rep.add_argument("chapter", help="folder name under configs/, e.g. vqvae")
    rep.add_argument("--profile", default="full", choices=("smoke", "lite", "full"))
    rep.add_argument("--output", default=None, help="executed notebook (default: _build/executed/<name>)")
    rep.add_argument("-p", "--param", nargs=2, action="append", default=[], metavar=("NAME", "VALUE"),
                     help="override a parameter (value parsed as YAML)")
    pre = sub.add_parser("pretrain", help="train a chapter's shipped checkpoints (resumable)")
    pre.add_argument("chapter", choices=("ccvs",))
    pre.add_argument("--profile", default="lite", choices=("smoke", "lite", "full"))
    args = parser.parse_args(argv)

    if args.command == "pretrain":
        from vidsynth_lite.chapters.ccvs import pretrain

        print(json.dumps(pretrain(args.profile), indent=2))
        return 0

    if args.command == "env":
        from vidsynth_lite import runtime

        print(json.dumps(runtime.environment(), indent=2))
        return 0

    from pathlib import Path

    import yaml

    from vidsynth_lite.reproduce.run import run_chapter

    overrides = {name: yaml.safe_load(value) for name, value in args.param}
    problem = _check_parameters(args.chapter, args.profile, overrides)
    if problem:
        print(f"error: {problem}", file=sys.stderr)
        return 2
    output = args.output or f"_build/executed/{Path(args.notebook).stem}-{args.profile}.ipynb"
    Path(output).parent.mkdir(parents=True, exist_ok=True)
    results = run_chapter(args.notebook, args.chapter, args.profile, output, overrides)
    print(json.dumps(results["metrics"], indent=2))
    return 0


def _check_parameters(chapter: str, profile: str, overrides: dict) -> str | None:
    """The config's one-line message for a bad chapter name or parameter, before papermill starts a kernel."""
    from vidsynth_lite import config
    from vidsynth_lite.chapters import CHAPTERS

    known = {c.config_class().chapter: c for c in CHAPTERS.values()}
    if chapter not in known:
        return f"unknown chapter {chapter!r}; expected one of {sorted(known)} (the folder name under configs/)"
    env_profile = os.environ.pop(config.PROFILE_ENV, None)  # the profile asked for here wins, as in the run
    try:
        config.resolve(known[chapter].config_class(), {**overrides, "profile": profile})
    except config.ConfigError as error:
        return f"ConfigError: {error}"
    finally:
        if env_profile is not None:
            os.environ[config.PROFILE_ENV] = env_profile
    return None


if __name__ == "__main__":
    sys.exit(main())
