"""Evaluation: classifiers, the chooser, the filters, neighbours, fidelity and its extractors,
validity, the gate, stage 03's judging glue, the oracle, the downstream checks and the verdicts
across units. Imports only the layers below."""
