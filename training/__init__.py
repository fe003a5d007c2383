"""Training: feature tables -> leakage audit -> LightGBM -> calibration -> MLflow run."""
