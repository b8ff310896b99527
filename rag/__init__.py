"""Question answering with citations over inspection reports."""
