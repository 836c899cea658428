"""The run cache: which code a computation runs (``sources``: the code part of every key),
``store`` (the one key and the one store, with its off switch, for every result kept on
disk: the sweeps' runs, the structure fits, the chapters' calls) and ``memo`` (one expensive
call, a training history or a simulation, kept in that store). Below everything that stores
results; imports nothing else of modadd but the package root.
"""
