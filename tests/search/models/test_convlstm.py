"""The convolutional LSTM: cell equations, shapes, order sensitivity, parameter count, arguments."""

from __future__ import annotations

import math

import pytest
import torch

from search.models import count_parameters
from search.models.convlstm import ConvLSTM, ConvLSTMCell, convlstm


@pytest.mark.parametrize("kernel_size", [1, 3, 5])
def test_cell_keeps_the_spatial_size(kernel_size: int) -> None:
    cell = ConvLSTMCell(in_channels=3, hidden_channels=6, kernel_size=kernel_size)
    h, c = cell(torch.rand(2, 3, 7, 9))
    assert h.shape == c.shape == (2, 6, 7, 9)
    h, c = cell(torch.rand(2, 3, 7, 9), (h, c))
    assert h.shape == c.shape == (2, 6, 7, 9)


def test_cell_update_follows_the_lstm_equations() -> None:
    # One input and one hidden channel, 1x1 kernel: each gate is w_x * x + w_h * h + b, with the
    # gate convolution's output channels in the order input, forget, output, candidate.
    cell = ConvLSTMCell(in_channels=1, hidden_channels=1, kernel_size=1)
    w_x, w_h, b = [0.5, -1.0, 2.0, 1.5], [0.3, 0.7, -0.2, -0.8], [0.1, 1.0, -0.5, 0.2]
    with torch.no_grad():
        cell.gates.weight.copy_(torch.tensor([w_x, w_h]).T.reshape(4, 2, 1, 1))
        cell.gates.bias.copy_(torch.tensor(b))
    x, h0, c0 = 0.8, -0.4, 0.6
    i, f, o, g = (w_x[k] * x + w_h[k] * h0 + b[k] for k in range(4))
    sigmoid = lambda z: 1 / (1 + math.exp(-z))  # noqa: E731
    c1 = sigmoid(f) * c0 + sigmoid(i) * math.tanh(g)
    h1 = sigmoid(o) * math.tanh(c1)

    full = lambda value: torch.full((1, 1, 3, 3), value)  # noqa: E731
    h, c = cell(full(x), (full(h0), full(c0)))
    torch.testing.assert_close(c, full(c1))
    torch.testing.assert_close(h, full(h1))


def test_cell_with_zero_weights_gives_the_gate_values_of_its_bias() -> None:
    cell = ConvLSTMCell(in_channels=1, hidden_channels=1, kernel_size=3)
    with torch.no_grad():
        cell.gates.weight.zero_()
        cell.gates.bias.copy_(torch.tensor([0.0, 0.0, 0.0, 100.0]))  # i = f = o = 0.5, g = 1
    h, c = cell(torch.rand(1, 1, 4, 4))  # zero initial state
    torch.testing.assert_close(c, torch.full_like(c, 0.5))  # 0.5 * 0 + 0.5 * 1
    torch.testing.assert_close(h, torch.full_like(h, 0.5 * math.tanh(0.5)))


def test_reversing_time_changes_the_logits() -> None:
    torch.manual_seed(0)
    model = convlstm(4, hidden_channels=4).eval()
    clips = torch.rand(2, 3, 5, 16, 16)
    with torch.no_grad():
        forward, backward = model(clips), model(clips.flip(dims=[2]))
    assert not torch.allclose(forward, backward, atol=1e-4)


@pytest.mark.parametrize("size, expected", [(16, 8), (15, 8)])
def test_stem_halves_the_frames(size: int, expected: int) -> None:
    model = convlstm(3, hidden_channels=4)
    seen: list[torch.Size] = []
    model.cells[0].register_forward_hook(lambda _m, inputs, _out: seen.append(inputs[0].shape))
    model(torch.rand(2, 3, 3, size, size))
    assert seen == [torch.Size([2, 4, expected, expected])] * 3  # one call per frame


def test_without_stem_the_cells_see_full_frames() -> None:
    model = convlstm(3, hidden_channels=4, stem=False)
    seen: list[torch.Size] = []
    model.cells[0].register_forward_hook(lambda _m, inputs, _out: seen.append(inputs[0].shape))
    assert model(torch.rand(2, 3, 3, 5, 5)).shape == (2, 3)
    assert seen == [torch.Size([2, 3, 5, 5])] * 3


def test_parameter_count_with_stem_and_two_layers() -> None:
    model = convlstm(5, in_channels=3, hidden_channels=4, num_layers=2, kernel_size=3, stem=True)
    stem = 3 * 4 * 3 * 3 + 2 * 4  # conv 3 -> 4, 3x3, no bias; batch norm
    cell0 = (4 + 4) * 4 * 4 * 3 * 3 + 4 * 4  # gate conv over [x, h]: (in + hidden) -> 4 * hidden
    cell1 = (4 + 4) * 4 * 4 * 3 * 3 + 4 * 4  # reads layer 0's hidden states
    head = 4 * 5 + 5
    assert count_parameters(model) == stem + cell0 + cell1 + head == 2477


def test_parameter_count_without_stem() -> None:
    model = convlstm(5, in_channels=3, hidden_channels=4, kernel_size=5, stem=False)
    cell = (3 + 4) * 4 * 4 * 5 * 5 + 4 * 4
    head = 4 * 5 + 5
    assert count_parameters(model) == cell + head == 2841
    assert isinstance(model, ConvLSTM)


@pytest.mark.parametrize("knob, value", [
    ("hidden_channels", 0), ("hidden_channels", -4), ("hidden_channels", 1.5),
    ("num_layers", 0), ("kernel_size", 2), ("kernel_size", 0), ("kernel_size", True),
    ("stem", 1), ("stem", "yes"),
])
def test_invalid_knobs_are_rejected(knob: str, value: object) -> None:
    with pytest.raises(ValueError, match=rf"'{knob}' parameter of convlstm .* Got {value!r}"):
        convlstm(2, **{knob: value})  # type: ignore[arg-type]
