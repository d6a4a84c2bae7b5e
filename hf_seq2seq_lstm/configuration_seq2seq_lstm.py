"""Configuration of the LSTM/GRU encoder-decoder.

Remote code: this file travels to the Hub beside the model weights, so it imports only
`transformers` (and is imported only relatively by the modeling file).
"""

from transformers import PretrainedConfig

CELL_TYPES = ("lstm", "gru")
ATTENTION_TYPES = ("none", "bahdanau", "luong")
INIT_SCHEMES = ("xavier", "uniform", "pytorch")
SCHEDULED_SAMPLING_MODES = ("exact", "two_pass")


def _check_choice(name, value, choices):
    if value not in choices:
        raise ValueError(f"{name}={value!r} is not valid; choose one of {', '.join(choices)}")


def _check_positive_int(name, value):
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")


def _check_fraction(name, value, *, inclusive_one=True):
    is_number = isinstance(value, (int, float)) and not isinstance(value, bool)
    upper_ok = is_number and (value <= 1.0 if inclusive_one else value < 1.0)
    if not (is_number and 0.0 <= value and upper_ok):
        bound = "[0, 1]" if inclusive_one else "[0, 1)"
        raise ValueError(f"{name} must be a number in {bound}, got {value!r}")


class Seq2SeqLSTMConfig(PretrainedConfig):
    r"""Configuration of [`Seq2SeqLSTMForConditionalGeneration`].

    Args:
        src_vocab_size (`int`): size of the source (Korean) vocabulary.
        tgt_vocab_size (`int`): size of the target (English) vocabulary; the output layer's size.
        cell_type (`str`): `"lstm"` or `"gru"`, for encoder and decoder alike.
        attention (`str`): `"none"` (the classic context-vector model: the decoder only sees the
            encoder's final state), `"bahdanau"` (additive score of the previous decoder state,
            context fed into the RNN step) or `"luong"` (multiplicative *general* score of the
            current decoder output, combined after the RNN).
        embedding_dim (`int`): size of the token embeddings.
        hidden_dim (`int`): size of the decoder state and of the encoder outputs. A bidirectional
            encoder gives each direction `hidden_dim // 2`, so that outputs are `hidden_dim` wide.
        num_layers (`int`): RNN layers in the encoder and in the decoder.
        dropout (`float`): dropout on embeddings, between RNN layers and before the output layer.
        source_word_dropout, target_word_dropout (`float`): in training, the probability that a
            whole source / decoder-input token embedding is zeroed (word dropout, Sennrich &
            Zhang 2019); the kept ones are scaled by 1 / (1 - p). Inactive in evaluation.
        bidirectional_encoder (`bool`): read the source in both directions.
        input_feeding (`bool`): feed the previous step's output vector into the next decoder step
            (Luong et al. 2015). It forces a step-by-step decoder loop in training.
        tie_word_embeddings (`bool`): share the decoder embedding with the output layer; needs
            `embedding_dim == hidden_dim`.
        share_embeddings (`bool`): share the encoder and decoder embeddings (a joint vocabulary);
            needs `src_vocab_size == tgt_vocab_size`.
        teacher_forcing_ratio (`float`): probability that a training decoder step is fed the
            ground-truth previous token rather than the model's own prediction (1.0: full
            teacher forcing), in calls that pass no ratio: the default that `Seq2SeqTrainer`
            and other `forward(**batch)` loops train with. A schedule passes its ratio per call,
            `forward(teacher_forcing_ratio=...)` (train.py does, every step), which leaves this
            field as it is. Evaluation always feeds the given inputs.
        scheduled_sampling_mode (`str`): how a ratio below 1.0 is trained. `"exact"` runs the
            decoder step by step, feeding each prediction as it is made. `"two_pass"` first runs a
            teacher-forced pass without gradient to pick the predictions, then trains one fused
            pass on the mixed inputs: much faster, but a prediction is made from a gold prefix.
        label_smoothing (`float`): label smoothing of the training loss.
        init_scheme (`str`): `"xavier"` (Xavier-uniform inputs, orthogonal recurrences, LSTM
            forget-gate bias 1, as Joey NMT), `"uniform"` (every weight in +-`init_range`, as
            OpenNMT-py) or `"pytorch"` (PyTorch's module defaults).
        init_range (`float`): bound of the `"uniform"` scheme.
        pad_token_id, bos_token_id, eos_token_id, decoder_start_token_id (`int`): special ids,
            which must agree with the tokenizer's.
    """

    model_type = "seq2seq_lstm"
    keys_to_ignore_at_inference = ["cache"]
    attribute_map = {
        "hidden_size": "hidden_dim",
        "num_hidden_layers": "num_layers",
        "vocab_size": "tgt_vocab_size",
        "d_model": "hidden_dim",
    }

    def __init__(
        self,
        src_vocab_size=8000,
        tgt_vocab_size=8000,
        cell_type="lstm",
        attention="luong",
        embedding_dim=256,
        hidden_dim=512,
        num_layers=2,
        dropout=0.3,
        source_word_dropout=0.0,
        target_word_dropout=0.0,
        bidirectional_encoder=True,
        input_feeding=False,
        tie_word_embeddings=False,
        share_embeddings=False,
        teacher_forcing_ratio=1.0,
        scheduled_sampling_mode="exact",
        label_smoothing=0.0,
        init_scheme="xavier",
        init_range=0.1,
        use_cache=True,
        pad_token_id=0,
        bos_token_id=2,
        eos_token_id=3,
        decoder_start_token_id=None,
        is_encoder_decoder=True,
        **kwargs,
    ):
        _check_choice("cell_type", cell_type, CELL_TYPES)
        _check_choice("attention", attention, ATTENTION_TYPES)
        _check_choice("init_scheme", init_scheme, INIT_SCHEMES)
        _check_choice("scheduled_sampling_mode", scheduled_sampling_mode, SCHEDULED_SAMPLING_MODES)
        for name, value in (
            ("src_vocab_size", src_vocab_size),
            ("tgt_vocab_size", tgt_vocab_size),
            ("embedding_dim", embedding_dim),
            ("hidden_dim", hidden_dim),
            ("num_layers", num_layers),
        ):
            _check_positive_int(name, value)
        for name, value in (
            ("dropout", dropout),
            ("source_word_dropout", source_word_dropout),
            ("target_word_dropout", target_word_dropout),
        ):
            _check_fraction(name, value, inclusive_one=False)
        for name, value in (
            ("bidirectional_encoder", bidirectional_encoder),
            ("input_feeding", input_feeding),
            ("tie_word_embeddings", tie_word_embeddings),
            ("share_embeddings", share_embeddings),
        ):
            if not isinstance(value, bool):
                raise ValueError(f"{name} must be true or false, got {value!r}")
        _check_fraction("teacher_forcing_ratio", teacher_forcing_ratio)
        _check_fraction("label_smoothing", label_smoothing, inclusive_one=False)
        if not isinstance(init_range, (int, float)) or init_range <= 0:
            raise ValueError(f"init_range must be a positive number, got {init_range!r}")
        if bidirectional_encoder and hidden_dim % 2:
            raise ValueError(
                f"hidden_dim={hidden_dim} must be even with bidirectional_encoder=True "
                "(each direction gets hidden_dim // 2)"
            )
        if tie_word_embeddings and embedding_dim != hidden_dim:
            raise ValueError(
                f"tie_word_embeddings=True needs embedding_dim == hidden_dim, got "
                f"embedding_dim={embedding_dim} and hidden_dim={hidden_dim}"
            )
        if share_embeddings and src_vocab_size != tgt_vocab_size:
            raise ValueError(
                f"share_embeddings=True needs src_vocab_size == tgt_vocab_size, got "
                f"src_vocab_size={src_vocab_size} and tgt_vocab_size={tgt_vocab_size}"
            )
        for name, value in (
            ("pad_token_id", pad_token_id),
            ("bos_token_id", bos_token_id),
            ("eos_token_id", eos_token_id),
        ):
            if not isinstance(value, int) or not 0 <= value < tgt_vocab_size:
                raise ValueError(f"{name}={value!r} must be an id in [0, tgt_vocab_size)")

        self.src_vocab_size = src_vocab_size
        self.tgt_vocab_size = tgt_vocab_size
        self.cell_type = cell_type
        self.attention = attention
        self.embedding_dim = embedding_dim
        self.hidden_dim = hidden_dim
        self.num_layers = num_layers
        self.dropout = float(dropout)
        self.source_word_dropout = float(source_word_dropout)
        self.target_word_dropout = float(target_word_dropout)
        self.bidirectional_encoder = bidirectional_encoder
        self.input_feeding = input_feeding
        self.share_embeddings = share_embeddings
        self.teacher_forcing_ratio = float(teacher_forcing_ratio)
        self.scheduled_sampling_mode = scheduled_sampling_mode
        self.label_smoothing = float(label_smoothing)
        self.init_scheme = init_scheme
        self.init_range = float(init_range)
        self.use_cache = use_cache
        super().__init__(
            pad_token_id=pad_token_id,
            bos_token_id=bos_token_id,
            eos_token_id=eos_token_id,
            decoder_start_token_id=(
                bos_token_id if decoder_start_token_id is None else decoder_start_token_id
            ),
            is_encoder_decoder=is_encoder_decoder,
            tie_word_embeddings=tie_word_embeddings,
            **kwargs,
        )

    @property
    def fused_decoder_possible(self) -> bool:
        """Whether a teacher-forced target can run through one fused RNN call.

        Bahdanau's query and input feeding both need the previous step's output before the next
        step can start, which rules the fused call out.
        """
        return self.attention != "bahdanau" and not self.input_feeding


Seq2SeqLSTMConfig.register_for_auto_class()
