"""The core: the task, the network, the optimiser and the one batched trainer.

``validate`` (every argument check, at the public entry points only) → ``data`` (the task,
the split as ``PairSplit``, unordered pairs) → ``model`` (the network for a batch of models,
hand-written gradients) → ``optim`` (parameter groups, one AdamW step on a flat vector) →
``numerics`` (subnormal floats flushed on every thread) → ``train`` (``RunConfig``,
``train``, ``History``); ``reference``: the same network the textbook way (nn.Module,
autograd, torch.optim.AdamW), the benchmarks' baseline u. Imports nothing else of modadd.
"""
