"""A Korean->English translation pipeline, shipped as remote code beside the model.

transformers 5.x removed its built-in "translation" pipeline; this one makes
`pipeline("translation", model=folder_or_repo, trust_remote_code=True)` work again. It imports
only transformers (it travels to the Hub with the model).
"""

from transformers import Pipeline


class Seq2SeqLSTMTranslationPipeline(Pipeline):
    """Translate sentences: `pipe("안녕하세요")` -> `[{"translation_text": "Hello."}]`.

    The results are shaped as transformers 4's translation pipeline shaped them: one sentence
    gives a list of dicts, one per returned sequence; a list of sentences gives one dict per
    sentence, or one such list per sentence when `num_return_sequences > 1`. Empty or
    whitespace-only sentences translate to "" without running the model. Sources longer than
    `max_source_length` tokens (default: the tokenizer's `model_max_length`) are truncated. Other
    keyword arguments go to `generate()`.
    """

    _load_tokenizer = True
    _load_processor = False
    _load_image_processor = False
    _load_feature_extractor = False
    _pipeline_calls_generate = True

    def __call__(self, inputs, **kwargs):
        single = isinstance(inputs, str)
        sentences = [inputs] if single else list(inputs)
        for index, sentence in enumerate(sentences):
            if not isinstance(sentence, str):
                raise TypeError(f"input {index} is {type(sentence).__name__}, expected a str")
        # As many results per sentence as generate() returns: transformers merges this call's
        # settings, a `generation_config`, those given at construction and the model's.
        generate_settings = self._get_set_generation_params(self._prepare_generate_kwargs(kwargs))
        num_return_sequences = generate_settings.get("num_return_sequences") or 1
        results = [[{"translation_text": ""}] * num_return_sequences for _ in sentences]
        to_translate = [i for i, sentence in enumerate(sentences) if sentence.strip()]
        if to_translate:
            translated = super().__call__([sentences[i] for i in to_translate], **kwargs)
            for i, sentence_results in zip(to_translate, translated, strict=True):
                results[i] = sentence_results
        if single:
            return results[0]
        return results if num_return_sequences > 1 else [result for (result,) in results]

    def _sanitize_parameters(self, max_source_length=None, **generate_kwargs):
        preprocess_params = {}
        if max_source_length is not None:
            preprocess_params["max_source_length"] = max_source_length
        return preprocess_params, generate_kwargs, {}

    def preprocess(self, sentence, max_source_length=None):
        max_length = max_source_length or self.tokenizer.model_max_length
        return self.tokenizer(sentence, truncation=True, max_length=max_length, return_tensors="pt")

    def _forward(self, model_inputs, **generate_kwargs):
        # The call's generation settings on top of those given at construction, as in the
        # built-in generating pipelines.
        generate_kwargs = self._prepare_generate_kwargs(generate_kwargs)
        output_ids = self.model.generate(**model_inputs, **generate_kwargs)
        # (sentences, returned sequences, length): the pipeline unbatches along dim 0, so each
        # sentence must keep its own num_return_sequences rows.
        sentences = model_inputs["input_ids"].shape[0]
        return {"output_ids": output_ids.reshape(sentences, -1, output_ids.shape[-1])}

    def postprocess(self, model_outputs):
        (sequences,) = model_outputs["output_ids"]  # this sentence's returned sequences
        texts = self.tokenizer.batch_decode(sequences, skip_special_tokens=True)
        return [{"translation_text": text.strip()} for text in texts]
