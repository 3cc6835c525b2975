"""`make bench`: the production configuration under a fixed, bounded load (see bench/run.py)."""
