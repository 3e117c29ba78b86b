"""A seeded TPE sampler that stays reproducible when a stored study is resumed.

With a fixed ``seed``, Optuna's ``TPESampler`` draws the same random start-up trials in every
process, so running a stored study again (``hydra.sweeper.storage=sqlite:///optuna.db``) would
first repeat the trials already in the database. This sampler offsets the seed by the number of
trials the study already has when this process asks for its first trial: a fresh study behaves
exactly like ``TPESampler(seed=seed)``, a resumed one continues with new trials, and the same
sequence of commands always suggests the same trials. Imported only by the Optuna preset.
"""

import numpy as np
from optuna.samplers import RandomSampler, TPESampler


class ResumableTPESampler(TPESampler):
    def __init__(self, seed: int | None = None, **kwargs) -> None:
        super().__init__(seed=seed, **kwargs)
        self._base_seed = seed
        self._offset: int | None = None

    def infer_relative_search_space(self, study, trial):
        if self._offset is None:  # the first trial this process samples
            self._offset = trial.number
            if self._base_seed is not None and self._offset:
                seed = self._base_seed + self._offset
                self._rng = np.random.RandomState(seed)
                self._random_sampler = RandomSampler(seed=seed)
        return super().infer_relative_search_space(study, trial)
