"""Neuron Selectivity Transfer (Huang & Wang, 2017): MMD between channel-map distributions.

Each channel of a feature map, flattened over space and L2-normalised, is one sample of a
distribution over R^HW. The student's channels and the teacher's channels are two sample sets;
NST matches them with the squared Maximum Mean Discrepancy

    MMD² = 1/Ct² Σᵢⱼ k(tᵢ, tⱼ) + 1/Cs² Σᵢⱼ k(sᵢ, sⱼ) − 2/(Cs·Ct) Σᵢⱼ k(sᵢ, tⱼ)

per image, and the loss is ``loss_weight · reduce(MMD²)``.

``loss_weight`` multiplies the loss, as in every MMDetection loss, and equals the ``kt_weight`` of
the authors' released code (TuSimple/neuron-selectivity-transfer, ``symbol/transfer.py``): that code
builds, per image, ``mean((S·Sᵀ + c)²) − 2·mean((S·Tᵀ + c)²)`` (``mean`` over the ``Cs×Cs`` and
``Cs×Ct`` kernel matrices of that image: MMD² minus the constant teacher–teacher term) and hands it
to ``MakeLoss(grad_scale=kt_weight)``, whose default ``normalization='null'`` back-propagates
``kt_weight`` into every image's term; MXNet's ``Module`` optimizer then rescales every gradient by
``1/batch`` (its default ``rescale_grad``), as it does the cross-entropy's. So the released student
gets ``kt_weight · mean over the batch of ∂MMD²``, which is ``loss_weight · mean(MMD²)`` here
(``reduction='mean'``). Its official setting is ``kernel='poly', degree=2, constant=0,
loss_weight=50``. The paper writes the same term as ``λ/2 · MMD²``: paper λ = 2 · ``loss_weight``.

Selectivity maps are normalised as in the released code (MXNet ``L2Normalization(eps=1e-10,
mode='spatial')``): ``x / sqrt(Σ x² + eps)`` over each channel's ``H·W`` values, ``eps=1e-10``. An
all-zero channel map stays zero and its gradient is bounded by ``1/sqrt(eps)`` times the gradient
reaching the normalised map (``F.normalize``'s ``x / max(‖x‖, eps)`` would give ``1/eps``).

The value reported is the true MMD², teacher–teacher term included, so it is zero when the student
equals the teacher. The teacher is a constant target: it is detached and its Gram is computed
without an autograd graph. Every form avoids the ``(B, Cs, Ct, HW)`` broadcast product:

* ``linear``:   MMD² = ‖s̄ − t̄‖² with s̄ the mean channel map, O(C·HW).
* ``poly``, d=2: MMD² = ‖SᵀS/Cs − TᵀT/Ct‖²_F + 2c·‖s̄ − t̄‖², evaluated either through the
  ``HW×HW`` Grams above ("spatial") or through the ``C×C`` Grams S·Sᵀ, T·Tᵀ, S·Tᵀ ("channel"),
  whichever costs fewer multiply-adds; ``gram`` forces one.
* ``poly``, other d, and ``gaussian``: the ``C×C`` Grams, with the kernel applied elementwise.

Arithmetic runs in float32 (float64 inputs stay float64), with autocast disabled, so bf16/fp16
features under AMP give the same loss as their float32 copies would.
"""
from __future__ import annotations

from typing import Callable, Optional

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from nst_det.losses.inputs import check_feature
from nst_det.utils.errors import InvalidInputError

ALIGN_MODES = ("pool", "interpolate", "none")
GRAM_MODES = ("auto", "channel", "spatial")
REDUCTIONS = ("mean", "sum", "none")
NST_WEIGHT = 50.0  # NSTLoss's default loss_weight: the released code's kt_weight (module docstring)


# --------------------------------------------------------------------------- input handling
def _check_finite(student: Tensor, teacher: Tensor) -> None:
    """Raise if either map holds NaN/Inf (one device sync for both)."""
    bad = torch.stack([~torch.isfinite(student).all(), ~torch.isfinite(teacher).all()]).tolist()
    for name, is_bad in zip(("student", "teacher"), bad):
        if is_bad:
            raise InvalidInputError(f"nst_loss: `{name}` features contain NaN or Inf")


def align_spatial(student: Tensor, teacher: Tensor, mode: str = "pool") -> tuple[Tensor, Tensor]:
    """Bring two ``(B, C, H, W)`` maps to one spatial size.

    Args:
        student: ``(B, Cs, Hs, Ws)``.
        teacher: ``(B, Ct, Ht, Wt)``.
        mode: ``"pool"`` average-pools whichever map is larger (per dimension) down to the smaller
            size; ``"interpolate"`` resizes the teacher bilinearly to the student's size;
            ``"none"`` requires equal sizes.

    Returns:
        ``(student, teacher)`` with equal ``(H, W)``.
    """
    if student.shape[-2:] == teacher.shape[-2:]:
        return student, teacher
    if mode == "pool":
        size = (min(student.shape[-2], teacher.shape[-2]), min(student.shape[-1], teacher.shape[-1]))
        if student.shape[-2:] != size:
            student = F.adaptive_avg_pool2d(student, size)
        if teacher.shape[-2:] != size:
            teacher = F.adaptive_avg_pool2d(teacher, size)
        return student, teacher
    if mode == "interpolate":
        teacher = F.interpolate(teacher, size=student.shape[-2:], mode="bilinear", align_corners=False)
        return student, teacher
    if mode == "none":
        raise InvalidInputError(
            f"nst_loss: spatial sizes differ (student {tuple(student.shape[-2:])}, teacher "
            f"{tuple(teacher.shape[-2:])}) and align='none'; use align='pool' or 'interpolate'")
    raise InvalidInputError(f"nst_loss: unknown align {mode!r}; choose one of {ALIGN_MODES}")


DEFAULT_EPS = 1e-10  # the released code's L2Normalization eps


def selectivity_maps(x: Tensor, eps: float = DEFAULT_EPS) -> Tensor:
    """Flatten ``(B, C, H, W)`` to ``(B, C, HW)`` and L2-normalise each channel's map over HW.

    ``x / sqrt(Σ x² + eps)``, the released code's normalisation: finite, with a bounded gradient,
    for an all-zero map.
    """
    flat = x.flatten(2)
    return flat * torch.rsqrt(flat.square().sum(2, keepdim=True) + eps)


# --------------------------------------------------------------------------- kernels
# Each kernel function maps selectivity maps S (B, Cs, HW) and detached T (B, Ct, HW) to MMD² (B,).
KernelFn = Callable[..., Tensor]
KERNELS: dict[str, KernelFn] = {}


def _register_kernel(name: str) -> Callable[[KernelFn], KernelFn]:
    def wrap(fn: KernelFn) -> KernelFn:
        KERNELS[name] = fn
        return fn
    return wrap


SPLIT_MIN_DEPTH = 32768  # on CUDA, Grams with a longer contraction are split (see _gram): FPN P2 sizes


def _gram(a: Tensor, b: Tensor) -> Tensor:
    """``(B, M, D) × (B, N, D) -> (B, M, N)`` inner products.

    On CUDA a long contraction against few outputs (FPN P2: D = 67200 pixels, M = N = 256 channels)
    leaves cuBLAS a handful of output tiles for the whole GPU; there the contraction is split in
    chunks, computed as one batch and summed (:func:`split_gram`).
    """
    depth = a.shape[2]
    if _splits_grams(a) and depth >= SPLIT_MIN_DEPTH:
        chunks = _split_chunks(depth, max(a.shape[1], b.shape[1]))
        if chunks > 1:
            return split_gram(a, b, chunks)
    return torch.bmm(a, b.transpose(1, 2))


def _splits_grams(x: Tensor) -> bool:
    """Whether long Grams of ``x`` are split: on CUDA (on CPU one matmul is already as fast)."""
    return x.is_cuda


def _split_chunks(depth: int, width: int, max_chunks: int = 64) -> int:
    """The largest divisor of ``depth`` up to ``min(max_chunks, depth / (4 · width))`` (1: no split)."""
    target = min(max_chunks, depth // (4 * width))
    return next((k for k in range(target, 1, -1) if depth % k == 0), 1)


def split_gram(a: Tensor, b: Tensor, chunks: int) -> Tensor:
    """:func:`_gram` with the contraction ``D`` cut in ``chunks`` equal parts; ``D % chunks == 0``.

    Each image's ``(M, D)`` is viewed, without a copy, as ``(chunks, M, D / chunks)`` (batch stride
    ``D / chunks``, row stride ``D``), so one strided-batched matmul per image does the work.
    """
    length = a.shape[2] // chunks

    def split(x: Tensor) -> Tensor:  # (M, D) -> (chunks, M, D / chunks), a view
        return x.unflatten(1, (chunks, length)).transpose(0, 1)

    return torch.stack([torch.bmm(split(x), split(y).transpose(1, 2)).sum(0) for x, y in zip(a, b)])


def _mean_map_distance(s: Tensor, t: Tensor) -> Tensor:
    """‖s̄ − t̄‖² per image, s̄ the mean over channels: ``(B,)``."""
    return (s.mean(1) - t.mean(1)).square().sum(1)


@_register_kernel("linear")
def _linear_mmd2(s: Tensor, t: Tensor) -> Tensor:
    """k(a, b) = a·b, so MMD² = ‖s̄ − t̄‖²."""
    return _mean_map_distance(s, t)


def choose_gram(cs: int, ct: int, hw: int) -> str:
    """Pick the cheaper Gram form for poly d=2: ``"spatial"`` (HW×HW) or ``"channel"`` (C×C).

    Multiply-adds per image: spatial ≈ HW²·(Cs + Ct), channel ≈ HW·(Cs² + Ct² + Cs·Ct).
    """
    return "spatial" if hw * (cs + ct) < cs * cs + ct * ct + cs * ct else "channel"


def _poly_spatial_d2(s: Tensor, t: Tensor, constant: float) -> Tensor:
    """MMD² = ‖SᵀS/Cs − TᵀT/Ct‖²_F + 2c‖s̄ − t̄‖² through ``(B, HW, HW)`` Grams."""
    cs, ct = s.shape[1], t.shape[1]
    student_gram = torch.bmm(s.transpose(1, 2), s) / cs
    with torch.no_grad():
        teacher_gram = torch.bmm(t.transpose(1, 2), t) / ct
    mmd2 = (student_gram - teacher_gram).square().sum((1, 2))
    if constant:
        mmd2 = mmd2 + 2.0 * constant * _mean_map_distance(s, t)
    return mmd2


def _poly_channel(s: Tensor, t: Tensor, degree: int, constant: float) -> Tensor:
    """The three kernel sums through ``(B, C, C)`` Grams, kernel (a·b + c)^d applied elementwise."""
    def kernel_mean(gram: Tensor) -> Tensor:
        return (gram + constant).pow(degree).mean((1, 2)) if constant else gram.pow(degree).mean((1, 2))

    with torch.no_grad():
        teacher_term = kernel_mean(_gram(t, t))
    return kernel_mean(_gram(s, s)) + teacher_term - 2.0 * kernel_mean(_gram(s, t))


@_register_kernel("poly")
def _poly_mmd2(s: Tensor, t: Tensor, degree: int = 2, constant: float = 0.0,
               gram: str = "auto") -> Tensor:
    """k(a, b) = (a·b + c)^d (paper: d=2, c=0)."""
    if not isinstance(degree, int) or degree < 1:
        raise InvalidInputError(f"nst_loss: `degree` must be a positive integer, got {degree!r}")
    if gram not in GRAM_MODES:
        raise InvalidInputError(f"nst_loss: unknown gram {gram!r}; choose one of {GRAM_MODES}")
    if degree == 1:  # (a·b + c): the constant cancels, leaving the linear kernel
        return _mean_map_distance(s, t)
    if degree != 2:
        if gram == "spatial":
            raise InvalidInputError("nst_loss: gram='spatial' exists only for poly degree 1 or 2")
        return _poly_channel(s, t, degree, constant)
    if gram == "auto":
        gram = choose_gram(s.shape[1], t.shape[1], s.shape[2])
    if gram == "spatial":
        return _poly_spatial_d2(s, t, constant)
    return _poly_channel(s, t, 2, constant)


@_register_kernel("gaussian")
def _gaussian_mmd2(s: Tensor, t: Tensor, sigma: Optional[float] = None) -> Tensor:
    """k(a, b) = exp(−‖a − b‖² / (2σ²)).

    ``sigma=None`` sets σ² per image to the mean squared distance over the Cs·Ct student–teacher
    pairs (as in the paper), treated as a constant (no gradient through σ).
    """
    s_sq = s.square().sum(2)  # (B, Cs); ≈1 (Σx²/(Σx² + eps)), 0 for an all-zero map
    with torch.no_grad():
        t_sq = t.square().sum(2)
        if sigma is None:
            two_sigma2 = 2.0 * (s_sq.mean(1) + t_sq.mean(1) - 2.0 * (s.mean(1) * t.mean(1)).sum(1))
            two_sigma2 = two_sigma2.clamp_min(torch.finfo(s.dtype).eps)
        else:
            if not sigma > 0:
                raise InvalidInputError(f"nst_loss: `sigma` must be positive, got {sigma!r}")
            two_sigma2 = torch.full_like(s_sq[:, 0], 2.0 * float(sigma) ** 2)
        scale = two_sigma2.view(-1, 1, 1)

        def kernel_mean(sq_a: Tensor, sq_b: Tensor, gram: Tensor) -> Tensor:
            sq_dist = (sq_a.unsqueeze(2) + sq_b.unsqueeze(1) - 2.0 * gram).clamp_min(0.0)
            return torch.exp(-sq_dist / scale).mean((1, 2))

        teacher_term = kernel_mean(t_sq, t_sq, _gram(t, t))
    return (kernel_mean(s_sq, s_sq, _gram(s, s)) + teacher_term
            - 2.0 * kernel_mean(s_sq, t_sq, _gram(s, t)))


# --------------------------------------------------------------------------- public API
def nst_mmd2(student: Tensor, teacher: Tensor, kernel: str = "poly", *, degree: int = 2,
             constant: float = 0.0, sigma: Optional[float] = None, align: str = "pool",
             gram: str = "auto", eps: float = DEFAULT_EPS, check_finite: bool = False) -> Tensor:
    """Squared MMD between the student's and the teacher's channel-map distributions, per image.

    Args:
        student: student features ``(B, Cs, Hs, Ws)``; gradients flow into it.
        teacher: teacher features ``(B, Ct, Ht, Wt)``; treated as a constant (detached).
            Channel counts may differ; spatial sizes are reconciled by ``align``.
        kernel: ``"linear"``, ``"poly"`` or ``"gaussian"``.
        degree: polynomial degree ``d`` (``poly``).
        constant: polynomial constant ``c`` (``poly``).
        sigma: Gaussian bandwidth σ; ``None`` uses the paper's data-dependent default.
        align: spatial alignment, see :func:`align_spatial`.
        gram: ``"auto"``, ``"channel"`` (C×C) or ``"spatial"`` (HW×HW) for poly d ≤ 2.
        eps: added to each channel map's squared norm before the square root (see
            :func:`selectivity_maps`).
        check_finite: raise on NaN/Inf features, naming which. A debugging switch: it reads a
            value back from the device, a host synchronisation per call, so it is off by default;
            in training, a non-finite loss is caught by ``NonFiniteLossHook`` on the logged values.

    Returns:
        ``(B,)`` MMD² per image, in float32 (float64 for float64 inputs).
    """
    student = check_feature("nst_loss", "student", student)
    teacher = check_feature("nst_loss", "teacher", teacher)
    if student.shape[0] != teacher.shape[0]:
        raise InvalidInputError(
            f"nst_loss: batch sizes differ: student {student.shape[0]} vs teacher {teacher.shape[0]}")
    if student.device != teacher.device:
        raise InvalidInputError(
            f"nst_loss: student is on {student.device} but teacher is on {teacher.device}")
    kernel_fn = KERNELS.get(kernel)
    if kernel_fn is None:
        raise InvalidInputError(f"nst_loss: unknown kernel {kernel!r}; choose one of {sorted(KERNELS)}")
    if align not in ALIGN_MODES:
        raise InvalidInputError(f"nst_loss: unknown align {align!r}; choose one of {ALIGN_MODES}")
    if check_finite:
        _check_finite(student, teacher)

    dtype = torch.promote_types(student.dtype, torch.float32)
    with torch.autocast(device_type=student.device.type, enabled=False):
        student, teacher = align_spatial(student.to(dtype), teacher.detach().to(dtype), align)
        s = selectivity_maps(student, eps)
        t = selectivity_maps(teacher, eps)
        if kernel == "poly":
            return kernel_fn(s, t, degree=degree, constant=constant, gram=gram)
        if kernel == "gaussian":
            return kernel_fn(s, t, sigma=sigma)
        return kernel_fn(s, t)


def reduce_loss(per_image: Tensor, reduction: str) -> Tensor:
    """Reduce a ``(B,)`` loss by ``"mean"``, ``"sum"`` or ``"none"``."""
    if reduction == "mean":
        return per_image.mean()
    if reduction == "sum":
        return per_image.sum()
    if reduction == "none":
        return per_image
    raise InvalidInputError(f"unknown reduction {reduction!r}; choose one of {REDUCTIONS}")


def nst_loss(student: Tensor, teacher: Tensor, kernel: str = "poly", *, loss_weight: float = 1.0,
             reduction: str = "mean", **mmd_kwargs) -> Tensor:
    """NST loss ``loss_weight · reduce(MMD²)`` (the paper's ``λ/2 · L_MMD²`` with λ = 2·loss_weight).

    Args:
        student: ``(B, Cs, Hs, Ws)``.
        teacher: ``(B, Ct, Ht, Wt)``, detached.
        kernel: ``"linear"``, ``"poly"`` or ``"gaussian"``.
        loss_weight: multiplies the loss; 50 with ``kernel="poly"`` reproduces the released code.
        reduction: ``"mean"`` over the batch (released code), ``"sum"``, or ``"none"`` for ``(B,)``.
        **mmd_kwargs: forwarded to :func:`nst_mmd2` (``degree``, ``constant``, ``sigma``,
            ``align``, ``gram``, ``eps``, ``check_finite``).

    Example:
        >>> s, t = torch.randn(2, 64, 14, 14, requires_grad=True), torch.randn(2, 256, 7, 7)
        >>> loss = nst_loss(s, t, kernel="poly", loss_weight=50.0)
        >>> loss.backward()
    """
    if reduction not in REDUCTIONS:
        raise InvalidInputError(f"nst_loss: unknown reduction {reduction!r}; choose one of {REDUCTIONS}")
    return reduce_loss(nst_mmd2(student, teacher, kernel, **mmd_kwargs), reduction) * loss_weight


class NSTLoss(nn.Module):
    """Module form of :func:`nst_loss`, buildable from a config (``dict(type='NSTLoss', ...)``).

    Args:
        kernel: ``"linear"``, ``"poly"`` (default, d=2, c=0 as in the paper) or ``"gaussian"``.
        loss_weight: the loss is ``loss_weight · MMD²``; default :data:`NST_WEIGHT` (50, the released code's
            ``kt_weight``: module docstring). The defaults are the official setting, so
            ``dict(type='NSTLoss')`` is the released code's NST term.
        reduction: ``"mean"``, ``"sum"`` or ``"none"``.
        degree, constant, sigma, align, gram, eps, check_finite: see :func:`nst_mmd2`.
    """

    compares_channels = False  # MMD between channel distributions: any two widths, no adapter

    def __init__(self, kernel: str = "poly", loss_weight: float = NST_WEIGHT, reduction: str = "mean",
                 degree: int = 2, constant: float = 0.0, sigma: Optional[float] = None,
                 align: str = "pool", gram: str = "auto", eps: float = DEFAULT_EPS,
                 check_finite: bool = False) -> None:
        super().__init__()
        if kernel not in KERNELS:
            raise InvalidInputError(f"NSTLoss: unknown kernel {kernel!r}; choose one of {sorted(KERNELS)}")
        for name, value, allowed in (("reduction", reduction, REDUCTIONS), ("align", align, ALIGN_MODES),
                                     ("gram", gram, GRAM_MODES)):
            if value not in allowed:
                raise InvalidInputError(f"NSTLoss: unknown {name} {value!r}; choose one of {allowed}")
        self.kernel = kernel
        self.loss_weight = loss_weight
        self.reduction = reduction
        self.mmd_kwargs = dict(degree=degree, constant=constant, sigma=sigma, align=align, gram=gram,
                               eps=eps, check_finite=check_finite)

    def forward(self, student: Tensor, teacher: Tensor) -> Tensor:
        """``(B, Cs, Hs, Ws)``, ``(B, Ct, Ht, Wt)`` -> scalar (or ``(B,)`` for reduction='none')."""
        return nst_loss(student, teacher, self.kernel, loss_weight=self.loss_weight,
                        reduction=self.reduction, **self.mmd_kwargs)

    def extra_repr(self) -> str:
        return f"kernel={self.kernel!r}, loss_weight={self.loss_weight}, reduction={self.reduction!r}"
