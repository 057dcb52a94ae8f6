"""Getting releases in: pages, text and feeds from a press office's website, read into releases."""
