"""The model zoo: torchvision / timm backbones by name, local weights, pre-filled caches, offline.

Tiny models and inputs only; nothing here downloads (pre-filled caches are built in tmp_path).
"""

import subprocess
import sys
import time

import pytest
import torch

from {{ cookiecutter.package_name }}.inputs.base import InputFacts
from {{ cookiecutter.package_name }}.models import create_model, hub, model_config
from {{ cookiecutter.package_name }}.models.__main__ import main as models_cli
from {{ cookiecutter.package_name }}.training.summary import is_user_error

TINY = model_config("timm", name="test_resnet", input_size=32)
GREY, RGB = InputFacts("image", (1, 8, 8)), InputFacts("image", (3, 8, 8))


@pytest.fixture
def no_network(monkeypatch):
    """Any reachability check answers "offline"; the hub libraries are told so too."""
    import huggingface_hub.constants

    monkeypatch.setattr(hub, "reachable", lambda *args, **kwargs: False)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)


@pytest.mark.parametrize(
    "options", [TINY, model_config("resnet18", input_size=32)], ids=["timm", "torchvision"]
)
def test_zoo_models_answer_the_same_questions_as_the_ladder(options):
    model = create_model({**options, "groups": 3}, 5, GREY)
    assert model(torch.randn(2, 1, 8, 8)).shape == (2, 5)  # grey 8x8 in, resized to 32x32
    groups = model.layer_groups()
    assert len(groups) == 3 + 1 and groups[-1] is model.head
    first_conv = next(m for m in model.backbone.modules() if isinstance(m, torch.nn.Conv2d))
    assert first_conv.in_channels == 1
    assert any(m is first_conv for m in groups[0].modules())  # input first
    in_groups = {id(p) for g in groups[:-1] for p in g.parameters()}
    assert in_groups == {id(p) for p in model.backbone.parameters()}  # every weight in a group
    assert model.data_config["input_size"] == 32 and len(model.data_config["mean"]) == 3


def test_head_options_build_fastais_head():
    options = {"head_hidden": 16, "head_bn": True, "dropout": 0.5, "pool": "catavgmax"}
    model = create_model({**TINY, **options, "input_size": 16}, 4, InputFacts("image", (3, 16, 16)))
    kinds = [type(m).__name__ for m in model.head]
    assert kinds == ["BatchNorm1d", "Dropout", "Linear", "BatchNorm1d", "ReLU", "Dropout", "Linear"]
    assert model.head[0].num_features == 2 * model.backbone.num_features  # concat pooling
    assert model.backbone.eval()(torch.randn(1, 3, 16, 16)).shape[1] == model.head[0].num_features
    assert model.eval()(torch.randn(2, 3, 16, 16)).shape == (2, 4)


def test_weights_file_fills_the_backbone_drops_the_head_and_adapts_channels(tmp_path):
    import timm
    from safetensors.torch import save_file

    source = timm.create_model("test_resnet", pretrained=False)  # RGB, 1000 classes
    path = tmp_path / "model.safetensors"
    save_file({k: v.contiguous() for k, v in source.state_dict().items()}, str(path))
    model = create_model({**TINY, "weights": str(path)}, 3, GREY)
    assert torch.equal(model.backbone.layer4[0].conv1.weight, source.layer4[0].conv1.weight)
    stem = source.conv1[0].weight
    assert torch.allclose(model.backbone.conv1[0].weight, stem.sum(dim=1, keepdim=True))
    assert model.weights_info["adapted_channels"] == ["conv1.0.weight"]
    assert model.head[-1].out_features == 3


def test_prefilled_torch_hub_cache_is_used_offline(tmp_path, monkeypatch, no_network):
    from torchvision.models import ResNet18_Weights, resnet18

    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    reference = resnet18().state_dict()
    cache = tmp_path / "hub" / "checkpoints"
    cache.mkdir(parents=True)
    torch.save(reference, cache / ResNet18_Weights.DEFAULT.url.rsplit("/", 1)[-1])
    model = create_model(model_config("resnet18", pretrained=True, input_size=32), 2, RGB)
    assert torch.equal(model.backbone.layer3[1].conv2.weight, reference["layer3.1.conv2.weight"])
    assert model.data_config["input_size"] == 32


def test_prefilled_hugging_face_cache_is_used_offline(tmp_path, monkeypatch, no_network):
    import huggingface_hub.constants
    import timm
    from safetensors.torch import save_file

    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path))
    reference = timm.create_model("test_resnet", pretrained=False).state_dict()
    repo = tmp_path / ("models--" + reference_repo().replace("/", "--"))
    commit = "0" * 40
    (repo / "refs").mkdir(parents=True)
    (repo / "refs" / "main").write_text(commit)
    snapshot = repo / "snapshots" / commit
    snapshot.mkdir(parents=True)
    save_file(
        {k: v.contiguous() for k, v in reference.items()}, str(snapshot / "model.safetensors")
    )
    model = create_model({**TINY, "pretrained": True}, 2, RGB)
    assert torch.equal(model.backbone.layer2[0].conv1.weight, reference["layer2.0.conv1.weight"])


def reference_repo() -> str:
    import timm

    return timm.create_model("test_resnet", pretrained=False).pretrained_cfg["hf_hub_id"]


def test_missing_weights_offline_fail_at_once_and_say_what_to_do(tmp_path, monkeypatch, no_network):
    import huggingface_hub.constants

    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path / "empty"))
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "empty"))
    for options in (TINY, model_config("resnet18")):
        start = time.perf_counter()
        with pytest.raises(RuntimeError, match=r"model\.weights=") as error:
            create_model({**options, "pretrained": True}, 2, RGB)
        assert time.perf_counter() - start < 10
        assert "model.pretrained=false" in str(error.value)
        assert is_user_error(error.value)  # one line and exit status 2, not a traceback


def test_unknown_names_point_to_the_list_command():
    with pytest.raises(ValueError, match="models list"):
        create_model(model_config("timm", name="no_such_net"), 2, RGB)
    with pytest.raises(ValueError, match="models list"):
        create_model(model_config("torchvision", name="nope"), 2, RGB)


def test_models_list_command(capsys):
    assert models_cli(["list"]) == 0
    assert "resnet18" in capsys.readouterr().out
    assert models_cli(["list", "--search", "resnet1*"]) == 0
    out = capsys.readouterr().out
    assert "resnet10t" in out and "resnet18" in out and "convnext" not in out


@pytest.mark.task("classification")  # a pooled backbone
def test_a_zoo_model_fine_tunes_through_the_configs(run_train):
    summary = run_train(
        "task=classification",
        "mode=smoke",
        "model=timm",
        "model.name=test_resnet",
        "model.input_size=16",
        "finetune=fine_tune",
        "finetune.freeze_epochs=1",
        "trainer.max_epochs=2",
        "evaluate.splits=[val]",
    )
    assert summary["status"] == "completed" and summary["model"]["name"] == "test_resnet"
    stages = summary["verdicts"]["finetune"]["stages"]
    assert [s["stage"] for s in stages] == ["frozen", "unfrozen"]
    assert stages[0]["params_trainable"] < stages[1]["params_trainable"]


@pytest.mark.slow
@pytest.mark.task("classification")  # told on ClassificationTask
def test_ladder_models_do_not_import_timm():
    code = (
        "import sys\n"
        "from {{ cookiecutter.package_name }}.tasks.classification import "
        "ClassificationTask\n"
        "from {{ cookiecutter.package_name }}.inputs.base import InputFacts\n"
        "from {{ cookiecutter.package_name }}.models import facts_config, model_config\n"
        "from {{ cookiecutter.package_name }}.training.module import TaskModule\n"
        "TaskModule.for_task(ClassificationTask, model_config('cnn'), "
        "{'names': list('0123456789')}, "
        "facts_config(InputFacts('image', (1, 8, 8))), {'lr': 0.1, '_partial_': True, "
        "'_target_': 'torch.optim.SGD'}, "
        "{'_target_': '{{ cookiecutter.package_name }}.training.optim.constant', "
        "'_partial_': True})\n"
        "assert 'timm' not in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)
