"""Demo marketplace generator: realistic exports in the data contract, for the demo, tests and benchmarks; and a
stream of demo jobs."""

from procert.demo.generator import DemoSummary, generate
from procert.demo.jobs import generate_jobs

__all__ = ["DemoSummary", "generate", "generate_jobs"]
