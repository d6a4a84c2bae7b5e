"""Publish a model trained by train.py as a complete Hugging Face Hub repository.

    python push_to_hub.py --model_dir outputs/ko-en-lstm --repo_id alice/ko-en-lstm
    python push_to_hub.py --model_dir outputs/ko-en-lstm --dry_run --local_dir staged/
    python push_to_hub.py --space alice/ko-en-demo --repo_id alice/ko-en-lstm

The repository gets the weights, configs, tokenizer, the remote-code files and a model card, in
one commit; `--dry_run` writes the same files locally and sends nothing. With `--space`, the
Gradio demo (app.py) is published instead, as a Space that loads the model `--repo_id`. See
`hf_seq2seq_lstm.hub` and `hf_seq2seq_lstm.space` for what is (and is never) uploaded.
"""

import argparse
import logging
from pathlib import Path

from hf_seq2seq_lstm.hub import PublishError, publish
from hf_seq2seq_lstm.inference import DEFAULT_MODEL_DIR
from hf_seq2seq_lstm.space import publish_space

APP_FILE = Path(__file__).with_name("app.py")  # the demo a Space runs

logger = logging.getLogger("push_to_hub")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--model_dir",
        default=DEFAULT_MODEL_DIR,
        help=f"the --output_dir of a finished train.py run (default: {DEFAULT_MODEL_DIR})",
    )
    parser.add_argument(
        "--repo_id",
        help='the Hub model repository, "owner/name"; created if missing (required to upload)',
    )
    parser.add_argument(
        "--private",
        action="store_true",
        help="create the repository as private (an existing repository keeps its visibility)",
    )
    parser.add_argument(
        "--revision",
        help="branch to commit to, created if missing (default: the repository's main branch)",
    )
    parser.add_argument("--commit_message", help="message of the upload commit")
    parser.add_argument(
        "--token",
        help="Hub token with write access (default: $HF_TOKEN, else the `hf auth login` token)",
    )
    parser.add_argument(
        "--license",
        help="the model card's Hub licence identifier, e.g. apache-2.0 (default: the training "
        "data's licence, where run_info.json records it)",
    )
    parser.add_argument(
        "--dry_run",
        action="store_true",
        help="write the files that would be uploaded into --local_dir and upload nothing",
    )
    parser.add_argument(
        "--local_dir",
        help="also keep the uploaded files in this new (or empty) folder; required by --dry_run",
    )
    parser.add_argument(
        "--space",
        metavar="SPACE_ID",
        help='publish the Gradio demo as this Space, "owner/name", instead of the model; the '
        "Space loads the model --repo_id (publish the model first). --license, if given, goes "
        "on the Space card",
    )
    return parser


def parse_args(argv=None) -> argparse.Namespace:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.dry_run and not args.local_dir:
        parser.error("--dry_run needs --local_dir, the folder to write the files to")
    if args.space and not args.repo_id:
        parser.error("--space needs --repo_id, the model repository the demo loads")
    if not args.dry_run and not args.repo_id:
        parser.error("--repo_id is required unless --dry_run is given")
    return args


def main(argv=None) -> None:
    """Run the command; a problem the user can fix exits with its message and status 1."""
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    options = dict(
        license=args.license,
        token=args.token,
        private=args.private,
        revision=args.revision,
        commit_message=args.commit_message,
        dry_run=args.dry_run,
        local_dir=args.local_dir,
    )
    try:
        if args.space:
            result = publish_space(APP_FILE, args.space, args.repo_id, **options)
        else:
            result = publish(args.model_dir, args.repo_id, **options)
    except PublishError as error:
        raise SystemExit(f"error: {error}") from None
    if args.dry_run:
        logger.info("Dry run: the files to upload are in %s; nothing was uploaded.", result)
    else:
        logger.info("Uploaded: %s", result)


if __name__ == "__main__":
    main()
