"""Which device TensorFlow trains on, and the defaults that suit it."""
import os
import platform
from dataclasses import dataclass

# Longest input (word pieces) the automatic maxlen may pick. On a CPU every extra token costs: 128 trains about
# 2.5x faster than 256 (shared/notes/stack-facts.md); a GPU can afford more of each review.
MAXLEN_CAP = {"cpu": 128, "gpu": 256}
BATCH_SIZE = {"cpu": 32, "gpu": 32}  # BERT fine-tuning's usual 32 fits MiniLM and BERT-base at these maxlens


@dataclass(frozen=True)
class Device:
    kind: str  # "cpu" or "gpu"
    name: str

    @property
    def maxlen_cap(self) -> int:
        return MAXLEN_CAP[self.kind]

    @property
    def batch_size(self) -> int:
        return BATCH_SIZE[self.kind]


def detect_device() -> Device:
    """The first GPU TensorFlow sees (allowed to grow its memory), else the CPU."""
    import tensorflow as tf

    gpus = tf.config.list_physical_devices("GPU")
    if gpus:
        for gpu in gpus:
            # Without this TF grabs all GPU memory up front, starving anything else on the box.
            tf.config.experimental.set_memory_growth(gpu, True)
        details = tf.config.experimental.get_device_details(gpus[0])
        return Device("gpu", details.get("device_name", gpus[0].name))
    return Device("cpu", f"{cpu_model()}, {os.cpu_count()} cores")


def cpu_model() -> str:
    """The CPU's marketing name where Linux tells it, else what platform knows."""
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "CPU"
