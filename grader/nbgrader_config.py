"""nbgrader configuration for the course, found from the repo root.

Every nbgrader step reads this file: through ``course-grader`` (which passes
``--NbGrader.config_file=grader/nbgrader_config``), or through
``JUPYTER_CONFIG_PATH=grader`` as ``make lab`` sets it for the Lab extension.
"""
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

c = get_config()  # noqa: F821 (provided by traitlets when the file is loaded)

c.CourseDirectory.root = str(ROOT)
c.CourseDirectory.course_id = "backprop-from-scratch"
c.CourseDirectory.source_directory = "solutions"
c.CourseDirectory.release_directory = "notebooks"
c.CourseDirectory.submitted_directory = "grader/work/submitted"
c.CourseDirectory.autograded_directory = "grader/work/autograded"
c.CourseDirectory.feedback_directory = "grader/work/feedback"
c.CourseDirectory.db_url = f"sqlite:///{ROOT / 'grader' / 'work' / 'gradebook.db'}"
# sqlite cannot create the gradebook in a missing folder (a fresh clone has no grader/work/).
(ROOT / "grader" / "work").mkdir(exist_ok=True)
c.CourseDirectory.ignore = [".ipynb_checkpoints", "*.pyc", "__pycache__", ".DS_Store"]

c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}
c.ClearSolutions.text_stub = "YOUR ANSWER HERE"
# A student's cell may run for this long before it is interrupted and scores 0.
c.ExecutePreprocessor.timeout = 60
c.Execute.timeout = 60
