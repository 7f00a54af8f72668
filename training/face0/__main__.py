"""`python -m face0 <stage> ...`: the training pipeline's command line, one sub-command per stage."""

import argparse

from face0 import (
    attributes,
    augment,
    bench,
    evaluate,
    export,
    latent_preview,
    pack,
    sample,
    slim,
    train,
    train_vae,
)

STAGES = {
    "export": export,
    "augment": augment,
    "train": train,
    "train-vae": train_vae,
    "bench": bench,
    "slim": slim,
    "sample": sample,
    "evaluate": evaluate,
    "train-attributes": attributes,
    "pack": pack,
    "latent-preview": latent_preview,
}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m face0")
    stages = parser.add_subparsers(dest="stage", required=True)
    for name, module in STAGES.items():
        module.add_arguments(stages.add_parser(name, help=module.__doc__.splitlines()[0]))
    args = parser.parse_args(argv)
    STAGES[args.stage].run(args)


if __name__ == "__main__":
    main()
