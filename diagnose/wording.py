"""Fixes in the words of the framework a log came from.

A run outside any plateau study has no study file to edit: a Keras user is told ``Dropout(0.3-0.6)``
and ``class_weight``, a Lightning user ``nn.Dropout`` and ``Trainer(gradient_clip_val=...)``, not
plateau's dotted keys. The reasons stay the fix table's (``diagnose.fixes``).
"""

from __future__ import annotations

import dataclasses
from typing import Mapping

from search.record.diagnosis import Diagnosis, Finding

KERAS: Mapping[str, str] = {
    "dropout": "add Dropout(0.3-0.6) layers after the dense and conv blocks",
    "weight_decay": "kernel_regularizer=keras.regularizers.L2(1e-4 to 1e-2) on the layers, or "
                    "optimizer=keras.optimizers.AdamW(weight_decay=1e-4 to 1e-2)",
    "early_stopping": "callbacks=[keras.callbacks.EarlyStopping(monitor='val_loss', patience=3, "
                      "restore_best_weights=True)]",
    "augmentation": "keras.layers.RandomFlip / RandomRotation / RandomZoom / RandomContrast in "
                    "front of the model",
    "transfer_learning": "a keras.applications backbone (weights loaded from a local file), "
                         "frozen at first, with a new head for your classes",
    "smaller_model": "halve the units and filters of each layer",
    "ensemble": "train the model with several seeds and average their predict() outputs",
    "capacity": "double the units and filters, and add a layer",
    "train_longer": "fit(..., epochs=twice as many)",
    "learning_rate": "optimizer=keras.optimizers.Adam(learning_rate=1e-3 to 3e-2)",
    "optimizer_and_batch_size": "optimizer Adam or AdamW; fit(..., batch_size=16 or 32)",
    "less_regularization": "lower the Dropout rates (0-0.2) and the L2 factors (1e-6 to 1e-4)",
    "batch_norm": "keras.layers.BatchNormalization() after each conv and dense layer",
    "macro_f1_objective": "judge on keras.metrics.F1Score(average='macro') (EarlyStopping and "
                          "ModelCheckpoint monitor='val_f1_score', mode='max'), not accuracy",
    "weighted_cross_entropy": "fit(..., class_weight={c: n / (k * n_c)}) (sklearn's "
                              "compute_class_weight('balanced', ...))",
    "focal_loss": "loss=keras.losses.CategoricalFocalCrossentropy(gamma=2) (binary: "
                  "BinaryFocalCrossentropy)",
    "resampling": "oversample the minority classes in the tf.data or PyDataset pipeline",
    "cost_sensitive": "class_weight from the effective number of samples, (1 - b) / (1 - b^n_c) "
                      "with b = 0.999 (Cui et al., 2019)",
    "lower_learning_rate": "optimizer=keras.optimizers.Adam(learning_rate=1e-5 to below the "
                           "rate that diverged)",
    "gradient_clipping": "optimizer=keras.optimizers.Adam(..., clipnorm=1.0)",
    "warmup": "learning_rate=keras.optimizers.schedules.CosineDecay(..., warmup_steps=a few "
              "epochs' steps)",
}

LIGHTNING: Mapping[str, str] = {
    "dropout": "nn.Dropout(p=0.3-0.6) after the blocks of the LightningModule's network",
    "weight_decay": "torch.optim.AdamW(params, weight_decay=1e-4 to 1e-2) in configure_optimizers",
    "early_stopping": "Trainer(callbacks=[EarlyStopping(monitor='val_loss', patience=3)])",
    "augmentation": "torchvision.transforms.v2 (RandomResizedCrop, RandomAffine, ColorJitter) in "
                    "the training Dataset",
    "transfer_learning": "a pretrained torchvision backbone (weights from a local file), frozen "
                         "at first, with a new head for your classes",
    "smaller_model": "halve the channels and units of each layer",
    "ensemble": "train with several seeds (seed_everything) and average the softmax outputs",
    "capacity": "double the channels and units, and add a block",
    "train_longer": "Trainer(max_epochs=twice as many)",
    "learning_rate": "a learning rate of 1e-3 to 3e-2 in configure_optimizers",
    "optimizer_and_batch_size": "torch.optim.Adam or AdamW; DataLoader(batch_size=16 or 32)",
    "less_regularization": "lower nn.Dropout p (0-0.2) and weight_decay (1e-6 to 1e-4)",
    "batch_norm": "nn.BatchNorm2d / BatchNorm3d after each conv",
    "macro_f1_objective": "log torchmetrics' MulticlassF1Score(average='macro') as val_f1 and "
                          "monitor it (mode='max') in EarlyStopping and ModelCheckpoint",
    "weighted_cross_entropy": "nn.CrossEntropyLoss(weight=n / (k * n_c) per class)",
    "focal_loss": "a focal loss, -(1 - p_t)^gamma log p_t with gamma 2 (Lin et al., 2017; "
                  "torchvision.ops.sigmoid_focal_loss for one-vs-rest)",
    "resampling": "DataLoader(sampler=WeightedRandomSampler(1 / n_c per example))",
    "cost_sensitive": "nn.CrossEntropyLoss(weight=...) from the effective number of samples "
                      "(Cui et al., 2019)",
    "lower_learning_rate": "a learning rate of 1e-5 to below the one that diverged, in "
                           "configure_optimizers",
    "gradient_clipping": "Trainer(gradient_clip_val=1.0)",
    "warmup": "a LinearLR warm-up chained before the main schedule (SequentialLR)",
}

WORDINGS: Mapping[str, Mapping[str, str]] = {"keras": KERAS, "keras_legacy": KERAS,
                                             "lightning": LIGHTNING}


def worded(diagnosis: Diagnosis, log_format: str | None, keep_changes: bool = False) -> Diagnosis:
    """``diagnosis`` with each fix in the words of ``log_format``'s framework, where it has them.
    Their study-file changes are dropped (plateau's dotted keys mean nothing to that framework's
    user), unless ``keep_changes`` (a study file was given to apply them to)."""
    words = WORDINGS.get(log_format or "")
    if words is None:
        return diagnosis

    def reworded(finding: Finding) -> Finding:
        return dataclasses.replace(finding, fixes=tuple(
            dataclasses.replace(fix, changes=fix.changes if keep_changes else (),
                                advice=words[fix.name])
            if fix.name in words and not fix.explored else fix for fix in finding.fixes))

    return dataclasses.replace(diagnosis, findings=tuple(map(reworded, diagnosis.findings)),
                               notes=tuple(map(reworded, diagnosis.notes)))
