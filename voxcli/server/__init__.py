"""The speech server: the FastAPI app, the speech queue and streaming encoders."""
