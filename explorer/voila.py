"""Voilà configuration of the loss-curve explorer app (`make explorer`).

Voilà reads this file because the Makefile puts explorer/ on JUPYTER_CONFIG_PATH; it finds the
"course" template (explorer/voila/templates/course) because explorer/ is also on JUPYTER_PATH.
"""
c = get_config()  # noqa: F821 (provided by traitlets when the file is loaded)

# The course template: Voilà's "lab" template without its CDN stylesheet (the app works offline),
# plus a script that shuts the page's kernel down when the page goes away.
c.VoilaConfiguration.template = "course"

# Load only the widget front end. Every other JupyterLab extension installed in the environment
# (nbgrader's, notebook's) is for JupyterLab and only logs errors in a Voilà page.
c.VoilaConfiguration.extension_allowlist = [
    "@jupyter-widgets/jupyterlab-manager",
    "@voila-dashboards/widgets-manager8",
]

# A reader sees the widgets, never a Python traceback.
c.VoilaConfiguration.show_tracebacks = False


def _set_xsrf_cookie(handler, notebook, cwd):
    """Give the page its _xsrf cookie: the request that shuts the kernel down (a POST) must carry it.

    Tornado sets the cookie the first time a handler reads its token; Voilà's page never does."""
    handler.xsrf_token


c.VoilaConfiguration.prelaunch_hook = _set_xsrf_cookie

# The safety net for pages that close without saying so (a crashed tab, a lost connection): a
# kernel with no page connected and idle for 20 s is shut down, checked every 5 s. A kernel whose
# page is still open is never culled, however long the reader looks at it.
c.MappingKernelManager.cull_idle_timeout = 20
c.MappingKernelManager.cull_interval = 5
c.MappingKernelManager.cull_connected = False
