"""Getting releases in: a press office's pages, text and feeds turned into release folders."""
