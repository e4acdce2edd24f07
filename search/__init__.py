"""plateau's search side: study files, search space, models, data and the training loop.

This package's ``__init__`` imports nothing, so that torch-free modules (``search.history``,
``search.errors``) can be imported by ``diagnose`` without pulling in PyTorch.
"""
