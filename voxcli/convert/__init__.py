"""Converting a book: the plan, speaking into the sentence cache, chapter audio and files, the audiobook."""
