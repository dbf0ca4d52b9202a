"""course-grader: grading the course's notebooks (see grader/__main__.py for the command)."""
import sys

# nbformat validates notebooks with jsonschema, which imports rfc3987_syntax where it is installed
# (jupyter-events asks for it) to check the "iri" string formats; that module builds some forty
# Earley parsers at import, 1.5 s of every grader process's start here (python-jsonschema
# issue 1428). No notebook schema uses those formats: in the grader's processes the import fails
# and jsonschema goes without them, as it does wherever rfc3987_syntax is not installed.
sys.modules.setdefault("rfc3987_syntax", None)
