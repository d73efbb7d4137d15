"""ClickNet: the local PyTorch click-segmentation model (the ``torch`` backend)."""
from .finetune import fine_tune
from .network import ClickNet, ClickNetConfig
from .segmenter import ClickNetSegmenter
from .weights import DEFAULT_WEIGHTS, WeightsError, load_weights, save_weights

__all__ = ["ClickNet", "ClickNetConfig", "ClickNetSegmenter", "DEFAULT_WEIGHTS", "WeightsError", "fine_tune", "load_weights", "save_weights"]
