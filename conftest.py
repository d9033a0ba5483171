"""Run every test and every notebook under the small ``test`` budgets."""

import os

os.environ.setdefault("A3C_COURSE_PROFILE", "test")

# nbval runs the solution notebooks in notebooks/solutions/, which hold every exercise
# solved. The student notebooks beside them are generated from those (a3c-course
# make-student) and run only up to their first stub; tests/test_student_notebooks.py
# executes them and checks each check cell's hint. Collected here too, the same cells
# would only run twice.
collect_ignore_glob = ["notebooks/[0-9][0-9]_*.ipynb"]
