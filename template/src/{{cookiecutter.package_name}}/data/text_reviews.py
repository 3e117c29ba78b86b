"""Embedded text: short synthetic reviews, generated (seeded) because no package ships a labelled
corpus that may be used offline. Labels: ``negative`` / ``positive``.

The sentiment depends on word order and negation, not only on the words, so that a bag of words
cannot read all of it and the model ladder shows a real step to a sequence model. A quarter of
the reviews each:

* plain:     "the food was really good ."                      -> the adjective's polarity
* negated:   "the food was not good ."                         -> the opposite polarity
* contrast:  "the food was good , not bad ."                    -> the first adjective's
* turn:      "the food was bad but the staff was great ."       -> the adjective after "but"

"good , not bad" and "bad , not good" hold the same words with opposite labels, and a linear
model of word counts cannot express "not" flipping whichever adjective follows it (an XOR), so a
bag of words stays well below a model that reads the order (measured in docs/tasks/text.md).
"""

import random

from .text import Record

SUBJECTS = [
    "the food",
    "the service",
    "the movie",
    "the plot",
    "the staff",
    "the room",
    "the price",
    "the music",
    "the acting",
    "the book",
    "the story",
    "the ending",
    "the hotel",
    "the coffee",
    "the app",
    "the game",
    "the show",
    "the team",
    "the design",
    "the menu",
]
POSITIVE = [
    "good",
    "great",
    "excellent",
    "wonderful",
    "fine",
    "lovely",
    "superb",
    "pleasant",
    "brilliant",
    "solid",
    "charming",
    "fantastic",
]
NEGATIVE = [
    "bad",
    "awful",
    "terrible",
    "poor",
    "dull",
    "boring",
    "weak",
    "horrible",
    "mediocre",
    "bland",
    "disappointing",
    "lousy",
]
INTENSIFIERS = ["", "", "really ", "very ", "quite ", "truly "]
OPENINGS = ["", "", "", "honestly , ", "overall , ", "i think ", "to be fair , ", "well , "]
ENDINGS = [" .", " .", " !", " , i would say .", " this time ."]
LABELS = ["negative", "positive"]


def make_reviews(count: int, seed: int = 0) -> tuple[list[str], list[int]]:
    """``count`` reviews and their labels (0 negative, 1 positive), the same for the same seed."""
    rng = random.Random(seed)
    texts, labels = [], []
    for i in range(count):
        positive = rng.random() < 0.5  # the review's label
        good, bad = rng.choice(POSITIVE), rng.choice(NEGATIVE)
        first, second = (good, bad) if positive else (bad, good)
        subject, other = rng.sample(SUBJECTS, 2)
        very = rng.choice(INTENSIFIERS)
        kind = i % 4
        if kind == 0:
            body = f"{subject} was {very}{first}"
        elif kind == 1:  # "not" + the opposite adjective
            body = f"{subject} was not {very}{second}"
        elif kind == 2:
            body = f"{subject} was {very}{first} , not {second}"
        else:
            body = f"{subject} was {second} but {other} was {very}{first}"
        texts.append(rng.choice(OPENINGS) + body + rng.choice(ENDINGS))
        labels.append(int(positive))
    return texts, labels


def review_records(size: int, corpus_seed: int) -> list[Record]:
    """The embedded corpus (``data.embedded=reviews``): ``size`` reviews from ``make_reviews``."""
    texts, labels = make_reviews(size, corpus_seed)
    return [
        Record(f"review {i}", text, LABELS[label])
        for i, (text, label) in enumerate(zip(texts, labels, strict=True))
    ]
