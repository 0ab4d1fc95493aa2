"""BERT as this project uses it: pretrained.py (the pretrained checkpoints ktrain fine-tunes), tokenizer.py (texts
to word-piece ids, for every reading), graph.py (the fine-tuned classifier written as an ONNX graph from its weights)
and runtime.py (that graph checked and run by OpenVINO). Scoring uses tokenizer.py and runtime.py, neither of which
imports TensorFlow (tests/test_lean.py)."""
