"""Tools that build and check the book (not used by chapters): the notebook/source sync check, the check of a
built site, the student copy of a chapter."""
