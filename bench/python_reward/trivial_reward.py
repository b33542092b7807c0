# The bench's trivial Python reward: exactly the C++ `length_penalty` reward with max_length 32, so both
# runs get the same rewards, train the same way and generate the same completions: only the call differs.
def length_penalty(completion_ids, **kwargs):
    return [-min(len(ids), 32) / 32 for ids in completion_ids]
