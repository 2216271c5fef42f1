"""Command line: ``python -m vidsynth_lite <command>``.

    env                                     print the environment report
    reproduce NOTEBOOK CHAPTER --profile P  run a chapter with papermill at a profile, print its metrics
    pretrain ccvs [--profile lite]          train a chapter's shipped checkpoints (resumable)
"""

from __future__ import annotations

import argparse
import json
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

    output = args.output or f"_build/executed/{Path(args.notebook).stem}-{args.profile}.ipynb"
    Path(output).parent.mkdir(parents=True, exist_ok=True)
    overrides = {name: yaml.safe_load(value) for name, value in args.param}
    results = run_chapter(args.notebook, args.chapter, args.profile, output, overrides)
    print(json.dumps(results["metrics"], indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
