"""The course on a JupyterHub (`make hub`): a thin layer over JupyterHub, PAM and nbgrader.

- ``site.py``: what one hub serves (its users, folders and ports), saved as ``site.json`` in its
  root-only state folder, and the environment each user's server gets.
- ``bootstrap.py``: makes it real on this machine (Unix users with passwords, the instructor's
  course folder, the exchange), starts JupyterHub, and takes it all down again.
- ``jupyterhub_config.py``: JupyterHub's configuration, read from the site.
- ``instructor/``, ``student/``: the Jupyter configuration of the instructor's and the students'
  servers (nbgrader's course and exchange; the formgrader for the instructor only).
- ``grading.py``: grading a collected assignment with course-grader and putting its feedback
  where ``nbgrader release_feedback`` looks for it.
- ``proxy/``: the pinned npm package of JupyterHub's proxy, installed into ``.hub/``.
"""
