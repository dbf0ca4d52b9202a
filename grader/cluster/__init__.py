"""Grading on a Dask cluster (`course-grader grade ... --scheduler tcp://HOST:8786`).

coordinator.py  the instructor's side: one task per notebook, each record saved as it comes
books.py        what each event means for its job: a record counted once, a retry, or given up
task.py         what a Dask worker runs for one task: checks, then hands the job to a warm grading process
child.py        that grading process: ``grader.job.grade_notebook``, the same job as the local pool's

docs/cluster.md says how to start a cluster and what a worker machine can learn.
"""
from .coordinator import run_on_cluster

__all__ = ["run_on_cluster"]
