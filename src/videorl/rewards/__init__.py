"""Learned and baseline rewards: HOLD distance models (hold.py) with their training data
(distance_data.py), Appendix B metrics (distance_metrics.py) and training loop
(distance_training.py), the goal-reaching reward with subgoal chains (shaping.py), the
paper's baseline distances (baselines.py), goal images (goals.py), and a run's reward built
from its config section in one call (build.py)."""
