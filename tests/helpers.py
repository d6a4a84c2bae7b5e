"""What several test modules share: tiny configs and batches, a tiny translator overfitted to six
sentence pairs, scripts run where the package cannot be imported, a tiny train.py run, and a
recording stand-in for the Hub API. Fixtures live in conftest.py."""

import json
import os
import subprocess
import sys
from pathlib import Path

import torch
from accelerate.state import AcceleratorState

from hf_seq2seq_lstm import Seq2SeqLSTMConfig, Seq2SeqLSTMForConditionalGeneration
from hf_seq2seq_lstm.checkpoints import STATE_FILE, checkpoint_dirs
from hf_seq2seq_lstm.tokenization import train_bpe_tokenizer

REPO_ROOT = Path(__file__).resolve().parents[1]
# Programs the tests run in a fresh interpreter (see `run_without_package`).
SCRIPTS = Path(__file__).resolve().parent / "scripts"

# --- tiny models ------------------------------------------------------------------------------

SRC_VOCAB, TGT_VOCAB, PAD, BOS, EOS = 37, 29, 0, 2, 3


def tiny_config(**overrides):
    fields = dict(
        src_vocab_size=SRC_VOCAB,
        tgt_vocab_size=TGT_VOCAB,
        embedding_dim=12,
        hidden_dim=16,
        num_layers=2,
        dropout=0.0,
    )
    fields.update(overrides)
    return Seq2SeqLSTMConfig(**fields)


def tiny_model(seed=0, **overrides):
    torch.manual_seed(seed)
    return Seq2SeqLSTMForConditionalGeneration(tiny_config(**overrides))


def padded_batch(lengths, vocab, seed=0):
    """Right-padded ids (B, max_len) with tokens >= 4 (no specials) and the matching mask."""
    generator = torch.Generator().manual_seed(seed)
    ids = torch.full((len(lengths), max(lengths)), PAD)
    for row, length in enumerate(lengths):
        ids[row, :length] = torch.randint(4, vocab, (length,), generator=generator)
    return ids, ids.ne(PAD).long()


# --- a tiny translator that gives real English ------------------------------------------------

PAIRS = [
    ("오늘 날씨가 좋네요.", "The weather is nice today."),
    ("지하철역이 어디예요?", "Where is the subway station?"),
    ("안녕하세요.", "Hello."),
    ("감사합니다.", "Thank you."),
    ("이거 얼마예요?", "How much is this?"),
    ("배가 고파요.", "I am hungry."),
]
KOREAN = [ko for ko, _ in PAIRS]
ENGLISH = [en for _, en in PAIRS]


def pairs_tokenizer(**kwargs):
    """A joint BPE trained on PAIRS; kwargs go to `train_bpe_tokenizer`."""
    return train_bpe_tokenizer(
        [text for pair in PAIRS for text in pair] * 3, vocab_size=320, min_frequency=1, **kwargs
    )


def overfit(tokenizer, steps: int = 100, **overrides) -> Seq2SeqLSTMForConditionalGeneration:
    """A one-layer LSTM trained on PAIRS until it reproduces them (about a second on a CPU), in
    evaluation mode. overrides: config fields (default: hidden size 64, no dropout)."""
    torch.manual_seed(0)
    fields = dict(
        src_vocab_size=len(tokenizer),
        tgt_vocab_size=len(tokenizer),
        hidden_dim=64,
        num_layers=1,
        dropout=0.0,
    )
    model = Seq2SeqLSTMForConditionalGeneration(Seq2SeqLSTMConfig(**{**fields, **overrides}))
    batch = tokenizer(KOREAN, text_target=ENGLISH, padding=True, return_tensors="pt")
    batch["labels"][batch["labels"] == tokenizer.pad_token_id] = -100
    optimizer = torch.optim.Adam(model.parameters(), lr=0.02)
    for _ in range(steps):
        optimizer.zero_grad()
        model(**batch).loss.backward()
        optimizer.step()
    return model.eval()


# --- fresh processes --------------------------------------------------------------------------


def run_without_package(script, *args, hf_home):
    """Runs `script` in a fresh interpreter, offline, from a folder where the package is absent."""
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("PYTHONPATH",) and not key.startswith("PYTEST")
    }
    env.update(HF_HUB_OFFLINE="1", HF_HOME=str(hf_home), PYTHONNOUSERSITE="1")
    # An editable install puts the checkout on sys.path through a .pth file: -S skips site
    # processing, and the site-packages folder is added back by hand without .pth files.
    site_packages = [p for p in sys.path if p.endswith("site-packages")]
    bootstrap = (
        f"import sys; sys.path.extend({site_packages!r}); sys.argv = sys.argv[1:]; "
        "exec(compile(open(sys.argv[0]).read(), sys.argv[0], 'exec'))"
    )
    return subprocess.run(
        [sys.executable, "-S", "-c", bootstrap, str(script), *args],
        env=env,
        cwd=hf_home,
        stdin=subprocess.DEVNULL,  # a trust_remote_code prompt meets end of input, never waits
        capture_output=True,
        text=True,
        timeout=300,
    )


# --- train.py ---------------------------------------------------------------------------------

TINY = [
    "--builtin_corpus", "sample",
    "--embedding_dim", "32", "--hidden_dim", "32", "--num_layers", "1", "--dropout", "0.1",
    "--num_beams", "1", "--logging_steps", "1", "--per_device_train_batch_size", "16",
    "--vocab_size", "400", "--num_threads", "1",
]  # fmt: skip


def run_train(output_dir, *extra):
    import train  # here, not above: importing train.py sets transformers' logging

    # Accelerate's state is a per-process singleton; each run here is a new "process".
    AcceleratorState._reset_state(reset_partial_state=True)
    return train.main([*TINY, "--output_dir", str(output_dir), *extra])


def train_history(output_dir):
    """The log history of the run's last checkpoint."""
    (checkpoint,) = checkpoint_dirs(Path(output_dir))[-1:]
    return json.loads((checkpoint / STATE_FILE).read_text())["history"]


# --- the Hub ----------------------------------------------------------------------------------

FAKE_TOKEN = "hf_test_token_that_must_never_be_shown"


class RecordingHfApi:
    """Stands in for `huggingface_hub.HfApi`: records calls and the files seen at upload time."""

    calls = []

    def __init__(self, token=None):
        self.calls.append(("init", {"token": token}))

    def create_repo(self, repo_id, **kwargs):
        self.calls.append(("create_repo", {"repo_id": repo_id, **kwargs}))

    def create_branch(self, repo_id, **kwargs):
        self.calls.append(("create_branch", {"repo_id": repo_id, **kwargs}))

    def upload_folder(self, **kwargs):
        files = sorted(path.name for path in Path(kwargs["folder_path"]).iterdir())
        self.calls.append(("upload_folder", {**kwargs, "files": files}))
        return type("Commit", (), {"commit_url": f"https://hf.co/{kwargs['repo_id']}/commit/1"})
