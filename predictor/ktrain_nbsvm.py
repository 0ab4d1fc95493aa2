"""ktrain's NBSVM builder with its two Python loops done by NumPy: the same model, built in a fraction of the time.

ktrain 0.41.4's `_build_nbsvm` (ktrain/text/models.py) lists each training row's word and n-gram ids with a Python
comprehension over every one of its `maxlen` cells (2,000 in NBSVM_RECIPE), then copies the naive-Bayes ratios into
the embedding matrix one cell at a time. On 4,000 GoEmotions comments the first loop alone took 8.0 of the 8.3 s the
build took, and a multi-label model builds one NBSVM per label (28 for GoEmotions). Here the same document-term
matrix (the same row and column ids in the same order, so the same sums) and the same ratios are built with array
operations; the Keras model is then built exactly as ktrain builds it. tests/test_contracts.py checks that both
builders give the same weights and probabilities.

`install()` puts this builder in ktrain's place for the training process; the page and score.py never import it.
"""
import numpy as np


def build_nbsvm(num_classes, maxlen, max_features, features, loss_func="categorical_crossentropy",
                activation="softmax", metrics=("accuracy",), verbose=1, train_data=None):
    """ktrain's `_build_nbsvm`, same arguments and same model."""
    from ktrain import utils as U
    from ktrain.imports import keras
    from ktrain.text.models import calc_r
    from scipy.sparse import csr_matrix

    if train_data is None:
        raise ValueError("train_data is required")
    x_train, y_train = np.asarray(train_data[0]), train_data[1]
    labels = np.asarray(y_train).argmax(axis=1)
    columns = max(features) + 1
    rows, cells = np.nonzero(x_train > 0)  # row-major, as ktrain's loop lists them
    counts = csr_matrix((np.ones(len(rows), dtype=np.int64), (rows, x_train[rows, cells])),
                        shape=(len(x_train), columns))
    ratios = np.stack([calc_r(i, counts, labels).A1 for i in range(num_classes)]).T
    embedding = np.zeros((columns, num_classes))
    embedding[1:] = ratios[1:]  # id 0 is padding: no ratio

    inp = keras.layers.Input(shape=(maxlen,))
    r = keras.layers.Embedding(columns, num_classes, input_length=maxlen, weights=[embedding], trainable=False)(inp)
    x = keras.layers.Embedding(columns, 1, input_length=maxlen, embeddings_initializer="glorot_normal")(inp)
    x = keras.layers.dot([r, x], axes=1)
    x = keras.layers.Flatten()(x)
    x = keras.layers.Activation(activation)(x)
    model = keras.Model(inputs=inp, outputs=x)
    model.compile(loss=loss_func, optimizer=U.DEFAULT_OPT, metrics=list(metrics))
    return model


def install() -> None:
    """Make ktrain's text_classifier("nbsvm") use build_nbsvm (it looks the builder up by name on each call); ktrain's
    own stays beside it as `_build_nbsvm_by_ktrain`, for the test that compares the two."""
    from ktrain.text import models

    if models._build_nbsvm is not build_nbsvm:
        models._build_nbsvm_by_ktrain = models._build_nbsvm
        models._build_nbsvm = build_nbsvm
