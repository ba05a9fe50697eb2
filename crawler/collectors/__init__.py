"""Page-side collectors of a browser visit; the interface is in `base.py`."""
