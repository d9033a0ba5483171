"""How pytest runs the notebooks (with nbval, under the ``test`` budgets).

nbval executes the solution notebooks in ``solutions/``: they hold every exercise
solved, so every cell runs. The student notebooks next to this file are generated
from them (``a3c-course make-student``); they run only up to their first stub, and
``tests/test_student_notebooks.py`` executes them and checks that each check cell
fails with the checker's hint. Collecting them here as well would only run the same
cells twice.
"""

collect_ignore_glob = ["[0-9][0-9]_*.ipynb"]
