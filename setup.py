"""Package layout only (everything else is in pyproject.toml).

The generator in codegen/ installs as ``contracts.codegen``; the example domain in
schemas/ and its history in compatibility/ ship inside the package as ``contracts/examples/`` so that
``contracts demo`` runs from an installed wheel too.
"""

import shutil
from pathlib import Path

from setuptools import find_packages, setup
from setuptools.command.build_py import build_py


class BuildWithExamples(build_py):
    def run(self) -> None:
        super().run()
        for folder in ("schemas", "compatibility"):
            target = Path(self.build_lib) / "contracts" / "examples" / folder
            for src in sorted(Path(folder).rglob("*")):
                if src.is_file() and src.suffix in (".avsc", ".toml"):
                    dest = target / src.relative_to(folder)
                    dest.parent.mkdir(parents=True, exist_ok=True)
                    shutil.copyfile(src, dest)


setup(
    packages=[*find_packages("src", include=["contracts", "contracts.*"]), "contracts.codegen"],
    package_dir={"contracts": "src/contracts", "contracts.codegen": "codegen"},
    cmdclass={"build_py": BuildWithExamples},
)
