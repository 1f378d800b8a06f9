"""Run every benchmark (or those named on the command line): ``python -m bench [codegen ...]``."""

from __future__ import annotations

import importlib
import sys

BENCHES = ["codegen", "compat", "registry", "serde", "rules", "observe", "consumer"]


def main(argv: list[str]) -> None:
    for name in argv or BENCHES:
        print(f"== {name} ==", flush=True)
        importlib.import_module(f"bench.bench_{name}").main()


if __name__ == "__main__":
    main(sys.argv[1:])
