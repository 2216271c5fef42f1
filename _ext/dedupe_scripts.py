"""Sphinx extension: drop repeated inline scripts from every page.

jupyter-book 1 registers sphinx-thebe's configuration script twice, and the second copy throws
``SyntaxError: Identifier 'THEBE_JS_URL' has already been declared`` in every browser console (the site check
in ``vidsynth_lite/booktools/site_check.py`` caught it). Keeping the first of identical scripts removes it.
"""

from __future__ import annotations


def _dedupe(app, pagename, templatename, context, doctree):
    scripts = context.get("script_files")
    if not scripts:
        return
    seen, kept = set(), []
    for script in scripts:
        # the same file or the same inline body, whatever its priority (inline scripts come with filename None or
        # "" depending on who registered them)
        key = (getattr(script, "filename", str(script)) or "", tuple(sorted(getattr(script, "attributes", {}).items())))
        if key in seen:
            continue
        seen.add(key)
        kept.append(script)
    scripts[:] = kept


def setup(app):
    app.connect("html-page-context", _dedupe, priority=1)  # first: a later handler may end the chain
    return {"parallel_read_safe": True, "parallel_write_safe": True}
