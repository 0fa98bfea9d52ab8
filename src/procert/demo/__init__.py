"""Demo marketplace generator: realistic exports in the data contract, for the demo, tests and benchmarks."""

from procert.demo.generator import DemoSummary, generate

__all__ = ["DemoSummary", "generate"]
