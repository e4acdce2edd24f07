"""The rules: one function per label, reading a run's ``Curves`` and saying whether the label holds.

A rule returns a ``Finding`` (it fired, with its evidence), ``None`` (judged: it does not hold) or
``NotJudged`` (the run lacks what the rule needs: say so rather than guess). Thresholds live in
``diagnose.criteria`` with their sources; fixes are attached later from ``diagnose.fixes``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Mapping

import numpy as np

from diagnose import criteria as c
from diagnose.collapse import collapsed, predicted_share
from diagnose.confidence import banded, confidence, past
from diagnose.curves import Curves, blown_up, generalization_loss
from search.record.diagnosis import Finding
from search.record.measures import best_index, shown


@dataclass(frozen=True)
class NotJudged:
    reason: str


Result = Finding | NotJudged | None


def _too_short(curves: Curves) -> NotJudged | None:
    if curves.n < c.MIN_EPOCHS:
        return NotJudged(f"the history is too short: {curves.n} epoch(s), the curves need at "
                         f"least {c.MIN_EPOCHS}")
    return None


def _stalled(index: int, n: int) -> bool:
    return n - 1 - index >= max(c.STALL_MIN_EPOCHS, c.STALL_FRACTION * n)


def diverged(curves: Curves) -> Result:
    """NaN/inf loss, or a loss that blew up far above its start and did not recover."""
    if not (curves.has("train_loss") or curves.has("val_loss")):
        return NotJudged("no loss was logged")
    bad = curves.nonfinite("train_loss") | curves.nonfinite("val_loss")
    if bad.any():
        first = int(np.argmax(bad))
        return Finding("diverged", 1.0,
                       f"the loss became NaN or infinite at epoch {curves.epoch_at(first)}",
                       {"first_nonfinite_epoch": curves.epoch_at(first)},
                       epochs=(curves.epoch_at(first),))
    if curves.n < c.MIN_EPOCHS:  # a blow-up is a trajectory; one or two epochs are only a level
        return NotJudged(f"the history is too short to tell a blow-up: {curves.n} epoch(s), need "
                         f"{c.MIN_EPOCHS} (a NaN or infinite loss would still count)")
    loss = curves.raw("train_loss") if curves.has("train_loss") else curves.raw("val_loss")
    blown = blown_up(loss)
    if not blown.any():
        return None
    first_loss = loss[np.isfinite(loss)][0]
    if first_loss <= 0:  # "10x the first epoch" means nothing from a loss at or below zero
        blown &= loss >= c.BLOWUP_LOSS
        if not blown.any():
            return None
    peak = best_index(loss, maximize=True)
    train_acc = curves.last("train_accuracy")  # the state it ended in, unsmoothed
    if np.isfinite(train_acc):
        recovered = train_acc >= c.UNDERFIT_ACCURACY
        ending = f"the model did not recover (training accuracy at the end {train_acc:.3f})"
    else:  # loss only: recovered if it fell back below where it was before the blow-up
        start = int(np.argmax(blown))
        recovered = start > 0 and curves.last("train_loss") < np.nanmin(loss[:start])
        ending = "it did not recover"
    if recovered:
        return None  # a spike, reported as a note
    return Finding(
        "diverged", confidence(np.log10(loss[peak] / c.BLOWUP_LOSS), 0.0, 1.0),
        f"the loss blew up to {loss[peak]:.4g} at epoch {curves.epoch_at(peak)} (first epoch "
        f"{first_loss:.4g}) and {ending}",
        {"peak_loss": float(loss[peak]), "peak_epoch": curves.epoch_at(peak),
         "first_epoch_loss": float(first_loss), "blowup_loss_threshold": round(c.BLOWUP_LOSS, 3),
         "explosion_factor": c.EXPLOSION_FACTOR, "final_train_accuracy": shown(train_acc),
         "recovered_accuracy_threshold": c.UNDERFIT_ACCURACY},
        epochs=(curves.epoch_at(peak),))


def overfit(curves: Curves) -> Result:
    """Fits training much better than validation, and validation stopped improving or got worse."""
    if not (curves.has("val_loss") or curves.has("val_accuracy")):
        return NotJudged("no validation metrics were logged")
    if not (curves.has("train_loss") or curves.has("train_accuracy")):
        return NotJudged("no training metrics were logged")
    short = _too_short(curves)
    if short:
        return short
    n, evidence = curves.n, {}
    gap = curves.gap()
    stalled = False
    if curves.has("val_accuracy"):
        best_acc = best_index(curves.smoothed("val_accuracy"), maximize=True)
        stalled = best_acc is not None and _stalled(best_acc, n)
        evidence.update(accuracy_gap=shown(gap), accuracy_gap_threshold=c.ACCURACY_GAP,
                        best_val_accuracy_epoch=curves.epoch_at(best_acc) if best_acc is not None
                        else None)
    memorising = False
    val_loss = curves.smoothed("val_loss")
    optimum = best_index(val_loss, maximize=False)  # None: no finite validation loss
    if optimum is not None:
        gl = float(generalization_loss(val_loss)[-1])
        stalled = stalled or gl > c.GL_STOPPED or (optimum is not None and _stalled(optimum, n))
        evidence.update(generalization_loss=round(gl, 2), gl_stopped_threshold=c.GL_STOPPED,
                        gl_memorising_threshold=c.GL_MEMORISING,
                        val_loss_optimum_epoch=curves.epoch_at(optimum))
        if curves.has("train_loss"):
            train_loss = curves.smoothed("train_loss")
            fall = float(train_loss[-1] / train_loss[optimum]) if train_loss[optimum] > 0 else 1.0
            ratio = float(val_loss[-1] / train_loss[-1]) if train_loss[-1] > 0 else float("inf")
            evidence.update(train_loss_end_over_at_optimum=round(fall, 4),
                            train_loss_fall_threshold=c.TRAIN_LOSS_FALL,
                            val_over_train_loss=round(ratio, 2), loss_ratio_threshold=c.LOSS_RATIO)
            memorising = (gl >= c.GL_MEMORISING and fall <= c.TRAIN_LOSS_FALL
                          and _stalled(optimum, n) and not gap < 0)
    evidence["validation_stopped_improving"] = bool(stalled)
    wide_gap = bool(np.isfinite(gap) and gap >= c.ACCURACY_GAP)
    # The loss ratio counts where the accuracies or a rising validation loss agree
    loss_agrees = (bool(np.isfinite(gap) and gap >= c.LOSS_RATIO_SUPPORTING_GAP)
                   or evidence.get("generalization_loss", 0.0) > c.GL_STOPPED)
    loss_gap = bool(evidence.get("val_over_train_loss", 0.0) >= c.LOSS_RATIO and loss_agrees)
    if "val_over_train_loss" in evidence:
        evidence["loss_ratio_supporting_gap"] = c.LOSS_RATIO_SUPPORTING_GAP
    if not (((wide_gap or loss_gap) and stalled) or memorising):
        return None
    marks = tuple(sorted({curves.epoch_at(i) for i in (optimum, n - 1) if i is not None}))
    summary, sure = _overfit_summary(curves, gap, evidence, wide_gap, loss_gap)
    return Finding("overfit", sure, summary, evidence, epochs=marks)


def _overfit_summary(curves: Curves, gap: float, evidence: dict, wide_gap: bool,
                     loss_gap: bool) -> tuple[str, float]:
    """The sentence and confidence of an overfit finding, by the evidence that carries it: the
    accuracy gap, else the loss ratio, else memorisation."""
    if wide_gap:
        near = _borderline(evidence, gap < c.ACCURACY_GAP + c.ACCURACY_MARGIN)
        return (f"training accuracy ends {gap:.3f} above validation accuracy "
                f"({curves.end('train_accuracy'):.3f} vs {curves.end('val_accuracy'):.3f}){near} "
                f"and validation stopped improving",
                past(gap, c.ACCURACY_GAP, c.ACCURACY_MARGIN, c.ACCURACY_GAP))
    if loss_gap:
        ratio, gl = evidence["val_over_train_loss"], evidence["generalization_loss"]
        sure = confidence(np.log10(ratio), np.log10(c.LOSS_RATIO), 1.0)
        if not gap >= c.LOSS_RATIO_SUPPORTING_GAP:  # carried by the rising validation loss alone
            sure = min(sure, confidence(gl, c.GL_STOPPED, c.GL_MEMORISING))
        return (f"validation loss ends {ratio:.3g}x the training loss "
                f"({curves.end('val_loss'):.3g} vs {curves.end('train_loss'):.3g}) and "
                f"{gl:.0f}% above its minimum at epoch {evidence['val_loss_optimum_epoch']}",
                sure)
    return (f"validation loss ends {evidence['generalization_loss']:.0f}% above its minimum "
            f"(epoch {evidence['val_loss_optimum_epoch']}) while training loss fell to "
            f"{evidence['train_loss_end_over_at_optimum']:.2f}x its value there",
            confidence(evidence["generalization_loss"], c.GL_MEMORISING, c.GL_MEMORISING))


def _borderline(evidence: dict, near: bool) -> str:
    """Mark ``evidence`` borderline (within ``ACCURACY_MARGIN`` of its line) and say so."""
    evidence.update(borderline=near, accuracy_margin=c.ACCURACY_MARGIN)
    return f" (borderline: within {c.ACCURACY_MARGIN:g} of the {c.ACCURACY_GAP:g} line)" if near \
        else ""


def underfit(curves: Curves) -> Result:
    """Does not fit even the training data, with a small train-validation gap."""
    if not (curves.has("train_accuracy") or curves.has("train_loss")):
        return NotJudged("no training metrics were logged")
    short = _too_short(curves)
    if short:
        return short
    if curves.has("train_accuracy"):
        train_acc, val_acc = curves.end("train_accuracy"), curves.end("val_accuracy")
        gap = curves.gap()  # NaN without validation accuracy
        best = max(train_acc, val_acc) if np.isfinite(val_acc) else train_acc
        evidence = {"train_accuracy_end": shown(train_acc), "val_accuracy_end": shown(val_acc),
                    "underfit_accuracy_threshold": c.UNDERFIT_ACCURACY,
                    "accuracy_gap": shown(gap), "accuracy_gap_threshold": c.ACCURACY_GAP}
        if not (best < c.UNDERFIT_ACCURACY and not gap >= c.ACCURACY_GAP):
            return None
        borderline = bool(best >= c.UNDERFIT_ACCURACY - c.ACCURACY_MARGIN)
        evidence.update(best_accuracy_end=shown(best), borderline=borderline,
                        accuracy_margin=c.ACCURACY_MARGIN)
        val_text = f", validation {val_acc:.4g}" if np.isfinite(val_acc) else ""
        near = f" (borderline: within {c.ACCURACY_MARGIN:g} of it)" if borderline else ""
        return Finding("underfit", banded(best, c.UNDERFIT_ACCURACY, c.ACCURACY_MARGIN, 0.3),
                       f"training accuracy ends at {train_acc:.4g}{val_text} (both below "
                       f"{c.UNDERFIT_ACCURACY:g}{near}): the model does not fit even the training "
                       f"data", evidence, epochs=(curves.epoch_at(curves.n - 1),))
    loss = curves.raw("train_loss")
    first = loss[np.isfinite(loss)][:1]
    if not (first.size and first[0] > 0):  # all NaN/inf (diverged says so), or a loss <= 0
        return NotJudged("the training loss has no positive finite first value to measure its fall "
                         "against")
    kept = curves.end("train_loss") / first[0]
    evidence = {"train_loss_end_over_first": round(float(kept), 4),
                "underfit_loss_kept_threshold": c.UNDERFIT_LOSS_KEPT}
    if not kept > c.UNDERFIT_LOSS_KEPT:
        return None
    return Finding("underfit", confidence(kept, c.UNDERFIT_LOSS_KEPT, 0.3),
                   f"training loss ends at {kept:.2f}x its first-epoch value: it was hardly fitted",
                   evidence, epochs=(curves.epoch_at(curves.n - 1),))


def imbalanced(curves: Curves) -> Result:
    """Skewed class counts and minority classes recalled far worse than majority ones."""
    per_class = curves.history.per_class
    if per_class is None:
        return collapsed(curves) or NotJudged(
            "needs per-class results: pass --predictions (y_true,y_pred) or diagnose a plateau "
            "trial (or a log with binary precision and recall)")
    counts = np.array(per_class.train_counts or per_class.support, dtype=float)
    present = counts > 0
    ratio = float(counts[present].max() / counts[present].min())
    evidence = {"imbalance_ratio": round(ratio, 2), "imbalance_ratio_threshold": c.IMBALANCE_RATIO,
                "counts_from": "training split" if per_class.train_counts else "validation split"}
    if ratio < c.IMBALANCE_RATIO:
        return None
    cm = np.array(per_class.confusion_matrix, dtype=float)
    recall = np.array(per_class.recall, dtype=float)
    support = cm.sum(axis=1) > 0
    accuracy = float(np.trace(cm) / cm.sum())
    balanced = float(recall[support].mean())
    minority = present & support & (counts <= counts.max() / c.IMBALANCE_RATIO)
    majority = present & support & ~minority
    # The worst minority class (DeepChecks' and SageMaker's rules look at per-class recall, not a mean
    # that one well-recalled minority class could hide another behind).
    minority_recall = float(recall[minority].min()) if minority.any() else float("nan")
    majority_recall = float(recall[majority].mean()) if majority.any() else float("nan")
    never_predicted = [per_class.classes[i] for i in np.flatnonzero(minority & (cm.sum(axis=0) == 0))]
    evidence.update(accuracy=round(accuracy, 4), balanced_accuracy=round(balanced, 4),
                    balanced_accuracy_gap_threshold=c.BALANCED_ACCURACY_GAP,
                    minority_classes=[per_class.classes[i] for i in np.flatnonzero(minority)],
                    minority_min_recall=shown(minority_recall),
                    majority_mean_recall=shown(majority_recall),
                    minority_recall_ratio_threshold=c.MINORITY_RECALL_RATIO,
                    minority_classes_never_predicted=never_predicted)
    largest, share = predicted_share(cm, counts)
    onto_majority = share >= c.COLLAPSE_SHARE
    evidence.update(majority_learned_threshold=c.MAJORITY_LEARNED_RECALL,
                    collapsed_onto_majority=onto_majority,
                    collapse_share_threshold=c.COLLAPSE_SHARE)
    if not (majority_recall >= c.MAJORITY_LEARNED_RECALL or onto_majority):
        return None  # nothing learned yet, for any class: not the imbalance's doing
    gap_hurts = accuracy - balanced >= c.BALANCED_ACCURACY_GAP
    minority_hurts = minority_recall < c.MINORITY_RECALL_RATIO * majority_recall
    if not (gap_hurts or minority_hurts or onto_majority):
        return None
    sure = max(past(accuracy - balanced, c.BALANCED_ACCURACY_GAP, c.ACCURACY_MARGIN, 0.2)
               if gap_hurts else 0.0,
               confidence(-minority_recall / max(majority_recall, 1e-9),
                          -c.MINORITY_RECALL_RATIO, 0.5) if minority_hurts else 0.0)
    if onto_majority:
        return Finding("imbalanced", max(sure, confidence(share, c.COLLAPSE_SHARE, 0.05)),
                       f"classes are {ratio:.1f}:1 imbalanced and the model predicts the largest "
                       f"class, {per_class.classes[largest]}, for {share:.0%} of the validation "
                       f"examples (accuracy {accuracy:.3f}, balanced accuracy {balanced:.3f})",
                       evidence)
    return Finding("imbalanced", sure,
                   f"classes are {ratio:.1f}:1 imbalanced and a minority class is recalled "
                   f"{minority_recall:.2f} against {majority_recall:.2f} for the others (accuracy "
                   f"{accuracy:.3f}, balanced accuracy {balanced:.3f})", evidence)


# The labels' rules, in the order labels are reported.
RULES: Mapping[str, Callable[[Curves], Result]] = {
    "diverged": diverged,
    "overfit": overfit,
    "underfit": underfit,
    "imbalanced": imbalanced,
}
