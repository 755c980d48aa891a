"""Pages that read offline, with a clean console: no Thebe assets.

Jupyter Book 1 always loads sphinx-thebe (live code cells through Binder), which this
book does not use: its launch buttons open the notebook on Binder or Colab instead.
Yet sphinx-thebe puts its assets on every page: an inline script that declares
`const THEBE_JS_URL` (a CDN address), emitted twice, so every page opens with
"Identifier 'THEBE_JS_URL' has already been declared" in the reader's console, and
a loader that would fetch thebe from that CDN. We take them off every page;
`tests/test_browser.py` checks that no page requests anything outside the site and
that the console stays free of errors.
"""
from __future__ import annotations


def _is_thebe(asset) -> bool:
    filename = str(getattr(asset, "filename", "") or "")
    body = str(getattr(asset, "attributes", {}).get("body", ""))
    return "thebe" in filename or "THEBE_JS_URL" in body


def drop_thebe_assets(app, pagename, templatename, context, doctree):
    for key in ("script_files", "css_files"):
        if key in context:
            context[key] = [asset for asset in context[key] if not _is_thebe(asset)]


def setup(app):
    app.connect("html-page-context", drop_thebe_assets, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
