"""The thresholds the rules compare measurements with, each named, sourced and explained.

They are deliberately stated in units that mean the same on any dataset, model and optimizer:
fractions of accuracy, ratios of losses, nats of cross entropy, epochs as fractions of the run.
"""

from __future__ import annotations

import math

# --- reading curves ----------------------------------------------------------------------------
# Fewer epochs than this and the shape of a curve (falling, flat, rising) cannot be told apart from
# noise: the run is "too short to judge" rather than guessed at.
MIN_EPOCHS = 3
# Exponential moving average weight for noisy curves: TensorBoard's default smoothing (0.6), with
# its start-up debiasing. Small validation sets move in steps of one example per epoch.
SMOOTHING = 0.6
# Where a curve ends (the median of its last 3 finite epochs) is defined once, for the rules and
# everything that shows their numbers, in search.record.measures (END_WINDOW).

# --- overfit -----------------------------------------------------------------------------------
# "Fits the training data much better than the validation data": a train-validation accuracy gap
# of 10 points at the end. The seeds call 15-18 point gaps overfitting (Jester 3D CNN: ~100% vs 85%;
# vehicle CNN: 88% vs 70%); well-regularised runs stay within a few points.
ACCURACY_GAP = 0.10
# Prechelt (1998), "Early stopping - but when?": generalization loss GL(t) = 100 * (E_va(t) /
# E_opt(t) - 1), the validation loss in percent above its minimum so far. GL_5 is his stopping
# criterion: past it, validation has stopped improving.
GL_STOPPED = 5.0
# Or, in losses: the validation loss at the end 20x the training loss. Cross entropy is the mean
# -log p of the right class, so the model is then far surer of its training examples than of new
# ones (a training loss of 0.005 is p = 0.995; a validation loss of 0.1, p = 0.905). Sound runs stay
# within a few times (dropout even puts training above validation); memorising runs reach 100-1000x.
LOSS_RATIO = 20.0
# ...but a loss ratio alone is no overfitting: a sound run's training loss can approach zero while its
# validation accuracy stays within a few points of training accuracy. The ratio counts only where the
# accuracies agree (a gap of at least half ACCURACY_GAP) or where the validation loss has risen past
# Prechelt's GL_5 (GL_STOPPED): confident mistakes growing while the training loss vanishes.
LOSS_RATIO_SUPPORTING_GAP = ACCURACY_GAP / 2
# Or: a validation loss 50% above its minimum while the training loss kept halving is memorisation
# even when neither gap is wide yet (confident mistakes grow before wrong answers do).
GL_MEMORISING = 50.0
TRAIN_LOSS_FALL = 0.5  # training loss at the end <= this fraction of its value at the validation optimum
# The validation optimum counts as "long before the end" when it is at least this fraction of the
# run (and at least Keras EarlyStopping's customary patience of 3 epochs) before the last epoch.
STALL_FRACTION = 0.2
STALL_MIN_EPOCHS = 3

# --- underfit ----------------------------------------------------------------------------------
# A network with enough capacity and training fits (nearly) all of its training set - Zhang et al.
# (2017) fit even random labels. Training accuracy below 90% at the end means the model does not fit
# the training data - unless validation accuracy is above 90%: logged training accuracy is measured
# on the training batches with dropout on (as Keras and Lightning log it), so it can sit below what
# the model does in eval mode. Underfit needs the better of the two below this.
UNDERFIT_ACCURACY = 0.90
# No cliff at the lines of accuracy (UNDERFIT_ACCURACY, ACCURACY_GAP, BALANCED_ACCURACY_GAP): a run
# within 3 points past one is borderline (confidence 0.25-0.5, said in its summary): one or two
# validation examples either way move a small set's accuracy that much. Inside a study, a borderline
# underfit run is judged against the study's other trials as well: underfit only if one of them
# ended above the line (the task can be fitted, this configuration did not), and not underfit if
# none did (it is where every configuration of the study ends).
ACCURACY_MARGIN = 0.03
# Without accuracy: a training loss that kept more than 70% of its first-epoch value has not been
# fitted (a sound run loses most of its loss within the first few epochs).
UNDERFIT_LOSS_KEPT = 0.70

# --- diverged ----------------------------------------------------------------------------------
# A classifier's cross entropy at initialisation is about ln(k) for k classes (uniform guessing).
# A mean loss above ln(2000) = 7.6 nats - uniform guessing over 2,000 classes, the size of WLASL2000,
# the largest label set in plateau's seeds - means confidently wrong outputs: the logits blew up.
# Keras clips probabilities at 1e-7, so its blown-up runs sit at about 16.1 x error rate nats.
BLOWUP_LOSS = math.log(2000)
# Or the loss rose to 10x its lowest value so far: far above where it started.
EXPLOSION_FACTOR = 10.0
# A run that blew up but ended fitting the training set (accuracy >= UNDERFIT_ACCURACY) recovered:
# that is a note (a loss spike), not a divergence.

# --- imbalanced --------------------------------------------------------------------------------
# Imbalance ratio n_max / n_min of the class counts. evalml's class-imbalance check warns from 9:1 and
# SageMaker Debugger's ClassImbalance rule from 10:1; a ratio of 3 already skews what plain cross
# entropy learns, so it qualifies here - but the label also needs evidence of harm (below).
IMBALANCE_RATIO = 3.0
# Harm: balanced accuracy (mean per-class recall) 10 points below accuracy, or the worst minority
# class's recall below half the majority classes' mean (the minimum per-class recall, as DeepChecks'
# and SageMaker Debugger's class-imbalance rules judge it).
BALANCED_ACCURACY_GAP = 0.10
MINORITY_RECALL_RATIO = 0.5
# ...and only once the majority classes are learned (their mean recall at least 0.5): a model that has
# learned nothing yet (a trial pruned after an epoch) misses every class, and that is not the
# imbalance's doing.
MAJORITY_LEARNED_RECALL = 0.5

# Collapse onto the majority class, in per-class results: the model predicts the largest class for
# 95% or more of the validation examples. That is harm in itself (the other classes are not
# predicted), and it explains low accuracy better than a lack of capacity does: the prior is the
# cheap minimum that plain cross entropy finds on skewed counts.
COLLAPSE_SHARE = 0.95
# Collapse onto the majority class, read from a log's binary precision and recall (Keras'
# Precision() and Recall() metrics, which track the positive class): both at most this at the end
# while validation accuracy sits at the other class's share. A model that predicts one class only
# has precision and recall of exactly 0 for the other.
COLLAPSED_SCORE = 0.01

# A run whose training loss never moved more than 5% from its first epoch's value was stuck from the
# start: that says nothing about its step size being too small (a rate too high, dead units or broken
# labels stall a run just as well), so "search higher learning rates" and "train longer" are not
# proposed for it.
STUCK_LOSS_MOVE = 0.05
# ... unless the trial's own learning rate was tiny: ten times below the learning_rate fix's range
# (1e-3 .. 3e-2, diagnose.fixes), where a loss that never moved is what a step too small looks like.
TINY_LR = 1e-4

# An underfit model whose training loss still fell by more than 2% over the last STALL_FRACTION of
# the run is learning slowly (step size, time) rather than unable to learn (capacity).
LOSS_STILL_FALLING = 0.02

# --- secondary notes ---------------------------------------------------------------------------
# Still improving: the validation metric gained more than this over the last STALL_FRACTION of the
# run (Keras EarlyStopping's min_delta plays this role; 0.005 is a common choice for accuracies).
IMPROVING_MIN_DELTA = 0.005
# Oscillating: the training loss changed direction in at least half of the epochs, by steps of more
# than 10% of its range over the run (a converging loss moves by small fractions of its range).
OSCILLATION_TURNS = 0.5
OSCILLATION_STEP = 0.10
