"""A seeded synthetic ratings set: no package ships real ratings, so the default data is drawn
from the very model collaborative filtering assumes, plus noise.

    rating = clip(round(mean + user_bias + item_bias + user_factors . item_factors + noise), 1, 5)

with ``factors`` hidden dimensions (users' tastes, items' traits), user biases (some people rate
everything higher) and item biases (some items are better), Gaussian noise, and sparse
observations: each user rates a few percent of the items, popular items more often (a Zipf-like
popularity, as in real catalogues). Timestamps grow with each user's activity over one year, so
``split: time`` has a meaning. The defaults (300 users x 200 items, ~8 % observed, 4,800
ratings) give a distribution like MovieLens': mean about 3.5, 4 the most common rating.

Because the truth is known, the best possible RMSE is about the noise level (``noise``); the
mean rating (always predicting the training mean) is the baseline a model must beat.
"""

import torch


def synthetic_ratings(
    users: int = 300,
    items: int = 200,
    density: float = 0.1,
    factors: int = 3,
    taste: float = 1.0,
    noise: float = 0.4,
    seed: int = 0,
) -> dict:
    """Columns ``user``, ``item`` (names such as ``u017``, ``i042``), ``rating`` (1..5) and
    ``timestamp`` (seconds), as lists; the same values for the same arguments."""
    g = torch.Generator().manual_seed(seed)
    user_bias = 0.35 * torch.randn(users, generator=g)
    item_bias = 0.45 * torch.randn(items, generator=g)
    # factor scale such that the taste term (the dot product) has a spread of ``taste``
    scale = (taste / factors**0.5) ** 0.5
    user_f = scale * torch.randn(users, factors, generator=g)
    item_f = scale * torch.randn(items, factors, generator=g)
    popularity = 1.0 / torch.arange(1, items + 1).float() ** 0.6  # item 0 the most popular
    popularity = popularity[torch.randperm(items, generator=g)]
    per_user = max(1, round(density * items))
    rows_u, rows_i = [], []
    for u in range(users):
        # a few heavy raters and many light ones, at least 3 ratings each
        count = int(min(items, max(3, per_user * torch.empty(1).exponential_(generator=g))))
        chosen = torch.multinomial(popularity, count, replacement=False, generator=g)
        rows_u += [u] * count
        rows_i += chosen.tolist()
    u, i = torch.tensor(rows_u), torch.tensor(rows_i)
    raw = (
        3.55
        + user_bias[u]
        + item_bias[i]
        + (user_f[u] * item_f[i]).sum(dim=1)
        + noise * torch.randn(len(u), generator=g)
    )
    rating = raw.round().clamp(1, 5)
    # one year; each user's ratings in order, users starting at random moments
    start = torch.rand(users, generator=g) * 0.7
    timestamp = (start[u] + 0.3 * torch.rand(len(u), generator=g)) * 365 * 86400 + 8.8e8
    return {
        "user": [f"u{k:03d}" for k in u.tolist()],
        "item": [f"i{k:03d}" for k in i.tolist()],
        "rating": rating.tolist(),
        "timestamp": timestamp.long().tolist(),
    }
