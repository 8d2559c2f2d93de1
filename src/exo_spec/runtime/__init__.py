"""The runner runtime: a task loop over the generated machine."""
