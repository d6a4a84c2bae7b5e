"""Translate one sentence and recover the attention alignment of the chosen output."""

from dataclasses import dataclass

import torch


@dataclass
class Alignment:
    """A translation with its cross-attention weights, ready for `plot_attention`.

    weights: (target_len, source_len) attention of each output token over the source tokens.
    source_tokens / target_tokens: the tokenizer's pieces, one per column / row (`plot_attention`
        merges byte pieces into characters and drops the word marker for its labels).
    """

    translation: str
    weights: torch.Tensor | None
    source_tokens: list[str]
    target_tokens: list[str]


@torch.no_grad()
def translate_with_attention(model, tokenizer, sentence: str, **generate_kwargs) -> Alignment:
    """Translate `sentence` (with the saved generation defaults, e.g. beam 5, unless overridden).

    Beam search reorders its hypotheses as it goes, so the weights are recomputed by one
    teacher-forced pass over the chosen output: exactly the attention that produced each token.
    `weights` is None for a model without attention.
    """
    was_training = model.training
    model.eval()
    inputs = tokenizer(sentence, return_tensors="pt").to(model.device)
    output = model.generate(**inputs, **generate_kwargs)[:1]
    target = output[0, 1:]  # drop the start token
    if (target == tokenizer.eos_token_id).any():  # and everything after </s>
        target = target[: int((target == tokenizer.eos_token_id).nonzero()[0]) + 1]
    weights = None
    if model.config.attention != "none":
        out = model(**inputs, decoder_input_ids=output[:, : len(target)], output_attentions=True)
        weights = out.cross_attentions[0][0].float().cpu()
    model.train(was_training)
    return Alignment(
        translation=tokenizer.decode(target, skip_special_tokens=True).strip(),
        weights=weights,
        source_tokens=tokenizer.convert_ids_to_tokens(inputs["input_ids"][0].tolist()),
        target_tokens=tokenizer.convert_ids_to_tokens(target.tolist()),
    )
