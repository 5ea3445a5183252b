"""Drawing and writing the sample catalog; `data/make_sample_data.py` runs it."""
