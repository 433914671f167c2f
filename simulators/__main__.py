"""Run the simulators: ``python -m simulators --port 8100``."""

from __future__ import annotations

import argparse

import uvicorn

from simulators.app import build_app


def main() -> None:
    parser = argparse.ArgumentParser(description="OpsAdmin outside-system simulators")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8100)
    args = parser.parse_args()
    uvicorn.run(build_app(), host=args.host, port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
