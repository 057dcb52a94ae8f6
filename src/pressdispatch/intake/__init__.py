"""Getting releases in: pure readers that turn a press office page into release values."""
