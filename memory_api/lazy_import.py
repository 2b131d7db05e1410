"""A module imported on first use, for the heavy SDKs only some commands need.

`import openai` costs about 0.6 s (its generated types): every CLI command, worker and MCP process paid it
at start, though most never call the provider. Modules that use it write

    if TYPE_CHECKING:
        import openai
    else:
        openai = LazyModule("openai")

and use `openai.X` as before: the first attribute read imports it.
"""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import Any


class LazyModule:
    def __init__(self, name: str) -> None:
        self._name = name
        self._module: ModuleType | None = None

    def __getattr__(self, attribute: str) -> Any:
        if self._module is None:
            self._module = importlib.import_module(self._name)
        return getattr(self._module, attribute)
