"""Fuzz the annotation checkers' error paths: any input gives a result or one NSTDetError, nothing else."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nst_det.det.datasets import check_coco, check_voc_annotation
from nst_det.engine.preflight import check_work_dir
from nst_det.utils.errors import NSTDetError

CLASSES = ("circle", "square")
VALID_XML = """<annotation><filename>a.jpg</filename><size><width>64</width><height>48</height><depth>3</depth></size>
<object><name>circle</name><difficult>0</difficult><bndbox><xmin>2</xmin><ymin>3</ymin><xmax>30</xmax><ymax>40</ymax></bndbox></object>
</annotation>"""
FUZZ = settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-5, 100) | st.floats(allow_nan=True) | st.text(max_size=8),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=12)


@pytest.fixture
def image_file(tmp_path) -> Path:
    path = tmp_path / "a.jpg"
    path.write_bytes(b"not read when <size> is present")
    return path


@FUZZ
@given(cut=st.integers(0, len(VALID_XML)), insert=st.text(max_size=12))
def test_mutated_voc_xml(tmp_path, image_file, cut, insert):
    xml = tmp_path / "a.xml"
    xml.write_text(VALID_XML[:cut] + insert + VALID_XML[cut:])
    try:
        assert check_voc_annotation(str(xml), str(image_file), CLASSES) in (0, 1, 2)
    except NSTDetError as exc:
        assert str(xml) in str(exc) or str(image_file) in str(exc)


@FUZZ
@given(box=st.tuples(*[st.floats(-10, 80, allow_nan=False)] * 4))
def test_voc_box_inside_or_refused(tmp_path, image_file, box):
    xml = tmp_path / "b.xml"
    x0, y0, x1, y1 = box
    xml.write_text(VALID_XML.replace("<xmin>2</xmin><ymin>3</ymin><xmax>30</xmax><ymax>40</ymax>",
                                     f"<xmin>{x0}</xmin><ymin>{y0}</ymin><xmax>{x1}</xmax><ymax>{y1}</ymax>"))
    inside = 0 <= x0 <= x1 <= 64 and 0 <= y0 <= y1 <= 48
    if inside:
        assert check_voc_annotation(str(xml), str(image_file), CLASSES) == 1
    else:
        with pytest.raises(NSTDetError, match="lies outside the 64x48 image"):
            check_voc_annotation(str(xml), str(image_file), CLASSES)


def coco_document() -> dict:
    return {"images": [{"id": 1, "file_name": "a.jpg", "width": 64, "height": 48}],
            "annotations": [{"id": 1, "image_id": 1, "category_id": 1, "bbox": [2, 3, 20, 30], "area": 600,
                             "iscrowd": 0}],
            "categories": [{"id": 1, "name": "circle"}]}


@FUZZ
@given(where=st.sampled_from([("images", 0, "id"), ("images", 0, "width"), ("images", 0, "file_name"),
                              ("annotations", 0, "image_id"), ("annotations", 0, "bbox"),
                              ("annotations", 0, "category_id"), ("categories", 0, "id"), ("annotations",),
                              ("images",)]),
       value=json_values)
def test_coco_with_arbitrary_values(tmp_path, image_file, where, value):
    document = coco_document()
    node = document
    for key in where[:-1]:
        node = node[key]
    node[where[-1]] = value
    ann = tmp_path / "instances.json"
    ann.write_text(json.dumps(document))
    dataset = dict(type="CocoDataset", data_root=str(tmp_path), ann_file="instances.json", data_prefix=dict(img=""))
    try:
        check_coco(dataset, "fuzz")
    except NSTDetError as exc:
        assert str(ann) in str(exc) or "a.jpg" in str(exc) or "does not exist" in str(exc)


def test_work_dir_that_cannot_be_created_fails_before_training(tmp_path):
    (tmp_path / "file").write_text("a file where a folder should be")
    with pytest.raises(NSTDetError, match=r"work dir .*file/run is not writable"):
        check_work_dir(str(tmp_path / "file" / "run"))
