"""Make the page's ".ipynb" download always carry the outputs of its execution.

sphinx-book-theme offers `_sources/<page>.ipynb` for download, a copy of the notebook
myst-nb wrote after executing the page. With `execute_notebooks: cache`, when a page
is re-read but its code did not change (a prose edit, a `--all` rebuild), myst-nb
takes the outputs from the jupyter-cache into a *new* notebook object and writes the
old one, without outputs (myst-nb 1.4, `NotebookClientCache.start_client`). Here we
merge the cached outputs back into the downloadable copy after the theme made it.
"""
from __future__ import annotations

from pathlib import Path

import nbformat
from jupyter_cache import get_cache


def add_cached_outputs(app, pagename, templatename, context, doctree):
    source = context.get("ipynb_source")  # set by the theme for notebook pages only
    if not source:
        return
    download = Path(app.outdir, "_sources", source)
    notebook = nbformat.read(download, as_version=4)
    if any(cell.get("outputs") for cell in notebook.cells):
        return
    cache_path = app.env.mystnb_config.execution_cache_path or Path(app.outdir).parent / ".jupyter_cache"
    _, executed = get_cache(cache_path).merge_match_into_notebook(notebook)
    nbformat.write(executed, download)


def setup(app):
    # After the theme's add_launch_buttons (priority 501), which makes the copy.
    app.connect("html-page-context", add_cached_outputs, priority=600)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
