"""Teacher-forcing schedules (scheduled sampling), a length-bucketed curriculum batch sampler and
a token-budget batch sampler.

Everything here is a pure function of its arguments (the sampler: of seed and epoch), so that a
run resumed from a checkpoint sees the same ratios and the same batches as an uninterrupted one.
"""

import math
from collections.abc import Iterator, Sequence

import numpy as np
from torch.utils.data import Sampler

SCHEDULES = ("none", "linear", "exponential", "inverse_sigmoid")
# The default exponential decay never reaches 0; by `total_steps` it is down to 1% of `start`.
_EXPONENTIAL_FLOOR = 0.01


def _check_unit_interval(name: str, value: float) -> None:
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"{name}: must lie in [0, 1], got {value}")


def _inverse_sigmoid_default_k(total_steps: float) -> float:
    """The k >= 1 whose curve crosses half its start value at total_steps / 2: k ln k = total_steps / 2.

    k ln k increases monotonically for k >= 1, so bisection finds the unique root.
    """
    target = total_steps / 2
    low, high = 1.0, max(2.0, target + 1.0)
    for _ in range(100):  # far past float precision
        middle = (low + high) / 2
        if middle * math.log(middle) < target:
            low = middle
        else:
            high = middle
    return (low + high) / 2


def teacher_forcing_ratio(
    schedule: str,
    progress_step: float,
    total_steps: float,
    start: float = 1.0,
    end: float = 0.0,
    k: float | None = None,
) -> float:
    """Probability of feeding the gold previous token at `progress_step` (Bengio et al., 2015).

    `progress_step` counts optimizer steps or epochs; the trainer picks the unit, and
    `total_steps` is in the same unit. With `i = progress_step` and `T = total_steps`:

    - ``"none"``: `start` at every step (plain teacher forcing when start is 1.0).
    - ``"linear"``: `start - (start - end) * min(i / T, 1)`; `start` at 0, `end` from T on.
    - ``"exponential"``: `max(end, start * k**i)` with 0 < k < 1. By default
      `k = (max(end, 0.01 * start) / start) ** (1 / T)`, so the ratio arrives at `end` (or at
      1% of `start` when `end` is 0) exactly at step T.
    - ``"inverse_sigmoid"``: Bengio's `eps(i) = k / (k + exp(i / k))` with k >= 1, rescaled so
      that it starts at `start` and falls towards `end`:
      `end + (start - end) * eps(i) / eps(0)`, where `eps(0) = k / (k + 1)`. By default k solves
      `k ln k = T / 2`, which puts the sigmoid's midpoint (eps = 1/2) at T / 2.

    Every decaying schedule is monotone non-increasing in `i` and stays within [end, start].
    Raises ValueError naming the offending argument.
    """
    if schedule not in SCHEDULES:
        raise ValueError(f"schedule: unknown {schedule!r}; choose one of {SCHEDULES}")
    _check_unit_interval("start", start)
    _check_unit_interval("end", end)
    if progress_step < 0:
        raise ValueError(f"progress_step: must be >= 0, got {progress_step}")
    if schedule == "none":
        return float(start)
    if end > start:
        raise ValueError(f"end: a decaying schedule needs end <= start, got end={end} > {start}")
    if total_steps <= 0:
        raise ValueError(f"total_steps: must be > 0 for schedule {schedule!r}, got {total_steps}")
    if start == end:
        return float(start)

    if schedule == "linear":
        return start - (start - end) * min(progress_step / total_steps, 1.0)
    if schedule == "exponential":
        if k is None:
            k = (max(end, _EXPONENTIAL_FLOOR * start) / start) ** (1.0 / total_steps)
        elif not 0.0 < k < 1.0:
            raise ValueError(f"k: the exponential schedule needs 0 < k < 1, got {k}")
        return max(end, start * k**progress_step)
    # inverse_sigmoid
    if k is None:
        k = _inverse_sigmoid_default_k(total_steps)
    elif k < 1.0:
        raise ValueError(f"k: the inverse sigmoid schedule needs k >= 1, got {k}")
    # exp(i / k) overflows for i >> k; the curve has long reached `end` by then.
    exponent = progress_step / k
    if exponent > 700:
        return float(end)
    decay = (k + 1.0) / (k + math.exp(exponent))  # eps(i) / eps(0), in (0, 1]
    return end + (start - end) * decay


def curriculum_pool_fraction(step: int, curriculum_steps: int, start_fraction: float) -> float:
    """Share of the data (easiest first) that batch `step` may draw from.

    Widens linearly from `start_fraction` at step 0 to 1.0 at `curriculum_steps`;
    `curriculum_steps == 0` turns the curriculum off (always 1.0).
    """
    if curriculum_steps < 0:
        raise ValueError(f"curriculum_steps: must be >= 0, got {curriculum_steps}")
    if not 0.0 < start_fraction <= 1.0:
        raise ValueError(f"start_fraction: must lie in (0, 1], got {start_fraction}")
    if step < 0:
        raise ValueError(f"step: must be >= 0, got {step}")
    if curriculum_steps == 0:
        return 1.0
    return start_fraction + (1.0 - start_fraction) * min(step / curriculum_steps, 1.0)


class LengthBucketBatchSampler(Sampler[list[int]]):
    """Batches of similar length, reshuffled every epoch, with an optional easy-first curriculum.

    Use it as a DataLoader's `batch_sampler`. An epoch has `len(self)` batches, built as follows:
    the batches are taken in chunks of `bucket_pool` batches; each chunk draws
    `bucket_pool * batch_size` examples at random (without replacement within the epoch), sorts
    them by length and cuts them into batches, so a batch holds neighbours in length and wastes
    little padding; the chunk's batches are then shuffled. Only a final short batch (when
    `drop_last` is False and the data does not divide evenly) keeps its place at the very end,
    because accelerate's multi-process sharding expects every other batch to be full.

    Curriculum (`curriculum_steps > 0`): examples are ranked by `difficulty` (default: `lengths`;
    ties broken by a seeded shuffle) and batch number `g` of the whole run, counted over every
    process as `g = epoch * len(self) + index_in_epoch`, only draws from the easiest
    `curriculum_pool_fraction(g, curriculum_steps, curriculum_start)` share of the data (at least
    one batch's worth). While the pool is smaller than what the epoch consumes, easy examples are
    repeated and some hard ones wait for a later epoch. Once the curriculum is over, every index
    appears exactly once per epoch (`drop_last` aside), as without one. With gradient
    accumulation and N processes, one optimizer step consumes `accumulation * N` of these batches.

    The batches of an epoch are a pure function of (seed, epoch): call `set_epoch(epoch)` before
    iterating (also before accelerate's `skip_first_batches` when resuming mid-epoch). In a single
    process, accelerate's prepared DataLoader calls `set_epoch(dataloader.iteration)` itself, so
    also call `train_dataloader.set_epoch(epoch)`; with several processes it wraps this sampler
    in `BatchSamplerShard`, which does not forward `set_epoch`, so call it on this object.

    Args:
        lengths: token length of each example (e.g. max of source and target length), 1-D.
        batch_size: examples per batch.
        seed: base seed; epoch `e` uses a generator seeded with (seed, e).
        difficulty: score per example for the curriculum ranking (lower is easier);
            default `lengths`.
        curriculum_steps: batches over which the pool widens to all the data; 0 turns it off.
        curriculum_start: share of the data (easiest first) in the pool at batch 0.
        bucket_pool: batches per sorting chunk; larger means less padding, less randomness.
        drop_last: drop the final batch when it would be short.
    """

    def __init__(
        self,
        lengths: Sequence[int] | np.ndarray,
        batch_size: int,
        seed: int = 0,
        difficulty: Sequence[float] | np.ndarray | None = None,
        curriculum_steps: int = 0,
        curriculum_start: float = 0.2,
        bucket_pool: int = 50,
        drop_last: bool = False,
    ) -> None:
        self.lengths = np.asarray(lengths, dtype=np.int64)
        if self.lengths.ndim != 1 or self.lengths.size == 0:
            raise ValueError(
                f"lengths: need a non-empty 1-D sequence, got shape {self.lengths.shape}"
            )
        if batch_size < 1:
            raise ValueError(f"batch_size: must be >= 1, got {batch_size}")
        if bucket_pool < 1:
            raise ValueError(f"bucket_pool: must be >= 1, got {bucket_pool}")
        if seed < 0:
            raise ValueError(f"seed: must be >= 0, got {seed}")
        # Validates curriculum_steps and curriculum_start once, up front.
        curriculum_pool_fraction(0, curriculum_steps, curriculum_start)
        self.batch_size = batch_size
        self.seed = seed
        self.curriculum_steps = curriculum_steps
        self.curriculum_start = curriculum_start
        self.bucket_pool = bucket_pool
        self.drop_last = drop_last
        self.epoch = 0

        scores = self.lengths if difficulty is None else np.asarray(difficulty, dtype=np.float64)
        if scores.shape != self.lengths.shape:
            raise ValueError(
                f"difficulty: need one score per example ({self.lengths.size}), got {scores.shape}"
            )
        # Easiest first; a fixed seeded shuffle first so that equal scores are not ranked by index.
        tie_break = np.random.default_rng([seed, 0]).permutation(self.lengths.size)
        self.easiest_first = tie_break[np.argsort(scores[tie_break], kind="stable")]

    def set_epoch(self, epoch: int) -> None:
        """Select the epoch whose batches the next iteration yields."""
        if epoch < 0:
            raise ValueError(f"epoch: must be >= 0, got {epoch}")
        self.epoch = epoch

    def __len__(self) -> int:
        num_examples = self.lengths.size
        if self.drop_last:
            return num_examples // self.batch_size
        return math.ceil(num_examples / self.batch_size)

    def __iter__(self) -> Iterator[list[int]]:
        for batch in self.epoch_batches(self.epoch):
            yield batch.tolist()

    def _batch_sizes(self) -> np.ndarray:
        sizes = np.full(len(self), self.batch_size, dtype=np.int64)
        remainder = self.lengths.size % self.batch_size
        if remainder and not self.drop_last:
            sizes[-1] = remainder
        return sizes

    def _pool_size(self, global_batch: int) -> int:
        """How many of the easiest examples global batch number `global_batch` may draw from."""
        fraction = curriculum_pool_fraction(
            global_batch, self.curriculum_steps, self.curriculum_start
        )
        num_examples = self.lengths.size
        return min(num_examples, max(self.batch_size, math.ceil(fraction * num_examples)))

    def epoch_batches(self, epoch: int) -> list[np.ndarray]:
        """The index arrays of every batch of `epoch`, in order: a pure function of (seed, epoch)."""
        rng = np.random.default_rng([self.seed, 1, epoch])
        sizes = self._batch_sizes()
        first_global_batch = epoch * len(self)
        # Admitted but not yet drawn this epoch; its first `num_available` entries are live.
        available = np.empty(self.lengths.size, dtype=np.int64)
        num_available = 0
        num_admitted = 0
        batches = []
        for chunk_start in range(0, len(sizes), self.bucket_pool):
            chunk_sizes = sizes[chunk_start : chunk_start + self.bucket_pool]
            # The pool only widens, so the chunk's first batch sets the limit for all of its batches.
            pool_size = self._pool_size(first_global_batch + chunk_start)
            if pool_size > num_admitted:
                newcomers = self.easiest_first[num_admitted:pool_size]
                available[num_available : num_available + newcomers.size] = newcomers
                num_available += newcomers.size
                num_admitted = pool_size

            wanted = int(chunk_sizes.sum())
            drawn_positions = rng.choice(
                num_available, size=min(wanted, num_available), replace=False
            )
            drawn = available[drawn_positions]
            num_available = _remove_positions(available, num_available, drawn_positions)
            if drawn.size < wanted:
                # The pool is used up this epoch: repeat easy examples rather than admit hard ones.
                repeats = self.easiest_first[rng.integers(0, pool_size, size=wanted - drawn.size)]
                drawn = np.concatenate([drawn, repeats])

            by_length = drawn[np.argsort(self.lengths[drawn], kind="stable")]
            chunk_batches = np.split(by_length, np.cumsum(chunk_sizes)[:-1])
            is_last_chunk = chunk_start + self.bucket_pool >= len(sizes)
            keeps_short_batch_last = is_last_chunk and chunk_sizes[-1] < self.batch_size
            movable = len(chunk_batches) - int(keeps_short_batch_last)
            order = list(rng.permutation(movable)) + list(range(movable, len(chunk_batches)))
            batches.extend(chunk_batches[i] for i in order)
        return batches


class TokenBudgetBatchSampler(Sampler[list[int]]):
    """Batches of at most `max_tokens` padded tokens each, cut once and reshuffled every epoch.

    A batch costs `len(batch) * max(lengths[batch])` tokens: its sentences padded to the longest.
    The examples are sorted by length (equal lengths in a seeded random order) and cut greedily,
    so short sentences travel in large batches and long ones in small; an example longer than the
    budget gets a batch of its own. The batches are cut once, so every epoch has the same
    `len(self)` batches (what step counting, the schedules and an exact resume rely on); only
    their order changes from epoch to epoch, a pure function of (seed, epoch). Use it as a
    DataLoader's `batch_sampler` and call `set_epoch` as for `LengthBucketBatchSampler`. It has no
    curriculum: a curriculum changes which examples an epoch holds, and with it the batches.
    """

    def __init__(self, lengths: Sequence[int] | np.ndarray, max_tokens: int, seed: int = 0) -> None:
        lengths = np.asarray(lengths, dtype=np.int64)
        if lengths.ndim != 1 or lengths.size == 0:
            raise ValueError(f"lengths: need a non-empty 1-D sequence, got shape {lengths.shape}")
        if max_tokens < 1:
            raise ValueError(f"max_tokens: must be >= 1, got {max_tokens}")
        if seed < 0:
            raise ValueError(f"seed: must be >= 0, got {seed}")
        self.max_tokens = max_tokens
        self.seed = seed
        self.epoch = 0
        tie_break = np.random.default_rng([seed, 2]).permutation(lengths.size)
        shortest_first = tie_break[np.argsort(lengths[tie_break], kind="stable")]
        self.batches = []
        start = 0
        # Sorted, so the newest example is the batch's longest: it fits while count * it <= budget.
        for end, index in enumerate(shortest_first):
            if end > start and (end - start + 1) * lengths[index] > max_tokens:
                self.batches.append(shortest_first[start:end])
                start = end
        self.batches.append(shortest_first[start:])

    def set_epoch(self, epoch: int) -> None:
        """Select the epoch whose batch order the next iteration yields."""
        if epoch < 0:
            raise ValueError(f"epoch: must be >= 0, got {epoch}")
        self.epoch = epoch

    def __len__(self) -> int:
        return len(self.batches)

    def epoch_batches(self, epoch: int) -> list[np.ndarray]:
        """The index arrays of every batch of `epoch`, in order: a pure function of (seed, epoch)."""
        order = np.random.default_rng([self.seed, 3, epoch]).permutation(len(self.batches))
        return [self.batches[i] for i in order]

    def __iter__(self) -> Iterator[list[int]]:
        for batch in self.epoch_batches(self.epoch):
            yield batch.tolist()


def _remove_positions(values: np.ndarray, length: int, positions: np.ndarray) -> int:
    """Delete `values[positions]` from the live prefix `values[:length]`; return the new length.

    Each hole below the new end is filled from the tail, so the cost is O(len(positions)), not
    O(length); the order of the survivors changes, which is fine for a set drawn at random.
    """
    new_length = length - positions.size
    tail = np.arange(new_length, length)
    survivors_in_tail = tail[~np.isin(tail, positions)]
    holes = np.sort(positions[positions < new_length])
    values[holes] = values[survivors_in_tail]
    return new_length
