"""The chapters' studies, built on everything below: ``biases`` (chapter 6: how much the
biases weigh, a start with scaled biases, a cut judged on held-out runs), ``decay``
(chapter 6's interventions on weight decay, and what decay does inside a run) and
``agreement`` (chapter 5: does a network end in the structure its particles reach).
"""
