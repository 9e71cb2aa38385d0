"""Brian2 engine (optional extra ``spikeattn[brian2]``); imports brian2 only when run."""
