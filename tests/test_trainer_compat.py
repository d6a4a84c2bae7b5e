"""The model inside transformers' own Seq2SeqTrainer, as a built-in model would be."""

import torch
from transformers import DataCollatorForSeq2Seq, Seq2SeqTrainer, Seq2SeqTrainingArguments

from hf_seq2seq_lstm import (
    Seq2SeqLSTMConfig,
    Seq2SeqLSTMForConditionalGeneration,
    builtin_corpus_files,
    load_parallel_corpus,
    train_bpe_tokenizer,
)


def test_seq2seq_trainer_trains_and_evaluates_with_generate(tmp_path):
    corpus = load_parallel_corpus(builtin_corpus_files("sample"))
    tokenizer = train_bpe_tokenizer(corpus["train"], vocab_size=400)

    def encode(batch):
        return tokenizer(batch["ko"], text_target=batch["en"], truncation=True, max_length=48)

    columns = corpus["train"].column_names
    train = corpus["train"].select(range(64)).map(encode, batched=True, remove_columns=columns)
    valid = corpus["validation"].select(range(8)).map(encode, batched=True, remove_columns=columns)
    torch.manual_seed(0)
    config = Seq2SeqLSTMConfig(
        src_vocab_size=len(tokenizer), tgt_vocab_size=len(tokenizer), embedding_dim=16,
        hidden_dim=32, num_layers=1,
    )  # fmt: skip
    model = Seq2SeqLSTMForConditionalGeneration(config)
    arguments = Seq2SeqTrainingArguments(
        output_dir=str(tmp_path), per_device_train_batch_size=16, per_device_eval_batch_size=4,
        max_steps=6, learning_rate=5e-3, logging_steps=1, report_to=[], save_strategy="no",
        predict_with_generate=True, generation_num_beams=2, generation_max_length=12,
        use_cpu=True,
    )  # fmt: skip
    trainer = Seq2SeqTrainer(
        model=model,
        args=arguments,
        train_dataset=train,
        eval_dataset=valid,
        data_collator=DataCollatorForSeq2Seq(tokenizer, model=model, label_pad_token_id=-100),
        processing_class=tokenizer,
    )
    result = trainer.train()
    losses = [entry["loss"] for entry in trainer.state.log_history if "loss" in entry]
    assert result.global_step == 6 and losses[-1] < losses[0]
    metrics = trainer.evaluate()
    assert "eval_loss" in metrics and torch.isfinite(torch.tensor(metrics["eval_loss"]))
    predictions = trainer.predict(valid)
    assert predictions.predictions.shape[0] == len(valid)
    # generate() honoured generation_max_length; the trainer pads to the config's max_length.
    generated = torch.as_tensor(predictions.predictions)
    assert (generated[:, 12:] == tokenizer.pad_token_id).all()
