"""Getting releases in: a press office's pages and text turned into release values."""
