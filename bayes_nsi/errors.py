"""Exceptions shared by the spec layer, the runners and the CLI."""


class SpecError(ValueError):
    """An analysis spec that cannot be run; ``str()`` is one line naming the field and the allowed values."""

    def __init__(self, source: str, field: str, problem: str, allowed: str) -> None:
        self.source = source
        self.field = field
        self.problem = problem
        self.allowed = allowed
        line = f"{source}: {field}: {problem}; allowed: {allowed}"
        super().__init__(" ".join(line.splitlines()))


class DiagnosticsFailed(RuntimeError):
    """A posterior run whose convergence diagnostics miss the thresholds of the spec."""
