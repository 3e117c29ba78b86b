"""``python predict.py ckpt_path=... inputs=...``: new items read as the checkpoint's data module
reads them, one row each from the task's report (``prediction_row``). Unreadable files are listed
in ``unreadable.txt``; when none can be read, one line and nothing written. serve.py reads a
request with ``read_one``.
"""

import csv
import re
import struct
import warnings
from pathlib import Path

import torch

{% if cookiecutter.__inputs.split(",") | select("in", ["pair", "table", "text"]) | list -%}
from ..inputs.base import PER_ITEM_NOTES
{% endif -%}
from ..training.checkpoints import trained_checkpoint
from ..training.validate import ConfigError

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".ppm", ".pgm"}
FILE_COLUMNS = ("file", "path", "filename", "image")
# what readers raise for a file that is not what they read (PIL raises all of these)
READ_ERRORS = (OSError, ValueError, SyntaxError, EOFError, struct.error)
# the largest image (width x height) read by default: a 24-megapixel photo. PIL's own limit
# (~179 Mpx) lets a 27 KB PNG claim 15000x15000 pixels, and decoding 81 Mpx costs seconds.
MAX_PIXELS = 24_000_000


class UnreadableInput(ValueError):
    user_error = True  # one line, exit status 2 (training/summary.py)


class InputTooLarge(UnreadableInput):
    """An image with more pixels than ``max_pixels``: refused before it is decoded."""


def set_pixel_limit(max_pixels: int) -> None:
    """PIL's own limit follows ``max_pixels``; once per command, never per input (PIL's limit and
    warning filters are process-wide, serve.py reads in threads). ``read_one`` refuses larger
    images itself, so PIL's warning would only repeat it."""
    from PIL import Image

    Image.MAX_IMAGE_PIXELS = max_pixels
    warnings.filterwarnings("ignore", category=Image.DecompressionBombWarning)


def check_pixels(source, max_pixels: int) -> None:
    """``InputTooLarge`` for an image whose header claims more than ``max_pixels`` (nothing
    decoded, no shared state: safe in threads); what is not an image is left to the reader."""
    from PIL import Image

    start = source.tell() if hasattr(source, "tell") else None
    try:
        with Image.open(source) as image:  # reads the header only
            pixels = image.width * image.height
    except Image.DecompressionBombError as error:  # over twice PIL's limit: refused as it opens
        claimed = re.search(r"\((\d+) pixels\)", str(error))
        pixels = int(claimed[1]) if claimed else None
    except READ_ERRORS:
        return
    finally:
        if start is not None:
            source.seek(start)
    if pixels is None or pixels > max_pixels:
        size = f"{pixels:,} pixels" if pixels else "more pixels"
        raise InputTooLarge(
            f"image of {size}, over the limit max_pixels={max_pixels:,} (raise it to read it)"
        )


def read_one(datamodule, source, max_pixels: int = MAX_PIXELS) -> torch.Tensor:
    """One input (a path or a request body) read by the checkpoint's data module."""
    check_pixels(source, max_pixels)
    try:
        return datamodule.read_input(source)
    except READ_ERRORS as error:
        why = str(error).strip()
        raise UnreadableInput(why.splitlines()[0] if why else type(error).__name__) from error


def list_inputs(inputs, column: str | None = None) -> list[Path]:
    """A folder's image files (recursively), a ``.txt`` list or a ``.csv`` with a file column
    (relative paths: from the list's folder), or one file."""
    path = Path(str(inputs)).expanduser()
    if path.is_dir():
        return sorted(
            p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES
        )
    if not path.is_file():
        raise FileNotFoundError(
            f"inputs={path} does not exist (a folder of images, a .txt "
            "list of files or a .csv with a file column)"
        )
    if path.suffix.lower() == ".csv":
        with path.open(newline="") as f:
            reader = csv.DictReader(f)
            fields = reader.fieldnames or []
            name = column or next((c for c in FILE_COLUMNS if c in fields), None)
            if name not in fields:
                raise ConfigError(
                    f"inputs={path}: no column {column or ' / '.join(FILE_COLUMNS)}"
                    f" among {fields}; this model reads one file per item: name the column of"
                    " file paths with column=<name>"
                )
            entries = [row[name] for row in reader if row[name]]
    elif path.suffix.lower() == ".txt":
        lines = path.read_text().splitlines()
        entries = [line.strip() for line in lines if line.strip() and not line.startswith("#")]
    else:
        return [path]  # a single file
    return [_relative_to(Path(e).expanduser(), path.parent) for e in entries]


def _relative_to(entry: Path, base: Path) -> Path:
    return entry if entry.is_absolute() or not (base / entry).exists() else base / entry


@torch.no_grad()
def predict_files(
    task, datamodule, files: list[Path], folder: Path, batch_size=64, max_pixels=MAX_PIXELS
) -> dict:
    """``predictions.csv`` (and ``unreadable.txt`` when some files fail) in ``folder``."""
    from rich.progress import Progress

    from ..data.base import unique_names

    task.eval()
    device, report = next(task.parameters()).device, task.report()
    names = unique_names([f.stem for f in files])  # (for files a task saves: masks)
    rows, unreadable = [], []
    with Progress(transient=True) as progress:
        bar = progress.add_task("predicting", total=len(files))
        for start in range(0, len(files), batch_size):
            readable, tensors = [], []
            for file, name in zip(files[start : start + batch_size], names[start:], strict=False):
                try:
                    tensors.append(read_one(datamodule, file, max_pixels))
                    readable.append((file, name))
                except UnreadableInput as error:
                    unreadable.append((file, str(error)))
            if tensors:
                outputs = task(torch.stack(tensors).to(device)).float().cpu()
                rows += [
                    {"file": str(f), **report.prediction_row(o, folder=folder, name=n)}
                    for (f, n), o in zip(readable, outputs, strict=True)
                ]
            progress.advance(bar, len(files[start : start + batch_size]))
    if not rows:
        shown = "; ".join(f"{f}: {why}" for f, why in unreadable[:3])
        more = f" (and {len(unreadable) - 3} more)" if len(unreadable) > 3 else ""
        raise ConfigError(f"nothing predicted: no file could be read ({shown}{more})")
    result = write_predictions(rows, folder)
    result["unreadable"] = len(unreadable)
    if unreadable:
        listing = folder / "unreadable.txt"
        listing.write_text("".join(f"{f}\t{why}\n" for f, why in unreadable))
        result["unreadable_list"] = str(listing)
    return result

{%- if cookiecutter.__inputs.split(",") | select("in", ["pair", "table", "text"]) | list %}


@torch.no_grad()
def predict_items(
    task, names: list[str], inputs: torch.Tensor, notes: dict, folder: Path, batch_size: int = 64
) -> dict:
    """``predictions.csv`` for items already read: ``item``, ``row`` and the kept ``columns``
    (``notes``), then the task's columns; a kept column named like those becomes ``input_<name>``
    (a target column ``label`` beside the predicted ``label``)."""
    if not names:
        left_out = "; ".join(str(n) for n in notes.get("left_out", [])[:3])
        raise ConfigError(
            "nothing predicted: the input holds no item to predict"
            + (f" (left out: {left_out})" if left_out else "")
        )
    notes = dict(notes)
    numbers, kept = notes.pop("rows", None), notes.pop("columns", None) or {}
    task.eval()
    device, report = next(task.parameters()).device, task.report()
    predicted = []
    for start in range(0, len(names), batch_size):
        outputs = task(inputs[start : start + batch_size].to(device)).float().cpu()
        predicted += [
            report.prediction_row(o, folder=folder, name=n)
            for n, o in zip(names[start : start + batch_size], outputs, strict=True)
        ]
    columns = {"row": numbers} if numbers is not None else {}
    taken = {"item", *columns, *(k for p in predicted for k in p)}
    for column, values in kept.items():
        name = column
        while name in taken:
            name = f"input_{name}"
        columns[name], taken = values, taken | {name}
    rows = [
        {"item": n, **{c: values[i] for c, values in columns.items()}, **p}
        for i, (n, p) in enumerate(zip(names, predicted, strict=True))
    ]
    return {**write_predictions(rows, folder), **notes}
{%- endif %}


def write_predictions(rows: list[dict], folder: Path) -> dict:
    folder.mkdir(parents=True, exist_ok=True)
    csv_path = folder / "predictions.csv"
    columns = list(dict.fromkeys(key for row in rows for key in row))
    with csv_path.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=columns)
        writer.writeheader()
        writer.writerows(rows)
    return {"predictions": str(csv_path), "predicted": len(rows)}


def run(cfg) -> dict:
    """predict.py's job: load the checkpoint, list the inputs, predict, report."""
    from omegaconf import OmegaConf

    from .predict import load_trained

    ckpt, folder = trained_checkpoint(cfg.ckpt_path), Path(cfg.paths.output_dir)
    # (new items only: the training data need not be on this machine)
    task, datamodule = load_trained(ckpt, OmegaConf.to_container(cfg.data), with_data=False)
    set_pixel_limit(cfg.max_pixels)
{%- if cookiecutter.__inputs.split(",") | select("in", ["pair", "table", "text"]) | list %}
    # a file of many items (table rows), or None; column=: the input's column (new texts)
    items = datamodule.read_items(cfg.inputs, cfg.column)
    if items is not None:
        result = predict_items(task, *items, folder, cfg.batch_size)
    else:
        files = list_inputs(cfg.inputs, cfg.get("column"))
        if not files:
            raise FileNotFoundError(f"inputs={cfg.inputs}: no image files found")
        result = predict_files(task, datamodule, files, folder, cfg.batch_size, cfg.max_pixels)
    print(f"{result['predicted']} predicted -> {result['predictions']}")
    for key, value in (items[2] if items else {}).items():  # e.g. unseen categories
        if value and key not in PER_ITEM_NOTES:
            print(f"{key}: {value}")
{%- else %}
    files = list_inputs(cfg.inputs, cfg.get("column"))
    if not files:
        raise FileNotFoundError(f"inputs={cfg.inputs}: no image files found")
    result = predict_files(task, datamodule, files, folder, cfg.batch_size, cfg.max_pixels)
    print(f"{result['predicted']} predicted -> {result['predictions']}")
{%- endif %}
    if "unreadable_list" in result:
        print(f"{result['unreadable']} unreadable -> {result['unreadable_list']}")
    return result
