"""A study in an Optuna storage, read once, as plateau's records of its trials.

Trials run by plateau carry their whole record (``search.record.trial.TrialRecord``: history, results,
stored diagnosis). Trials run by anything else have at most the objective per step (intermediate
values); they become a one-column history when the study's metric name is a plateau column, else an
empty history whose ``skipped`` says why. ``optuna`` is imported inside ``load_study`` only: reading a
log file never pays for it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from search.record.errors import LogError
from search.record.storage import StorageUrl
from search.record.trial import TrialRecord, metric_column

if TYPE_CHECKING:
    import optuna


@dataclass(frozen=True)
class StoredStudy:
    """A study and its trials' records, as read by one command."""

    storage: StorageUrl
    study: optuna.Study
    records: list[TrialRecord]  # every trial by number, or the one asked for


def load_study(storage: StorageUrl, study_name: str, trial: int | None = None) -> StoredStudy:
    """The study and every trial of it (or only trial number ``trial``), ordered by number."""
    import optuna

    storage.require_file()
    opened = storage.open()
    try:
        study_id = opened.get_study_id_from_name(study_name)
    except KeyError:
        names = ", ".join(optuna.study.get_all_study_names(opened)) or "none"
        raise LogError(f"storage '{storage.url}': no study named '{study_name}' (studies there: "
                       f"{names}); give one of those names.") from None
    study = optuna.load_study(study_name=study_name, storage=opened)
    if trial is None:
        frozen = sorted(study.get_trials(deepcopy=False), key=lambda t: t.number)
        if not frozen:
            raise LogError(f"storage '{storage.url}': study '{study_name}' has no trials yet; run "
                           f"it first.")
    else:
        try:
            frozen = [opened.get_trial(opened.get_trial_id_from_study_id_trial_number(study_id,
                                                                                      trial))]
        except KeyError:
            count = opened.get_n_trials(study_id)
            numbers = f"its trials are numbered 0..{count - 1}" if count else "it has no trials yet"
            raise LogError(f"storage '{storage.url}': study '{study_name}' has no trial {trial}; "
                           f"{numbers}.") from None
    metric = metric_column(study.metric_names)
    try:
        records = [TrialRecord.from_frozen_trial(t, metric) for t in frozen]
    except LogError as exc:
        raise LogError(f"storage '{storage.url}', {exc}") from None
    if all(record.skipped is not None for record in records):  # nothing to diagnose
        which = (f"trial {trial} of study '{study_name}' has no" if trial is not None
                 else f"no trial of study '{study_name}' has a")
        raise LogError(f"storage '{storage.url}': {which} plateau history: {records[0].skipped}; "
                       f"diagnose a study run by plateau, or report a plateau column (e.g. "
                       f"val_loss) per epoch with trial.report.")
    return StoredStudy(storage, study, records)
