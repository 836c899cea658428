"""The project's own tools, beside the package and not in the wheel readers install: the
course kits' builder (``kit``), the chapters' execution times from the book build
(``chapter_times``) and the benchmarks' provenance (``provenance``). They import ``modadd``;
``modadd`` never imports them. The tests, the book build and the two chapters that describe
the repository (the teacher guide, the appendix) find them at the repository's root.
"""
