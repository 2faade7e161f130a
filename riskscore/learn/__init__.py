"""Simulate, train and evaluate on login logs."""
