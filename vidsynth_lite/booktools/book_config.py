"""Derive a jupyter-book configuration for another build of the same book.

``python -m vidsynth_lite.booktools.book_config smoke _config.yml OUT.yml`` writes the configuration of the site
that `make test` builds from the `smoke` execution: every notebook executed afresh (never the `lite` book's
execution cache, whose key ignores the profile), so the browser tests see what the smoke run shows.
"""

from __future__ import annotations

import sys
from pathlib import Path


def _absolute(config: dict, root: Path) -> dict:
    """Paths in a jupyter-book config are relative to the config file's folder: make them absolute."""
    sphinx = dict(config.get("sphinx", {}))
    if "local_extensions" in sphinx:
        sphinx["local_extensions"] = {k: str((root / v).resolve()) + "/" for k, v in sphinx["local_extensions"].items()}
    inner = dict(sphinx.get("config", {}))
    if "html_static_path" in inner:
        inner["html_static_path"] = [str((root / v).resolve()) for v in inner["html_static_path"]]
    sphinx["config"] = inner
    config["sphinx"] = sphinx
    html = dict(config.get("html", {}))
    if "favicon" in html:
        html["favicon"] = str((root / html["favicon"]).resolve())
    config["html"] = html
    if "bibtex_bibfiles" in config:
        config["bibtex_bibfiles"] = [str((root / v).resolve()) for v in config["bibtex_bibfiles"]]
    return config


def smoke_config(config: dict, root: Path = Path(".")) -> dict:
    config = _absolute(dict(config), root)
    execute = dict(config.get("execute", {}))
    execute.update(execute_notebooks="force", timeout=600)
    execute.pop("cache", None)
    config["execute"] = execute
    config["title"] = f"{config.get('title', 'book')} (smoke build, for tests)"
    return config


def main(argv: list[str]) -> int:
    import yaml

    if len(argv) != 3 or argv[0] != "smoke":
        print("usage: python -m vidsynth_lite.booktools.book_config smoke _config.yml OUT.yml", file=sys.stderr)
        return 2
    config = yaml.safe_load(Path(argv[1]).read_text())
    out = Path(argv[2])
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(yaml.safe_dump(smoke_config(config, Path(argv[1]).parent), sort_keys=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
