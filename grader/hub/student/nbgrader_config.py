"""nbgrader in a student's hub server: the course (its id and settings) and the exchange.

Found through JUPYTER_CONFIG_PATH (set by the hub, see grader/hub/site.py) by the Assignments tab,
the Validate button and any nbgrader command in the student's terminals. Assignments are fetched
into the student's home, the server's root.
"""
import os
from pathlib import Path

c = get_config()  # noqa: F821 (provided by traitlets when the file is loaded)

COURSE_CONFIG = Path(__file__).resolve().parents[2] / "nbgrader_config.py"
load_subconfig(str(COURSE_CONFIG))  # noqa: F821
if not c.CourseDirectory.get("course_id"):
    raise RuntimeError(f"no course id: {COURSE_CONFIG} is missing or sets no CourseDirectory.course_id")

# Nothing of the instructor's: no course folder, no gradebook.
c.CourseDirectory.root = str(Path.home())
c.CourseDirectory.pop("db_url", None)
c.Exchange.root = os.environ["BACKPROP_HUB_EXCHANGE"]
