"""What an embedding's structure is, and how often a structure forms.

``structure`` (circle and grid scores, a circle's order, a grid's rule, lattice occupancy:
fitted in numpy) → ``stats`` (class counts and shares with Wilson intervals, for sweeps and
particles alike). Imports only the cache below it (the structure fits are stored).
"""
