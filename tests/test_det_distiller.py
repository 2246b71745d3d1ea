"""NSTDistillDetector: a frozen teacher outside the state dict, student-only checkpoints, NST losses,
build-time errors for mismatched pyramids, foreign teacher checkpoints and bad backbone files, and a
single-stage (RetinaNet, P3-P7) student."""
from __future__ import annotations

import copy
from types import SimpleNamespace

import pytest
import torch
from mmdet.structures import DetDataSample
from mmengine.config import Config
from mmengine.dataset import pseudo_collate
from mmengine.optim import OptimWrapper
from mmengine.registry import init_default_scope
from mmengine.structures import InstanceData

from nst_det.det import NSTDistillDetector, check_backbone_file, load_model_config, select_levels
from nst_det.engine import BackboneCheckHook, DistillStateHook
from nst_det.registry import DATASETS, MODELS
from nst_det.utils.errors import NSTDetError

from det_fixtures import DEMO, FPN_DISTILL, TEACHER_CONFIG, build_model, feature_checkpoint

NST_CONFIG = FPN_DISTILL / "nst" / "nst-fpn_frcnn-r34_frcnn-r18_8e_demo.py"
PLAIN_CONFIG = DEMO / "faster-rcnn_r18_fpn_nst-backbone_8e_demo.py"


def nst_cfg(weight_files, config=NST_CONFIG, **distill) -> Config:
    cfg = Config.fromfile(str(config))
    cfg.model.student.backbone.init_cfg.checkpoint = str(weight_files["resnet18"])
    cfg.model.teacher.checkpoint = str(weight_files["teacher"])
    cfg.model.distill.update(distill)
    return cfg


@pytest.fixture(scope="module")
def distiller(weight_files) -> NSTDistillDetector:
    model = MODELS.build(nst_cfg(weight_files).model)
    model.init_weights()
    return model


@pytest.fixture(scope="module")
def batch(det_data) -> dict:
    init_default_scope("mmdet")  # the Runner does this for a config with default_scope='mmdet'
    cfg = Config.fromfile(str(NST_CONFIG))
    dataset_cfg = cfg.train_dataloader.dataset
    dataset_cfg.data_root = f"{det_data}/VOCdevkit/"
    dataset = DATASETS.build(dataset_cfg)
    return pseudo_collate([dataset[0], dataset[1]])


def state(module: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in module.state_dict().items()}


def test_teacher_is_frozen_and_not_part_of_the_model(distiller):
    plain = build_model(PLAIN_CONFIG)
    assert list(distiller.state_dict()) == list(plain.state_dict())
    assert {id(p) for p in distiller.parameters()} == {id(p) for p in distiller.student.parameters()}
    assert not any("teacher" in name for name, _ in distiller.named_modules())
    distiller.train()
    assert distiller.student.training and not distiller.teacher.training
    assert not any(p.requires_grad for p in distiller.teacher.parameters())
    assert distiller.data_preprocessor is distiller.student.data_preprocessor


def test_a_training_step_updates_the_student_only_and_logs_nst_per_level(distiller, batch):
    distiller.train()
    teacher_before, student_before = state(distiller.teacher), state(distiller.student)
    optim = OptimWrapper(torch.optim.SGD(distiller.parameters(), lr=0.01, momentum=0.9))
    log_vars = distiller.train_step(copy.deepcopy(batch), optim)
    assert {f"loss_nst_p{i}" for i in range(2, 6)} <= set(log_vars) and "loss_nst_p6" not in log_vars
    assert all(torch.isfinite(torch.as_tensor(v)) for v in log_vars.values())
    teacher_after, student_after = state(distiller.teacher), state(distiller.student)
    assert all(torch.equal(teacher_before[k], teacher_after[k]) for k in teacher_before)  # incl. BN stats
    assert not torch.equal(student_before["neck.fpn_convs.0.conv.weight"],
                           student_after["neck.fpn_convs.0.conv.weight"])


def test_the_student_checkpoint_loads_strictly_into_the_plain_config_and_predicts_alike(distiller, batch):
    plain = build_model(PLAIN_CONFIG)
    plain.load_state_dict(distiller.state_dict(), strict=True)
    distiller.eval()
    plain.eval()
    with torch.no_grad():
        ours = distiller.test_step(copy.deepcopy(batch))
        theirs = plain.test_step(copy.deepcopy(batch))
    for a, b in zip(ours, theirs):
        assert torch.allclose(a.pred_instances.bboxes, b.pred_instances.bboxes)


def test_the_teacher_follows_to_and_casts(weight_files):
    model = MODELS.build(nst_cfg(weight_files).model).double()
    assert next(model.teacher.parameters()).dtype == torch.float64
    assert next(model.parameters()).dtype == torch.float64


def test_warmup_ramps_with_the_runner_iteration(weight_files):
    model = MODELS.build(nst_cfg(weight_files, warmup_iters=4).model)
    hook = DistillStateHook()  # tells the core the runner's iteration before each training iteration
    hook.before_train_iter(SimpleNamespace(model=model, iter=1), batch_idx=0)
    assert model.distill_core.warmup_factor() == pytest.approx(0.5)
    hook.before_train_iter(SimpleNamespace(model=model, iter=10), batch_idx=0)
    assert model.distill_core.warmup_factor() == 1.0


def test_levels_and_weights_are_configurable(weight_files, distiller):
    model = MODELS.build(nst_cfg(weight_files, taps=("p3", 4), level_weights=dict(p3=2.0)).model)
    assert [(lv.name, lv.stride, w) for lv, w in model.levels] == [("p3", 8, 2.0), ("p6", 64, 1.0)]
    available = [lv for lv, _ in distiller.levels]
    with pytest.raises(NSTDetError, match="level 'p7' does not exist"):
        select_levels(available, ("p7",))
    with pytest.raises(NSTDetError, match="level_weights has 1 values for 2"):
        select_levels(available, ("p2", "p3"), [1.0])
    with pytest.raises(NSTDetError, match=r"level_weights names \['p9'\]"):
        select_levels(available, ("p2", "p3"), dict(p9=1.0))


def teacher_variant(**changes) -> dict:
    cfg = Config.fromfile(str(TEACHER_CONFIG))
    cfg.model.backbone.init_cfg = None
    cfg.merge_from_dict({f"model.{k}": v for k, v in changes.items()})
    return cfg.to_dict()


def test_a_teacher_pyramid_of_other_levels_is_a_build_error(weight_files):
    cfg = nst_cfg(weight_files)
    cfg.model.teacher.config = teacher_variant(**{"neck.num_outs": 4})
    with pytest.raises(NSTDetError, match=r"pyramids differ.*student has 5 levels.*teacher has 4 levels"):
        MODELS.build(cfg.model)
    # a dilated last stage (same weights, other strides)
    cfg.model.teacher.config = teacher_variant(**{"backbone.strides": (1, 2, 2, 1), "backbone.dilations": (1, 1, 1, 2)})
    with pytest.raises(NSTDetError, match=r"teacher has 5 levels p2 \(stride 4\), p3 \(stride 8\), p4 \(stride 16\), "
                                          r"level3 \(stride 16\)"):
        MODELS.build(cfg.model)


def test_a_teacher_normalising_differently_is_a_build_error(weight_files):
    cfg = nst_cfg(weight_files)
    cfg.model.teacher.config = teacher_variant(**{"data_preprocessor.mean": [0.0, 0.0, 0.0]})
    with pytest.raises(NSTDetError, match="normalises images differently"):
        MODELS.build(cfg.model)


def test_a_teacher_checkpoint_of_another_model_is_refused(weight_files, tmp_path):
    student = build_model(PLAIN_CONFIG)  # an R-18 detector, not the R-34 teacher
    wrong = tmp_path / "r18_detector.pth"
    torch.save({"state_dict": student.state_dict()}, wrong)
    cfg = nst_cfg(weight_files)
    cfg.model.teacher.checkpoint = str(wrong)
    with pytest.raises(NSTDetError, match=r"teacher checkpoint \(backbone\) .*r18_detector.pth does not fit.*"
                                          r"(missing|shape mismatches)"):
        MODELS.build(cfg.model)
    cfg.model.teacher.checkpoint = str(weight_files["resnet50"])  # a bare backbone: no neck
    with pytest.raises(NSTDetError, match="no 'backbone.\\*' keys"):
        MODELS.build(cfg.model)
    cfg.model.teacher.checkpoint = str(tmp_path / "absent.pth")
    with pytest.raises(NSTDetError, match="absent.pth does not exist"):
        MODELS.build(cfg.model)
    cfg.model.teacher.checkpoint = str(tmp_path)
    with pytest.raises(NSTDetError, match="is a folder without a last_checkpoint file"):
        MODELS.build(cfg.model)


def test_a_backbone_file_that_misses_keys_stops_training(weight_files):
    plain = build_model(PLAIN_CONFIG, backbone_checkpoint=str(weight_files["resnet18_partial"]))
    with pytest.raises(NSTDetError, match=r"keys missing: 'layer4\.0\.conv1\.weight'"):
        check_backbone_file(plain.backbone)
    testing = SimpleNamespace(model=plain, logger=None, optim_wrapper=dict(type="OptimWrapper"))
    BackboneCheckHook().before_run(testing)  # not training: the backbone file is not needed
    training = SimpleNamespace(model=plain, logger=None,
                               optim_wrapper=OptimWrapper(torch.optim.SGD(plain.parameters())))
    with pytest.raises(NSTDetError, match="backbone file .*backbone_resnet18_partial.pth does not fit"):
        BackboneCheckHook().before_run(training)
    wrong_arch = build_model(PLAIN_CONFIG, backbone_checkpoint=str(weight_files["resnet50"]))
    with pytest.raises(NSTDetError, match="shape mismatches"):
        check_backbone_file(wrong_arch.backbone)


def test_a_single_stage_detector_distils_too(tmp_path):
    teacher = "mmdet::retinanet/retinanet_r50_fpn_1x_coco.py"
    student = load_model_config("mmdet::retinanet/retinanet_r18_fpn_1x_coco.py")
    student.backbone.init_cfg = None
    model = MODELS.build(dict(type="NSTDistillDetector", student=student,
                              teacher=dict(config=teacher,
                                           checkpoint=str(feature_checkpoint(teacher, tmp_path / "retina.pth"))),
                              distill=dict(taps=("p3", "p7"))))
    assert [(lv.name, lv.stride) for lv, _ in model.levels] == [("p3", 8), ("p7", 128)]
    images = torch.randn(1, 3, 128, 128)
    sample = DetDataSample(metainfo=dict(img_shape=(128, 128), pad_shape=(128, 128), batch_input_shape=(128, 128)))
    sample.gt_instances = InstanceData(bboxes=torch.tensor([[10.0, 20.0, 90.0, 100.0]]), labels=torch.tensor([3]))
    losses = model.loss(images, [sample])
    assert {"loss_cls", "loss_bbox", "loss_nst_p3", "loss_nst_p7"} <= set(losses)


def test_the_former_settings_name_is_refused_naming_the_new_one(weight_files):
    cfg = nst_cfg(weight_files)
    cfg.model.nst = cfg.model.pop("distill")
    with pytest.raises(NSTDetError, match=r"`nst` is now `distill`.*rename it"):
        MODELS.build(cfg.model)
    cfg.model.distill = dict(taps=("p3",), kernel="poly")
    cfg.model.pop("nst")
    with pytest.raises(NSTDetError, match=r"unknown distill settings \['kernel'\]"):
        MODELS.build(cfg.model)


@pytest.mark.parametrize("former, new", [("teacher_cfg", "teacher.config"), ("teacher_ckpt", "teacher.checkpoint")])
def test_former_teacher_arguments_are_refused_naming_the_shared_vocabulary(weight_files, former, new):
    cfg = nst_cfg(weight_files)
    cfg.model[former] = cfg.model.teacher[new.split(".")[1]]
    with pytest.raises(NSTDetError, match=rf"^NSTDistillDetector: `{former}` is now `{new}`"):
        MODELS.build(cfg.model)


@pytest.mark.parametrize("former, new", [("levels", "taps"), ("student_tap", "student_module"),
                                         ("teacher_tap", "teacher_module")])
def test_former_distill_keys_are_refused_naming_the_new_one(weight_files, former, new):
    cfg = nst_cfg(weight_files)
    cfg.model.distill[former] = ("p3",) if former == "levels" else "neck"
    with pytest.raises(NSTDetError, match=rf"`distill\.{former}` is now `distill\.{new}`"):
        MODELS.build(cfg.model)


def test_the_default_loss_is_the_imagenet_stages(weight_files):
    from nst_det.losses import NSTLoss

    cfg = nst_cfg(weight_files)
    del cfg.model.distill["loss"]
    model = MODELS.build(cfg.model)
    [loss] = model.distill_core.losses
    assert (loss.kernel, loss.loss_weight) == ("poly", NSTLoss().loss_weight) == ("poly", 50.0)


def test_the_mse_control_distils_the_same_levels_from_the_same_teacher(weight_files, batch):
    from mmdet.models.losses import MSELoss

    mse = FPN_DISTILL / "mse" / "mse-fpn_frcnn-r34_frcnn-r18_8e_demo.py"
    model = MODELS.build(nst_cfg(weight_files, mse, warmup_iters=0).model)
    assert isinstance(model.distill_core.losses[0], MSELoss) and model.distill_core.kinds == ["mse"]
    model.train()
    data = model.data_preprocessor(copy.deepcopy(batch), True)
    losses = model.loss(data["inputs"], data["data_samples"])
    assert {f"loss_mse_p{i}" for i in range(2, 6)} <= set(losses) and not any("nst" in k for k in losses)
    # the value is the mean squared difference of the two FPNs' features, level by level, times the control's
    # weight (configs/distill/mmdet/_base_/fpn_losses.py: mse_fpn_loss)
    assert model.distill_core.losses[0].loss_weight == 0.1
    student = model.student.extract_feat(data["inputs"])
    teacher = model.teacher_features(data["inputs"])
    for level, _ in model.levels:
        expected = 0.1 * (student[level.index] - teacher[level.index]).square().mean()
        torch.testing.assert_close(losses[f"loss_mse_{level.name}"], expected, rtol=1e-5, atol=0.0)


def teacher_of_other_width(tmp_path, channels: int) -> tuple[dict, str]:
    """A demo R-34-FPN teacher whose FPN has ``channels`` channels, and a checkpoint for it."""
    cfg = teacher_variant(**{"neck.out_channels": channels, "rpn_head.in_channels": channels,
                             "rpn_head.feat_channels": channels,
                             "roi_head.bbox_roi_extractor.out_channels": channels,
                             "roi_head.bbox_head.in_channels": channels})
    teacher = MODELS.build(Config(cfg).model)
    path = tmp_path / f"teacher_{channels}.pth"
    torch.save({"state_dict": teacher.state_dict()}, path)
    return cfg, str(path)


def test_a_channel_adapter_trains_and_stays_out_of_the_student_checkpoint(weight_files, batch, tmp_path):
    from nst_det.engine import DistillStateHook

    cfg = nst_cfg(weight_files, FPN_DISTILL / "mse" / "mse-fpn_frcnn-r34_frcnn-r18_8e_demo.py", taps=("p3", "p4"))
    cfg.model.teacher.config, cfg.model.teacher.checkpoint = teacher_of_other_width(tmp_path, 64)
    model = MODELS.build(cfg.model)
    model.init_weights()
    assert sorted(model.distill_core.adapters) == ["p3", "p4"]
    assert model.distill_core.adapters["p3"].weight.shape == (64, 128, 1, 1)  # student 128 -> teacher 64 channels
    adapter_ids = {id(p) for p in model.distill_core.adapters.parameters()}
    assert adapter_ids <= {id(p) for p in model.parameters()}  # the optimizer trains them

    model.train()
    before = model.distill_core.adapters["p3"].weight.detach().clone()
    optim = OptimWrapper(torch.optim.SGD(model.parameters(), lr=0.01))
    log_vars = model.train_step(copy.deepcopy(batch), optim)
    assert {"loss_mse_p3", "loss_mse_p4"} <= set(log_vars)
    assert not torch.equal(before, model.distill_core.adapters["p3"].weight)

    # what mmengine's Runner saves: checkpoint['state_dict'] is the plain student ...
    runner = SimpleNamespace(model=model)
    checkpoint = {"state_dict": model.state_dict(), "meta": {}}
    DistillStateHook().before_save_checkpoint(runner, checkpoint)
    plain = build_model(PLAIN_CONFIG)
    plain.load_state_dict(checkpoint["state_dict"], strict=True)
    assert sorted(checkpoint["distill_state_dict"]) == [f"distill_core.adapters.{lv}.{p}" for lv in ("p3", "p4")
                                                        for p in ("bias", "weight")]
    # ... and loading it (resume) puts the trained adapters back before the weights are loaded
    fresh = MODELS.build(cfg.model)
    DistillStateHook().after_load_checkpoint(SimpleNamespace(model=fresh), checkpoint)
    fresh.load_state_dict(checkpoint["state_dict"], strict=True)
    assert torch.equal(fresh.distill_core.adapters["p3"].weight, model.distill_core.adapters["p3"].weight)
    # a plain model given that checkpoint (load_from) takes the student and leaves the adapters out
    again = {"state_dict": model.state_dict()}
    DistillStateHook().before_save_checkpoint(runner, again)
    DistillStateHook().after_load_checkpoint(SimpleNamespace(model=plain), again)
    plain.load_state_dict(again["state_dict"], strict=True)


def test_without_adapt_channels_no_adapter_is_built(weight_files, tmp_path):
    cfg = nst_cfg(weight_files)  # NST compares channel distributions: other widths need no adapter
    cfg.model.teacher.config, cfg.model.teacher.checkpoint = teacher_of_other_width(tmp_path, 64)
    model = MODELS.build(cfg.model)
    assert not model.distill_core.adapters
    assert list(model.state_dict()) == list(build_model(PLAIN_CONFIG).state_dict())
