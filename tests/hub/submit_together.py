"""`nbgrader submit ASSIGNMENT`, held back until every student is ready (run as one student by the hub test).

    python submit_together.py READY_DIR GO_FILE ASSIGNMENT

Imports nbgrader first (seconds of a start-up that would spread the submissions out), then writes
READY_DIR/<user>, waits until GO_FILE exists, and submits: thirty of these submit within milliseconds
of each other.
"""
import getpass
import os
import sys
import time

# As in the grader's processes (grader/__init__.py): jsonschema's IRI parsers, built at import, are
# 1.5 s of CPU for each of thirty Pythons on two cores, and nothing here checks an IRI.
sys.modules.setdefault("rfc3987_syntax", None)
from nbgrader.apps.nbgraderapp import NbGraderApp  # noqa: E402

ready, go, assignment = sys.argv[1:4]
open(os.path.join(ready, getpass.getuser()), "w").close()
while not os.path.exists(go):
    time.sleep(0.01)
NbGraderApp.launch_instance(["submit", assignment])
