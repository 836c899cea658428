"""The classroom: ``checks`` (the exercises' checkers) and ``classroom`` (student
notebooks, nbgrader courses and grading).
"""
