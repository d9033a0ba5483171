"""Sphinx configuration of the course's website; `python -m a3c_course.site build` runs it.

The builder lays out the sources (see ``a3c_course/site/sources.py``) and passes, through
the environment, where the execution cache and the local copy of MathJax are.
"""

import os

project = "a3c-course"
author = "a3c-course"
html_title = "a3c-course"

extensions = [
    "myst_nb",
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",  # the docstrings' "Args:" and "Returns:" sections
    "sphinx.ext.mathjax",
]

# -- notebooks: executed once, then served from the execution cache ------------------
nb_execution_mode = "cache"
nb_execution_cache_path = os.environ.get("A3C_COURSE_SITE_CACHE", "_build/.jupyter_cache")
nb_execution_excludepatterns = ["student/*"]  # the student versions stop at their stubs
# A quick build (the site's own test) executes only some of the solution notebooks.
nb_execution_excludepatterns += os.environ.get("A3C_COURSE_SITE_SKIP", "").split()
nb_execution_timeout = 1800                  # a class-profile cell may train for minutes
nb_execution_raise_on_error = True           # a notebook that fails fails the build
nb_merge_streams = True
# Training shows a live dashboard (a widget) whose final state the same output also
# carries as HTML: a static page cannot run the widget, so it shows that HTML instead.
# and loads no widget library (from a CDN, which would also make the site need a network).
nb_ipywidgets_js = {}
nb_mime_priority_overrides = [("html", "application/vnd.jupyter.widget-view+json", None),
                              ("html", "application/vnd.jupyter.widget-state+json", None)]

myst_enable_extensions = ["dollarmath", "amsmath", "colon_fence"]
myst_heading_anchors = 3
suppress_warnings = ["myst.header", "mystnb.unknown_mime_type", "misc.highlighting_failure"]

exclude_patterns = ["**/runs/**", "**/.ipynb_checkpoints", "jupyter_execute"]

# -- the library's docstrings --------------------------------------------------------
autodoc_member_order = "bysource"
autodoc_typehints = "description"
napoleon_google_docstring = True
napoleon_numpy_docstring = False

# -- formulas: MathJax from the site itself (no network is needed to read the site) --
_static = os.environ.get("A3C_COURSE_SITE_STATIC")
html_static_path = [_static] if _static else []
if _static:
    mathjax_path = "mathjax/tex-svg.js"
mathjax3_config = {"options": {"enableMenu": False}}

html_theme = "sphinx_book_theme"
html_theme_options = {"show_toc_level": 2, "navigation_with_keys": False}
html_show_sourcelink = False
html_copy_source = False
