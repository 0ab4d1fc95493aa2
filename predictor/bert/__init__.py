"""BERT as this project uses it: its word-piece tokenizer (tokenizer.py), never TensorFlow on the scoring path."""
