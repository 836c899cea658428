"""The run cache: which code a computation runs (``sources``: the code part of every key)
and ``memo`` (one expensive call, a training history or a simulation, kept on disk). Below
everything that stores results (the sweeps, the structure fits, the chapters' recipes);
imports nothing else of modadd.
"""
