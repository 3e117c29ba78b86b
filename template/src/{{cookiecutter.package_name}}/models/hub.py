"""Reaching model hubs when the network may be absent: say so in seconds, not after a minute of
the libraries' retries.

``prepare_hf_hub`` runs before timm, transformers or huggingface_hub download anything: offline,
it sets ``HF_HUB_OFFLINE`` so that cached files load at once and missing ones fail at once.
Used by the zoo (timm, the U-Net's encoders) and by Hugging Face text models alike.
"""

import os
import socket
import sys

HF_HOST = "huggingface.co"


class WeightsUnavailable(RuntimeError):
    """Pretrained weights neither cached nor reachable: the message says where to put them."""

    user_error = True  # one line, exit status 2 (training/errors.py)


def reachable(host: str, port: int = 443, timeout: float = 2.0) -> bool:
    if not host:
        return False
    try:
        socket.create_connection((host, port), timeout=timeout).close()
        return True
    except OSError:
        return False


def prepare_hf_hub(timeout: float = 2.0) -> None:
    """Offline? Then tell the Hugging Face hub before it is imported: cached files load at once,
    missing ones fail at once (instead of about a minute of retries)."""
    if os.environ.get("HF_HUB_OFFLINE") or reachable(HF_HOST, timeout=timeout):
        return
    os.environ["HF_HUB_OFFLINE"] = "1"
    if "huggingface_hub" in sys.modules:  # imported earlier: it read the variable already
        import huggingface_hub.constants

        huggingface_hub.constants.HF_HUB_OFFLINE = True


def looks_offline(error: BaseException) -> bool:
    """Whether a library's error says the hub could not be reached or the file is not cached."""
    text = f"{type(error).__name__}: {error}".lower()
    words = ("offline", "localentrynotfound", "connect", "resolve", "network",
             "cannot find the requested files")  # fmt: skip
    return any(word in text for word in words)
