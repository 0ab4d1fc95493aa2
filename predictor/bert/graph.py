"""The fine-tuned BERT classifier as an ONNX graph, written from its weights: what scoring runs.

ktrain's 'bert' classifier is keras_bert's encoder with a head on [CLS]. Its arithmetic is small and fixed, so the
graph is written here, layer by layer, from the weights as NumPy arrays, instead of converting the Keras graph with
tf2onnx. Why:

- Memory and time at save: tf2onnx copied and optimised the whole traced graph, which made the export the peak of
  every training run (5.3 GB on its own for the sample, 6.95 GB for the run; issue 24). Writing the graph from the
  weights costs about their size (90 MB for MiniLM-L6) and a second.
- Token ids enter as int64 and feed the embedding's Gather directly. keras_bert's inputs are float32, and a graph
  that kept them float could not run in bfloat16: bf16 holds integers exactly only up to 256, so ids above it
  gathered the wrong embedding rows (69% label agreement with fp32 on IMDB windows; 99.9% once ids were int64).
- The last layer computes only what the head reads: [CLS]'s query, attention output and feed-forward, over every
  position's keys and values. The other positions' outputs of that layer were computed and thrown away (about a
  seventh of a 6-layer model's work).

Every graph is checked against the Keras model before a folder is saved (predictor/bert/runtime.py), so a mistake here
cannot reach a user: it stops the run.

What keras_bert computes, and so this graph (keras_bert/bert.py, keras_transformer, keras_multi_head):
embeddings = LayerNorm(token[ids] + segment[0] + position[:length]); each of the layers is
x = LayerNorm(x + Attention(x)); x = LayerNorm(x + W2 gelu(W1 x)), with keras_transformer's tanh approximation of
GELU and LayerNorm's epsilon K.epsilon()**2 = 1e-14; attention subtracts 10000 from the scores of padding keys (id 0);
the head is dense(tanh) on [CLS], then dense with softmax (single-label) or sigmoid (multi-label). Dropout does
nothing at inference. Every row is one text: segment ids are all 0, so the segment embedding's row 0 is added to the
position table once, here.

Never imports TensorFlow: it takes the weights as arrays (`weights_of` reads them off a Keras model).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

OPSET = 17  # LayerNormalization is a standard op from 17; onnxruntime and OpenVINO both run it
IR_VERSION = 8  # the ONNX file format of opset 17 (onnx's default is newer than onnxruntime 1.31 reads)
INPUT = "ids"  # int64 [rows, length]: word-piece ids, 0 for padding
OUTPUT = "probabilities"  # float32 [rows, classes]
LAYER_NORM_EPSILON = 1e-14  # keras_layer_normalization's default, K.epsilon() ** 2
MASKED_SCORE = 10000.0  # keras_self_attention subtracts this from attention scores of padding keys
GELU_C = math.sqrt(2 / math.pi)  # keras_transformer's gelu: 0.5 x (1 + tanh(c (x + 0.044715 x^3)))
ACTIVATIONS = ("softmax", "sigmoid")


@dataclass(frozen=True)
class ClassifierWeights:
    """Everything the graph needs: keras_bert's weights by layer name (as Keras names them), the head count and the
    output activation."""

    arrays: dict[str, list[np.ndarray]]  # layer name -> its weights in Keras' order
    heads: int
    layers: int
    activation: str  # "softmax" or "sigmoid"


def weights_of(model: object) -> ClassifierWeights:
    """The weights of ktrain's 'bert' classifier (a Keras model), as arrays; ValueError if it is not one."""
    arrays = {layer.name: [np.asarray(w, np.float32) for w in layer.get_weights()] for layer in model.layers
              if layer.get_weights()}
    layers = sum(1 for name in arrays if name.endswith("-MultiHeadSelfAttention"))
    attention = [layer for layer in model.layers if layer.name == "Encoder-1-MultiHeadSelfAttention"]
    head = model.layers[-1]
    activation = head.get_config().get("activation")
    if not layers or not attention or activation not in ACTIVATIONS or "NSP-Dense" not in arrays:
        raise ValueError("not ktrain's 'bert' classifier: expected keras_bert's Encoder-N layers, NSP-Dense and a "
                         f"dense {'/'.join(ACTIVATIONS)} head")
    arrays["head"] = arrays.pop(head.name)
    return ClassifierWeights(arrays, int(attention[0].get_config()["head_num"]), layers, activation)


def write(weights: ClassifierWeights, path: Path) -> Path:
    """Write the classifier's graph to `path` (ids in, probabilities out) and check it with onnx's checker; returns
    the path. The graph is built inside the model it is saved from, so the weights are held in memory at most three
    times over (as arrays, as tensors, in the model) rather than copied from graph to model."""
    import onnx

    model = onnx.ModelProto(ir_version=IR_VERSION, producer_name="review-predictor")
    model.opset_import.append(onnx.helper.make_opsetid("", OPSET))
    _Graph(weights, model.graph).build()
    onnx.save_model(model, str(path))
    del model
    onnx.checker.check_model(str(path))  # from the file: no second copy in memory
    return Path(path)


class _Graph:
    """Builds the graph's nodes and initializers, naming each value after the Keras layer it comes from."""

    def __init__(self, weights: ClassifierWeights, graph):
        self.w, self.graph, self.nodes, self._names = weights, graph, [], set()

    def build(self) -> None:
        """Fill the graph (an empty onnx GraphProto) with the classifier."""
        from onnx import TensorProto, helper

        w = self.w.arrays
        hidden = w["Embedding-Token"][0].shape[1]
        # Token rows gathered by id; segment 0 and the positions up to the batch's length added in one table.
        positions = self.constant("position_and_segment", w["Embedding-Position"][0] + w["Embedding-Segment"][0][0])
        length = self.op("Shape", [INPUT], start=1, end=2)  # [length]
        position_rows = self.op("Slice", [positions, self.constant("zero", np.array([0], np.int64)), length,
                                          self.constant("axis0", np.array([0], np.int64))])
        tokens = self.op("Gather", [self.constant("token_embeddings", w["Embedding-Token"][0]), INPUT])
        x = self.layer_norm(self.op("Add", [tokens, position_rows]), "Embedding-Norm")
        # keras_bert's mask: scores of padding keys (id 0) lowered by MASKED_SCORE. [rows, 1, 1, length]
        padding = self.op("Cast", [self.op("Equal", [INPUT, self.constant("pad_id", np.array(0, np.int64))])],
                          to=TensorProto.FLOAT)
        mask = self.op("Unsqueeze", [self.op("Mul", [padding, self.constant("masked", np.float32(-MASKED_SCORE))]),
                                     self.constant("axes12", np.array([1, 2], np.int64))])
        for n in range(1, self.w.layers + 1):
            x = self.encoder(x, mask, n, hidden, last=n == self.w.layers)
        cls = self.op("Reshape", [x, self.constant("rows_by_hidden", np.array([-1, hidden], np.int64))])
        pooled = self.op("Tanh", [self.dense(cls, "NSP-Dense")])
        logits = self.dense(pooled, "head")
        outputs = self.op("Softmax", [logits], axis=-1) if self.w.activation == "softmax" else \
            self.op("Sigmoid", [logits])
        self.nodes.append(helper.make_node("Identity", [outputs], [OUTPUT]))
        self.graph.name = "bert_classifier"
        self.graph.node.extend(self.nodes)
        self.graph.input.append(helper.make_tensor_value_info(INPUT, TensorProto.INT64, ["rows", "length"]))
        self.graph.output.append(helper.make_tensor_value_info(OUTPUT, TensorProto.FLOAT,
                                                               ["rows", self.w.arrays["head"][1].shape[0]]))

    def encoder(self, x: str, mask: str, n: int, hidden: int, last: bool) -> str:
        """One keras_transformer encoder layer (post-norm). The last one keeps only [CLS]'s row: the head reads
        nothing else."""
        name = f"Encoder-{n}"
        wq, bq, wk, bk, wv, bv, wo, bo = self.w.arrays[f"{name}-MultiHeadSelfAttention"]
        heads, size = self.w.heads, hidden // self.w.heads
        query_input = self.op("Slice", [x, self.constant("zero", np.array([0], np.int64)),
                                        self.constant("one", np.array([1], np.int64)),
                                        self.constant("axis1", np.array([1], np.int64))]) if last else x
        by_head = self.constant("by_head", np.array([0, 0, heads, size], np.int64))
        split = lambda t: self.op("Transpose", [self.op("Reshape", [t, by_head])], perm=[0, 2, 1, 3])  # noqa: E731
        q = split(self.linear(query_input, wq, bq, f"{name}-q"))
        k = split(self.linear(x, wk, bk, f"{name}-k"))
        v = split(self.linear(x, wv, bv, f"{name}-v"))
        scores = self.op("MatMul", [q, self.op("Transpose", [k], perm=[0, 1, 3, 2])])
        scores = self.op("Add", [self.op("Div", [scores, self.constant(f"sqrt_{size}", np.float32(math.sqrt(size)))]),
                                 mask])
        attended = self.op("MatMul", [self.op("Softmax", [scores], axis=-1), v])
        merged = self.op("Reshape", [self.op("Transpose", [attended], perm=[0, 2, 1, 3]),
                                     self.constant("merge_heads", np.array([0, 0, hidden], np.int64))])
        x = self.layer_norm(self.op("Add", [query_input, self.linear(merged, wo, bo, f"{name}-o")]),
                            f"{name}-MultiHeadSelfAttention-Norm")
        w1, b1, w2, b2 = self.w.arrays[f"{name}-FeedForward"]
        inner = self.gelu(self.linear(x, w1, b1, f"{name}-ff1"))
        return self.layer_norm(self.op("Add", [x, self.linear(inner, w2, b2, f"{name}-ff2")]),
                               f"{name}-FeedForward-Norm")

    def dense(self, x: str, layer: str) -> str:
        kernel, bias = self.w.arrays[layer]
        return self.linear(x, kernel, bias, layer)

    def linear(self, x: str, kernel: np.ndarray, bias: np.ndarray, name: str) -> str:
        return self.op("Add", [self.op("MatMul", [x, self.constant(f"{name}/kernel", kernel)]),
                               self.constant(f"{name}/bias", bias)])

    def layer_norm(self, x: str, layer: str) -> str:
        gamma, beta = self.w.arrays[layer]
        return self.op("LayerNormalization", [x, self.constant(f"{layer}/gamma", gamma),
                                              self.constant(f"{layer}/beta", beta)],
                       axis=-1, epsilon=LAYER_NORM_EPSILON)

    def gelu(self, x: str) -> str:
        cube = self.op("Mul", [self.op("Mul", [x, x]), x])
        inner = self.op("Add", [x, self.op("Mul", [cube, self.constant("gelu_a", np.float32(0.044715))])])
        tanh = self.op("Tanh", [self.op("Mul", [inner, self.constant("gelu_c", np.float32(GELU_C))])])
        half_x = self.op("Mul", [x, self.constant("half", np.float32(0.5))])
        return self.op("Mul", [half_x, self.op("Add", [tanh, self.constant("one_f", np.float32(1.0))])])

    def constant(self, name: str, value: np.ndarray) -> str:
        """An initializer, added once per name."""
        from onnx import numpy_helper

        if name not in self._names:
            self._names.add(name)
            # A copy; the temporary goes.
            self.graph.initializer.append(numpy_helper.from_array(np.asarray(value), name))
        return name

    def op(self, kind: str, inputs: list[str], **attributes) -> str:
        from onnx import helper

        output = f"{kind}_{len(self.nodes)}"
        self.nodes.append(helper.make_node(kind, inputs, [output], **attributes))
        return output
