"""The EmoMV five-emotion taxonomy, in one place.

Every module that names an emotion imports it from here: the class indices used by the release and
the models, the spellings found in each release file, and the eight emotion pairs from which the
paper builds mismatched music-video pairs (section 3.1).
"""

from __future__ import annotations

from itertools import combinations

EMOTIONS: tuple[str, ...] = ("exciting", "fearful", "tense", "sad", "relaxing")
"""Canonical emotion names; the position of a name is its class index (as in the release CSVs)."""

NUM_EMOTIONS = len(EMOTIONS)

MATCH_LABELS: tuple[str, ...] = ("mismatched", "matched")
"""Names of the correspondence classes; index 1 (matched) is the positive class."""

EMOTION_TO_INDEX: dict[str, int] = {name: index for index, name in enumerate(EMOTIONS)}

# Spellings seen in the release: pair CSVs of EmoMV-A use lower case ("exciting", "fear"), EmoMV-B/C use
# capitalised short forms ("Exciting", "Fear", "Relax"), and the MVED retrieval folders of EmoMV-A use
# "Excited", "Fear", "Tension", "Sad", "Relaxation". Lookup is case-insensitive.
_SPELLINGS: dict[str, tuple[str, ...]] = {
    "exciting": ("exciting", "excited", "excitement"),
    "fearful": ("fearful", "fear", "scary", "scared"),
    "tense": ("tense", "tension"),
    "sad": ("sad", "sadness"),
    "relaxing": ("relaxing", "relax", "relaxed", "relaxation"),
}
SPELLING_TO_EMOTION: dict[str, str] = {
    spelling: emotion for emotion, spellings in _SPELLINGS.items() for spelling in spellings
}

# Fearful-tense and sad-relaxing are excluded: the paper finds their music too alike to call a mismatch.
EXCLUDED_MISMATCH_PAIRS: frozenset[frozenset[str]] = frozenset(
    {frozenset({"fearful", "tense"}), frozenset({"sad", "relaxing"})}
)
ALLOWED_MISMATCH_PAIRS: tuple[tuple[str, str], ...] = tuple(
    (a, b) for a, b in combinations(EMOTIONS, 2) if frozenset({a, b}) not in EXCLUDED_MISMATCH_PAIRS
)
"""The eight unordered emotion pairs allowed in a mismatched music-video pair, in a fixed order."""


class UnknownEmotionError(ValueError):
    """Raised for an emotion name that matches none of the known spellings."""


def normalize_emotion(name: str) -> str:
    """Map any release spelling (``"Fear"``, ``"relax"``, ``"Tension"``) to its canonical name."""
    key = name.strip().lower()
    try:
        return SPELLING_TO_EMOTION[key]
    except KeyError:
        known = ", ".join(sorted(SPELLING_TO_EMOTION))
        raise UnknownEmotionError(f"unknown emotion {name!r}; known spellings: {known}") from None


def emotion_index(name: str) -> int:
    """Class index (0-4) of an emotion given in any release spelling."""
    return EMOTION_TO_INDEX[normalize_emotion(name)]


def emotion_name(index: int) -> str:
    """Canonical name of an emotion class index."""
    if not 0 <= int(index) < NUM_EMOTIONS:
        raise ValueError(f"emotion index {index} is out of range 0..{NUM_EMOTIONS - 1}")
    return EMOTIONS[int(index)]


def is_allowed_mismatch(first: str | int, second: str | int) -> bool:
    """Whether a video of one emotion and music of another may form a mismatched pair."""
    a = emotion_name(first) if isinstance(first, int) else normalize_emotion(first)
    b = emotion_name(second) if isinstance(second, int) else normalize_emotion(second)
    return a != b and frozenset({a, b}) not in EXCLUDED_MISMATCH_PAIRS
