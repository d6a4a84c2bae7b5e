"""LSTM/GRU encoder-decoder with optional Bahdanau or Luong attention, as a transformers model.

Remote code: this file travels to the Hub beside the weights, so it imports only torch,
transformers and (relatively) its configuration. It reads bottom-up: the recurrent state,
attention, encoder, decoder, then the pretrained-model classes.

Shapes use B = batch, S = source length, T = target length, H = hidden_dim, E = embedding_dim,
L = num_layers, V = target vocabulary.
"""

import inspect
import os
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn
from transformers import (
    GenerationConfig,
    GenerationMixin,
    LogitsProcessor,
    LogitsProcessorList,
    PreTrainedModel,
)
from transformers import initialization as init
from transformers.dynamic_module_utils import custom_object_save
from transformers.modeling_outputs import ModelOutput, Seq2SeqLMOutput, Seq2SeqModelOutput
from transformers.utils import logging

from .configuration_seq2seq_lstm import Seq2SeqLSTMConfig
from .pipeline_seq2seq_lstm import Seq2SeqLSTMTranslationPipeline

logger = logging.get_logger(__name__)

MAX_TARGET_LENGTH = 256  # generate()'s default cap on new tokens


class RNNDecoderState:
    """The decoder's state, passed between generation steps as the generation cache.

    Holds everything a step needs, so each step costs the same whatever the prefix length.
    The recurrent part has one row per decoder row (B = k * B_src: k consecutive rows per source
    sentence, for its beams or returned sequences; k = 1 in training):
        hidden: (L, B, H) decoder hidden state per layer.
        cell: (L, B, H) LSTM cell state, None for a GRU.
        input_feed: (B, H) previous output vector (input feeding), else None.
    The source part is what attention reads, built once from the encoder outputs and kept once
    per source sentence, since all rows of a sentence read the same source:
        memory: (B_src, S, H) encoder outputs.
        attention_keys: (B_src, S, H) memory projected for the attention score, None without
            attention.
        source_padding: (B_src, 1, S) True at source padding, the mask attention applies.
    steps: how many target tokens the state has consumed.
    """

    is_compileable = False

    def __init__(self, hidden, cell, input_feed, memory, attention_keys, source_padding, steps=0):
        self.hidden = hidden
        self.cell = cell
        self.input_feed = input_feed
        self.memory = memory
        self.attention_keys = attention_keys
        self.source_padding = source_padding
        self.steps = steps

    @property
    def is_linear(self):
        # generate() asks this of a cache: a recurrent state has one fixed-size slot per layer.
        return [True] * self.hidden.shape[0]

    def get_seq_length(self, layer_idx=0):
        return self.steps

    @property
    def rows_per_source(self):
        """k, the decoder rows per source sentence."""
        return self.hidden.shape[1] // self.memory.shape[0]

    def reorder_cache(self, beam_idx):
        """Keep the decoder rows of `beam_idx` (B,), in place: beam search's reordering.

        Beam search picks each new row among the rows of the same sentence, so a source part
        kept once per sentence stays as it is; only with one row per sentence (where generate()
        expanded the encoder outputs itself) does each row's source move with it.
        """
        self.hidden = self.hidden.index_select(1, beam_idx)
        if self.cell is not None:
            self.cell = self.cell.index_select(1, beam_idx)
        if self.input_feed is not None:
            self.input_feed = self.input_feed.index_select(0, beam_idx)
        if self.rows_per_source == 1:
            self.memory = self.memory.index_select(0, beam_idx)
            if self.attention_keys is not None:
                self.attention_keys = self.attention_keys.index_select(0, beam_idx)
            self.source_padding = self.source_padding.index_select(0, beam_idx)

    def rnn_state(self):
        """The recurrent state in the form `nn.LSTM` / `nn.GRU` take."""
        return self.hidden if self.cell is None else (self.hidden, self.cell)

    def advanced(self, rnn_state, input_feed, tokens):
        """The state after `tokens` more target tokens: the RNN's new `rnn_state` (as `nn.LSTM` /
        `nn.GRU` return it), the new input-feeding vector, the same source part."""
        hidden, cell = rnn_state if self.cell is not None else (rnn_state, None)
        return RNNDecoderState(
            hidden,
            cell,
            input_feed,
            self.memory,
            self.attention_keys,
            self.source_padding,
            self.steps + tokens,
        )


@dataclass
class Seq2SeqLSTMEncoderOutput(ModelOutput):
    """Encoder outputs; every tensor is batch-first because generate() expands dim 0 for beams.

    last_hidden_state: (B, S, H) top-layer outputs (both directions concatenated).
    final_hidden: (B, L, H) last state per layer, after the bridge: the decoder's initial state.
    final_cell: (B, L, H) LSTM cell counterpart, None for a GRU.
    attention_mask: (B, S) the source mask the outputs were computed with.
    hidden_states: with `output_hidden_states=True`, the embeddings (B, S, E), then each
        layer's outputs (B, S, H).
    """

    last_hidden_state: torch.FloatTensor | None = None
    final_hidden: torch.FloatTensor | None = None
    final_cell: torch.FloatTensor | None = None
    attention_mask: torch.LongTensor | None = None
    hidden_states: tuple[torch.FloatTensor, ...] | None = None
    attentions: tuple[torch.FloatTensor, ...] | None = None


class Seq2SeqLSTMAttention(nn.Module):
    r"""Scores a decoder query against the encoder outputs; returns `(context, weights)`.

    luong (general):  score(q, h_s) = q^T W_a h_s
    bahdanau:         score(q, h_s) = v^T tanh(W_q q + W_k h_s)

    Keys (`W_a h_s` or `W_k h_s`) are projected once per source sentence by `project_keys`.
    """

    def __init__(self, config: Seq2SeqLSTMConfig):
        super().__init__()
        self.kind = config.attention
        hidden = config.hidden_dim
        self.key_proj = nn.Linear(hidden, hidden, bias=False)
        if self.kind == "bahdanau":
            self.query_proj = nn.Linear(hidden, hidden, bias=True)
            self.energy = nn.Linear(hidden, 1, bias=False)

    def project_keys(self, memory):
        """(B, S, H) encoder outputs -> (B, S, H) keys."""
        return self.key_proj(memory)

    def forward(self, query, keys, memory, source_padding):
        """query (B, T, H) from B = k * B_src decoder rows, k consecutive rows per sentence;
        keys/memory (B_src, S, H) and source_padding (B_src, 1, S), True at padding, once per
        sentence -> context (B, T, H), weights (B, T, S)."""
        sentences, hidden = keys.shape[0], query.shape[-1]
        if self.kind == "luong":
            scores = _bmm_per_row(query, keys.transpose(1, 2))
        else:
            projected = self.query_proj(query).view(sentences, -1, 1, hidden)  # (B_src, k*T, 1, H)
            scores = self.energy(torch.tanh(projected + keys.unsqueeze(1))).squeeze(-1)
        scores = scores.view(sentences, -1, scores.shape[-1])  # (B_src, k*T, S)
        scores = scores.masked_fill(source_padding, torch.finfo(scores.dtype).min)
        weights = torch.softmax(scores, dim=-1).view(*query.shape[:2], -1)
        return _bmm_per_row(weights.to(memory.dtype), memory), weights


def _bmm_per_row(rows, per_sentence):
    """rows (k * B_src, T, D), k consecutive rows per sentence, times per_sentence
    (B_src, D, M) -> (k * B_src, T, M), without copying `per_sentence` k times.

    One product per beam slot rather than one (k * T, D) product per sentence: a row's sums
    then round exactly as they do with its own copy of the matrix, so beam search gives the
    same scores to the last bit as when every beam had its own copy of the encoder outputs.
    """
    sentences = per_sentence.shape[0]
    if rows.shape[0] == sentences:
        return torch.bmm(rows, per_sentence)
    slots = rows.view(sentences, -1, *rows.shape[1:]).unbind(1)  # k x (B_src, T, D)
    return torch.stack([torch.bmm(slot, per_sentence) for slot in slots], dim=1).flatten(0, 1)


class Seq2SeqLSTMDropout(nn.Dropout):
    """`nn.Dropout` with its mask drawn by `torch.rand`: the same distribution, but about three
    times faster than the `bernoulli_` kernel `nn.Dropout` uses on CPU (measured with torch 2.13,
    where dropout was ~8% of a training step)."""

    def forward(self, inputs):
        if not self.training or self.p == 0.0:
            return inputs
        keep = torch.rand_like(inputs) >= self.p
        return inputs * keep * (1.0 / (1.0 - self.p))


class Seq2SeqLSTMWordDropout(nn.Module):
    """Word dropout: in training, zeroes whole token embeddings (B, ..., E) with probability `p`
    and scales the kept ones by 1 / (1 - p), one draw per token (Sennrich & Zhang 2019)."""

    def __init__(self, p):
        super().__init__()
        self.p = p

    def forward(self, embeddings):
        if not self.training or self.p == 0.0:
            return embeddings
        keep = torch.rand(embeddings.shape[:-1] + (1,), device=embeddings.device) >= self.p
        return embeddings * keep * (1.0 / (1.0 - self.p))


def _rnn_class(config):
    return nn.LSTM if config.cell_type == "lstm" else nn.GRU


class Seq2SeqLSTMEncoder(nn.Module):
    """Embedding -> multi-layer (bi)directional LSTM/GRU -> bridge.

    Padding never reaches the states: a sentence encoded alone or inside a right-padded batch
    gives the same outputs and final state. Instead of packed sequences (a slow step-by-step
    kernel on CPU) each direction runs as dense RNN calls over length segments
    (`run_by_length_segments`), and the backward direction reads each sentence reversed within
    its own length.
    """

    main_input_name = "input_ids"

    def __init__(self, config: Seq2SeqLSTMConfig):
        super().__init__()
        self.config = config
        directions = 2 if config.bidirectional_encoder else 1
        self.embed_tokens = nn.Embedding(
            config.src_vocab_size, config.embedding_dim, padding_idx=config.pad_token_id
        )
        rnn = _rnn_class(config)
        # layers[i][d]: layer i, direction d (0 forward, 1 backward), each one-directional.
        self.layers = nn.ModuleList(
            nn.ModuleList(
                rnn(
                    config.embedding_dim if index == 0 else config.hidden_dim,
                    config.hidden_dim // directions,
                    batch_first=True,
                )
                for _ in range(directions)
            )
            for index in range(config.num_layers)
        )
        self.dropout = Seq2SeqLSTMDropout(config.dropout)
        self.word_dropout = Seq2SeqLSTMWordDropout(config.source_word_dropout)
        # The bridge: both directions' final states are concatenated to H, then mixed by a
        # learned layer, since the decoder runs in one direction only.
        self.bridge = None
        if config.bidirectional_encoder:
            width = config.hidden_dim * (2 if config.cell_type == "lstm" else 1)
            self.bridge = nn.Linear(width, width)

    def forward(
        self,
        input_ids=None,
        attention_mask=None,
        output_hidden_states=None,
        output_attentions=None,
        return_dict=None,
        **kwargs,
    ):
        """input_ids (B, S), attention_mask (B, S) right-padded -> `Seq2SeqLSTMEncoderOutput`."""
        # Checked here, not only in the model's forward: generate() runs the encoder directly.
        _check_ids("input_ids", input_ids, self.config.src_vocab_size)
        if attention_mask is None:
            attention_mask = input_ids.ne(self.config.pad_token_id).long()
        lengths = _source_lengths(attention_mask)
        reverse_index = _reverse_within_length_index(lengths, input_ids.shape[1])
        embedded = self.dropout(self.word_dropout(self.embed_tokens(input_ids)))  # (B, S, E)
        layer_input, layer_outputs, finals = embedded, [], []
        for index, directions in enumerate(self.layers):
            if index > 0:
                layer_input = self.dropout(layer_input)
            outputs, layer_finals = [], []
            for direction, rnn in enumerate(directions):
                backward = direction == 1
                sequence = _take_steps(layer_input, reverse_index) if backward else layer_input
                output, final = run_by_length_segments(rnn, sequence, lengths)
                outputs.append(_take_steps(output, reverse_index) if backward else output)
                layer_finals.append(final)
            layer_input = torch.cat(outputs, dim=-1)  # (B, S, H)
            layer_outputs.append(layer_input)
            finals.append(layer_finals)
        final_hidden, final_cell = self._bridge(finals)
        return Seq2SeqLSTMEncoderOutput(
            last_hidden_state=layer_outputs[-1],
            final_hidden=final_hidden,
            final_cell=final_cell,
            attention_mask=attention_mask,
            hidden_states=(embedded, *layer_outputs) if output_hidden_states else None,
        )

    def _bridge(self, finals):
        """Final states [layer][direction] -> decoder initial state, batch-first (B, L, H)."""
        lstm = self.config.cell_type == "lstm"

        def joined(part):  # directions side by side, layers stacked: (B, L, H)
            return torch.stack(
                [torch.cat([f[part] if lstm else f for f in layer], -1)[0] for layer in finals],
                dim=1,
            )

        hidden, cell = joined(0), (joined(1) if lstm else None)
        if self.bridge is not None:
            if cell is None:
                hidden = torch.tanh(self.bridge(hidden))
            else:
                bridged_hidden, cell = self.bridge(torch.cat([hidden, cell], dim=-1)).chunk(2, -1)
                hidden = torch.tanh(bridged_hidden)
        return hidden.contiguous(), (cell.contiguous() if cell is not None else None)


def run_by_length_segments(rnn, inputs, lengths):
    """A one-layer, one-direction RNN over right-padded `inputs` (B, T, in), padding-free.

    Rows are ordered longest first and time is cut at each distinct length; each segment is
    one dense RNN call over the rows still running, started from their state. The result equals
    a packed-sequence call, but a length-bucketed batch needs only a few fast fused calls.
    Returns outputs (B, T, H) with zeros at padding, and the final state at each row's length
    in the RNN's own layout ((1, B, H), a pair for an LSTM).
    """
    order = torch.argsort(lengths, descending=True, stable=True)
    sorted_lengths = lengths[order]
    rows = inputs.index_select(0, order)
    batch, total_length = inputs.shape[:2]
    lstm = isinstance(rnn, nn.LSTM)
    pieces, final_pieces = [], []
    state, start = None, 0
    for end in torch.unique(sorted_lengths).tolist():  # ascending
        running = int((sorted_lengths >= end).sum())
        if state is not None:  # rows that ended are the tail of the running block
            state = tuple(part[:, :running] for part in state) if lstm else state[:, :running]
        output, state = rnn(rows[:running, start:end], state)
        pieces.append(F.pad(output, (0, 0, 0, 0, 0, batch - running)))
        finishing = int((sorted_lengths > end).sum())
        parts = state if lstm else (state,)
        final_pieces.append([part[:, finishing:running] for part in parts])
        start = end
    outputs = F.pad(torch.cat(pieces, dim=1), (0, 0, 0, total_length - start))
    restore = torch.argsort(order)
    # The shortest rows finished first and sit last in the sorted order.
    finals = [
        torch.cat([piece[i] for piece in reversed(final_pieces)], dim=1).index_select(1, restore)
        for i in range(len(final_pieces[0]))
    ]
    return outputs.index_select(0, restore), (tuple(finals) if lstm else finals[0])


def _reverse_within_length_index(lengths, total_length):
    """(B, T) time positions that reverse each row's first `length` steps, padding in place."""
    steps = torch.arange(total_length, device=lengths.device).unsqueeze(0)
    lengths = lengths.unsqueeze(1)
    return torch.where(steps < lengths, lengths - 1 - steps, steps)


def _take_steps(sequence, index):
    """sequence (B, T, D) reordered in time, row by row, by index (B, T)."""
    return sequence.gather(1, index.unsqueeze(-1).expand(-1, -1, sequence.shape[-1]))


def _source_lengths(attention_mask):
    """Lengths of right-padded rows; refuses left padding and empty rows, which packing breaks."""
    if attention_mask.dim() != 2:
        raise ValueError(f"attention_mask must be 2-D (batch, src_len), got {attention_mask.shape}")
    mask = attention_mask.bool()
    lengths = mask.sum(dim=1)
    if (lengths == 0).any():
        row = int((lengths == 0).nonzero()[0])
        raise ValueError(f"attention_mask row {row} is all padding: every source needs a token")
    prefix_lengths = mask.long().cumprod(dim=1).sum(dim=1)
    if (prefix_lengths != lengths).any():
        row = int((prefix_lengths != lengths).nonzero()[0])
        raise ValueError(
            f"attention_mask must be right-padded (ones, then zeros), but row {row} has padding "
            "before a token: this model does not take left padding. Pad on the right: set "
            '`tokenizer.padding_side = "right"` before tokenizing (or pass '
            '`padding_side="right"` to the tokenizer call).'
        )
    return lengths


def _check_ids(name, ids, vocab_size, allow_ignore=False):
    """ValueError unless `ids` is a non-empty (B, L) tensor of ids in [0, vocab_size).

    An embedding lookup of an id outside the table fails with a bare "index out of range";
    this names the tensor, the offending ids and the vocabulary size instead.
    allow_ignore: -100 (the loss's ignore index) is also allowed.
    """
    if ids.dim() != 2:
        raise ValueError(f"{name} must be 2-D (batch, length), got shape {tuple(ids.shape)}")
    if ids.numel() == 0:
        raise ValueError(f"{name} is empty (shape {tuple(ids.shape)})")
    outside = (ids < 0) | (ids >= vocab_size)
    if allow_ignore:
        outside &= ids != -100
    if outside.any():
        offending = sorted(set(ids[outside].tolist()))
        shown = ", ".join(map(str, offending[:10])) + (", ..." if len(offending) > 10 else "")
        raise ValueError(
            f"{name} holds ids outside the vocabulary of size {vocab_size} "
            f"(valid ids: 0 to {vocab_size - 1}): {shown}"
        )


class Seq2SeqLSTMDecoder(nn.Module):
    """Embedding -> LSTM/GRU (initialised from the encoder's bridged final state) -> attention.

    `forward` decodes a target (a whole one in training, one new token per `generate()` step)
    and picks its own path: with full teacher forcing and where the maths allows it (no input
    feeding, no Bahdanau query: `config.fused_decoder_possible`) the target runs through one
    fused RNN call (`forward_fused`); otherwise `forward_steps` loops over `step`, one token at a
    time, as scheduled sampling, input feeding, Bahdanau attention and per-layer hidden states
    need. Both paths end in `_attend_and_combine`, the one place where the attention, the output
    vector and the new state are computed.
    """

    def __init__(self, config: Seq2SeqLSTMConfig):
        super().__init__()
        self.config = config
        hidden = config.hidden_dim
        rnn_input = config.embedding_dim
        rnn_input += hidden if config.attention == "bahdanau" else 0  # the context
        rnn_input += hidden if config.input_feeding else 0  # the previous output vector
        self.embed_tokens = nn.Embedding(
            config.tgt_vocab_size, config.embedding_dim, padding_idx=config.pad_token_id
        )
        self.rnn = _rnn_class(config)(
            rnn_input,
            hidden,
            num_layers=config.num_layers,
            dropout=config.dropout if config.num_layers > 1 else 0.0,
            batch_first=True,
        )
        self.dropout = Seq2SeqLSTMDropout(config.dropout)
        self.word_dropout = Seq2SeqLSTMWordDropout(config.target_word_dropout)
        self.attention = Seq2SeqLSTMAttention(config) if config.attention != "none" else None
        # Output vector = tanh(W_c [context; rnn output]) with attention, the RNN output without.
        self.combine = nn.Linear(2 * hidden, hidden, bias=False) if self.attention else None

    def init_state(self, encoder_outputs, source_mask=None, rows_per_source=1):
        """The state before the first target token: the bridged encoder state, the source part.

        encoder_outputs: one row per source sentence (B_src).
        source_mask: (B_src, S) right-padded source mask; defaults to the encoder outputs' own.
        rows_per_source: k decoder rows per sentence (beams, returned sequences), each starting
            from the sentence's bridged state; the source part is kept once.
        """
        memory = encoder_outputs.last_hidden_state  # (B_src, S, H)
        if source_mask is None:
            source_mask = encoder_outputs.attention_mask

        def per_row(final):  # (B_src, L, H) -> (L, k * B_src, H)
            return final.transpose(0, 1).repeat_interleave(rows_per_source, dim=1).contiguous()

        final_cell = encoder_outputs.final_cell
        return RNNDecoderState(
            hidden=per_row(encoder_outputs.final_hidden),
            cell=per_row(final_cell) if final_cell is not None else None,
            input_feed=(
                memory.new_zeros(memory.shape[0] * rows_per_source, self.config.hidden_dim)
                if self.config.input_feeding
                else None
            ),
            memory=memory,
            attention_keys=self.attention.project_keys(memory) if self.attention else None,
            source_padding=~source_mask.bool().unsqueeze(1),
        )

    def forward(
        self,
        input_ids,
        state,
        teacher_forcing_ratio=None,
        output_layer=None,
        output_hidden_states=False,
    ):
        """Decode a target (B, T) from `state`, feeding model predictions where the ratio says.

        teacher_forcing_ratio: probability of feeding the gold previous token, drawn per token;
            defaults to `config.teacher_forcing_ratio` and applies in training mode only.
            Below 1 (scheduled sampling) the other tokens are the model's own predictions, picked
            by `output_layer` (`lm_head`), as `config.scheduled_sampling_mode` says.
        output_hidden_states: also return the embeddings fed (B, T, E), then each layer's outputs
            (B, T, H), the top one being the returned output vectors. Only the step loop sees
            every layer's outputs, so asking for them takes it.
        Returns output vectors (B, T, H) after dropout (the output layer's input), the new state,
        attention weights (B, T, S) or None, and the hidden states or None.
        """
        if teacher_forcing_ratio is None:
            teacher_forcing_ratio = self.config.teacher_forcing_ratio
        sampling = self.training and teacher_forcing_ratio < 1.0 and input_ids.shape[1] > 1
        if sampling and output_layer is None:
            raise ValueError(
                "teacher_forcing_ratio < 1 in training feeds the model's own predictions: "
                "pass the output layer that makes them (output_layer=lm_head)"
            )
        if sampling and self.config.scheduled_sampling_mode == "two_pass":
            input_ids = self._mix_in_predictions(
                input_ids, state, teacher_forcing_ratio, output_layer
            )
            sampling = False
        if sampling:
            use_gold = self.teacher_forcing_mask(
                input_ids.shape, teacher_forcing_ratio, input_ids.device
            )

            def next_input(t, previous_output, gold_tokens):
                # The model's own prediction, chosen without gradient through the choice.
                with torch.no_grad():
                    predicted = output_layer(previous_output).argmax(-1)
                return torch.where(use_gold[:, t], gold_tokens, predicted)

            decoded = self.forward_steps(input_ids, state, next_input, output_hidden_states)
        elif self.config.fused_decoder_possible and not output_hidden_states:
            decoded = self.forward_fused(input_ids, state)
        else:
            decoded = self.forward_steps(input_ids, state, None, output_hidden_states)
        outputs, state, weights, hidden_states = decoded
        outputs = self.dropout(outputs)
        if output_hidden_states:
            # The top layer's entry is the output vector the output layer reads: its RNN
            # output combined with the attention context, when there is attention.
            hidden_states = (*hidden_states[:-1], outputs)
        return outputs, state, weights, hidden_states

    def _mix_in_predictions(self, input_ids, state, teacher_forcing_ratio, output_layer):
        """Scheduled sampling's two-pass inputs (B, T): a teacher-forced pass without gradient
        predicts every token, then each input after the first is gold with probability
        `teacher_forcing_ratio`, else the prediction made at the step before."""
        with torch.no_grad():
            teacher_forced = self._teacher_forced(input_ids, state)[0]
            predictions = output_layer(teacher_forced).argmax(-1)
        use_gold = self.teacher_forcing_mask(
            input_ids.shape, teacher_forcing_ratio, input_ids.device
        )
        mixed = input_ids.clone()
        mixed[:, 1:] = torch.where(use_gold[:, 1:], input_ids[:, 1:], predictions[:, :-1])
        return mixed

    def _teacher_forced(self, input_ids, state):
        """The given target fed as is: one fused call where possible, else the step loop."""
        if self.config.fused_decoder_possible:
            return self.forward_fused(input_ids, state)
        return self.forward_steps(input_ids, state)

    @staticmethod
    def teacher_forcing_mask(shape, teacher_forcing_ratio, device=None):
        """(B, T) booleans, True where step t is fed the ground truth; drawn per token, per sentence.

        Column 0 (the start token) is always ground truth.
        """
        use_gold = torch.rand(shape, device=device) < teacher_forcing_ratio
        use_gold[:, 0] = True
        return use_gold

    def _embed(self, input_ids):
        """(B, ...) ids -> (B, ..., E) embeddings, with word dropout and dropout in training."""
        return self.dropout(self.word_dropout(self.embed_tokens(input_ids)))

    def forward_fused(self, input_ids, state):
        """A teacher-forced target (B, T) in one RNN call; the same maths as T calls to `step`
        where `config.fused_decoder_possible`. Returns as `forward_steps`, without hidden states."""
        rnn_out, rnn_state = self.rnn(self._embed(input_ids), state.rnn_state())
        return (*self._attend_and_combine(rnn_out, rnn_state, state), None)

    def forward_steps(self, input_ids, state, next_input_fn=None, output_hidden_states=False):
        """Step-by-step decoding of a target (B, T).

        `next_input_fn(t, output_vector, gold_tokens)` may replace the token fed at step t
        (scheduled sampling); by default the given `input_ids` are fed.
        Returns outputs (B, T, H), the final state, weights (B, T, S) or None, and, with
        `output_hidden_states`, the embeddings fed (B, T, E) followed by each RNN layer's outputs
        (B, T, H), bottom to top (else None). A step's new hidden state holds every layer's
        output at that step, which one fused multi-layer RNN call does not return; the layer
        outputs are stacked copies of those states, so gradients do not flow back through them.
        """
        length = input_ids.shape[1]
        # Without sampling every token is known: embed them in one call, so that the embeddings
        # returned as hidden states are the very tensor the steps read.
        all_embedded = self._embed(input_ids) if next_input_fn is None else None
        outputs, all_weights, embeddings, layer_states = [], [], [], []
        tokens = input_ids[:, 0]
        for t in range(length):
            embedded = all_embedded[:, t] if all_embedded is not None else self._embed(tokens)
            output, state, weights = self.step(embedded, state)
            outputs.append(output)
            all_weights.append(weights)
            if output_hidden_states:
                layer_states.append(state.hidden)  # (L, B, H)
                if all_embedded is None:
                    embeddings.append(embedded)
            if next_input_fn is not None and t + 1 < length:
                tokens = next_input_fn(t + 1, output, input_ids[:, t + 1])
        weights = torch.stack(all_weights, dim=1) if self.attention is not None else None
        hidden_states = None
        if output_hidden_states:
            if all_embedded is None:
                all_embedded = torch.stack(embeddings, dim=1)
            per_layer = torch.stack(layer_states, dim=2)  # (L, B, T, H)
            hidden_states = (all_embedded, *per_layer.unbind(0))
        return torch.stack(outputs, dim=1), state, weights, hidden_states

    def step(self, token_embeddings, state):
        """One decoder step: token_embeddings (B, E) of the previous tokens -> output vector
        (B, H), the new state, attention weights (B, S) or None."""
        context = weights = None
        rnn_inputs = [token_embeddings]
        if self.config.attention == "bahdanau":
            query = state.hidden[-1].unsqueeze(1)  # previous top-layer state, (B, 1, H)
            context, weights = self._attend(query, state)
            rnn_inputs.append(context.squeeze(1))
        if self.config.input_feeding:
            rnn_inputs.append(state.input_feed)
        rnn_out, rnn_state = self.rnn(torch.cat(rnn_inputs, dim=-1).unsqueeze(1), state.rnn_state())
        output, state, weights = self._attend_and_combine(
            rnn_out, rnn_state, state, context, weights
        )
        return output.squeeze(1), state, (weights.squeeze(1) if weights is not None else None)

    def _attend_and_combine(self, rnn_out, rnn_state, state, context=None, weights=None):
        """RNN outputs (B, T, H) and the RNN's final state -> output vectors (B, T, H), the new
        state, attention weights (B, T, S) or None.

        Luong attention scores the RNN outputs here; Bahdanau's context, computed from the
        previous state before the RNN step, comes in as `context` (B, T, H) and `weights`.
        """
        if self.config.attention == "luong":
            context, weights = self._attend(rnn_out, state)
        outputs = rnn_out
        if context is not None:
            outputs = torch.tanh(self.combine(torch.cat([context, rnn_out], dim=-1)))
        input_feed = outputs[:, -1] if self.config.input_feeding else None
        return outputs, state.advanced(rnn_state, input_feed, rnn_out.shape[1]), weights

    def _attend(self, query, state):
        """query (B, T, H) against the state's source -> context (B, T, H), weights (B, T, S)."""
        return self.attention(query, state.attention_keys, state.memory, state.source_padding)


class SourceLengthBound(LogitsProcessor):
    """Forces </s> as a sentence's last token once it has `bound` generated tokens.

    bounds: (B,) new-token limit per source sentence; rows of beam search or of several
    returned sequences (B * k rows, grouped by sentence) share their sentence's bound.
    """

    def __init__(self, bounds, eos_token_id):
        self.bounds = bounds
        self.eos_token_id = eos_token_id

    def __call__(self, input_ids, scores):
        bounds = self.bounds.to(input_ids.device)
        bounds = bounds.repeat_interleave(input_ids.shape[0] // bounds.shape[0])
        generated = input_ids.shape[1] - 1  # the decoder prompt is the start token
        last_token = generated >= bounds - 1
        if last_token.any():
            scores = scores.clone()
            scores[last_token] = torch.finfo(scores.dtype).min
            scores[last_token, self.eos_token_id] = 0.0
        return scores


LOSS_CHUNK_ELEMENTS = 1 << 23  # logits per chunk of `linear_cross_entropy`: 32 MB in float32


class _ChunkedLinearCrossEntropy(torch.autograd.Function):
    """Mean label-smoothed cross-entropy of `hidden @ weight.T + bias`, one row chunk at a time.

    Each chunk's gradients are formed in the forward pass, so the (N, V) logits, softmax and
    their gradients never exist at once: for a long batch they were the largest tensors of a
    training step (about 1 GB at 8k tokens x 8k vocabulary). Same multiply-adds as autograd's
    linear + cross-entropy; matmuls follow the ambient autocast like `nn.Linear` does.
    """

    @staticmethod
    def forward(ctx, hidden, weight, bias, targets, label_smoothing, chunk_rows, with_gradients):
        num_rows, vocab = hidden.shape[0], weight.shape[0]
        total = torch.zeros((), dtype=torch.float32, device=hidden.device)
        if with_gradients:
            grad_hidden = torch.empty_like(hidden)
            grad_weight = torch.zeros_like(weight, dtype=torch.float32)
            grad_bias = None if bias is None else torch.zeros_like(bias, dtype=torch.float32)
        for start in range(0, num_rows, chunk_rows):
            rows = hidden[start : start + chunk_rows]
            gold = targets[start : start + chunk_rows]
            log_probs = torch.log_softmax(F.linear(rows, weight, bias).float(), dim=-1)
            total -= (1 - label_smoothing) * log_probs.gather(1, gold[:, None]).sum()
            total -= label_smoothing / vocab * log_probs.sum()
            if not with_gradients:
                continue
            # d loss / d logits = (softmax - (1 - eps) * one_hot - eps / V) / N for the mean
            grad_logits = log_probs.exp_()
            grad_logits[torch.arange(len(gold), device=gold.device), gold] -= 1 - label_smoothing
            grad_logits.sub_(label_smoothing / vocab).div_(num_rows)
            if grad_bias is not None:
                grad_bias += grad_logits.sum(0)
            grad_logits = grad_logits.to(rows.dtype)  # what nn.Linear's backward multiplies
            grad_hidden[start : start + chunk_rows] = grad_logits @ weight
            grad_weight += (grad_logits.T @ rows).float()
        if with_gradients:
            ctx.gradients = (grad_hidden, grad_weight.to(weight.dtype), grad_bias)
        return total / num_rows

    @staticmethod
    def backward(ctx, grad_loss):
        grad_hidden, grad_weight, grad_bias = ctx.gradients
        del ctx.gradients  # a second backward through the same loss is an error, as usual
        return (
            grad_hidden * grad_loss.to(grad_hidden.dtype),
            grad_weight * grad_loss,
            None if grad_bias is None else grad_bias * grad_loss,
            None,
            None,
            None,
            None,
        )


def linear_cross_entropy(hidden, weight, bias, targets, label_smoothing=0.0, chunk_rows=None):
    """`F.cross_entropy(F.linear(hidden, weight, bias).float(), targets, label_smoothing=...)`
    (mean over the N rows of `hidden`, every target supervised) in bounded memory."""
    if hidden.shape[0] == 0:  # nothing supervised: NaN, as F.cross_entropy gives
        return F.linear(hidden, weight, bias).float().mean()
    if chunk_rows is None:
        chunk_rows = max(1, LOSS_CHUNK_ELEMENTS // weight.shape[0])
    with_gradients = torch.is_grad_enabled() and any(
        tensor is not None and tensor.requires_grad for tensor in (hidden, weight, bias)
    )
    return _ChunkedLinearCrossEntropy.apply(
        hidden, weight, bias, targets, label_smoothing, chunk_rows, with_gradients
    )


class Seq2SeqLSTMPreTrainedModel(PreTrainedModel):
    config_class = Seq2SeqLSTMConfig
    config: Seq2SeqLSTMConfig
    base_model_prefix = "model"
    main_input_name = "input_ids"
    supports_gradient_checkpointing = False
    _is_stateful = True  # a recurrent state cannot be rolled back: no assisted decoding
    _no_split_modules = ["Seq2SeqLSTMEncoder", "Seq2SeqLSTMDecoder"]

    @classmethod
    def _supports_default_dynamic_cache(cls):
        # Our state is an RNNDecoderState, built by forward; a DynamicCache has nothing to hold.
        return False

    def get_expanded_tied_weights_keys(self, all_submodels=False):
        # transformers only ties when `tie_word_embeddings` is set; our `_tied_weights_keys` is
        # built per instance from the config's own flags, so it is the whole truth.
        if all_submodels:
            return super().get_expanded_tied_weights_keys(all_submodels=True)
        return dict(self._tied_weights_keys or {})

    def _init_weights(self, module):
        """Initialise per `config.init_scheme`; covers LSTM, GRU, attention and embeddings.

        Parameters already loaded by `from_pretrained` carry `_is_hf_initialized` and are kept.
        """
        params = [
            (name, param)
            for name, param in module.named_parameters(recurse=False)
            if not getattr(param, "_is_hf_initialized", False)
        ]
        if not params:
            return
        scheme = self.config.init_scheme
        if scheme == "pytorch":
            if hasattr(module, "reset_parameters"):
                module.reset_parameters()
        elif scheme == "uniform":
            for _, param in params:
                init.uniform_(param, -self.config.init_range, self.config.init_range)
        # "xavier": Xavier-uniform input maps, orthogonal recurrences, zero biases, LSTM
        # forget-gate bias 1 so that early gradients flow through time.
        elif isinstance(module, (nn.LSTM, nn.GRU)):
            gates = 4 if isinstance(module, nn.LSTM) else 3
            for name, param in params:
                blocks = param.data.chunk(gates, 0)
                if name.startswith("weight_ih"):
                    for block in blocks:
                        nn.init.xavier_uniform_(block)
                elif name.startswith("weight_hh"):
                    for block in blocks:
                        nn.init.orthogonal_(block)
                else:
                    nn.init.zeros_(param.data)
                    if gates == 4 and name.startswith("bias_ih"):
                        nn.init.ones_(blocks[1])  # LSTM gate order: input, forget, cell, output
        elif isinstance(module, nn.Linear):
            init.xavier_uniform_(module.weight)
            if module.bias is not None:
                init.zeros_(module.bias)
        elif isinstance(module, nn.Embedding):
            init.normal_(module.weight, mean=0.0, std=module.embedding_dim**-0.5)
        if isinstance(module, nn.Embedding) and module.padding_idx is not None:
            with torch.no_grad():
                module.weight[module.padding_idx].zero_()


class Seq2SeqLSTMModel(Seq2SeqLSTMPreTrainedModel):
    """Encoder and decoder; returns decoder output vectors (the output layer lives on top)."""

    def __init__(self, config: Seq2SeqLSTMConfig):
        super().__init__(config)
        self.encoder = Seq2SeqLSTMEncoder(config)
        self.decoder = Seq2SeqLSTMDecoder(config)
        self._tied_weights_keys = (
            {"encoder.embed_tokens.weight": "decoder.embed_tokens.weight"}
            if config.share_embeddings
            else None
        )
        self.post_init()

    def get_input_embeddings(self):
        return self.encoder.embed_tokens

    def set_input_embeddings(self, value):
        self.encoder.embed_tokens = value
        if self.config.share_embeddings:
            self.decoder.embed_tokens = value

    def forward(
        self,
        input_ids=None,
        attention_mask=None,
        decoder_input_ids=None,
        encoder_outputs=None,
        cache=None,
        use_cache=None,
        output_attentions=None,
        output_hidden_states=None,
        return_dict=None,
        teacher_forcing_ratio=None,
        output_layer=None,
    ):
        r"""Encode the source (unless `encoder_outputs` are given) and decode the target.

        input_ids / attention_mask: (B_src, S) right-padded source.
        decoder_input_ids: (B, T) target inputs, starting with the decoder start token; B may be
            k * B_src, k consecutive rows per source sentence (as `generate()` passes its beams).
        encoder_outputs: the encoder's `Seq2SeqLSTMEncoderOutput` (or a dict of its fields).
        cache: an `RNNDecoderState` to continue from; when `decoder_input_ids` holds the whole
            prefix, only the tokens the state has not consumed are fed.
        teacher_forcing_ratio, output_layer: scheduled sampling, see `Seq2SeqLSTMDecoder.forward`.
        Returns `Seq2SeqModelOutput`: `last_hidden_state` the output vectors (B, T, H), the new
        state as the cache (with `use_cache`), `cross_attentions` (the weights (B, T, S), with
        `output_attentions`), `decoder_hidden_states` and `encoder_hidden_states` (with
        `output_hidden_states`: the embeddings, then one entry per layer), and
        `encoder_last_hidden_state` (B_src, S, H).
        """
        config = self.config
        use_cache = config.use_cache if use_cache is None else use_cache
        return_dict = config.return_dict if return_dict is None else return_dict
        if output_attentions is None:
            output_attentions = config.output_attentions
        if output_hidden_states is None:
            output_hidden_states = config.output_hidden_states
        if decoder_input_ids is None:
            raise ValueError("forward needs decoder_input_ids or labels")
        _check_ids("decoder_input_ids", decoder_input_ids, config.tgt_vocab_size)
        encoder_outputs = self._encode(
            input_ids, attention_mask, encoder_outputs, output_hidden_states
        )
        memory = encoder_outputs.last_hidden_state  # (B, S, H)
        if attention_mask is not None and attention_mask.shape != memory.shape[:2]:
            raise ValueError(
                f"attention_mask shape {tuple(attention_mask.shape)} does not match the encoder "
                f"outputs {tuple(memory.shape[:2])}"
            )

        rows, sentences = decoder_input_ids.shape[0], memory.shape[0]
        if rows % sentences:
            raise ValueError(
                f"decoder_input_ids has {rows} rows, not a whole number of rows for each of the "
                f"{sentences} source sentences"
            )
        # Anything else (e.g. an empty cache object from generate()) starts a new state.
        state = cache if isinstance(cache, RNNDecoderState) else None
        if state is None:
            state = self.decoder.init_state(encoder_outputs, attention_mask, rows // sentences)
        elif decoder_input_ids.shape[1] > state.steps:
            decoder_input_ids = decoder_input_ids[:, state.steps :]
        outputs, state, weights, hidden_states = self.decoder(
            decoder_input_ids, state, teacher_forcing_ratio, output_layer, output_hidden_states
        )
        result = Seq2SeqModelOutput(
            last_hidden_state=outputs,
            decoder_hidden_states=hidden_states,
            cross_attentions=(weights,) if output_attentions else None,
            encoder_last_hidden_state=memory,
            encoder_hidden_states=encoder_outputs.hidden_states,
            cache=state if use_cache else None,
        )
        return result if return_dict else result.to_tuple()

    def _encode(self, input_ids, attention_mask, encoder_outputs, output_hidden_states):
        """The encoder's outputs for the source: `encoder_outputs` as given, else a fresh run."""
        if isinstance(encoder_outputs, Seq2SeqLSTMEncoderOutput):
            return encoder_outputs
        if isinstance(encoder_outputs, dict):  # its fields by name
            return Seq2SeqLSTMEncoderOutput(**encoder_outputs)
        if encoder_outputs is not None:  # a tuple drops None fields (a GRU's cell): ambiguous
            raise TypeError(
                "encoder_outputs must be the encoder's Seq2SeqLSTMEncoderOutput (or a dict of its "
                f"fields), got {type(encoder_outputs).__name__}"
            )
        if input_ids is None:
            raise ValueError("forward needs input_ids or encoder_outputs")
        if attention_mask is not None and attention_mask.shape != input_ids.shape:
            raise ValueError(
                f"attention_mask shape {tuple(attention_mask.shape)} does not match "
                f"input_ids shape {tuple(input_ids.shape)}"
            )
        return self.encoder(
            input_ids=input_ids,
            attention_mask=attention_mask,
            output_hidden_states=output_hidden_states,
        )


class Seq2SeqLSTMForConditionalGeneration(Seq2SeqLSTMPreTrainedModel, GenerationMixin):
    """The translation model: `Seq2SeqLSTMModel` plus the output layer, loss and generate()."""

    def __init__(self, config: Seq2SeqLSTMConfig):
        super().__init__(config)
        self.model = Seq2SeqLSTMModel(config)
        self.lm_head = nn.Linear(config.hidden_dim, config.tgt_vocab_size)
        self._tied_weights_keys = (
            {"lm_head.weight": "model.decoder.embed_tokens.weight"}
            if config.tie_word_embeddings
            else None
        )
        self.post_init()
        # Translation defaults, saved as generation_config.json; max_new_tokens also follows the
        # source length (see `generate`).
        self.generation_config.num_beams = 5
        self.generation_config.length_penalty = 1.2  # see README "Decoding"
        # A small RNN model's worst errors are loops ("(CNN) (CNN) (CNN) ..."): forbidding a
        # repeated token trigram raised validation chrF by 2.3-2.5 on early koen models.
        self.generation_config.no_repeat_ngram_size = 3

    def save_pretrained(self, save_directory, *args, **kwargs):
        """`PreTrainedModel.save_pretrained`, plus what makes the folder complete remote code.

        config.json gains `auto_map` entries for AutoModel (this generation-capable class) and
        the `custom_pipelines` "translation" entry, and the pipeline's file is copied beside the
        modeling files, so any folder we write works with `pipeline("translation", ...)`.
        """
        module = type(self).__module__.split(".")[-1]
        self.config.auto_map = {
            **(getattr(self.config, "auto_map", None) or {}),
            "AutoModel": f"{module}.{type(self).__name__}",
        }
        pipeline_module = Seq2SeqLSTMTranslationPipeline.__module__.split(".")[-1]
        self.config.custom_pipelines = {
            "translation": {
                "impl": f"{pipeline_module}.{Seq2SeqLSTMTranslationPipeline.__name__}",
                "pt": ["AutoModelForSeq2SeqLM"],
                "type": "text",
            }
        }
        super().save_pretrained(save_directory, *args, **kwargs)
        custom_object_save(Seq2SeqLSTMTranslationPipeline, save_directory)
        # transformers writes the weights through a private temporary file (mode 0600): give
        # them the permissions every other file of the folder has, those of the user's umask.
        umask = os.umask(0)
        os.umask(umask)
        for path in Path(save_directory).glob("*.safetensors*"):
            os.chmod(path, 0o666 & ~umask)

    @torch.no_grad()
    def generate(self, inputs=None, generation_config=None, **kwargs):
        """`GenerationMixin.generate`, with each output's length bounded by its own source.

        Unless `max_new_tokens` or a non-default `max_length` is given (in kwargs, the
        `generation_config` argument or the model's own generation config), sentence i ends
        with </s> after at most `2 * source_length_i + 10` tokens (capped at
        MAX_TARGET_LENGTH): a translation is rarely more than twice as long as its source, and a
        per-sentence bound keeps a batched translation equal to the sentence alone.
        """
        length_given = "max_new_tokens" in kwargs or "max_length" in kwargs
        default_max_length = GenerationConfig().max_length
        for config in (generation_config, self.generation_config):
            length_given |= config is not None and (
                config.max_new_tokens is not None or config.max_length != default_max_length
            )
        source = inputs if inputs is not None else kwargs.get("input_ids")
        if not length_given and source is not None:
            mask = kwargs.get("attention_mask")
            lengths = (
                mask.sum(1) if mask is not None else source.ne(self.config.pad_token_id).sum(1)
            )
            bounds = (2 * lengths + 10).clamp(max=MAX_TARGET_LENGTH)
            kwargs["max_new_tokens"] = int(bounds.max())
            processors = LogitsProcessorList(kwargs.pop("logits_processor", None) or [])
            processors.append(SourceLengthBound(bounds, self.config.eos_token_id))
            kwargs["logits_processor"] = processors
        return super().generate(inputs, generation_config=generation_config, **kwargs)

    def _expand_inputs_for_generation(
        self, expand_size=1, is_encoder_decoder=False, input_ids=None, **model_kwargs
    ):
        """GenerationMixin's copying of every input to `expand_size` rows per sentence (beams,
        returned sequences), except the encoder outputs and the source mask.

        All rows of a sentence read the same source, so those stay one row per sentence and the
        decoder state keeps them once: a beam-search step then reorders only the recurrent state
        instead of copying (B * k, S, H) attention keys. Where a transformers version does not
        call this method, the encoder outputs arrive expanded and the state keeps a copy per row.
        """
        source = {
            key: model_kwargs.pop(key)
            for key in ("encoder_outputs", "attention_mask")
            if key in model_kwargs
        }
        # Told it is no encoder-decoder, the parent does not look for the encoder outputs.
        input_ids, model_kwargs = super()._expand_inputs_for_generation(
            expand_size, is_encoder_decoder=False, input_ids=input_ids, **model_kwargs
        )
        return input_ids, {**model_kwargs, **source}

    def prepare_inputs_for_generation(self, input_ids, next_sequence_length=None, **model_kwargs):
        """One generate() step's `forward` arguments: the target tokens not fed yet (the last
        `next_sequence_length`, else all: `forward` skips those the cache has consumed) and, as
        they are, the model kwargs that `forward` takes.

        GenerationMixin's general version also builds position ids, masks for compilable caches
        and multimodal inputs, none of which a recurrent decoder has, and reads `forward`'s
        signature on every step of a model registered for the Auto classes, as this one is.
        """
        if next_sequence_length is not None:
            input_ids = input_ids[:, -next_sequence_length:]
        inputs = {key: value for key, value in model_kwargs.items() if key in FORWARD_ARGUMENTS}
        inputs["decoder_input_ids"] = input_ids
        return inputs

    def get_input_embeddings(self):
        return self.model.encoder.embed_tokens

    def set_input_embeddings(self, value):
        self.model.set_input_embeddings(value)

    def get_output_embeddings(self):
        return self.lm_head

    def set_output_embeddings(self, new_embeddings):
        self.lm_head = new_embeddings

    def get_decoder(self):
        return self.model.decoder

    @property
    def vocab_size(self):
        """The target vocabulary's size, `config.vocab_size` (as `resize_token_embeddings` leaves
        it on transformers' own models)."""
        return self.config.tgt_vocab_size

    def resize_token_embeddings(
        self, new_num_tokens=None, pad_to_multiple_of=None, mean_resizing=True
    ):
        """Resize the target vocabulary, and the source one too where the vocabulary is joint.

        `config.vocab_size` is `tgt_vocab_size`, so the decoder embedding and the output layer
        (weight and bias, tied or not) always follow. With a joint vocabulary
        (`share_embeddings`, or `src_vocab_size == tgt_vocab_size` as `train.py` builds) the
        encoder embedding follows too; with separate vocabularies it keeps its size, and a
        warning says so. Arguments are those of `PreTrainedModel.resize_token_embeddings`.

        Returns the decoder's (target) embedding, which a joint vocabulary's encoder embedding
        matches in size.
        """
        config, decoder = self.config, self.model.decoder
        if new_num_tokens is None and pad_to_multiple_of is None:
            return decoder.embed_tokens
        joint = config.share_embeddings or config.src_vocab_size == config.tgt_vocab_size
        old_size = decoder.embed_tokens.num_embeddings
        # Resized in place: a Parameter tied to it (the tied output weight, the shared encoder
        # embedding) takes the new size with it.
        target = self._get_resized_embeddings(
            decoder.embed_tokens, new_num_tokens, pad_to_multiple_of, mean_resizing
        )
        size = target.num_embeddings
        if joint:
            # A shared embedding only needs its size attribute set; a separate one is resized.
            encoder = self.model.encoder
            encoder.embed_tokens = self._get_resized_embeddings(
                encoder.embed_tokens, size, mean_resizing=mean_resizing
            )
            config.src_vocab_size = size
        elif size != old_size:
            logger.warning_once(
                f"src_vocab_size ({config.src_vocab_size}) != tgt_vocab_size ({old_size}): "
                f"resized the target vocabulary only, to {size} (config.vocab_size is "
                "tgt_vocab_size); the encoder embedding keeps its size"
            )
        if config.tie_word_embeddings:
            self.lm_head.bias = self._resized_output_bias(size, mean_resizing)
            self.lm_head.out_features = size
        else:
            self.lm_head = self._get_resized_lm_head(
                self.lm_head, size, mean_resizing=mean_resizing
            )
        config.tgt_vocab_size = size
        self.tie_weights()
        return decoder.embed_tokens

    def _resized_output_bias(self, size, mean_resizing):
        """The output bias cut or grown to `size`; added entries start at the old bias' mean
        (`mean_resizing`, as transformers' own lm_head resizing does) or at zero."""
        old = self.lm_head.bias
        kept = old.data[:size]
        fill = float(kept.float().mean()) if mean_resizing else 0.0
        added = kept.new_full((size - kept.shape[0],), fill)
        return nn.Parameter(torch.cat([kept, added]), requires_grad=old.requires_grad)

    def prepare_decoder_input_ids_from_labels(self, labels):
        return self._shift_right(labels)

    def _shift_right(self, labels):
        """labels (B, T) -> decoder inputs (B, T): start token, then labels[:, :-1]; -100 -> pad."""
        shifted = labels.new_full(labels.shape, self.config.decoder_start_token_id)
        shifted[:, 1:] = labels[:, :-1]
        return shifted.masked_fill(shifted == -100, self.config.pad_token_id)

    def forward(
        self,
        input_ids=None,
        attention_mask=None,
        decoder_input_ids=None,
        decoder_attention_mask=None,
        encoder_outputs=None,
        labels=None,
        cache=None,
        use_cache=None,
        output_attentions=None,
        output_hidden_states=None,
        return_dict=None,
        teacher_forcing_ratio=None,
        return_logits=True,
    ):
        r"""Encode the source, decode the target, return `Seq2SeqLMOutput`.

        input_ids / attention_mask: (B, S) right-padded source.
        decoder_input_ids: (B, T); defaults to `labels` shifted right.
        labels: (B, T) target ids; -100 and pad are ignored by the loss.
        teacher_forcing_ratio: overrides `config.teacher_forcing_ratio` for this call; only
            applies in training mode (evaluation always feeds the given inputs).
        return_logits: False skips the (B, T, V) logits (returned as None) and runs the output
            layer only where `labels` are supervised: the fast path for training on the loss.
        output_hidden_states: encoder and decoder hidden states, each the embeddings and then one
            entry per layer; the decoder's top entry is the vector the output layer reads. The
            decoder then runs step by step, the one path that sees every layer's outputs.
        cache: an `RNNDecoderState` to continue from. decoder_attention_mask is accepted for API
            compatibility; a recurrent decoder is causal, so right padding of the target needs no
            mask.
        """
        return_dict = self.config.return_dict if return_dict is None else return_dict
        if labels is not None:
            _check_ids("labels", labels, self.config.tgt_vocab_size, allow_ignore=True)
            if decoder_input_ids is None:
                decoder_input_ids = self._shift_right(labels)
        outputs = self.model(
            input_ids=input_ids,
            attention_mask=attention_mask,
            decoder_input_ids=decoder_input_ids,
            encoder_outputs=encoder_outputs,
            cache=cache,
            use_cache=use_cache,
            output_attentions=output_attentions,
            output_hidden_states=output_hidden_states,
            teacher_forcing_ratio=teacher_forcing_ratio,
            output_layer=self.lm_head,
            return_dict=True,
        )
        decoder_outputs = outputs.last_hidden_state  # (B, T, H)
        logits = self.lm_head(decoder_outputs) if return_logits else None
        loss = self._loss(decoder_outputs, logits, labels) if labels is not None else None
        result = Seq2SeqLMOutput(
            loss=loss,
            logits=logits,
            decoder_hidden_states=outputs.decoder_hidden_states,
            cross_attentions=outputs.cross_attentions,
            encoder_last_hidden_state=outputs.encoder_last_hidden_state,
            encoder_hidden_states=outputs.encoder_hidden_states,
            cache=outputs.cache,
        )
        return result if return_dict else result.to_tuple()

    def _loss(self, decoder_outputs, logits, labels):
        """Mean cross-entropy over the supervised positions (labels neither -100 nor pad).

        decoder_outputs (B, T, H), logits (B, T, V) or None, labels (B, T). Without logits only
        the supervised positions go through the output layer, so padding costs no output layer.
        """
        targets = labels.masked_fill(labels == self.config.pad_token_id, -100).flatten()
        if logits is not None:
            return F.cross_entropy(
                logits.flatten(0, 1).float(),
                targets,
                ignore_index=-100,
                label_smoothing=self.config.label_smoothing,
            )
        supervised = targets != -100
        return linear_cross_entropy(
            decoder_outputs.flatten(0, 1)[supervised],
            self.lm_head.weight,
            self.lm_head.bias,
            targets[supervised],
            label_smoothing=self.config.label_smoothing,
        )


Seq2SeqLSTMForConditionalGeneration.register_for_auto_class("AutoModelForSeq2SeqLM")
# The model kwargs that `prepare_inputs_for_generation` passes on from generate() to forward;
# never labels, as in GenerationMixin: generate() computes no loss.
FORWARD_ARGUMENTS = frozenset(
    inspect.signature(Seq2SeqLSTMForConditionalGeneration.forward).parameters
) - {"self", "labels"}

__all__ = [
    "RNNDecoderState",
    "Seq2SeqLSTMEncoderOutput",
    "Seq2SeqLSTMModel",
    "Seq2SeqLSTMForConditionalGeneration",
    "Seq2SeqLSTMPreTrainedModel",
]
