"""Is a file a real PNG image of a sensible size? (shared by the plot tests)"""

from pathlib import Path


def assert_png(path: str | Path, min_side: int = 100, max_side: int = 4000) -> tuple[int, int]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.image

    path = Path(path)
    assert path.is_file(), f"{path} missing"
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    height, width = matplotlib.image.imread(path).shape[:2]
    assert min_side <= width <= max_side and min_side <= height <= max_side, (width, height)
    return width, height
