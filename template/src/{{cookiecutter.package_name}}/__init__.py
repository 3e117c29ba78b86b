"""{{ cookiecutter.project_name | replace('\\', '\\\\') | replace('"', '\\"') }}.

{{ cookiecutter.description | replace('\\', '\\\\') | replace('"', '\\"') | wordwrap(96) }}
"""

from . import noise  # noqa: F401  (first, before any library: see noise.py)

__version__ = "0.1.0"
