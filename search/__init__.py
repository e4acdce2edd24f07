"""plateau's search side: study files, search space, models, data and the training loop.

``search.record`` is the torch-free layer that ``diagnose`` reads too: a run's history, a trial's stored
record, the measurements shown everywhere, the storage URL and the errors. This package's ``__init__``
imports nothing, so importing ``search.record`` never pulls in PyTorch; and nothing here imports
``diagnose`` (the command line wires the two together through the study runner's hooks).
"""
