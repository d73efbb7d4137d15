"""ClickNet: a heavy encoder run once per object crop, a light decoder run per click.

The split follows SAM/MobileSAM (encode once, decode per prompt) with RITM's
click encoding: the encoder sees the crop, the extreme-point heatmap and
colour and GrabCut cues; the decoder sees the cached encoder features plus disk maps of
positive/negative/boundary clicks and the previous mask, at quarter
resolution where convolutions are cheap, with a half-resolution skip to recover
edges.  Sized for training from scratch on a shared 2-core CPU.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, fields

import torch
import torch.nn.functional as F
from torch import nn

from .inputs import CLICK_CHANNELS, ENCODER_CHANNELS


@dataclass(frozen=True)
class ClickNetConfig:
    """Architecture and input geometry; stored in the weights file so a mismatch is caught on load."""

    crop_size: int = 128
    margin: float = 0.1
    extreme_sigma: float = 3.0
    click_radius: int = 4
    widths: tuple[int, ...] = (24, 48, 96, 128)
    feature_width: int = 64
    decoder_width: int = 48
    refine_width: int = 16
    grabcut_iterations: int = 0  # > 0: GrabCut's mask on the crop is an extra encoder input
    prompt_channel: bool = False  # True: a channel tells extreme-point starts from box starts

    @property
    def encoder_channels(self) -> int:
        return ENCODER_CHANNELS + (1 if self.grabcut_iterations > 0 else 0) + (1 if self.prompt_channel else 0)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "ClickNetConfig":
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown ClickNet config fields {sorted(unknown)}: the weights come from a newer version")
        values = dict(data)
        if "widths" in values:
            values["widths"] = tuple(int(v) for v in values["widths"])
        return cls(**values)


def conv_bn(cin: int, cout: int, stride: int = 1, dilation: int = 1, norm: bool = True) -> nn.Sequential:
    """3x3 conv + BatchNorm + ReLU, or conv with bias + ReLU when ``norm`` is off."""
    conv = nn.Conv2d(cin, cout, 3, stride, padding=dilation, dilation=dilation, bias=not norm)
    layers = [conv, nn.BatchNorm2d(cout)] if norm else [conv]
    return nn.Sequential(*layers, nn.ReLU(inplace=True))


class Residual(nn.Module):
    """Two 3x3 convs with a skip: trains from scratch without a pretrained start."""

    def __init__(self, width: int, dilation: int = 1, norm: bool = True) -> None:
        super().__init__()
        conv = nn.Conv2d(width, width, 3, padding=dilation, dilation=dilation, bias=not norm)
        self.body = nn.Sequential(conv_bn(width, width, dilation=dilation, norm=norm), conv, *([nn.BatchNorm2d(width)] if norm else []))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(x + self.body(x))


class Encoder(nn.Module):
    """Strides 2-16; returns the half-resolution skip and the fused quarter-resolution features."""

    def __init__(self, config: ClickNetConfig) -> None:
        super().__init__()
        w1, w2, w3, w4 = config.widths
        self.stage1 = nn.Sequential(conv_bn(config.encoder_channels, w1, 2), conv_bn(w1, w1))
        self.stage2 = nn.Sequential(conv_bn(w1, w2, 2), Residual(w2))
        self.stage3 = nn.Sequential(conv_bn(w2, w3, 2), Residual(w3), Residual(w3, dilation=2))
        self.stage4 = nn.Sequential(conv_bn(w3, w4, 2), Residual(w4), Residual(w4, dilation=2))
        f = config.feature_width
        self.lateral2 = nn.Conv2d(w2, f, 1)
        self.lateral3 = nn.Conv2d(w3, f, 1)
        self.lateral4 = nn.Conv2d(w4 * 2, f, 1)  # stage-4 features plus their global average (object context)
        self.fuse = conv_bn(f, f)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        s1 = self.stage1(x)
        s2 = self.stage2(s1)
        s3 = self.stage3(s2)
        s4 = self.stage4(s3)
        pooled = s4.mean(dim=(2, 3), keepdim=True).expand_as(s4)
        top = self.lateral4(torch.cat([s4, pooled], 1))
        mid = self.lateral3(s3) + F.interpolate(top, size=s3.shape[-2:], mode="bilinear", align_corners=False)
        quarter = self.lateral2(s2) + F.interpolate(mid, size=s2.shape[-2:], mode="bilinear", align_corners=False)
        return s1, self.fuse(quarter)


class Decoder(nn.Module):
    """Per-click step: click maps meet the cached features at quarter resolution.

    No BatchNorm here: during training every decoder pass of a batch shares
    one click round (all with or all without a previous mask), so batch
    statistics normalised the previous-mask signal away, and with running
    statistics at inference a previous mask wrecked the output (measured:
    IoU 0.91 -> 0.03 on the first corrective click).
    """

    def __init__(self, config: ClickNetConfig) -> None:
        super().__init__()
        clicks = len(CLICK_CHANNELS)
        d, f, w1, r = config.decoder_width, config.feature_width, config.widths[0], config.refine_width
        self.click_encoder = nn.Sequential(conv_bn(clicks, 16, 2, norm=False), conv_bn(16, 32, 2, norm=False))
        self.body = nn.Sequential(conv_bn(f + 32, d, norm=False), Residual(d, dilation=2, norm=False))
        self.refine = nn.Sequential(conv_bn(d + w1 + clicks, r, norm=False), conv_bn(r, r, norm=False))
        self.head = nn.Conv2d(r, 1, 1)

    def forward(self, skip: torch.Tensor, features: torch.Tensor, clicks: torch.Tensor) -> torch.Tensor:
        x = self.body(torch.cat([features, self.click_encoder(clicks)], 1))
        x = F.interpolate(x, size=skip.shape[-2:], mode="bilinear", align_corners=False)
        half_clicks = F.interpolate(clicks, size=skip.shape[-2:], mode="bilinear", align_corners=False)
        x = self.refine(torch.cat([x, skip, half_clicks], 1))
        return F.interpolate(self.head(x), size=clicks.shape[-2:], mode="bilinear", align_corners=False)


class ClickNet(nn.Module):
    def __init__(self, config: ClickNetConfig | None = None) -> None:
        super().__init__()
        self.config = config or ClickNetConfig()
        self.encoder = Encoder(self.config)
        self.decoder = Decoder(self.config)

    def encode(self, image_maps: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """``(N, config.encoder_channels, S, S)`` -> cacheable features."""
        return self.encoder(image_maps)

    def decode(self, features: tuple[torch.Tensor, ...], click_maps: torch.Tensor) -> torch.Tensor:
        """Cached features + ``(N, len(CLICK_CHANNELS), S, S)`` -> logits ``(N, 1, S, S)``."""
        return self.decoder(*features, click_maps)

    def forward(self, image_maps: torch.Tensor, click_maps: torch.Tensor) -> torch.Tensor:
        return self.decode(self.encode(image_maps), click_maps)
