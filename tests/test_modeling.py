"""The model: forward/backward over every variant, invariants, teacher forcing, the HF API."""

import itertools
import json
import os

import pytest
import torch
import torch.nn.functional as F
from helpers import (
    BOS,
    EOS,
    PAD,
    SCRIPTS,
    SRC_VOCAB,
    TGT_VOCAB,
    padded_batch,
    run_without_package,
    tiny_config,
    tiny_model,
)
from transformers import AutoConfig, AutoModel, AutoModelForSeq2SeqLM

from hf_seq2seq_lstm import Seq2SeqLSTMConfig, Seq2SeqLSTMForConditionalGeneration
from hf_seq2seq_lstm.modeling_seq2seq_lstm import RNNDecoderState, linear_cross_entropy

VARIANTS = list(
    itertools.product(["lstm", "gru"], ["none", "bahdanau", "luong"], [False, True], [False, True])
)


@pytest.mark.parametrize("cell,attention,input_feeding,bidirectional", VARIANTS)
def test_every_variant_trains_with_finite_gradients_reaching_the_encoder(
    cell, attention, input_feeding, bidirectional
):
    model = tiny_model(
        cell_type=cell,
        attention=attention,
        input_feeding=input_feeding,
        bidirectional_encoder=bidirectional,
        dropout=0.1,
    ).train()
    input_ids, attention_mask = padded_batch([6, 4, 2], SRC_VOCAB)
    labels, _ = padded_batch([5, 3, 4], TGT_VOCAB, seed=1)
    labels[labels == PAD] = -100
    out = model(input_ids=input_ids, attention_mask=attention_mask, labels=labels)
    assert out.logits.shape == (3, 5, TGT_VOCAB)
    assert torch.isfinite(out.loss)
    out.loss.backward()
    encoder_grad = model.model.encoder.embed_tokens.weight.grad
    assert encoder_grad is not None and torch.isfinite(encoder_grad).all()
    assert encoder_grad.abs().sum() > 0
    for name, param in model.named_parameters():
        assert param.grad is None or torch.isfinite(param.grad).all(), name


@pytest.mark.parametrize(
    "cell,bidirectional", [("lstm", True), ("gru", True), ("gru", False), ("lstm", False)]
)
def test_padding_does_not_leak_into_encoder_states_or_loss(cell, bidirectional):
    model = tiny_model(cell_type=cell, bidirectional_encoder=bidirectional).eval()
    input_ids, attention_mask = padded_batch([7, 3], SRC_VOCAB)
    labels, _ = padded_batch([4, 4], TGT_VOCAB, seed=2)
    encoder = model.get_encoder()
    batch = encoder(input_ids=input_ids, attention_mask=attention_mask)
    alone = encoder(input_ids=input_ids[1:, :3], attention_mask=attention_mask[1:, :3])
    torch.testing.assert_close(batch.last_hidden_state[1, :3], alone.last_hidden_state[0])
    assert batch.last_hidden_state[1, 3:].abs().max() == 0  # padded positions stay empty
    torch.testing.assert_close(batch.final_hidden[1], alone.final_hidden[0])
    if cell == "lstm":
        torch.testing.assert_close(batch.final_cell[1], alone.final_cell[0])

    loss_alone = model(input_ids=input_ids[1:, :3], labels=labels[1:]).loss
    row_logits = model(input_ids=input_ids, attention_mask=attention_mask, labels=labels).logits[1]
    torch.testing.assert_close(torch.nn.functional.cross_entropy(row_logits, labels[1]), loss_alone)


def test_missing_attention_mask_is_built_from_pad_ids():
    model = tiny_model().eval()
    input_ids, attention_mask = padded_batch([5, 2], SRC_VOCAB)
    labels, _ = padded_batch([3, 3], TGT_VOCAB)
    with_mask = model(input_ids=input_ids, attention_mask=attention_mask, labels=labels)
    without = model(input_ids=input_ids, labels=labels)
    torch.testing.assert_close(with_mask.logits, without.logits)


@pytest.mark.parametrize("cell", ["lstm", "gru"])
@pytest.mark.parametrize("attention", ["none", "luong"])
def test_fused_decoder_equals_step_by_step_decoder(cell, attention):
    model = tiny_model(cell_type=cell, attention=attention).eval()
    assert model.config.fused_decoder_possible
    input_ids, attention_mask = padded_batch([6, 4], SRC_VOCAB)
    targets, _ = padded_batch([5, 5], TGT_VOCAB, seed=3)
    encoder_outputs = model.get_encoder()(input_ids=input_ids, attention_mask=attention_mask)
    decoder = model.get_decoder()
    fused, fused_state, fused_weights, _ = decoder.forward_fused(
        targets, decoder.init_state(encoder_outputs)
    )
    stepped, stepped_state, stepped_weights, _ = decoder.forward_steps(
        targets, decoder.init_state(encoder_outputs)
    )
    torch.testing.assert_close(fused, stepped)
    torch.testing.assert_close(fused_state.hidden, stepped_state.hidden)
    assert fused_state.steps == stepped_state.steps == 5
    if attention != "none":
        torch.testing.assert_close(fused_weights, stepped_weights)


def test_loss_ignores_minus_100_and_pad_labels():
    model = tiny_model().eval()
    input_ids, attention_mask = padded_batch([5, 5], SRC_VOCAB)
    labels, _ = padded_batch([4, 4], TGT_VOCAB)
    decoder_input_ids = model.prepare_decoder_input_ids_from_labels(labels)
    full = model(input_ids=input_ids, attention_mask=attention_mask, labels=labels)
    masked_labels = labels.clone()
    masked_labels[0, 2:] = -100
    masked_labels[1, 3:] = PAD
    masked = model(
        input_ids=input_ids,
        attention_mask=attention_mask,
        decoder_input_ids=decoder_input_ids,
        labels=masked_labels,
    )
    kept = torch.cat([full.logits[0, :2], full.logits[1, :3]])
    expected = torch.nn.functional.cross_entropy(kept, torch.cat([labels[0, :2], labels[1, :3]]))
    torch.testing.assert_close(masked.loss, expected)


def test_shift_right_starts_with_decoder_start_and_turns_minus_100_into_pad():
    model = tiny_model()
    labels = torch.tensor([[5, 6, 7, -100], [8, -100, -100, -100]])
    shifted = model.prepare_decoder_input_ids_from_labels(labels=labels)
    assert shifted.tolist() == [[BOS, 5, 6, 7], [BOS, 8, PAD, PAD]]


@pytest.mark.parametrize("attention,input_feeding", [("luong", False), ("bahdanau", True)])
def test_full_teacher_forcing_in_training_equals_evaluation(attention, input_feeding):
    model = tiny_model(attention=attention, input_feeding=input_feeding)
    input_ids, attention_mask = padded_batch([6, 3], SRC_VOCAB)
    labels, _ = padded_batch([5, 5], TGT_VOCAB)
    batch = dict(input_ids=input_ids, attention_mask=attention_mask, labels=labels)
    train_logits = model.train()(**batch, teacher_forcing_ratio=1.0).logits
    eval_logits = model.eval()(**batch, teacher_forcing_ratio=0.0).logits  # eval ignores ratio
    torch.testing.assert_close(train_logits, eval_logits)


@pytest.mark.parametrize("cell,attention", [("lstm", "luong"), ("gru", "bahdanau")])
def test_ratio_zero_feeds_exactly_the_greedy_tokens(cell, attention):
    model = tiny_model(cell_type=cell, attention=attention)
    input_ids, attention_mask = padded_batch([6, 4], SRC_VOCAB)
    labels, _ = padded_batch([7, 7], TGT_VOCAB, seed=4)
    logits = model.train()(
        input_ids=input_ids, attention_mask=attention_mask, labels=labels, teacher_forcing_ratio=0.0
    ).logits
    greedy = model.eval().generate(
        input_ids=input_ids,
        attention_mask=attention_mask,
        num_beams=1,
        do_sample=False,
        no_repeat_ngram_size=0,  # the plain argmax, as the ratio-0 feed takes it
        min_new_tokens=7,
        max_new_tokens=7,
        suppress_tokens=[EOS],  # keep decoding past where </s> would stop it
    )
    model.train()
    fed_back = model(
        input_ids=input_ids,
        attention_mask=attention_mask,
        decoder_input_ids=greedy[:, :-1],
        labels=labels,
        teacher_forcing_ratio=1.0,
    ).logits
    torch.testing.assert_close(logits, fed_back)
    # Its own argmax, where </s> is not suppressed, matches greedy wherever greedy chose freely.
    free = logits.argmax(-1) != EOS
    assert torch.equal(logits.argmax(-1)[free], greedy[:, 1:][free])


@pytest.mark.parametrize("mode", ["exact", "two_pass"])
def test_intermediate_ratio_feeds_gold_at_that_rate_and_predictions_elsewhere(mode):
    model = tiny_model(scheduled_sampling_mode=mode).train()
    input_ids, attention_mask = padded_batch([6] * 8, SRC_VOCAB)
    labels, _ = padded_batch([9] * 8, TGT_VOCAB, seed=5)
    torch.manual_seed(123)
    logits = model(
        input_ids=input_ids, attention_mask=attention_mask, labels=labels, teacher_forcing_ratio=0.6
    ).logits
    torch.manual_seed(123)  # replay the same per-token coin flips
    use_gold = model.get_decoder().teacher_forcing_mask(labels.shape, 0.6)
    assert abs(use_gold[:, 1:].float().mean().item() - 0.6) < 0.15
    gold_inputs = model.prepare_decoder_input_ids_from_labels(labels)
    if mode == "exact":
        predictions = logits.argmax(-1)  # each step's own prediction, made on the mixed prefix
    else:
        teacher_forced = model(input_ids=input_ids, attention_mask=attention_mask, labels=labels)
        predictions = teacher_forced.logits.argmax(-1)  # predictions on the gold prefix
    mixed = gold_inputs.clone()
    mixed[:, 1:] = torch.where(use_gold[:, 1:], gold_inputs[:, 1:], predictions[:, :-1])
    assert not torch.equal(mixed, gold_inputs)
    replay = model(
        input_ids=input_ids, attention_mask=attention_mask, decoder_input_ids=mixed, labels=labels
    ).logits
    torch.testing.assert_close(logits, replay)


def test_two_pass_second_pass_equals_step_decoder_on_the_same_mixed_inputs():
    model = tiny_model(scheduled_sampling_mode="two_pass").train()
    input_ids, attention_mask = padded_batch([5, 5], SRC_VOCAB)
    mixed, _ = padded_batch([6, 6], TGT_VOCAB, seed=6)
    encoder_outputs = model.get_encoder()(input_ids=input_ids, attention_mask=attention_mask)
    decoder = model.get_decoder()
    fused, *_ = decoder(mixed, decoder.init_state(encoder_outputs), teacher_forcing_ratio=1.0)
    stepped, *_ = decoder.forward_steps(mixed, decoder.init_state(encoder_outputs))
    torch.testing.assert_close(fused, stepped)


def test_teacher_forcing_ratio_argument_leaves_the_config_alone():
    model = tiny_model(teacher_forcing_ratio=0.9).train()
    input_ids, attention_mask = padded_batch([4], SRC_VOCAB)
    labels, _ = padded_batch([4], TGT_VOCAB)
    model(
        input_ids=input_ids, attention_mask=attention_mask, labels=labels, teacher_forcing_ratio=0.3
    )
    assert model.config.teacher_forcing_ratio == 0.9


@pytest.mark.parametrize(
    "field,value,message",
    [
        ("cell_type", "rnn", "lstm, gru"),
        ("attention", "dot", "none, bahdanau, luong"),
        ("init_scheme", "he", "xavier, uniform, pytorch"),
        ("scheduled_sampling_mode", "fast", "exact, two_pass"),
        ("hidden_dim", 0, "hidden_dim"),
        ("dropout", 1.5, "dropout"),
        ("teacher_forcing_ratio", -0.1, "teacher_forcing_ratio"),
        ("hidden_dim", 15, "even"),
        ("tie_word_embeddings", True, "embedding_dim == hidden_dim"),
        ("share_embeddings", True, "src_vocab_size == tgt_vocab_size"),
        ("eos_token_id", 99, "eos_token_id"),
        ("source_word_dropout", 1.0, "[0, 1)"),
        ("dropout", "0.3", "number"),
        ("bidirectional_encoder", "false", "true or false"),
        ("input_feeding", 1, "true or false"),
    ],
)
def test_invalid_config_values_name_the_field_and_options(field, value, message):
    with pytest.raises(ValueError, match=field) as error:
        tiny_config(**{field: value})
    assert message in str(error.value)


def test_mismatched_inputs_raise_clear_errors():
    model = tiny_model().eval()
    input_ids, attention_mask = padded_batch([4, 4], SRC_VOCAB)
    labels, _ = padded_batch([3, 3], TGT_VOCAB)
    with pytest.raises(ValueError, match="labels holds ids outside"):
        model(input_ids=input_ids, labels=labels + TGT_VOCAB)
    with pytest.raises(ValueError, match="input_ids holds ids outside"):
        model(input_ids=input_ids + SRC_VOCAB, labels=labels)
    with pytest.raises(ValueError, match="input_ids must be 2-D"):
        model(input_ids=input_ids[0], labels=labels)
    with pytest.raises(ValueError, match="attention_mask shape"):
        model(input_ids=input_ids, attention_mask=attention_mask[:, :2], labels=labels)
    left_padded = attention_mask.clone()
    left_padded[0, 0] = 0
    with pytest.raises(ValueError, match="right-padded"):
        model(input_ids=input_ids, attention_mask=left_padded, labels=labels)
    with pytest.raises(ValueError, match="decoder_input_ids or labels"):
        model(input_ids=input_ids)


def test_left_padding_is_refused_with_a_message_that_says_how_to_pad_instead():
    from hf_seq2seq_lstm.tokenization import train_bpe_tokenizer

    texts = ["안녕하세요 반갑습니다", "좋은 아침", "hello there", "good morning"]
    tokenizer = train_bpe_tokenizer(texts, vocab_size=300, min_frequency=1)
    model = tiny_model(src_vocab_size=len(tokenizer), tgt_vocab_size=len(tokenizer)).eval()
    sources = ["안녕하세요 반갑습니다", "좋은"]

    tokenizer.padding_side = "left"
    left = tokenizer(sources, padding=True, return_tensors="pt")
    labels = torch.tensor([[5, 6], [7, 8]])
    fix = 'tokenizer.padding_side = "right"'
    with pytest.raises(ValueError, match="row 1 has padding before a token") as error:
        model(**left, labels=labels)
    assert fix in str(error.value)
    with pytest.raises(ValueError) as error:  # generate() encodes through the same check
        model.generate(**left, max_new_tokens=2)
    assert fix in str(error.value)

    exec(fix, {"tokenizer": tokenizer})  # what the message says, verbatim
    right = tokenizer(sources, padding=True, return_tensors="pt")
    assert torch.isfinite(model(**right, labels=labels).loss)
    assert model.generate(**right, max_new_tokens=2).shape[0] == 2


@pytest.mark.parametrize(
    "cell,attention,input_feeding",
    [("lstm", "luong", False), ("gru", "none", False), ("lstm", "bahdanau", True)],
)
def test_decoder_hidden_states_are_embeddings_then_one_per_layer(cell, attention, input_feeding):
    layers, embedding_dim, hidden = 3, 12, 16
    model = tiny_model(
        cell_type=cell, attention=attention, input_feeding=input_feeding, num_layers=layers
    ).eval()
    input_ids, attention_mask = padded_batch([5, 3], SRC_VOCAB)
    labels, _ = padded_batch([4, 4], TGT_VOCAB, seed=1)
    batch = dict(input_ids=input_ids, attention_mask=attention_mask, labels=labels)
    plain = model(**batch)
    out = model(**batch, output_hidden_states=True)

    # As the encoder's: embeddings, then one entry per layer.
    states = out.decoder_hidden_states
    assert len(states) == len(out.encoder_hidden_states) == layers + 1
    assert states[0].shape == (2, 4, embedding_dim)
    assert all(state.shape == (2, 4, hidden) for state in states[1:])
    # Asking for them changes nothing else, and the last is what the output layer reads.
    torch.testing.assert_close(out.logits, plain.logits)
    torch.testing.assert_close(out.loss, plain.loss)
    torch.testing.assert_close(model.lm_head(states[-1]), out.logits)
    torch.testing.assert_close(
        states[0], model.get_decoder().embed_tokens(model._shift_right(labels))
    )

    # Each layer's entry is what a one-layer RNN with that layer's weights makes of the entry
    # below it, from that layer's initial state. (Bahdanau and input feeding add inputs that
    # only the step loop builds; their last entry is checked above.) The top entry is the top
    # layer's own output without attention, combined with the context with it.
    if attention != "bahdanau" and not input_feeding:
        rnn = model.get_decoder().rnn
        initial = model.get_encoder()(input_ids=input_ids, attention_mask=attention_mask)
        checked = layers if attention == "none" else layers - 1
        for layer in range(checked):
            single = type(rnn)(states[layer].shape[-1], hidden, batch_first=True)
            single.load_state_dict(
                {
                    name: getattr(rnn, name.replace("_l0", f"_l{layer}"))
                    for name in single.state_dict()
                }
            )
            hidden0 = initial.final_hidden[:, layer].unsqueeze(0)
            state0 = (
                (hidden0, initial.final_cell[:, layer].unsqueeze(0)) if cell == "lstm" else hidden0
            )
            expected, _ = single(states[layer], state0)
            torch.testing.assert_close(states[layer + 1], expected)


def test_default_forward_keeps_the_fused_decoder_and_hidden_states_take_the_step_loop(
    monkeypatch,
):
    model = tiny_model(attention="luong").eval()
    decoder = model.get_decoder()
    calls = []
    for name in ("forward_fused", "forward_steps"):
        original = getattr(decoder, name)

        def spy(*args, _original=original, _name=name, **kwargs):
            calls.append(_name)
            return _original(*args, **kwargs)

        monkeypatch.setattr(decoder, name, spy)
    input_ids, attention_mask = padded_batch([5, 3], SRC_VOCAB)
    labels, _ = padded_batch([4, 4], TGT_VOCAB, seed=1)
    model(input_ids=input_ids, attention_mask=attention_mask, labels=labels)
    model.train()(input_ids=input_ids, attention_mask=attention_mask, labels=labels)
    assert calls == ["forward_fused", "forward_fused"]
    model(input_ids=input_ids, labels=labels, output_hidden_states=True)
    assert calls[-1] == "forward_steps"


def test_standard_api_hidden_states_tuples_attribute_map_and_cache_default():
    model = tiny_model(num_layers=3).eval()
    config = model.config
    assert (config.hidden_size, config.num_hidden_layers, config.vocab_size) == (16, 3, TGT_VOCAB)
    assert isinstance(getattr(model, model.base_model_prefix), torch.nn.Module)
    assert model.get_encoder() is model.model.encoder
    assert model.get_encoder(modality=None) is model.model.encoder
    input_ids, attention_mask = padded_batch([4, 2], SRC_VOCAB)
    labels, _ = padded_batch([3, 3], TGT_VOCAB)
    batch = dict(input_ids=input_ids, attention_mask=attention_mask, labels=labels)

    out = model(**batch, output_hidden_states=True, output_attentions=True)
    assert len(out.encoder_hidden_states) == 1 + 3  # embeddings, then each layer
    assert out.encoder_hidden_states[-1].shape == (2, 4, 16)
    torch.testing.assert_close(out.encoder_hidden_states[-1], out.encoder_last_hidden_state)
    assert out.decoder_hidden_states[-1].shape == (2, 3, 16)
    assert out.cross_attentions[0].shape == (2, 3, 4)
    torch.testing.assert_close(out.cross_attentions[0].sum(-1), torch.ones(2, 3))
    assert out.cross_attentions[0][1, :, 2:].abs().max() == 0  # no weight on padding

    as_tuple = model(**batch, return_dict=False)
    assert isinstance(as_tuple, tuple)
    torch.testing.assert_close(as_tuple[0], out.loss)
    torch.testing.assert_close(as_tuple[1], out.logits)

    assert isinstance(out.cache, RNNDecoderState)  # use_cache from config (True)
    model.config.use_cache = False
    assert model(**batch).cache is None


def test_decoding_continues_from_the_state_passed_as_cache():
    model = tiny_model().eval()
    input_ids, attention_mask = padded_batch([4], SRC_VOCAB)
    prefix = torch.tensor([[BOS, 5, 6]])
    full = model(input_ids=input_ids, attention_mask=attention_mask, decoder_input_ids=prefix)
    first = model(
        input_ids=input_ids, attention_mask=attention_mask, decoder_input_ids=prefix[:, :2]
    )
    step = model(
        input_ids=input_ids,
        attention_mask=attention_mask,
        decoder_input_ids=prefix[:, 2:],
        cache=first.cache,
    )
    torch.testing.assert_close(step.logits[:, -1], full.logits[:, -1])
    with pytest.raises(TypeError, match="past_key_values"):  # the name before transformers 5.24
        model(input_ids=input_ids, decoder_input_ids=prefix[:, 2:], past_key_values=first.cache)


def test_resize_token_embeddings_keeps_every_embedding_and_config_consistent():
    model = tiny_model(src_vocab_size=30, tgt_vocab_size=30, share_embeddings=True)
    model.resize_token_embeddings(34)
    assert model.config.src_vocab_size == model.config.tgt_vocab_size == 34
    assert model.model.encoder.embed_tokens.num_embeddings == 34
    assert model.model.decoder.embed_tokens.weight is model.model.encoder.embed_tokens.weight
    assert model.lm_head.out_features == 34
    input_ids = torch.tensor([[33, 5, 6]])
    assert model(input_ids=input_ids, labels=torch.tensor([[33, 4]])).logits.shape[-1] == 34

    separate = tiny_model(src_vocab_size=30, tgt_vocab_size=30)
    separate.resize_token_embeddings(32)
    assert separate.model.decoder.embed_tokens.num_embeddings == 32
    assert separate.model.encoder.embed_tokens.num_embeddings == 32  # joint: same size
    assert separate.lm_head.out_features == 32 and separate.config.vocab_size == 32


@pytest.mark.parametrize("tied", [True, False])
def test_resize_grows_and_shrinks_output_weight_and_bias_then_forward_runs(tied):
    model = tiny_model(
        src_vocab_size=30, tgt_vocab_size=30, embedding_dim=16, tie_word_embeddings=tied
    )
    with torch.no_grad():
        model.lm_head.bias.uniform_(-1, 1)
    old_bias = model.lm_head.bias.detach().clone()
    input_ids = torch.tensor([[33, 5, 6]])
    for size in (34, 25):
        returned = model.resize_token_embeddings(size)
        head = model.lm_head
        assert returned is model.model.decoder.embed_tokens and returned.num_embeddings == size
        assert head.weight.shape == (size, 16) and head.bias.shape == (size,)
        assert head.out_features == size == model.vocab_size == model.config.vocab_size
        assert (head.weight is model.model.decoder.embed_tokens.weight) == tied
        kept = min(size, 30)
        torch.testing.assert_close(head.bias[:kept], old_bias[:kept])  # old logits unchanged
        out = model(input_ids=input_ids.clamp(max=size - 1), labels=torch.tensor([[size - 1, 4]]))
        assert out.logits.shape == (1, 2, size) and torch.isfinite(out.loss)
        out.loss.backward()
        assert head.bias.grad.shape == (size,)
        # A live graph keeps the old sizes' gradient accumulators: release it before resizing.
        del out
        model.zero_grad(set_to_none=True)
    # Grown entries of the bias start at the old mean, as transformers' lm_head resizing does.
    model = tiny_model(
        src_vocab_size=30, tgt_vocab_size=30, embedding_dim=16, tie_word_embeddings=tied
    )
    with torch.no_grad():
        model.lm_head.bias.uniform_(-1, 1)
    mean = model.lm_head.bias.detach().mean()
    model.resize_token_embeddings(32)
    torch.testing.assert_close(model.lm_head.bias[30:].detach(), mean.expand(2))


def test_resize_with_separate_vocabularies_resizes_the_target_side_only(caplog):
    model = tiny_model()  # SRC_VOCAB 37, TGT_VOCAB 29
    with caplog.at_level("WARNING"):
        returned = model.resize_token_embeddings(33)
    assert "resized the target vocabulary only" in caplog.text
    assert returned is model.model.decoder.embed_tokens and returned.num_embeddings == 33
    assert model.lm_head.out_features == 33 and model.config.vocab_size == 33
    assert model.model.encoder.embed_tokens.num_embeddings == model.config.src_vocab_size == 37
    input_ids, _ = padded_batch([4], SRC_VOCAB)
    out = model(input_ids=input_ids, labels=torch.tensor([[32, 4]]))
    assert out.logits.shape == (1, 2, 33)


def test_resized_model_saves_and_loads_strictly(tmp_path):
    model = tiny_model(
        src_vocab_size=30, tgt_vocab_size=30, embedding_dim=16, tie_word_embeddings=True
    ).eval()
    model.resize_token_embeddings(36)
    model.save_pretrained(tmp_path)
    loaded, info = Seq2SeqLSTMForConditionalGeneration.from_pretrained(
        tmp_path, output_loading_info=True
    )
    assert all(not keys for keys in info.values() if isinstance(keys, (list, set)))
    input_ids, attention_mask = padded_batch([4], 36)
    batch = dict(input_ids=input_ids, attention_mask=attention_mask, labels=torch.tensor([[35, 4]]))
    torch.testing.assert_close(loaded.eval()(**batch).logits, model(**batch).logits)


def test_tied_and_shared_embeddings_are_one_parameter_and_survive_save(tmp_path):
    model = tiny_model(
        src_vocab_size=30,
        tgt_vocab_size=30,
        embedding_dim=16,
        tie_word_embeddings=True,
        share_embeddings=True,
    )
    decoder_embedding = model.model.decoder.embed_tokens.weight
    assert model.lm_head.weight is decoder_embedding
    assert model.model.encoder.embed_tokens.weight is decoder_embedding
    model.save_pretrained(tmp_path)
    loaded, info = Seq2SeqLSTMForConditionalGeneration.from_pretrained(
        tmp_path, output_loading_info=True
    )
    assert not info["missing_keys"] and not info["unexpected_keys"]
    assert loaded.lm_head.weight is loaded.model.decoder.embed_tokens.weight
    torch.testing.assert_close(loaded.lm_head.weight, decoder_embedding)


def test_xavier_init_covers_gru_attention_and_sets_lstm_forget_bias():
    lstm = tiny_model(attention="bahdanau")
    bias = lstm.model.decoder.rnn.bias_ih_l0.detach()
    assert torch.all(bias.chunk(4)[1] == 1.0) and torch.all(bias.chunk(4)[0] == 0.0)
    recurrent = lstm.model.decoder.rnn.weight_hh_l0.detach().chunk(4)[0]
    torch.testing.assert_close(recurrent @ recurrent.T, torch.eye(16), atol=1e-5, rtol=0)
    gru = tiny_model(cell_type="gru")
    for name, param in gru.model.encoder.layers[0][0].named_parameters():
        if name.startswith("bias"):
            assert param.abs().max() == 0, name  # PyTorch's default would be uniform, not 0
    uniform = tiny_model(init_scheme="uniform", init_range=0.05, attention="bahdanau")
    for name, param in uniform.named_parameters():
        assert param.abs().max() <= 0.05, name
    assert uniform.model.decoder.attention.energy.weight.abs().max() > 0


def test_save_and_load_is_strict_and_keeps_generation_defaults(tmp_path):
    model = tiny_model(attention="bahdanau", cell_type="gru")
    model.save_pretrained(tmp_path)
    config = json.loads((tmp_path / "config.json").read_text())
    assert config["auto_map"] == {
        "AutoConfig": "configuration_seq2seq_lstm.Seq2SeqLSTMConfig",
        "AutoModel": "modeling_seq2seq_lstm.Seq2SeqLSTMForConditionalGeneration",
        "AutoModelForSeq2SeqLM": "modeling_seq2seq_lstm.Seq2SeqLSTMForConditionalGeneration",
    }
    assert "translation" in config["custom_pipelines"]
    assert (tmp_path / "model.safetensors").is_file()
    loaded, info = AutoModelForSeq2SeqLM.from_pretrained(tmp_path, output_loading_info=True)
    assert all(not keys for keys in info.values() if isinstance(keys, (list, set)))
    assert loaded.generation_config.num_beams == 5
    for key, value in model.state_dict().items():
        torch.testing.assert_close(loaded.state_dict()[key], value)


def test_remote_code_loads_through_auto_classes_without_the_package(tmp_path, hf_home):
    tiny_model(attention="luong", input_feeding=True).save_pretrained(tmp_path / "model")
    # The reference is the saved model loaded in-process: freshly built weights differ from
    # loaded ones in memory layout, which moves float rounding by ~1e-8.
    model = Seq2SeqLSTMForConditionalGeneration.from_pretrained(tmp_path / "model").eval()
    input_ids, attention_mask = padded_batch([5, 3], SRC_VOCAB)
    labels, _ = padded_batch([4, 4], TGT_VOCAB)
    logits = model(input_ids=input_ids, attention_mask=attention_mask, labels=labels).logits
    tokens = model.generate(input_ids=input_ids, attention_mask=attention_mask, max_new_tokens=6)
    tensors = dict(
        input_ids=input_ids,
        attention_mask=attention_mask,
        labels=labels,
        logits=logits,
        tokens=tokens,
    )
    torch.save(tensors, tmp_path / "tensors.pt")
    result = run_without_package(
        SCRIPTS / "remote_model_check.py",
        str(tmp_path / "model"),
        str(tmp_path / "tensors.pt"),
        hf_home=hf_home,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "remote ok" in result.stdout


def test_auto_classes_in_process_resolve_to_our_classes(tmp_path):
    tiny_model().save_pretrained(tmp_path)
    assert type(AutoConfig.from_pretrained(tmp_path)) is Seq2SeqLSTMConfig
    model = AutoModel.from_pretrained(tmp_path, trust_remote_code=True)
    assert model.can_generate()


@pytest.mark.parametrize("cell", [torch.nn.LSTM, torch.nn.GRU])
def test_length_segments_equal_a_packed_sequence_call(cell):
    from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

    from hf_seq2seq_lstm.modeling_seq2seq_lstm import run_by_length_segments

    torch.manual_seed(0)
    rnn = cell(5, 7, batch_first=True)
    lengths = torch.tensor([3, 6, 1, 6, 4, 3])  # unsorted, repeated, a length-1 row
    inputs = torch.randn(len(lengths), 6, 5)
    outputs, final = run_by_length_segments(rnn, inputs, lengths)
    packed = pack_padded_sequence(inputs, lengths, batch_first=True, enforce_sorted=False)
    expected, expected_final = rnn(packed)
    expected, _ = pad_packed_sequence(expected, batch_first=True, total_length=6)
    torch.testing.assert_close(outputs, expected)
    for got, want in zip(
        final if cell is torch.nn.LSTM else (final,),
        expected_final if cell is torch.nn.LSTM else (expected_final,),
        strict=True,
    ):
        torch.testing.assert_close(got, want)


def _linear_cross_entropy_and_grads(loss_fn, hidden, weight, bias):
    inputs = [tensor.detach().clone().requires_grad_() for tensor in (hidden, weight, bias)]
    loss = loss_fn(*inputs)
    loss.backward()
    return loss.detach(), [tensor.grad for tensor in inputs]


@pytest.mark.parametrize("label_smoothing", [0.0, 0.2])
def test_chunked_linear_cross_entropy_equals_autograd_over_the_full_logits(label_smoothing):
    generator = torch.Generator().manual_seed(0)
    hidden, weight = torch.randn(11, 6, generator=generator), torch.randn(9, 6, generator=generator)
    bias, targets = (
        torch.randn(9, generator=generator),
        torch.randint(0, 9, (11,), generator=generator),
    )

    def plain(h, w, b):
        return F.cross_entropy(F.linear(h, w, b), targets, label_smoothing=label_smoothing)

    def chunked(h, w, b):  # 4 chunks, the last one short
        return linear_cross_entropy(h, w, b, targets, label_smoothing, chunk_rows=3)

    expected, expected_grads = _linear_cross_entropy_and_grads(plain, hidden, weight, bias)
    loss, grads = _linear_cross_entropy_and_grads(chunked, hidden, weight, bias)
    torch.testing.assert_close(loss, expected)
    for grad, expected_grad in zip(grads, expected_grads, strict=True):
        torch.testing.assert_close(grad, expected_grad)
    with torch.no_grad():  # evaluation: the loss alone
        torch.testing.assert_close(chunked(hidden, weight, bias), expected)

    # bf16 autocast: matmuls in bf16 as nn.Linear's are, so both agree to bf16 precision
    with torch.autocast("cpu", dtype=torch.bfloat16):
        expected, expected_grads = _linear_cross_entropy_and_grads(plain, hidden, weight, bias)
        loss, grads = _linear_cross_entropy_and_grads(chunked, hidden, weight, bias)
    torch.testing.assert_close(loss, expected, atol=1e-2, rtol=1e-2)
    for grad, expected_grad in zip(grads, expected_grads, strict=True):
        torch.testing.assert_close(grad, expected_grad, atol=2e-2, rtol=2e-2)


def test_loss_without_logits_projects_only_supervised_positions_and_matches_the_full_loss():
    model = tiny_model(label_smoothing=0.1).train()
    input_ids, attention_mask = padded_batch([6, 3, 5], SRC_VOCAB)
    labels, _ = padded_batch([5, 2, 4], TGT_VOCAB, seed=7)
    labels[labels == PAD] = -100
    batch = dict(input_ids=input_ids, attention_mask=attention_mask, labels=labels)
    full = model(**batch)
    full.loss.backward()
    full_grads = [p.grad.clone() for p in model.parameters()]
    model.zero_grad()
    fast = model(**batch, return_logits=False)
    fast.loss.backward()
    assert fast.logits is None
    torch.testing.assert_close(fast.loss, full.loss)
    for parameter, expected in zip(model.parameters(), full_grads, strict=True):
        torch.testing.assert_close(parameter.grad, expected)


@pytest.mark.parametrize("cell,attention", [("lstm", "luong"), ("gru", "bahdanau")])
def test_word_dropout_acts_in_training_only(cell, attention):
    ids, mask = padded_batch([7, 5, 6], SRC_VOCAB)
    labels, _ = padded_batch([6, 4, 5], TGT_VOCAB, seed=1)
    plain = tiny_model(cell_type=cell, attention=attention)
    dropped = tiny_model(
        cell_type=cell, attention=attention, source_word_dropout=0.5, target_word_dropout=0.5
    )
    assert dropped.state_dict().keys() == plain.state_dict().keys()
    plain.eval(), dropped.eval()
    with torch.no_grad():  # evaluation: deterministic and equal to the model without it
        expected = plain(input_ids=ids, attention_mask=mask, labels=labels).logits
        for _ in range(2):
            torch.testing.assert_close(
                dropped(input_ids=ids, attention_mask=mask, labels=labels).logits, expected
            )
    dropped.train()
    torch.manual_seed(0)
    first = dropped(input_ids=ids, attention_mask=mask, labels=labels).loss
    torch.manual_seed(1)
    second = dropped(input_ids=ids, attention_mask=mask, labels=labels).loss
    assert first != second  # different tokens dropped per draw


def test_word_dropout_zeroes_whole_token_embeddings_and_scales_the_rest():
    from hf_seq2seq_lstm.modeling_seq2seq_lstm import Seq2SeqLSTMWordDropout

    layer = Seq2SeqLSTMWordDropout(0.3).train()
    embeddings = torch.rand(64, 50, 8) + 0.5  # no zeros of its own
    torch.manual_seed(0)
    out = layer(embeddings)
    zeroed = (out == 0).all(-1)
    kept = ~zeroed
    assert ((out == 0).any(-1) == zeroed).all()  # a token is dropped whole or not at all
    torch.testing.assert_close(out[kept], embeddings[kept] / 0.7)
    assert abs(zeroed.float().mean().item() - 0.3) < 0.02


def test_saved_weights_get_the_permissions_of_the_users_umask(tmp_path):
    previous = os.umask(0o022)
    try:
        tiny_model().save_pretrained(tmp_path / "model")
    finally:
        os.umask(previous)
    modes = {path.name: path.stat().st_mode & 0o777 for path in (tmp_path / "model").iterdir()}
    assert modes["model.safetensors"] == 0o644
    assert set(modes.values()) == {0o644}
