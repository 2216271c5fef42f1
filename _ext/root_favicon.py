"""Sphinx extension: serve the site's favicon at ``/favicon.ico`` too.

The site's root ``index.html`` is jupyter-book's bare redirect page, without a ``<link rel="icon">``, so a browser
asks the server for ``/favicon.ico`` and logs a 404 in the console (the site check in
``vidsynth_lite/booktools/site_check.py`` caught it). Browsers read a PNG served under that name.
"""

from __future__ import annotations

import shutil
from pathlib import Path


def _copy_favicon(app, exception):
    favicon = app.config.html_favicon
    if exception is not None or app.builder.format != "html" or not favicon or "://" in favicon:
        return
    source = Path(app.confdir or app.srcdir) / favicon             # an absolute path stays itself
    if not source.is_file():
        raise FileNotFoundError(f"html_favicon {favicon!r}: no file {source}")
    shutil.copyfile(source, Path(app.outdir) / "favicon.ico")


def setup(app):
    app.connect("build-finished", _copy_favicon)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
