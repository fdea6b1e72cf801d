"""Value theories, metrics, benchmark loaders/exporters and reports."""
