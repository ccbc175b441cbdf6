"""Source readers: each returns the source as a polars frame, columns as the source names them."""
