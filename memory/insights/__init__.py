"""Insights across a tenant's users: the holdout experiment, belief themes, churn risk."""
