"""Fine-tune a BERT classifier on a labelled table and save it for the app.

With no arguments it trains on our own sample reviews:  python train.py
"""
import argparse
import sys
from pathlib import Path

import predictor  # noqa: F401  (sets up TensorFlow's environment before anything imports it)
from predictor.errors import UserError
from predictor.markup import HTML, MARKUPS
from predictor.pieces import READINGS
from predictor.training import (CLASSIFIERS, DEFAULT_CLASSIFIER, DEFAULT_READING, DEFAULT_SEED, DEFAULT_VAL_FRACTION,
                                Settings, train)
from predictor.weights import BERT_CHOICES, OFFLINE

SAMPLE_DATA = Path(__file__).resolve().parent / "data" / "sample_reviews.csv"
SAMPLE_TEXT_COLUMN, SAMPLE_LABEL_COLUMN = "review", "sentiment"


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    data = parser.add_argument_group("data")
    data.add_argument("--data", type=Path, default=SAMPLE_DATA, help="labelled .csv, .tsv, .xlsx or .xls "
                      "(default: our sample reviews)")
    data.add_argument("--text-column", help=f"column holding the texts (default for the sample: {SAMPLE_TEXT_COLUMN})")
    data.add_argument("--label-column", action="append", dest="label_columns", metavar="COL",
                      help="column of class labels; repeat it for multi-label 0/1 columns")
    data.add_argument("--sheet", help="Excel sheet to read (default: the first)")
    data.add_argument("--corrections", type=Path, metavar="MODEL",
                      help="add the corrections analysts saved in the page for this model (a name or path in the "
                           "models folder; its folder may be gone): a corrected text that is in the data takes the "
                           "corrected label, the others are added as rows")
    data.add_argument("--allow-new-classes", action="store_true",
                      help="train a corrected label that is not a class of the data as a new class (without it, such "
                           "a correction stops the run with a message)")
    split = data.add_mutually_exclusive_group()
    split.add_argument("--val-data", type=Path, help="separate labelled file for validation")
    split.add_argument("--val-fraction", type=float, default=DEFAULT_VAL_FRACTION,
                       help="share of rows held out for validation, stratified by class (default: %(default)s)")
    model = parser.add_argument_group("model")
    model.add_argument("--classifier", choices=CLASSIFIERS, default=DEFAULT_CLASSIFIER,
                       help="'hybrid' trains BERT and ktrain's NBSVM and blends them with a weight chosen on the "
                            "validation rows (never worse there than either alone); 'bert' or 'nbsvm' trains one "
                            "(default: %(default)s)")
    model.add_argument("--reading", choices=READINGS, default=DEFAULT_READING,
                       help="how BERT reads texts longer than maxlen: 'windows' trains on the start and end and "
                            "scores overlapping windows over the whole text; 'head+tail' keeps the start and end; "
                            "'head' keeps the start (default: %(default)s)")
    model.add_argument("--markup", choices=MARKUPS, default=HTML,
                       help="'html' turns HTML in the texts (<br />, &amp;...) into the text a reader sees, at training "
                            "and scoring alike; 'keep' reads texts exactly as written (default: %(default)s)")
    weights = model.add_mutually_exclusive_group()
    weights.add_argument("--bert", choices=BERT_CHOICES, default=OFFLINE,
                         help="pretrained weights: 'offline' is all-MiniLM-L6-v2 shipped as a pip package, no network "
                              "needed; 'bert-base-uncased' is ktrain's download (default: %(default)s)")
    weights.add_argument("--bert-dir", type=Path, help="folder of a local Google-format BERT checkpoint")
    model.add_argument("--maxlen", type=int, help="word pieces read per text, at most 512 "
                       "(default: enough for 95%% of the texts, capped at 128 on a CPU and 256 on a GPU)")
    model.add_argument("--batch-size", type=int, help="(default: 32)")
    model.add_argument("--epochs", type=int, help="BERT epochs (default: about 30,000 examples of 128 pieces in all, 1 to 4)")
    model.add_argument("--lr", default="auto", help="BERT learning rate, or 'auto' to estimate it with lr_find, "
                       "falling back to 1e-4 when its estimate is unusable (default: %(default)s)")
    model.add_argument("--seed", type=int, default=DEFAULT_SEED, help="(default: %(default)s)")
    output = parser.add_argument_group("output")
    output.add_argument("--out", type=Path, help="model folder to create (default: a new folder under models/)")
    output.add_argument("--force", action="store_true", help="replace --out if it holds a model already")
    output.add_argument("--make-default", action="store_true",
                        help="make this model the one the page opens with and score.py uses (the first model "
                             "trained is the default until someone chooses another)")
    return parser.parse_args(argv)


def settings_from(args):
    """Settings from parsed arguments; the sample's column names apply only to the sample."""
    is_sample = args.data == SAMPLE_DATA
    text_column = args.text_column or (SAMPLE_TEXT_COLUMN if is_sample else None)
    label_columns = args.label_columns or ([SAMPLE_LABEL_COLUMN] if is_sample else None)
    if not text_column or not label_columns:
        raise UserError("Say which columns to use: --text-column COL and --label-column COL (repeat --label-column "
                        "for multi-label 0/1 columns). Example: python train.py --data reviews.xlsx "
                        "--text-column review --label-column sentiment")
    return Settings(data=args.data, text_column=text_column, label_columns=label_columns, val_data=args.val_data,
                    val_fraction=args.val_fraction, sheet=args.sheet, classifier=args.classifier,
                    reading=args.reading, markup=args.markup, bert=args.bert, bert_dir=args.bert_dir,
                    maxlen=args.maxlen, batch_size=args.batch_size, epochs=args.epochs, lr=parse_lr(args.lr),
                    seed=args.seed, out=args.out, force=args.force, make_default=args.make_default,
                    corrections=args.corrections, allow_new_classes=args.allow_new_classes)


def parse_lr(value):
    if value == "auto":
        return None
    try:
        return float(value)
    except ValueError:
        raise UserError(f"--lr must be a number such as 5e-5, or 'auto' (got {value!r}).") from None


def main(argv=None):
    args = parse_args(argv)
    try:
        train(settings_from(args))
    except UserError as error:
        print(f"\nError: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("\nInterrupted. Nothing was saved, and any existing model was left as it was.", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
