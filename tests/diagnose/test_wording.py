"""Fixes for a log outside any study come in its framework's words, not plateau's study keys."""

from __future__ import annotations

from pathlib import Path

import pytest

from diagnose.command import diagnose_log
from diagnose.fixes import FIXES
from diagnose.wording import KERAS, LIGHTNING, worded
from search.record.diagnosis import Diagnosis

EXTERNAL = Path(__file__).parents[1] / "fixtures" / "external" / "deepdiagnosis"


@pytest.mark.parametrize("words", [KERAS, LIGHTNING], ids=["keras", "lightning"])
def test_every_fix_of_the_table_has_its_words(words):
    assert {fix.name for fixes in FIXES.values() for fix in fixes} == set(words)


def test_a_real_keras_log_gets_keras_advice():
    _, diagnosis = diagnose_log(EXTERNAL / "blob_config_random_22eb8478.csv")
    fixes = [fix for f in (*diagnosis.findings, *diagnosis.notes) for fix in f.fixes]
    assert fixes and all(fix.text() == KERAS[fix.name] and not fix.changes for fix in fixes)
    assert not any("space." in fix.text() or "models." in fix.text() for fix in fixes)
    assert Diagnosis.from_json(diagnosis.to_json()) == diagnosis  # the advice is stored too


def test_a_log_of_another_format_keeps_the_study_changes():
    _, diagnosis = diagnose_log(EXTERNAL / "blob_config_random_22eb8478.csv")
    table = worded(diagnosis, "tensorboard")
    assert table is diagnosis
