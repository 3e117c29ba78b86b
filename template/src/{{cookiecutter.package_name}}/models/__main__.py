"""``python -m <package>.models list [--search PATTERN] [--pretrained]``: the model names."""

import argparse

from . import list_models


def main(argv: list[str] | None = None) -> int:
    about = "List the models this project can build."
    parser = argparse.ArgumentParser(prog=f"python -m {__package__}", description=about)
    commands = parser.add_subparsers(dest="command", required=True)
    listing = commands.add_parser("list", help="list model names")
    search = "also list torchvision and timm models matching PATTERN"
    listing.add_argument("--search", metavar="PATTERN", help=search)
    pretrained = "with --search: only timm models with pretrained weights"
    listing.add_argument("--pretrained", action="store_true", help=pretrained)
    args = parser.parse_args(argv)

    print("registered (model=<name>):", ", ".join(list_models()))
{%- if "transfer" in cookiecutter.__features.split(",") and "image" in cookiecutter.__inputs.split(",") %}
    if not args.search:
        print(
            "zoo: model=torchvision model.name=<name> | model=timm model.name=<name>; "
            "search names with --search PATTERN, e.g. --search 'resnet*'"
        )
        return 0
    pattern = args.search if any(c in args.search for c in "*?[") else f"*{args.search}*"
    import fnmatch

    from torchvision import models

    names = [n for n in models.list_models(module=models) if fnmatch.fnmatch(n, pattern)]
    print(f"torchvision ({len(names)}; model=torchvision model.name=<name>):")
    print("  " + (", ".join(names) or "-"))
    import timm

    names = timm.list_models(pattern, pretrained=args.pretrained)
    print(f"timm ({len(names)}; model=timm model.name=<name>):")
    print("  " + (", ".join(names) or "-"))
    return 0
{%- else %}
    from ..training.errors import NOT_GENERATED, comes_with

    # the zoo comes with the transfer feature AND an image task: what is missing of them
    print(comes_with("the zoo (torchvision and timm backbones)", *NOT_GENERATED["model/timm"]))
    return 2 if args.search else 0
{%- endif %}


if __name__ == "__main__":
    raise SystemExit(main())
