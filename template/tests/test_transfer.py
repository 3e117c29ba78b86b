"""Transfer learning on embedded data: pretrain on digits 0-4, fine-tune on few images of 5-9."""

import functools

import pytest
import torch

from {{ cookiecutter.package_name }}.inputs.base import InputFacts
from {{ cookiecutter.package_name }}.models import create_model, model_config
from {{ cookiecutter.package_name }}.training.module import TaskModule


def test_weights_file_loads_the_backbone_and_leaves_the_head_new(tmp_path):
    digits = InputFacts("image", (1, 8, 8))
    source = create_model(model_config("cnn", width=8, depth=2), 5, digits)
    path = tmp_path / "backbone.pt"
    torch.save(source.state_dict(), path)
    target = create_model(model_config("cnn", width=8, depth=2, weights=str(path)), 3, digits)
    for (name, a), b in zip(
        source.backbone.state_dict().items(), target.backbone.state_dict().values(), strict=True
    ):
        assert torch.equal(a, b), name
    assert target.head[-1].out_features == 3
    assert target.weights_info["loaded"] == target.weights_info["total"]
    with pytest.raises(ValueError, match="fits only"):
        create_model(model_config("cnn", width=16, depth=2, weights=str(path)), 3, digits)


# the experiments pretrain and tune the digits' classes
@pytest.mark.task("classification")
def test_fine_tuning_a_pretrained_backbone_learns_from_32_images_in_two_stages(run_train, tmp_path):
    where = f"transfer.dir={tmp_path / 'transfer'}"
    run_train = functools.partial(run_train, "task=classification")
    pretrain = run_train("experiment=transfer_pretrain", where, "evaluate.splits=[val]")
    assert pretrain["metrics"]["val"]["acc"] > 0.9
    assert (tmp_path / "transfer" / "pretrained.ckpt").is_file()

    def accuracy(summary):  # val and test together: 270 images
        return sum(summary["metrics"][split]["acc"] for split in ("val", "test")) / 2

    # single seeds vary with 32 training images: compare the mean over the first three seeds
    tuned_runs, scratch_runs = [], []
    for seed in (0, 1, 2):
        tuned_runs.append(run_train("experiment=transfer_demo", where, f"seed={seed}"))
        scratch_runs.append(
            run_train(
                "experiment=transfer_demo",
                where,
                f"seed={seed}",
                "model.weights=null",
                "finetune=none",
            )
        )
    tuned, scratch = tuned_runs[0], scratch_runs[0]
    assert tuned["data"]["sizes"]["train"] == scratch["data"]["sizes"]["train"] <= 40
    finetune = tuned["verdicts"]["finetune"]
    assert [s["stage"] for s in finetune["stages"]] == ["frozen", "unfrozen"]
    assert finetune["weights"]["loaded"] == finetune["weights"]["total"] > 0
    assert "not pretrained" not in finetune["message"]
    assert scratch["verdicts"]["finetune"]["weights"] is None
    mean_tuned = sum(map(accuracy, tuned_runs)) / 3
    mean_scratch = sum(map(accuracy, scratch_runs)) / 3
    # Both learn digits 5-9 from 32 images. Which start wins is not a property of the code on
    # this data: measured 0.917 fine-tuned vs 0.944 from scratch (one thread, seeds 0-2); a
    # linear probe on the frozen backbone pretrained on digits 0-4 scores 0.71, on a random
    # one 0.83: 8x8 digits need no learnt features. docs/transfer.md says so.
    assert mean_tuned > 0.85 and mean_scratch > 0.85, (mean_tuned, mean_scratch)

    # the fine-tuned checkpoint holds every weight: it loads without the pretraining file
    (tmp_path / "transfer" / "pretrained.ckpt").unlink()
    task = TaskModule.load_from_checkpoint(tuned["best_checkpoint"], weights_only=True)
    assert task.hparams.model["weights"] is None
