"""nbgrader in the instructor's hub server: the course's settings, the instructor's course folder, the exchange.

Found through JUPYTER_CONFIG_PATH (set by the hub, see grader/hub/site.py), by the formgrader and by
every nbgrader command run in the instructor's terminals. The course folder uses nbgrader's standard
layout (source/, release/, submitted/, autograded/, feedback/, gradebook.db) and is readable by the
instructor only.
"""
import os
from pathlib import Path

c = get_config()  # noqa: F821 (provided by traitlets when the file is loaded)

# The course's own settings (course id, stubs, time limits, ignored files) stay in one place.
COURSE_CONFIG = Path(__file__).resolve().parents[2] / "nbgrader_config.py"
load_subconfig(str(COURSE_CONFIG))  # noqa: F821
if not c.CourseDirectory.get("course_id"):
    raise RuntimeError(f"no course id: {COURSE_CONFIG} is missing or sets no CourseDirectory.course_id")

course = Path(os.environ["BACKPROP_HUB_COURSE_DIR"])
c.CourseDirectory.root = str(course)
c.CourseDirectory.source_directory = "source"
c.CourseDirectory.release_directory = "release"
c.CourseDirectory.submitted_directory = "submitted"
c.CourseDirectory.autograded_directory = "autograded"
c.CourseDirectory.feedback_directory = "feedback"
c.CourseDirectory.db_url = f"sqlite:///{course / 'gradebook.db'}"
c.Exchange.root = os.environ["BACKPROP_HUB_EXCHANGE"]
