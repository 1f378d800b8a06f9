"""Package layout only (everything else is in pyproject.toml): the generator in codegen/ installs as contracts.codegen."""

from setuptools import find_packages, setup

setup(
    packages=[*find_packages("src", include=["contracts", "contracts.*"]), "contracts.codegen"],
    package_dir={"contracts": "src/contracts", "contracts.codegen": "codegen"},
)
