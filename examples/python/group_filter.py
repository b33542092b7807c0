# The GroupFilter of TRL's GFPO documentation page, verbatim: it scores each completion by its position in
# its group, so the trainer keeps the last num_remains_in_group completions of every group.
class GroupFilter:
    def __call__(self, group_completions, group_rewards, **kwargs):
        group_scores = []
        for completions, rewards in zip(group_completions, group_rewards):
            scores = [float(i) for i in range(len(completions))]
            group_scores.append(scores)
        return group_scores
