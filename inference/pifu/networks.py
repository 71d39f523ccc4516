"""PIFu's shape network (`net_G`) and colour network (`net_C`), laid out so that the authors' released raw state
dicts load with strict key matching (the settings of those weights are in ../shared/reference/MODELS.md).

Shape: image [B,3,512,512] in [-1,1] (masked) -> HGFilter (4 stacked hourglasses) -> features [B,256,128,128];
a point's feature (bilinear, align_corners=True) plus its depth feature -> residual MLP 257->...->1, sigmoid.
Colour: ResnetFilter features [B,256,128,128], concatenated after the shape features (512 channels), plus the
depth feature -> residual MLP 513->...->3, tanh.

Module and attribute names are part of the file format: they must not change.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

GROUPS = 32  # GroupNorm(32) everywhere in the released weights
DEPTH_SCALE = (512 // 2) / 200.0  # PIFu's DepthNormalizer: z * (loadSize/2) / z_size


def _gn(channels: int) -> nn.GroupNorm:
    return nn.GroupNorm(GROUPS, channels)


def _conv3x3(cin: int, cout: int) -> nn.Conv2d:
    return nn.Conv2d(cin, cout, 3, stride=1, padding=1, bias=False)


class ConvBlock(nn.Module):
    """Pre-activation block with three 3x3 branches (out/2, out/4, out/4 channels) concatenated, plus a shortcut.

    `bn4` is the shortcut's norm; it is also `downsample.0`, so a checkpoint holds it under both names.
    [B,cin,H,W] -> [B,cout,H,W].
    """

    def __init__(self, cin: int, cout: int):
        super().__init__()
        self.conv1 = _conv3x3(cin, cout // 2)
        self.conv2 = _conv3x3(cout // 2, cout // 4)
        self.conv3 = _conv3x3(cout // 4, cout // 4)
        self.bn1 = _gn(cin)
        self.bn2 = _gn(cout // 2)
        self.bn3 = _gn(cout // 4)
        self.bn4 = _gn(cin)
        if cin != cout:
            self.downsample = nn.Sequential(self.bn4, nn.ReLU(True), nn.Conv2d(cin, cout, 1, bias=False))
        else:
            self.downsample = None

    def forward(self, x):
        out1 = self.conv1(F.relu(self.bn1(x)))
        out2 = self.conv2(F.relu(self.bn2(out1)))
        out3 = self.conv3(F.relu(self.bn3(out2)))
        out = torch.cat((out1, out2, out3), 1)
        residual = x if self.downsample is None else self.downsample(x)
        return out + residual


class HourGlass(nn.Module):
    """Recursive hourglass of ConvBlocks named `b1_L`, `b2_L`, `b2_plus_1`, `b3_L` (L = level, depth..1).

    Average-pool down, bicubic (align_corners=True) up. [B,C,H,W] -> [B,C,H,W], H and W divisible by 2**depth.
    """

    def __init__(self, depth: int, features: int):
        super().__init__()
        self.depth = depth
        self._build(depth, features)

    def _build(self, level: int, features: int):
        # Registration order decides the state-dict order: b1, b2, (deeper levels | b2_plus), b3.
        self.add_module(f"b1_{level}", ConvBlock(features, features))
        self.add_module(f"b2_{level}", ConvBlock(features, features))
        if level > 1:
            self._build(level - 1, features)
        else:
            self.add_module(f"b2_plus_{level}", ConvBlock(features, features))
        self.add_module(f"b3_{level}", ConvBlock(features, features))

    def _forward(self, level: int, x):
        up1 = self._modules[f"b1_{level}"](x)
        low = self._modules[f"b2_{level}"](F.avg_pool2d(x, 2, stride=2))
        if level > 1:
            low = self._forward(level - 1, low)
        else:
            low = self._modules[f"b2_plus_{level}"](low)
        low = self._modules[f"b3_{level}"](low)
        return up1 + F.interpolate(low, scale_factor=2, mode="bicubic", align_corners=True)

    def forward(self, x):
        return self._forward(self.depth, x)


class HGFilter(nn.Module):
    """Stacked-hourglass image filter. [B,3,H,W] -> list of `stacks` feature maps [B,256,H/4,W/4]."""

    def __init__(self, stacks: int = 4, depth: int = 2, width: int = 256, out_dim: int = 256):
        super().__init__()
        self.stacks = stacks
        self.conv1 = nn.Conv2d(3, 64, 7, stride=2, padding=3)
        self.bn1 = _gn(64)
        self.conv2 = ConvBlock(64, 128)
        self.conv3 = ConvBlock(128, 128)
        self.conv4 = ConvBlock(128, width)
        for i in range(stacks):
            self.add_module(f"m{i}", HourGlass(depth, width))
            self.add_module(f"top_m_{i}", ConvBlock(width, width))
            self.add_module(f"conv_last{i}", nn.Conv2d(width, width, 1))
            self.add_module(f"bn_end{i}", _gn(width))
            self.add_module(f"l{i}", nn.Conv2d(width, out_dim, 1))
            if i < stacks - 1:
                self.add_module(f"bl{i}", nn.Conv2d(width, width, 1))
                self.add_module(f"al{i}", nn.Conv2d(out_dim, width, 1))

    def forward(self, x):
        x = F.relu(self.bn1(self.conv1(x)))
        x = F.avg_pool2d(self.conv2(x), 2, stride=2)
        previous = self.conv4(self.conv3(x))
        outputs = []
        for i in range(self.stacks):
            ll = self._modules[f"top_m_{i}"](self._modules[f"m{i}"](previous))
            ll = F.relu(self._modules[f"bn_end{i}"](self._modules[f"conv_last{i}"](ll)))
            out = self._modules[f"l{i}"](ll)
            outputs.append(out)
            if i < self.stacks - 1:
                # Inter-stack merge: the next stack sees its input plus both projections of this one.
                previous = previous + self._modules[f"bl{i}"](ll) + self._modules[f"al{i}"](out)
        return outputs


class ResnetBlock(nn.Module):
    """Reflection-padded residual block; the last block of the filter has no final norm. [B,C,H,W] -> same."""

    def __init__(self, dim: int, last: bool = False):
        super().__init__()
        layers = [nn.ReflectionPad2d(1), nn.Conv2d(dim, dim, 3, bias=False), _gn(dim), nn.ReLU(True),
                  nn.ReflectionPad2d(1), nn.Conv2d(dim, dim, 3, bias=False)]
        if not last:
            layers.append(_gn(dim))
        self.conv_block = nn.Sequential(*layers)

    def forward(self, x):
        return x + self.conv_block(x)


class ResnetFilter(nn.Module):
    """Colour image filter: 7x7 conv, two stride-2 convs, 6 ResNet blocks. [B,3,H,W] -> [B,256,H/4,W/4]."""

    def __init__(self, ngf: int = 64, blocks: int = 6):
        super().__init__()
        layers = [nn.ReflectionPad2d(3), nn.Conv2d(3, ngf, 7, bias=False), _gn(ngf), nn.ReLU(True)]
        for i in range(2):
            c = ngf * 2 ** i
            layers += [nn.Conv2d(c, 2 * c, 3, stride=2, padding=1, bias=False), _gn(2 * c), nn.ReLU(True)]
        dim = ngf * 4
        layers += [ResnetBlock(dim, last=(i == blocks - 1)) for i in range(blocks)]
        self.model = nn.Sequential(*layers)

    def forward(self, x):
        return self.model(x)


class ResidualMLP(nn.Module):
    """PIFu's SurfaceClassifier with residual inputs: layer k>0 takes cat(previous output, input feature).

    1x1 Conv1d layers `conv0..convN`, leaky ReLU between them, `last_op` at the end.
    feature [B,dims[0],N] -> [B,dims[-1],N].
    """

    def __init__(self, dims, last_op: nn.Module):
        super().__init__()
        self.n = len(dims) - 1
        for k in range(self.n):
            cin = dims[k] + (dims[0] if k else 0)
            self.add_module(f"conv{k}", nn.Conv1d(cin, dims[k + 1], 1))
        self.last_op = last_op

    def forward(self, feature):
        y = feature
        for k in range(self.n):
            y = self._modules[f"conv{k}"](y if k == 0 else torch.cat([y, feature], 1))
            if k != self.n - 1:
                y = F.leaky_relu(y)
        return self.last_op(y)


def project(points, calib):
    """Orthographic projection. points [B,3,N], calib [B,4,4] -> xyz [B,3,N] = calib[:3,:3] @ p + calib[:3,3]."""
    return torch.baddbmm(calib[:, :3, 3:4], calib[:, :3, :3], points)


def sample_features(feat, xy):
    """feat [B,C,H,W], xy [B,2,N] in [-1,1] -> [B,C,N]: bilinear, align_corners=True, zeros outside."""
    grid = xy.transpose(1, 2).unsqueeze(2)  # [B,N,1,2]
    return F.grid_sample(feat, grid, mode="bilinear", align_corners=True)[..., 0]


class ShapeNet(nn.Module):
    """PIFu `net_G`: occupancy of 3D points given an image.

    `features = filter(image)` once per image, then `query(points, calib, features)`. The network keeps no
    per-image state, so one cached network serves several images (threads) at once.
    """

    def __init__(self):
        super().__init__()
        self.image_filter = HGFilter()
        self.surface_classifier = ResidualMLP([257, 1024, 512, 256, 128, 1], nn.Sigmoid())

    def filter(self, image):
        """image [B,3,H,W] -> features [B,256,H/4,W/4] (last stack; earlier stacks only matter in training)."""
        return self.image_filter(image)[-1]

    def query(self, points, calib, features):
        """points [B,3,N], calib [B,4,4], features from `filter` -> occupancy [B,1,N] in [0,1]; 0 outside the
        image square."""
        feat = features
        xyz = project(points, calib)
        xy, z = xyz[:, :2], xyz[:, 2:3]
        in_img = ((xy[:, 0] >= -1) & (xy[:, 0] <= 1) & (xy[:, 1] >= -1) & (xy[:, 1] <= 1))[:, None]
        point_feat = torch.cat([sample_features(feat, xy), z * DEPTH_SCALE], 1)
        return in_img.to(point_feat.dtype) * self.surface_classifier(point_feat)


class ColorNet(nn.Module):
    """PIFu `net_C`: colour (raw tanh, in [-1,1]) of 3D points given an image and the shape net's features.

    `features = filter(image, shape_features)` once per image, then `query(points, calib, features)` (no
    per-image state on the network).
    """

    def __init__(self):
        super().__init__()
        self.image_filter = ResnetFilter()
        self.surface_classifier = ResidualMLP([513, 1024, 512, 256, 128, 3], nn.Tanh())

    def filter(self, image, shape_features):
        """image [B,3,H,W], shape_features [B,256,H/4,W/4] -> features [B,512,H/4,W/4] (shape first)."""
        return torch.cat([shape_features, self.image_filter(image)], 1)

    def query(self, points, calib, features):
        """points [B,3,N], calib [B,4,4], features from `filter` -> colour [B,3,N] in [-1,1] (user colour =
        0.5*c + 0.5)."""
        feat = features
        xyz = project(points, calib)
        point_feat = torch.cat([sample_features(feat, xyz[:, :2]), xyz[:, 2:3] * DEPTH_SCALE], 1)
        return self.surface_classifier(point_feat)
