"""Where the ledger lives: store URLs (`urls.py`), the recorders that keep the event-id index
beside the library's rows (`recorders.py`), and the Parquet cache of the event frame
(`frame_cache.py`)."""
