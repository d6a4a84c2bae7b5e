"""Teacher-forcing schedules give their documented values; the bucketed sampler is deterministic,
covers the data, pads little, widens its curriculum pool and survives accelerate's wrappers; the
token-budget sampler keeps its budget and the same batches every epoch, in a new order."""

import math

import numpy as np
import pytest
import torch
from accelerate.data_loader import prepare_data_loader, skip_first_batches
from torch.utils.data import DataLoader

from hf_seq2seq_lstm.schedules import (
    SCHEDULES,
    LengthBucketBatchSampler,
    TokenBudgetBatchSampler,
    curriculum_pool_fraction,
    teacher_forcing_ratio,
)


def random_lengths(num_examples: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(1, 120, size=num_examples)


def padding_fraction(batches, lengths: np.ndarray) -> float:
    """Share of the padded tokens in all batches that are padding."""
    padded = sum(int(lengths[batch].max()) * len(batch) for batch in batches)
    return 1.0 - sum(int(lengths[batch].sum()) for batch in batches) / padded


# ---- teacher-forcing schedules ----


@pytest.mark.parametrize(
    ("schedule", "step", "expected"),
    [
        ("none", 0, 0.9),
        ("none", 10_000, 0.9),
        ("linear", 0, 0.9),
        ("linear", 50, 0.5),
        ("linear", 100, 0.1),
        ("linear", 500, 0.1),
        # Default k reaches `end` exactly at total_steps; halfway is the geometric mean.
        ("exponential", 0, 0.9),
        ("exponential", 50, math.sqrt(0.9 * 0.1)),
        ("exponential", 100, 0.1),
        ("exponential", 500, 0.1),
        ("inverse_sigmoid", 0, 0.9),
    ],
)
def test_schedules_give_documented_values(schedule, step, expected):
    ratio = teacher_forcing_ratio(schedule, step, total_steps=100, start=0.9, end=0.1)
    assert ratio == pytest.approx(expected)


def test_exponential_with_explicit_k_is_start_times_k_to_the_step_clipped_at_end():
    assert teacher_forcing_ratio("exponential", 10, 100, k=0.9) == pytest.approx(0.9**10)
    assert teacher_forcing_ratio("exponential", 1000, 100, end=0.2, k=0.9) == 0.2


def test_exponential_to_zero_reaches_one_percent_of_start_at_total_steps():
    assert teacher_forcing_ratio("exponential", 40, 40, start=0.8) == pytest.approx(0.008)


def test_inverse_sigmoid_follows_bengio_rescaled_to_start_and_end():
    k = 10.0
    for step in (0, 5, 23, 60):
        bengio = k / (k + math.exp(step / k))
        expected = 0.2 + 0.6 * bengio / (k / (k + 1))
        ratio = teacher_forcing_ratio("inverse_sigmoid", step, 100, start=0.8, end=0.2, k=k)
        assert ratio == pytest.approx(expected)


def test_inverse_sigmoid_default_k_centres_the_sigmoid_mid_run():
    total = 1000
    halfway = teacher_forcing_ratio("inverse_sigmoid", total / 2, total)
    # eps(T/2) = 1/2, so the ratio is (k + 1) / (2k): a little above one half for a large k.
    assert 0.5 < halfway < 0.51
    assert teacher_forcing_ratio("inverse_sigmoid", total, total) < 0.01
    assert teacher_forcing_ratio("inverse_sigmoid", 10**9, total) == 0.0


@pytest.mark.parametrize("schedule", SCHEDULES)
def test_schedules_are_monotone_and_stay_between_end_and_start(schedule):
    ratios = [
        teacher_forcing_ratio(schedule, step, total_steps=200, start=0.95, end=0.25)
        for step in range(0, 600, 3)
    ]
    assert all(later <= earlier for earlier, later in zip(ratios, ratios[1:], strict=False))
    low = 0.95 if schedule == "none" else 0.25
    assert all(low - 1e-12 <= ratio <= 0.95 + 1e-12 for ratio in ratios)


def test_progress_may_be_counted_in_epochs():
    assert teacher_forcing_ratio("linear", 3, total_steps=4) == pytest.approx(0.25)


@pytest.mark.parametrize(
    ("kwargs", "argument"),
    [
        ({"schedule": "cosine"}, "schedule"),
        ({"start": 1.5}, "start"),
        ({"end": -0.1}, "end"),
        ({"start": 0.3, "end": 0.6}, "end"),
        ({"total_steps": 0}, "total_steps"),
        ({"progress_step": -1}, "progress_step"),
        ({"schedule": "exponential", "k": 1.2}, "k"),
        ({"schedule": "inverse_sigmoid", "k": 0.5}, "k"),
    ],
)
def test_invalid_schedule_arguments_name_the_argument(kwargs, argument):
    call = {"schedule": "linear", "progress_step": 0, "total_steps": 10, **kwargs}
    with pytest.raises(ValueError, match=f"^{argument}:"):
        teacher_forcing_ratio(**call)


def test_unknown_schedule_lists_the_valid_ones():
    with pytest.raises(ValueError) as error:
        teacher_forcing_ratio("cosine", 0, 10)
    assert all(name in str(error.value) for name in SCHEDULES)


# ---- curriculum ----


def test_curriculum_pool_widens_linearly_then_stays_full():
    assert curriculum_pool_fraction(0, 100, 0.2) == pytest.approx(0.2)
    assert curriculum_pool_fraction(50, 100, 0.2) == pytest.approx(0.6)
    assert curriculum_pool_fraction(100, 100, 0.2) == 1.0
    assert curriculum_pool_fraction(10**6, 100, 0.2) == 1.0


def test_zero_curriculum_steps_turns_the_curriculum_off():
    assert curriculum_pool_fraction(0, 0, 0.2) == 1.0


@pytest.mark.parametrize(
    ("args", "argument"),
    [((0, -1, 0.2), "curriculum_steps"), ((0, 10, 0.0), "start_fraction"), ((-1, 10, 0.5), "step")],
)
def test_invalid_curriculum_arguments_name_the_argument(args, argument):
    with pytest.raises(ValueError, match=f"^{argument}:"):
        curriculum_pool_fraction(*args)


# ---- LengthBucketBatchSampler ----


@pytest.mark.parametrize("num_examples", [1000, 1003])
def test_every_index_appears_once_per_epoch_without_curriculum(num_examples):
    sampler = LengthBucketBatchSampler(random_lengths(num_examples), batch_size=16, bucket_pool=5)
    for epoch in (0, 1):
        sampler.set_epoch(epoch)
        batches = list(sampler)
        assert len(batches) == len(sampler) == math.ceil(num_examples / 16)
        assert sorted(index for batch in batches for index in batch) == list(range(num_examples))


def test_only_the_final_batch_may_be_short():
    sampler = LengthBucketBatchSampler(random_lengths(1003), batch_size=16, bucket_pool=5, seed=4)
    for epoch in range(3):
        sizes = [len(batch) for batch in sampler.epoch_batches(epoch)]
        assert sizes[:-1] == [16] * (len(sizes) - 1)
        assert sizes[-1] == 1003 % 16


def test_drop_last_yields_only_full_batches_without_repeats():
    sampler = LengthBucketBatchSampler(random_lengths(1003), batch_size=16, drop_last=True)
    batches = list(sampler)
    assert len(batches) == len(sampler) == 1003 // 16
    assert all(len(batch) == 16 for batch in batches)
    indices = [index for batch in batches for index in batch]
    assert len(set(indices)) == len(indices)


def test_batches_depend_only_on_seed_and_epoch():
    lengths = random_lengths(500)
    first = LengthBucketBatchSampler(lengths, batch_size=8, seed=7, curriculum_steps=30)
    second = LengthBucketBatchSampler(lengths, batch_size=8, seed=7, curriculum_steps=30)
    first.set_epoch(2)
    second.set_epoch(2)
    assert list(first) == list(second)
    assert list(first) != [b.tolist() for b in first.epoch_batches(1)]
    other_seed = LengthBucketBatchSampler(lengths, batch_size=8, seed=8, curriculum_steps=30)
    other_seed.set_epoch(2)
    assert list(first) != list(other_seed)


def test_bucketing_pads_far_less_than_random_batching():
    lengths = random_lengths(4000)
    bucketed = LengthBucketBatchSampler(lengths, batch_size=32, seed=0).epoch_batches(0)
    shuffled = np.random.default_rng(0).permutation(lengths.size)
    random_batches = [shuffled[start : start + 32] for start in range(0, lengths.size, 32)]
    bucketed_waste = padding_fraction(bucketed, lengths)
    assert bucketed_waste < 0.25 * padding_fraction(random_batches, lengths)


def test_batch_order_is_shuffled_not_sorted_by_length():
    lengths = random_lengths(4000)
    batches = LengthBucketBatchSampler(lengths, batch_size=32, bucket_pool=10).epoch_batches(0)
    longest = [int(lengths[batch].max()) for batch in batches]
    assert longest != sorted(longest)
    assert longest[:10] != sorted(longest[:10])


def test_curriculum_draws_early_batches_only_from_the_easiest_share():
    lengths = random_lengths(2000)
    batch_size, curriculum_steps, start = 10, 300, 0.2
    sampler = LengthBucketBatchSampler(
        lengths,
        batch_size=batch_size,
        seed=1,
        curriculum_steps=curriculum_steps,
        curriculum_start=start,
        bucket_pool=4,
    )
    rank = np.empty(lengths.size, dtype=np.int64)
    rank[sampler.easiest_first] = np.arange(lengths.size)
    batches_per_epoch = len(sampler)
    hardest_rank_seen = []
    for epoch in range(2):
        for index, batch in enumerate(sampler.epoch_batches(epoch)):
            step = epoch * batches_per_epoch + index
            allowed = math.ceil(curriculum_pool_fraction(step, curriculum_steps, start) * 2000)
            assert rank[batch].max() < allowed, f"batch {step} drew beyond the easiest {allowed}"
            hardest_rank_seen.append(int(rank[batch].max()))
    # The first batches stay within the easiest 20%; by the end of the curriculum all is in play.
    assert max(hardest_rank_seen[:4]) < 0.2 * 2000
    assert max(hardest_rank_seen[curriculum_steps:]) > 0.95 * 2000
    # Easy-first by length: the first batches are shorter than the data as a whole.
    first_batches = np.concatenate(sampler.epoch_batches(0)[:20])
    assert lengths[first_batches].mean() < 0.5 * lengths.mean()


def test_after_the_curriculum_every_index_appears_once_per_epoch():
    sampler = LengthBucketBatchSampler(random_lengths(600), batch_size=10, curriculum_steps=60)
    epoch_after_curriculum = sampler.epoch_batches(1)
    assert sorted(np.concatenate(epoch_after_curriculum).tolist()) == list(range(600))


def test_custom_difficulty_ranks_the_curriculum():
    lengths = np.full(400, 5)
    difficulty = np.arange(400)[::-1]  # the last example is the easiest
    sampler = LengthBucketBatchSampler(
        lengths, batch_size=10, difficulty=difficulty, curriculum_steps=1000, curriculum_start=0.1
    )
    assert np.concatenate(sampler.epoch_batches(0)[:4]).min() >= 360


@pytest.mark.parametrize(
    ("kwargs", "argument"),
    [
        ({"lengths": []}, "lengths"),
        ({"batch_size": 0}, "batch_size"),
        ({"bucket_pool": 0}, "bucket_pool"),
        ({"difficulty": [1.0, 2.0]}, "difficulty"),
        ({"curriculum_start": 1.5}, "start_fraction"),
    ],
)
def test_invalid_sampler_arguments_name_the_argument(kwargs, argument):
    call = {"lengths": [3, 4, 5], "batch_size": 2, **kwargs}
    with pytest.raises(ValueError, match=f"^{argument}:"):
        LengthBucketBatchSampler(**call)


def test_accelerate_shards_cover_the_epoch_with_equal_full_batches():
    lengths = random_lengths(203)
    shards = []
    for process_index in range(2):
        sampler = LengthBucketBatchSampler(lengths, batch_size=8, seed=3, bucket_pool=4)
        loader = DataLoader(range(203), batch_sampler=sampler, collate_fn=list)
        prepared = prepare_data_loader(
            loader, num_processes=2, process_index=process_index, put_on_device=False
        )
        prepared.set_epoch(1)
        sampler.set_epoch(1)  # BatchSamplerShard does not forward set_epoch
        shards.append(list(prepared))
    assert len(shards[0]) == len(shards[1])
    assert all(len(batch) == 8 for shard in shards for batch in shard)
    assert {index for shard in shards for batch in shard for index in batch} == set(range(203))
    expected = sampler.epoch_batches(1)
    assert shards[0][0] == expected[0].tolist() and shards[1][0] == expected[1].tolist()


def test_resuming_mid_epoch_with_skip_first_batches_continues_the_same_order():
    lengths = random_lengths(300)
    uninterrupted = LengthBucketBatchSampler(lengths, batch_size=8, seed=5, curriculum_steps=50)
    uninterrupted.set_epoch(1)
    expected = list(uninterrupted)

    # A new process: fresh sampler and loader, told the epoch, then skips what was consumed.
    resumed_sampler = LengthBucketBatchSampler(lengths, batch_size=8, seed=5, curriculum_steps=50)
    loader = DataLoader(range(300), batch_sampler=resumed_sampler, collate_fn=list)
    prepared = prepare_data_loader(loader, device=torch.device("cpu"), put_on_device=False)
    prepared.set_epoch(1)
    resumed_sampler.set_epoch(1)
    assert list(skip_first_batches(prepared, 7)) == expected[7:]


# ---- TokenBudgetBatchSampler ----


def test_token_batches_keep_the_budget_and_cover_every_example_once():
    lengths = random_lengths(1003, seed=2)
    lengths[5] = 700  # longer than the budget: a batch of its own
    sampler = TokenBudgetBatchSampler(lengths, max_tokens=600, seed=3)
    batches = sampler.epoch_batches(0)
    assert sorted(index for batch in batches for index in batch) == list(range(1003))
    assert [5] in [batch.tolist() for batch in batches]
    costs = [len(batch) * int(lengths[batch].max()) for batch in batches if len(batch) > 1]
    assert max(costs) <= 600
    sizes = {len(batch) for batch in batches}
    assert min(sizes) < 10 < max(sizes)  # short sentences in large batches, long in small
    # Greedy cutting of sorted lengths leaves little room: most batches are nearly full.
    assert np.mean(costs) > 0.8 * 600
    assert padding_fraction(batches, lengths) < 0.05


def test_token_batches_are_the_same_every_epoch_in_a_seeded_new_order():
    lengths = random_lengths(500)
    sampler = TokenBudgetBatchSampler(lengths, max_tokens=400, seed=1)
    epochs = [[batch.tolist() for batch in sampler.epoch_batches(epoch)] for epoch in (0, 1)]
    assert len(epochs[0]) == len(epochs[1]) == len(sampler)
    assert epochs[0] != epochs[1]
    assert sorted(epochs[0]) == sorted(epochs[1])
    again = TokenBudgetBatchSampler(lengths, max_tokens=400, seed=1)
    again.set_epoch(1)
    assert list(again) == epochs[1]
    other_seed = TokenBudgetBatchSampler(lengths, max_tokens=400, seed=2)
    assert [batch.tolist() for batch in other_seed.epoch_batches(1)] != epochs[1]


@pytest.mark.parametrize(
    ("kwargs", "argument"),
    [({"lengths": []}, "lengths"), ({"max_tokens": 0}, "max_tokens"), ({"seed": -1}, "seed")],
)
def test_token_batch_arguments_are_checked(kwargs, argument):
    arguments = {"lengths": [3, 4], "max_tokens": 10, **kwargs}
    with pytest.raises(ValueError, match=f"^{argument}:"):
        TokenBudgetBatchSampler(**arguments)
