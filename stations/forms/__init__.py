"""Forms of the one desk, one module per topic. They validate and normalise; they never save."""
