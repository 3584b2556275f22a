"""A workflow for the payload codec's connected test: its input, a signal and its result carry
personal data. In a module of its own, importing only temporalio (the workflow sandbox re-imports it)."""

from datetime import timedelta

from temporalio import workflow


@workflow.defn(name="CodecProbeWorkflow")
class CodecProbeWorkflow:
    def __init__(self) -> None:
        self._note: str | None = None

    @workflow.run
    async def run(self, subject: dict) -> dict:
        await workflow.wait_condition(lambda: self._note is not None, timeout=timedelta(minutes=1))
        return {**subject, "note": self._note}

    @workflow.signal
    def annotate(self, note: str) -> None:
        self._note = note
