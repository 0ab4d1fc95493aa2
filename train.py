"""Fine-tune a BERT classifier on a labelled table and save it for the app.

With no arguments it trains on our own sample reviews:  python train.py
"""
import argparse
import dataclasses
import sys
from pathlib import Path

import predictor  # noqa: F401  (sets up TensorFlow's environment before anything imports it)
from predictor.errors import UserError
from predictor.training import Settings, train

SAMPLE_DATA = Path(__file__).resolve().parent / "data" / "sample_reviews.csv"
SAMPLE_TEXT_COLUMN, SAMPLE_LABEL_COLUMN = "review", "sentiment"
# What the command line adds to Settings: with no --data it trains on our sample, whose columns it knows.
CLI_DEFAULTS = {"data": SAMPLE_DATA}
SAMPLE_NOTES = {"data": " (default: our sample reviews)",
                "text_column": f" (default for the sample: {SAMPLE_TEXT_COLUMN})",
                "label_columns": f" (default for the sample: {SAMPLE_LABEL_COLUMN})"}


def parse_args(argv):
    """The command line, built from Settings: each option's help and kind sit beside its field there."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    groups, exclusive = {}, {}
    for setting in dataclasses.fields(Settings):
        cli = dict(setting.metadata["cli"])
        if cli["group"] not in groups:
            groups[cli["group"]] = parser.add_argument_group(cli["group"])
        group = groups[cli["group"]]
        if "exclusive" in cli:
            key = cli.pop("exclusive")
            if key not in exclusive:
                exclusive[key] = group.add_mutually_exclusive_group()
            group = exclusive[key]
        flag = cli.pop("flag", "--" + setting.name.replace("_", "-"))
        default = setting.default if setting.default is not dataclasses.MISSING else None
        cli["default"] = CLI_DEFAULTS.get(setting.name, cli.get("default", default))
        cli["help"] += SAMPLE_NOTES.get(setting.name, "")
        del cli["group"]
        group.add_argument(flag, dest=setting.name, **cli)
    return parser.parse_args(argv)


def settings_from(args):
    """Settings from parsed arguments; the sample's column names apply only to the sample."""
    values = vars(args)
    is_sample = args.data == SAMPLE_DATA
    values["text_column"] = args.text_column or (SAMPLE_TEXT_COLUMN if is_sample else None)
    values["label_columns"] = args.label_columns or ([SAMPLE_LABEL_COLUMN] if is_sample else None)
    if not values["text_column"] or not values["label_columns"]:
        raise UserError("Say which columns to use: --text-column COL and --label-column COL (repeat --label-column "
                        "for multi-label 0/1 columns). Example: python train.py --data reviews.xlsx "
                        "--text-column review --label-column sentiment")
    values["lr"] = parse_lr(args.lr)
    return Settings(**values)


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
