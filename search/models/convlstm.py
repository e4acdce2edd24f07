"""A convolutional LSTM (Shi et al., 2015, "Convolutional LSTM Network") for video classification.

An LSTM whose input, hidden and cell states are feature maps and whose matrix products are
convolutions, so it models motion over time while keeping the spatial layout. Used for the WLASL
sign-language setup, where the order of the frames carries the meaning.
"""

from __future__ import annotations

import torch
from torch import nn

from search.models.checks import check_bool, check_common, check_int

State = tuple[torch.Tensor, torch.Tensor]  # (h, c), each (N, hidden, H, W)


class ConvLSTMCell(nn.Module):
    """One ConvLSTM step: ``(x_t, (h, c)) -> (h_t, c_t)``, keeping the spatial size.

    A single convolution over ``[x_t, h_{t-1}]`` gives 4 * hidden channels, split in this order into
    the input, forget and output gates (sigmoid) and the candidate g (tanh); then
    ``c_t = f * c + i * g`` and ``h_t = o * tanh(c_t)``.
    """

    def __init__(self, in_channels: int, hidden_channels: int, kernel_size: int = 3):
        super().__init__()
        self.hidden_channels = hidden_channels
        self.gates = nn.Conv2d(in_channels + hidden_channels, 4 * hidden_channels, kernel_size,
                               padding=kernel_size // 2)

    def init_state(self, x: torch.Tensor) -> State:
        """Zero h and c shaped for the frame batch ``x`` (N, C, H, W)."""
        n, _, height, width = x.shape
        zeros = x.new_zeros(n, self.hidden_channels, height, width)
        return zeros, zeros.clone()

    def forward(self, x: torch.Tensor, state: State | None = None) -> State:
        h, c = state if state is not None else self.init_state(x)
        i, f, o, g = self.gates(torch.cat([x, h], dim=1)).chunk(4, dim=1)
        c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
        h = torch.sigmoid(o) * torch.tanh(c)
        return h, c


class ConvLSTM(nn.Module):
    """Clip classifier: optional per-frame conv stem, stacked ConvLSTM cells, pooled last hidden state.

    Input (N, C, T, H, W); output logits (N, num_classes). The stem (stride-2 conv + batch norm +
    ReLU, applied to every frame at once) halves H and W, which makes the recurrence about 3x faster.
    """

    def __init__(self, num_classes: int, in_channels: int = 3, hidden_channels: int = 16,
                 num_layers: int = 1, kernel_size: int = 3, stem: bool = True, dropout: float = 0.0):
        super().__init__()
        self.stem: nn.Module = nn.Identity()
        channels = in_channels
        if stem:
            self.stem = nn.Sequential(
                nn.Conv2d(in_channels, hidden_channels, 3, stride=2, padding=1, bias=False),
                nn.BatchNorm2d(hidden_channels),
                nn.ReLU(inplace=True))
            channels = hidden_channels
        self.cells = nn.ModuleList(
            ConvLSTMCell(channels if layer == 0 else hidden_channels, hidden_channels, kernel_size)
            for layer in range(num_layers))
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(hidden_channels, num_classes)

    def forward(self, clips: torch.Tensor) -> torch.Tensor:
        n, _, t, _, _ = clips.shape
        # Fold time into the batch to run the stem on every frame in one call: (N*T, C, H, W).
        frames = self.stem(clips.transpose(1, 2).flatten(0, 1))
        sequence = frames.unflatten(0, (n, t)).unbind(dim=1)  # T tensors of (N, C', H', W')
        for cell in self.cells:  # layer l + 1 reads layer l's sequence of hidden states
            state = None
            outputs = []
            for x in sequence:
                state = cell(x, state)
                outputs.append(state[0])
            sequence = outputs
        last_hidden = sequence[-1].mean(dim=(2, 3))  # global average pool: (N, hidden)
        return self.head(self.dropout(last_hidden))


def convlstm(num_classes: int, *, in_channels: int = 3, dropout: float = 0.0,
             hidden_channels: int = 16, num_layers: int = 1, kernel_size: int = 3,
             stem: bool = True) -> nn.Module:
    """A ConvLSTM clip classifier; ``kernel_size`` (odd) is that of the gate convolutions."""
    check_common("convlstm", num_classes, in_channels, dropout)
    check_int("convlstm", "hidden_channels", hidden_channels, 1)
    check_int("convlstm", "num_layers", num_layers, 1)
    check_int("convlstm", "kernel_size", kernel_size, 1, odd=True)
    check_bool("convlstm", "stem", stem)
    return ConvLSTM(num_classes, in_channels, hidden_channels, num_layers, kernel_size, stem, dropout)
