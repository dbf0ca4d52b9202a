"""Grading on Gradescope: `course-grader gradescope --out autograder.zip` builds the autograder.

The zip holds what Gradescope's autograder specification asks for at its root, ``setup.sh`` (run
once, as root, when Gradescope builds the image) and ``run_autograder`` (run for every submission),
and what they need: the course's wheel, the pinned versions it was tested with, the grading specs
and a secret for the hidden checks' seeds. ``run_autograder`` is one line calling
:mod:`grader.gradescope.run`, which grades ``/autograder/submission`` with the same grading job as
every other way of grading (``course-grader grade-one``) and writes ``/autograder/results/results.json``.
docs/gradescope.md says how to use it and what isolation the student's code has there.
"""
