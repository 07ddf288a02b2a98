"""Learned and baseline rewards: HOLD distance models (hold.py), the goal-reaching reward with
subgoal chains (shaping.py) and the paper's baseline distances (baselines.py)."""
