"""Charts from heping-sd results Datasets (they never re-run the model)."""
