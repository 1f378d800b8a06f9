"""The README's example runs as written."""

from __future__ import annotations

import re

from tests.conftest import ROOT


def test_readme_first_example_runs() -> None:
    text = (ROOT / "README.md").read_text()
    code = re.findall(r"```python\n(.*?)```", text, re.S)[0]
    assert len(code.strip().splitlines()) <= 20
    exec(compile(code, "README.md", "exec"), {})
