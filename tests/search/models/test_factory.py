"""Bring your own model: "package.module:function" factories through knobs() and build_model()."""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path
from typing import Iterator

import pytest
from torch import nn

from search.models import model_entry, build_model, knobs, parameter_counts
from search.models.factory import load_factory

MODULE = '''
from torch import nn

CALLS = []
not_callable = 3


def build(num_classes: int, *, in_channels: int = 3, dropout: float = 0.0, width: int = 4,
          scale: float = 1.0, bias: bool = True, act: str = "relu", extra: list = None):
    CALLS.append(dict(num_classes=num_classes, in_channels=in_channels, dropout=dropout,
                      width=width, act=act))
    return nn.Sequential(nn.Flatten(), nn.LazyLinear(width, bias=bias), nn.ReLU(),
                         nn.Dropout(dropout), nn.Linear(width, num_classes))


def bare(num_classes, depth=2, rate=0.5):
    CALLS.append(dict(num_classes=num_classes, depth=depth))
    return nn.Linear(depth, num_classes)


def anything(num_classes, **hparams):
    CALLS.append(dict(num_classes=num_classes, **hparams))
    return nn.Linear(1, num_classes)


def not_a_module(num_classes):
    return "model"


def required(num_classes, width):
    return nn.Linear(width, num_classes)


def keyword_only(*, num_classes=2):
    return nn.Linear(1, num_classes)


def raising(num_classes):
    raise RuntimeError("CUDA is needed for this model")
'''

NAME = "plateau_test_factories"


@pytest.fixture
def factories(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """``plateau_test_factories`` (the functions above), a package ``plateau_test_pkg.models``, a
    module importing a missing package and one with a syntax error, all importable from tmp_path."""
    (tmp_path / f"{NAME}.py").write_text(MODULE)
    package = tmp_path / "plateau_test_pkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "models.py").write_text(f"from {NAME} import build\n")
    (tmp_path / "plateau_test_broken.py").write_text("import plateau_no_such_dependency\n")
    (tmp_path / "plateau_test_syntax.py").write_text("def build(:\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    yield tmp_path
    for name in [NAME, "plateau_test_pkg", "plateau_test_pkg.models", "plateau_test_broken",
                 "plateau_test_syntax"]:
        sys.modules.pop(name, None)


def calls() -> list[dict]:
    return sys.modules[NAME].CALLS  # type: ignore[attr-defined]


def test_load_factory_returns_the_function(factories: Path) -> None:
    build = load_factory(f"{NAME}:build")
    assert build is sys.modules[NAME].build  # type: ignore[attr-defined]
    assert load_factory("plateau_test_pkg.models:build") is build
    assert "plateau_test_broken" not in sys.modules  # only the named module is imported


def test_knobs_come_from_the_signature(factories: Path) -> None:
    assert knobs(f"{NAME}:build") == {"width": (int, 4), "scale": (float, 1.0),
                                      "bias": (bool, True), "act": (str, "relu")}  # not extra: list
    assert knobs(f"{NAME}:bare") == {"depth": (int, 2), "rate": (float, 0.5)}  # from the defaults
    assert knobs(f"{NAME}:anything") == {}
    assert model_entry(f"{NAME}:build").input is None  # any input kind


def test_build_model_passes_knobs_and_the_common_arguments_it_accepts(factories: Path) -> None:
    model = build_model(f"{NAME}:build", num_classes=3, in_channels=1, dropout=0.25, width=8,
                        act="gelu")
    assert isinstance(model, nn.Module)
    assert calls()[-1] == dict(num_classes=3, in_channels=1, dropout=0.25, width=8, act="gelu")
    assert parameter_counts(model) == {"total": 8 * 3 + 3}  # the lazy layer is not counted yet

    build_model(f"{NAME}:bare", num_classes=2, in_channels=3, dropout=0.1, depth=5)
    assert calls()[-1] == dict(num_classes=2, depth=5)  # no in_channels/dropout parameters
    build_model(f"{NAME}:anything", num_classes=4, in_channels=2, dropout=0.0)
    assert calls()[-1] == dict(num_classes=4, in_channels=2, dropout=0.0)  # **hparams takes them


def test_unknown_knobs_are_rejected(factories: Path) -> None:
    with pytest.raises(ValueError, match="'depht'.*choose from: depth, rate"):
        build_model(f"{NAME}:bare", num_classes=2, in_channels=3, dropout=0.0, depht=3)
    with pytest.raises(ValueError, match="'width'.*choose from: none"):
        build_model(f"{NAME}:anything", num_classes=2, in_channels=3, dropout=0.0, width=3)


@pytest.mark.parametrize("path, problem", [
    ("no_colon", "must read 'package.module:function'"),
    (f"{NAME}:build:again", "must read 'package.module:function'"),
    (f"{NAME}:", "must read 'package.module:function'"),
    (f"{NAME}.:build", "must read 'package.module:function'"),
    ("plateau_no_such_module:build", "module 'plateau_no_such_module' not found; it must be "
                                     "importable (installed, or on PYTHONPATH)"),
    ("plateau_test_pkg.nothing:build", "module 'plateau_test_pkg.nothing' not found"),
    ("plateau_test_broken:build", "importing module 'plateau_test_broken' failed: No module named "
                                  "'plateau_no_such_dependency'"),
    ("plateau_test_syntax:build", "importing module 'plateau_test_syntax' raised SyntaxError"),
    (f"{NAME}:missing", f"module '{NAME}' has no attribute 'missing'"),
    (f"{NAME}:not_callable", f"{NAME}.not_callable is a int, not callable"),
])
def test_load_factory_errors_name_the_string_and_the_fix(factories: Path, path: str,
                                                         problem: str) -> None:
    registry = [lambda: knobs(path),
                lambda: build_model(path, num_classes=2, in_channels=3, dropout=0.0)]
    for call in [lambda: load_factory(path)] + (registry if ":" in path else []):
        with pytest.raises(ValueError) as info:
            call()
        message = str(info.value)
        assert message.startswith(f"architecture {path!r}: ") and problem in message, message
        assert "\n" not in message


def test_a_factory_must_return_a_module(factories: Path) -> None:
    with pytest.raises(ValueError, match="returned a str, not a torch.nn.Module"):
        build_model(f"{NAME}:not_a_module", num_classes=2, in_channels=3, dropout=0.0)


def test_every_parameter_but_num_classes_needs_a_default(factories: Path) -> None:
    with pytest.raises(ValueError, match=f"'{NAME}:required'.*'width' has no default"):
        knobs(f"{NAME}:required")


def test_a_registered_name_is_not_a_factory() -> None:
    assert model_entry("c3d").input == "video"
    with pytest.raises(ValueError, match="Unknown model 'nope'"):
        knobs("nope")


def test_a_factory_module_on_disk_is_imported_fresh(factories: Path) -> None:
    (factories / "plateau_test_late.py").write_text(textwrap.dedent('''
        from torch import nn
        def build(num_classes, *, hidden: int = 2):
            return nn.Linear(hidden, num_classes)
    '''))
    try:
        model = build_model("plateau_test_late:build", num_classes=3, in_channels=3, dropout=0.0,
                            hidden=5)
        assert model.in_features == 5
    finally:
        sys.modules.pop("plateau_test_late", None)


@pytest.mark.parametrize("factory, words", [
    ("not_a_module", ["returned a str, not a torch.nn.Module"]),
    ("required", ["parameter 'width' has no default"]),
    ("keyword_only", ["first parameter must be num_classes"]),
    ("raising", ["raised RuntimeError: CUDA is needed for this model", "fix the factory"]),
], ids=["returns no module", "knob without default", "keyword-only num_classes", "raises"])
def test_a_broken_factory_is_one_line_when_the_study_file_is_read(factories: Path, factory: str,
                                                                  words: list[str],
                                                                  write_study) -> None:
    from search.config import load_study_config
    from search.record.errors import ConfigError

    path = write_study({"space": {"architecture": f"{NAME}:{factory}"}, "models": ...})
    with pytest.raises(ConfigError) as info:
        load_study_config(path)
    message = str(info.value)
    assert "\n" not in message and "'space.architecture': " in message
    assert all(word in message for word in words), message
