"""nbgrader configuration for the course. Loading it has no side effects.

Settings come from the environment, so that one installed copy serves any checkout (a shared,
read-only hub install included): COURSE_GRADER_COURSE is the course folder (default: the folder
above this file's folder, i.e. the checkout it lives in), COURSE_GRADER_WORKSPACE the grading
workspace that holds the gradebook (default <course>/grader/work), COURSE_GRADER_COURSE_ID the
course id (default backprop-from-scratch). ``course-grader`` sets them; ``make lab`` points
JUPYTER_CONFIG_PATH at grader/ so that the Lab extension and the formgrader read this file too.
"""
import os
from pathlib import Path

root = Path(os.environ.get("COURSE_GRADER_COURSE") or Path(__file__).resolve().parent.parent)
workspace = Path(os.environ.get("COURSE_GRADER_WORKSPACE") or root / "grader" / "work")

c = get_config()  # noqa: F821 (provided by traitlets when the file is loaded)

c.CourseDirectory.root = str(root)
c.CourseDirectory.course_id = os.environ.get("COURSE_GRADER_COURSE_ID", "backprop-from-scratch")
c.CourseDirectory.source_directory = "solutions"
c.CourseDirectory.release_directory = "notebooks"
c.CourseDirectory.submitted_directory = str(workspace / "submitted")
c.CourseDirectory.autograded_directory = str(workspace / "autograded")
c.CourseDirectory.feedback_directory = str(workspace / "feedback")
# sqlite creates the file, not its folder: course-grader creates the workspace before it is needed.
c.CourseDirectory.db_url = f"sqlite:///{workspace / 'gradebook.db'}"
c.CourseDirectory.ignore = [".ipynb_checkpoints", "*.pyc", "__pycache__", ".DS_Store"]

c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}
c.ClearSolutions.text_stub = "YOUR ANSWER HERE"
# A student's cell may run for this long before it is interrupted and scores 0.
c.ExecutePreprocessor.timeout = 60
c.Execute.timeout = 60
