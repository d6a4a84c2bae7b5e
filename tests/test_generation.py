"""generate(): cached == uncached, beam invariants, padding invariance, state continuation."""

import itertools

import pytest
import torch
from helpers import EOS, PAD, SRC_VOCAB, padded_batch, tiny_model

VARIANTS = list(itertools.product(["lstm", "gru"], ["none", "bahdanau", "luong"], [False, True]))
SEARCHES = {
    "greedy": dict(num_beams=1, do_sample=False),
    "beam": dict(num_beams=4, num_return_sequences=3, length_penalty=0.6),
    "beam_long": dict(num_beams=3, num_return_sequences=2, length_penalty=2.0, early_stopping=True),
    "sampling": dict(do_sample=True, top_k=10, top_p=0.9, temperature=1.3, num_beams=1),
    "beam_sampling": dict(do_sample=True, num_beams=3),
}


def eos_prone_model(seed=0, **overrides):
    """A tiny random model whose </s> is likely enough that beams end at different lengths."""
    model = tiny_model(seed=seed, **overrides).eval()
    with torch.no_grad():
        model.lm_head.bias[EOS] += 2.0
    return model


def generate(model, input_ids, attention_mask, seed=0, **kwargs):
    torch.manual_seed(seed)
    kwargs.setdefault("max_new_tokens", 10)
    return model.generate(
        input_ids=input_ids,
        attention_mask=attention_mask,
        output_scores=True,
        return_dict_in_generate=True,
        **kwargs,
    )


@pytest.mark.parametrize("cell,attention,input_feeding", VARIANTS)
@pytest.mark.parametrize("search", SEARCHES)
def test_cached_generation_equals_uncached_recomputation(cell, attention, input_feeding, search):
    model = eos_prone_model(cell_type=cell, attention=attention, input_feeding=input_feeding)
    input_ids, attention_mask = padded_batch([6, 3, 5], SRC_VOCAB)
    cached = generate(model, input_ids, attention_mask, use_cache=True, **SEARCHES[search])
    uncached = generate(model, input_ids, attention_mask, use_cache=False, **SEARCHES[search])
    assert torch.equal(cached.sequences, uncached.sequences)
    if "sequences_scores" in cached:
        torch.testing.assert_close(cached.sequences_scores, uncached.sequences_scores)
    for cached_step, uncached_step in zip(cached.scores, uncached.scores, strict=True):
        torch.testing.assert_close(cached_step, uncached_step)


@pytest.mark.parametrize("cell,attention", [("lstm", "luong"), ("gru", "bahdanau")])
def test_greedy_generate_equals_a_hand_written_loop_over_decoder_steps(cell, attention):
    model = eos_prone_model(cell_type=cell, attention=attention)
    input_ids, attention_mask = padded_batch([6, 2, 4], SRC_VOCAB)
    greedy = generate(model, input_ids, attention_mask, num_beams=1, max_new_tokens=8)
    encoder_outputs = model.get_encoder()(input_ids=input_ids, attention_mask=attention_mask)
    decoder = model.get_decoder()
    state = decoder.init_state(encoder_outputs)
    tokens = torch.full((3, 1), model.config.decoder_start_token_id)
    finished = torch.zeros(3, dtype=torch.bool)
    with torch.no_grad():
        for _ in range(8):
            embedded = decoder.embed_tokens(tokens[:, -1])
            output, state, _ = decoder.step(embedded, state)
            chosen = model.lm_head(output).argmax(-1).masked_fill(finished, PAD)
            tokens = torch.cat([tokens, chosen[:, None]], dim=1)
            finished |= chosen == EOS
            if finished.all():
                break
    assert torch.equal(greedy.sequences, tokens)


def strip_padding(tokens):
    """Tokens up to and including the first </s> (beam outputs are padded after it)."""
    ends = (tokens == EOS).nonzero()
    return tokens[: int(ends[0]) + 1] if len(ends) else tokens


@pytest.mark.parametrize("length_penalty", [0.6, 1.0, 1.5])
@pytest.mark.parametrize("attention,input_feeding", [("luong", True), ("none", False)])
def test_every_returned_beam_rescored_with_teacher_forcing_matches_its_score(
    length_penalty, attention, input_feeding
):
    model = eos_prone_model(attention=attention, input_feeding=input_feeding)
    input_ids, attention_mask = padded_batch([5, 3], SRC_VOCAB)
    beams = 4
    out = generate(
        model,
        input_ids,
        attention_mask,
        num_beams=beams,
        num_return_sequences=beams,
        length_penalty=length_penalty,
    )
    for index, sequence in enumerate(out.sequences):
        row = index // beams
        tokens = strip_padding(sequence)
        logits = model(
            input_ids=input_ids[row : row + 1],
            attention_mask=attention_mask[row : row + 1],
            decoder_input_ids=tokens[None, :-1],
        ).logits[0]
        log_probs = torch.log_softmax(logits, dim=-1).gather(1, tokens[1:, None]).sum()
        expected = log_probs / (len(tokens) - 1) ** length_penalty
        torch.testing.assert_close(out.sequences_scores[index], expected, atol=1e-4, rtol=0)


@pytest.mark.parametrize("search", ["greedy", "beam"])
@pytest.mark.parametrize("attention", ["bahdanau", "luong"])
def test_batched_generation_equals_sentence_by_sentence(search, attention):
    model = eos_prone_model(seed=3, attention=attention)
    lengths = [12, 1, 7, 3]
    input_ids, attention_mask = padded_batch(lengths, SRC_VOCAB, seed=9)
    kwargs = dict(SEARCHES[search], num_return_sequences=1)
    batched = generate(model, input_ids, attention_mask, **kwargs).sequences
    for row, length in enumerate(lengths):
        alone = generate(model, input_ids[row : row + 1, :length], None, **kwargs).sequences[0]
        assert torch.equal(strip_padding(batched[row]), strip_padding(alone)), row


def test_returned_state_continues_decoding_where_it_stopped():
    model = eos_prone_model(attention="bahdanau", input_feeding=True)
    with torch.no_grad():
        model.lm_head.bias[EOS] -= 10.0  # run the full length
    input_ids, attention_mask = padded_batch([5, 3], SRC_VOCAB)
    whole = generate(model, input_ids, attention_mask, num_beams=1, max_new_tokens=7)
    first = model.generate(
        input_ids=input_ids,
        attention_mask=attention_mask,
        num_beams=1,
        max_new_tokens=4,
        return_dict_in_generate=True,
    )
    assert first.cache.get_seq_length() == 4
    rest = model.generate(
        input_ids=input_ids,
        attention_mask=attention_mask,
        decoder_input_ids=first.sequences,
        cache=first.cache,
        num_beams=1,
        max_new_tokens=3,
    )
    assert torch.equal(rest, whole.sequences)


def test_decoding_constraints_and_defaults_are_honoured():
    model = eos_prone_model()
    input_ids, attention_mask = padded_batch([4, 4], SRC_VOCAB)
    at_least = model.generate(
        input_ids=input_ids, attention_mask=attention_mask, min_new_tokens=6, max_new_tokens=6
    )
    assert at_least.shape[1] == 7 and not (at_least[:, 1:6] == EOS).any()
    with torch.no_grad():
        model.lm_head.bias[EOS] -= 10.0
        model.lm_head.bias[7] += 10.0  # token 7 would repeat forever
    no_repeat = model.generate(
        input_ids=input_ids,
        attention_mask=attention_mask,
        no_repeat_ngram_size=1,
        max_new_tokens=8,
        num_beams=1,
    )
    for row in no_repeat.tolist():
        assert len(set(row[1:])) == len(row[1:])
    # Saved defaults: beam 5, no repeated trigram (token 7 still wants to loop), and the output
    # length bounded by the source length.
    assert model.generation_config.num_beams == 5
    default = model.generate(input_ids=input_ids[:, :2], attention_mask=attention_mask[:, :2])
    assert default.shape[1] <= 1 + 2 * 2 + 10
    for row in default.tolist():
        trigrams = [tuple(row[i : i + 3]) for i in range(len(row) - 2) if EOS not in row[i : i + 3]]
        assert len(trigrams) == len(set(trigrams)) and row.count(7) >= 2


def test_output_attentions_returns_target_by_source_weights():
    model = eos_prone_model(attention="luong")
    input_ids, attention_mask = padded_batch([5, 2], SRC_VOCAB)
    out = model.generate(
        input_ids=input_ids,
        attention_mask=attention_mask,
        num_beams=1,
        max_new_tokens=4,
        min_new_tokens=4,
        output_attentions=True,
        return_dict_in_generate=True,
    )
    assert len(out.cross_attentions) == 4  # one per generated token
    step = out.cross_attentions[0][0]
    assert step.shape == (2, 1, 5)
    torch.testing.assert_close(step.sum(-1), torch.ones(2, 1))
    assert step[1, 0, 2:].abs().max() == 0
    assert PAD not in out.sequences[:, 1:5].tolist()


@pytest.mark.parametrize("search", ["greedy", "beam"])
def test_default_length_bound_is_per_sentence_so_batching_cannot_change_it(search):
    model = eos_prone_model(seed=5)
    with torch.no_grad():
        model.lm_head.bias[EOS] -= 20.0  # only the bound can end a sentence
    lengths = [9, 1, 4]
    input_ids, attention_mask = padded_batch(lengths, SRC_VOCAB, seed=11)
    kwargs = dict(SEARCHES[search], num_return_sequences=1)
    batched = model.generate(input_ids=input_ids, attention_mask=attention_mask, **kwargs)
    for row, length in enumerate(lengths):
        alone = model.generate(input_ids=input_ids[row : row + 1, :length], **kwargs)[0]
        assert len(alone) == 1 + 2 * length + 10 and alone[-1] == EOS  # start + bound
        assert torch.equal(strip_padding(batched[row]), alone)


@pytest.mark.parametrize("search", ["greedy", "beam"])
def test_generate_refuses_source_ids_outside_the_vocabulary_naming_them(search):
    model = eos_prone_model()
    input_ids, attention_mask = padded_batch([4, 3], SRC_VOCAB)
    input_ids[0, 1] = SRC_VOCAB + 5
    input_ids[1, 0] = SRC_VOCAB  # the first id past the end: an off-by-one check would pass it
    with pytest.raises(ValueError, match="input_ids") as error:
        model.generate(input_ids=input_ids, attention_mask=attention_mask, **SEARCHES[search])
    assert f"vocabulary of size {SRC_VOCAB}" in str(error.value)
    assert str(error.value).endswith(f": {SRC_VOCAB}, {SRC_VOCAB + 5}")
    input_ids[:] = -1
    with pytest.raises(ValueError, match=r": -1$"):
        model.generate(input_ids=input_ids, attention_mask=attention_mask, **SEARCHES[search])


def expanding_encoder_outputs_per_row(monkeypatch):
    """Makes generate() copy the encoder outputs to every beam, as GenerationMixin does by itself:
    the plain path, where each decoder row has its own source and beam search reorders it."""
    from transformers import GenerationMixin

    from hf_seq2seq_lstm import Seq2SeqLSTMForConditionalGeneration

    monkeypatch.setattr(
        Seq2SeqLSTMForConditionalGeneration,
        "_expand_inputs_for_generation",
        GenerationMixin._expand_inputs_for_generation,
    )


def recording_rows_per_source(monkeypatch):
    """The decoder rows per source sentence of every state beam search reorders."""
    from hf_seq2seq_lstm.modeling_seq2seq_lstm import RNNDecoderState

    seen, reorder = [], RNNDecoderState.reorder_cache

    def recording(state, beam_idx):
        seen.append(state.rows_per_source)
        reorder(state, beam_idx)

    monkeypatch.setattr(RNNDecoderState, "reorder_cache", recording)
    return seen


BEAM_SEARCHES = {
    "beam": dict(num_beams=4, num_return_sequences=2),
    "beam_sampling": dict(num_beams=3, num_return_sequences=3, do_sample=True),
}


@pytest.mark.parametrize("cell,attention,input_feeding", VARIANTS)
@pytest.mark.parametrize("search", BEAM_SEARCHES)
def test_beam_search_sharing_one_source_per_sentence_equals_a_source_copy_per_beam(
    cell, attention, input_feeding, search, monkeypatch
):
    # hidden_dim 32: large enough that one (k, H) product per sentence rounds differently
    # from k products of one row (at 16 the CPU kernels agree), so this tests exactness.
    model = eos_prone_model(
        cell_type=cell, attention=attention, input_feeding=input_feeding, hidden_dim=32
    )
    input_ids, attention_mask = padded_batch([6, 3, 5], SRC_VOCAB)
    kwargs = BEAM_SEARCHES[search]
    rows_per_source = recording_rows_per_source(monkeypatch)
    shared = generate(model, input_ids, attention_mask, **kwargs)
    assert set(rows_per_source) == {kwargs["num_beams"]}
    expanding_encoder_outputs_per_row(monkeypatch)
    rows_per_source.clear()
    copied = generate(model, input_ids, attention_mask, **kwargs)
    assert set(rows_per_source) == {1}
    # Exact, not close: the shared path computes each row's products as the plain path does.
    assert torch.equal(shared.sequences, copied.sequences)
    assert torch.equal(shared.sequences_scores, copied.sequences_scores)
    for shared_step, copied_step in zip(shared.scores, copied.scores, strict=True):
        assert torch.equal(shared_step, copied_step)


def test_beam_search_reorders_the_recurrent_state_and_never_copies_the_source(monkeypatch):
    from hf_seq2seq_lstm.modeling_seq2seq_lstm import RNNDecoderState

    model = eos_prone_model(attention="bahdanau", input_feeding=True)
    input_ids, attention_mask = padded_batch([6, 3, 5], SRC_VOCAB)
    source_parts, reorder = set(), RNNDecoderState.reorder_cache

    def recording(state, beam_idx):
        reorder(state, beam_idx)
        assert state.hidden.shape[1] == state.input_feed.shape[0] == 3 * 4  # a row per beam
        assert state.memory.shape[0] == state.attention_keys.shape[0] == 3  # one per sentence
        source_parts.add((id(state.memory), id(state.attention_keys), id(state.source_padding)))

    monkeypatch.setattr(RNNDecoderState, "reorder_cache", recording)
    generate(model, input_ids, attention_mask, num_beams=4, max_new_tokens=6, min_new_tokens=6)
    assert len(source_parts) == 1  # one source part, built once, for the whole search


def test_decoder_rows_must_be_a_whole_number_per_source_sentence():
    model = eos_prone_model()
    input_ids, attention_mask = padded_batch([4, 3], SRC_VOCAB)
    encoder_outputs = model.get_encoder()(input_ids=input_ids, attention_mask=attention_mask)
    start = torch.full((6, 1), model.config.decoder_start_token_id)
    # Three rows per sentence, grouped by sentence, read that sentence's source.
    grouped = model(encoder_outputs=encoder_outputs, decoder_input_ids=start).logits
    for row in range(6):
        alone = model(
            input_ids=input_ids[row // 3 : row // 3 + 1],
            attention_mask=attention_mask[row // 3 : row // 3 + 1],
            decoder_input_ids=start[:1],
        ).logits
        torch.testing.assert_close(grouped[row], alone[0])
    with pytest.raises(ValueError, match="decoder_input_ids has 5 rows"):
        model(encoder_outputs=encoder_outputs, decoder_input_ids=start[:5])
