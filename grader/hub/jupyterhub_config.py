"""JupyterHub for the course (`make hub`), read from the site that bootstrap.py set up.

Users log in with their Unix password (PAM, JupyterHub's default authenticator: the users are real
accounts of this machine, and each server runs as its user, so the password the machine checks is
the one the hub checks). Each user's server is JupyterLab from the course's environment, with the
course's kernel; JUPYTER_CONFIG_PATH gives the instructor the formgrader and the students the
Assignments tab without it (grader/hub/instructor, grader/hub/student).
"""
import os

from grader.hub.site import Site

site = Site.load(os.environ["BACKPROP_HUB_SITE"])
c = get_config()  # noqa: F821 (provided by traitlets when the file is loaded)

c.JupyterHub.bind_url = site.url
c.JupyterHub.hub_ip = "127.0.0.1"
c.JupyterHub.hub_port = site.hub_port
c.ConfigurableHTTPProxy.command = [str(site.proxy)]
c.ConfigurableHTTPProxy.api_url = f"http://127.0.0.1:{site.proxy_api_port}"
c.ConfigurableHTTPProxy.pid_file = str(site.state / "proxy.pid")
c.JupyterHub.db_url = f"sqlite:///{site.state / 'jupyterhub.sqlite'}"
c.JupyterHub.cookie_secret_file = str(site.state / "jupyterhub_cookie_secret")

c.JupyterHub.authenticator_class = "pam"
c.Authenticator.allowed_users = set(site.users)
# A notebook server is not a login: no PAM session (pam_systemd, pam_loginuid) is opened for it.
c.PAMAuthenticator.open_sessions = False

c.JupyterHub.spawner_class = "localprocess"
c.Spawner.cmd = [str(site.venv / "bin" / "jupyterhub-singleuser")]
c.Spawner.default_url = "/lab"
c.Spawner.notebook_dir = "~"


def per_role_environment(spawner):
    """The user's role decides its Jupyter configuration (a new dict: the configured one is shared)."""
    spawner.environment = {**spawner.environment, **site.environment(spawner.user.name)}


c.Spawner.pre_spawn_hook = per_role_environment
# The first start of JupyterLab on a busy 2-core machine can take a while.
c.Spawner.start_timeout = 120
c.Spawner.http_timeout = 90
