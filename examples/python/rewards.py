# Reward functions written as for TRL's GRPOTrainer/GFPOTrainer: keyword arguments prompts, completions,
# completion_ids, trainer_state and every dataset column (here `answer`); one float or None per completion.
#
# accuracy_reward gives exactly what trl-host's C++ `accuracy` reward gives (default arguments: the last
# number of the completion against the `answer` column, numbers compared with a relative tolerance of 1e-6,
# otherwise trimmed text equality); tests/unit/python_reward_test.cpp checks the two agree.
import math
import re

_LAST_NUMBER = re.compile(r"(?<![0-9.])-?(?:[0-9]+(?:,[0-9]{3})*(?:\.[0-9]+)?|\.[0-9]+)")
_DECIMAL = re.compile(r"[-+]?(?:[0-9]+(?:,[0-9]{3})*(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][-+]?[0-9]+)?")
_FRACTION = re.compile(r"([-+]?[0-9]+)\s*/\s*([0-9]+)")
_ASCII_SPACE = " \t\n\v\f\r"


def _number(text):
    t = text.strip(_ASCII_SPACE)
    if t.startswith("$"):
        t = t[1:].strip(_ASCII_SPACE)
    if t.endswith("."):
        t = t[:-1]
    if not t:
        return None
    if _DECIMAL.fullmatch(t):
        value = float(t.replace(",", ""))
        return value if math.isfinite(value) else None
    m = _FRACTION.fullmatch(t)
    if m:
        denominator = float(m.group(2))
        return None if denominator == 0 else float(m.group(1)) / denominator
    return None


def _matches(predicted, reference, tolerance=1e-6):
    p, r = _number(predicted), _number(reference)
    if p is not None and r is not None:
        return abs(p - r) <= tolerance * max(1.0, abs(r))
    return predicted.strip(_ASCII_SPACE) == reference.strip(_ASCII_SPACE)


def accuracy_reward(completions, answer, **kwargs):
    """1.0 if the completion's last number is the answer, 0.0 if not, None where the row has no answer."""
    rewards = []
    for completion, reference in zip(completions, answer):
        if isinstance(completion, list):  # conversational: [{"role": "assistant", "content": ...}]
            completion = completion[0]["content"]
        if isinstance(reference, bool) or not isinstance(reference, (str, int, float)):
            rewards.append(None)  # no reference answer: not applicable
            continue
        numbers = _LAST_NUMBER.findall(completion)
        rewards.append(1.0 if numbers and _matches(numbers[-1], str(reference)) else 0.0)
    return rewards


def short_reward(completion_ids, trainer_state, **kwargs):
    """Prefers short completions, more so as training goes on (reads TRL's trainer_state)."""
    progress = trainer_state.global_step / max(1, trainer_state.max_steps)
    return [-progress * len(ids) / 64.0 for ids in completion_ids]
