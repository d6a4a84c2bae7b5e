"""Checkpoint averaging: the element-wise mean of several saved weight sets of one model.

Averaging the weights of the last (or best) evaluated steps of a run is a cheap, reliable gain in
neural machine translation: the mean sits nearer the centre of the region the optimiser was
wandering in than any single step. `train.py --average_checkpoints N` uses it.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import torch
from safetensors.torch import load_file, save_file


def average_weight_files(
    files: Sequence[str | os.PathLike], output_file: str | os.PathLike
) -> list[str]:
    """Write the element-wise mean of safetensors weight files to `output_file`.

    Every file must hold the same tensor names and shapes (e.g. written by
    `safetensors.torch.save_model` from one model at different steps). Floating-point tensors
    are averaged in float64 and stored in their own dtype; other tensors must be equal in every
    file and are copied. Load the result with `safetensors.torch.load_model(model, output_file)`.
    Returns the averaged tensor names.
    """
    if len(files) < 2:
        raise ValueError(f"averaging needs at least 2 weight files, got {len(files)}")
    first = load_file(files[0])
    sums = {name: tensor.double() for name, tensor in first.items() if tensor.is_floating_point()}
    for path in files[1:]:
        weights = load_file(path)
        if weights.keys() != first.keys():
            raise ValueError(f"{path} holds other tensors than {files[0]}")
        for name, tensor in weights.items():
            if tensor.shape != first[name].shape:
                raise ValueError(
                    f"{path}: {name} has shape {tuple(tensor.shape)}, "
                    f"{files[0]} has {tuple(first[name].shape)}"
                )
            if name in sums:
                sums[name] += tensor.double()
            elif not torch.equal(tensor, first[name]):
                raise ValueError(f"{path}: non-float tensor {name} differs from {files[0]}")
    averaged = {
        name: (sums[name] / len(files)).to(tensor.dtype) if name in sums else tensor
        for name, tensor in first.items()
    }
    save_file(averaged, str(output_file))
    return sorted(sums)
