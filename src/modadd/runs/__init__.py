"""Many runs: ``sweep`` (cached sweeps, ``python -m modadd sweep``) and ``cluster`` (the
same sweeps on a Dask cluster).
"""
