"""The exercise checkers: one module per exercise, and the machinery they share.

Each module holds one exercise's hand-made cases, its catalogue of mistakes students
really make, and its checker ``check_<name>``. Students import the checkers from
:mod:`a3c_course.checks`, which lists them all in ``CHECKS``.
"""
