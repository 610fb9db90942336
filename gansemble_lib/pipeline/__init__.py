"""Running the pipeline: stage declarations, code dependencies, dvc.yaml, notebook inputs,
the notebook runner, the Dask scheduler of the units, dataset runs. The top layer below the
command line."""
