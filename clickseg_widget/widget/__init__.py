"""The notebook labeling widget (ipywidgets + ipycanvas)."""
from .widget import ClickSegWidget

__all__ = ["ClickSegWidget"]
