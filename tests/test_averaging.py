"""Checkpoint averaging: the element-wise mean of saved weights, loadable and usable."""

import pytest
import torch
from helpers import padded_batch, tiny_model
from safetensors.torch import load_file, load_model, save_model

from hf_seq2seq_lstm.averaging import average_weight_files


def test_average_is_the_element_wise_mean_and_the_model_loads_and_generates(tmp_path):
    models = [
        tiny_model(seed=seed, tie_word_embeddings=True, embedding_dim=16) for seed in (1, 2, 3)
    ]
    files = []
    for index, model in enumerate(models):
        files.append(tmp_path / f"step-{index}.safetensors")
        save_model(model, str(files[-1]))
    names = average_weight_files(files, tmp_path / "averaged.safetensors")
    averaged = load_file(tmp_path / "averaged.safetensors")
    assert set(names) == set(averaged)
    for name, tensor in averaged.items():
        expected = torch.stack([load_file(path)[name] for path in files]).mean(0)
        torch.testing.assert_close(tensor, expected)

    target = tiny_model(seed=9, tie_word_embeddings=True, embedding_dim=16)
    load_model(target, str(tmp_path / "averaged.safetensors"))
    assert target.lm_head.weight is target.model.decoder.embed_tokens.weight  # still tied
    mean_embedding = torch.stack([m.model.encoder.embed_tokens.weight for m in models]).mean(0)
    torch.testing.assert_close(target.model.encoder.embed_tokens.weight, mean_embedding)
    ids, mask = padded_batch([5, 3], 37)
    out = target.eval().generate(input_ids=ids, attention_mask=mask, max_new_tokens=4)
    assert out.shape[0] == 2


def test_averaging_refuses_one_file_and_mismatched_files(tmp_path):
    save_model(tiny_model(), str(tmp_path / "a.safetensors"))
    save_model(tiny_model(hidden_dim=20), str(tmp_path / "b.safetensors"))
    with pytest.raises(ValueError, match="at least 2"):
        average_weight_files([tmp_path / "a.safetensors"], tmp_path / "out.safetensors")
    with pytest.raises(ValueError, match="shape"):
        average_weight_files(
            [tmp_path / "a.safetensors", tmp_path / "b.safetensors"], tmp_path / "out.safetensors"
        )
