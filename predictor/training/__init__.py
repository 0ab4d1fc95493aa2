"""Train a review classifier on a labelled table, evaluate it, and save it without ever half-writing.

The model is BERT fine-tuned with ktrain, ktrain's NBSVM, or both combined (the default): see predictor/hybrid.py
for why, and predictor/model_folder.py for what is saved. Each step returns what it found; the record is built once,
in train(), from those results.

The package, in the order a run goes: settings (what the run depends on, and train.py's options), rows (the data
read and cleaned), plan (choices from data and machine), learning_rate, members (BERT and NBSVM trained and saved),
evaluation (the blend, calibration, thresholds, metrics) and run (train() itself); progress says what is happening.
Only train.py and the benchmarks import it: it imports TensorFlow, and scoring must not.

Settings is read where the options are turned into the run: train() itself, check_settings, make_plan and
describe (the plan), read_labelled and read_unlabelled (the rows). Every step after those takes the values it uses.
"""
from predictor.training.settings import (  # noqa: F401
    HYBRID, CLASSIFIERS, DEFAULT_CLASSIFIER, DEFAULT_READING, DEFAULT_VAL_FRACTION, DEFAULT_SEED, MAX_BERT_MAXLEN,
    option, Settings, corrections_model, check_settings, models_root)
from predictor.training.progress import (  # noqa: F401
    PROGRESS_EVERY_S, STILL_EVERY_S, Stopwatch, chunks, fit_progress, still_working, quiet, format_duration, now)
from predictor.training.rows import (  # noqa: F401
    Labelled, read_labelled, read_unlabelled, cleaned, sha256)
from predictor.training.plan import (  # noqa: F401
    EPOCH_EXAMPLES, EPOCH_MAXLEN, MAX_AUTO_EPOCHS, MAXLEN_PERCENTILE, MAXLEN_STEP, MAXLEN_SAMPLE, Plan, make_plan,
    auto_maxlen, auto_epochs, describe, validation_warnings)
from predictor.training.learning_rate import (  # noqa: F401
    LR_FIND_BATCHES, LR_FIND_MIN_BATCHES, LR_BAND, FALLBACK_LR, find_learning_rate, lr_find_batches, reset_optimizer,
    choose_rate, save_lr_plot)
from predictor.training.evaluation import (  # noqa: F401
    MIN_VALIDATION_ROWS, MIN_VALIDATION_PER_CLASS, combination_for, calibrated_record, thresholds_for, label_matrix,
    evaluate, predicted_labels, headline, describe_thresholds, describe_combination)
from predictor.training.members import (  # noqa: F401
    PRECISION_WORDS, NBSVM_RECIPE, BertRun, NbsvmRun, Saved, fit_members, fit_bert, build_classifier,
    with_fresh_optimizer, label_columns_of, fit_nbsvm, nbsvm_predictor, save_bert, check_ids, checked_bert, save_nbsvm,
    private_temp_files, release_tensorflow, describe_precision)
from predictor.training.run import (  # noqa: F401
    UNLABELLED_CHUNK, RELOAD_CHECK_ROWS, RELOAD_TOLERANCE, train, learn_from_unlabelled, settle_default, audit_labels,
    reload_difference, settings_record, library_versions, summary)
