"""The hot path: rule, per-user snapshot, scoring, budget, render, the injection plan."""
