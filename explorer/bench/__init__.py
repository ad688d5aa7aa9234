"""`explorer bench`: one performance table, each row measured beside its reference in one run."""
