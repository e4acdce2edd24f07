"""A frozen pretrained part stays in eval mode, so training only the head leaves it as loaded.

Freezing (``requires_grad_(False)``) stops the optimizer, but not ``train()``: batch norm would still
update its running statistics and dropout would still drop. ``FrozenTrunk`` puts the frozen part
back in eval mode each time the model is put in training mode.
"""

from __future__ import annotations

from torch import nn


class FrozenTrunk(nn.Module):
    """Base for a model whose pretrained part, the attribute named by the class attribute
    ``trunk_name``, may be frozen: while ``self.frozen`` is true, ``train()`` keeps that part in
    eval mode (its batch-norm statistics stay those of the weights)."""

    trunk_name: str  # the attribute holding the pretrained part, e.g. "trunk"
    frozen: bool

    def train(self, mode: bool = True) -> FrozenTrunk:
        super().train(mode)
        if self.frozen:
            getattr(self, self.trunk_name).eval()
        return self
