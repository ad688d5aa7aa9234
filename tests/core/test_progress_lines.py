"""The CLI's progress lines (explorer.core.progress.drive): one counter a line, always the same one."""

from __future__ import annotations

import io
import re

from explorer.core import progress
from explorer.core.progress import Progress, drive

COUNTER = re.compile(r"\d[\d,]*/\d[\d,]*")


def _lines(records, monkeypatch, interactive=False) -> list[str]:
    clock = iter(range(0, 10_000, 6))  # every record 6 s after the last: a log line each
    monkeypatch.setattr(progress.time, "perf_counter", lambda: float(next(clock)))

    class Stream(io.StringIO):
        def isatty(self):
            return interactive

    def job():
        yield from records
        return "result"

    stream = Stream()
    assert drive(job(), label="training", stream=stream) == "result"
    return [line.strip() for line in re.split(r"[\r\n]", stream.getvalue()) if line.strip()]


def test_training_lines_show_the_epoch_counter_only(monkeypatch):
    records = []
    for step in range(1, 9):
        epoch = (step - 1) // 4 + 1
        records.append(Progress(step, 8, f"epoch {epoch}/2", loss=0.5 / step))
        if step % 4 == 0:
            records.append(Progress(step, 8, f"epoch {epoch}/2 done", loss=0.4))
    lines = _lines(records, monkeypatch)
    assert len(lines) == len(records) + 1  # a line per record, then the one with "done in"
    for line in lines:
        assert COUNTER.findall(line) == [re.search(r"epoch \d/2", line).group(0)[6:]]
    assert "(50%)" in lines[3] and "(100%)" in lines[-1] and "done in" in lines[-1]


def test_a_message_without_a_counter_gets_step_of_total(monkeypatch):
    records = [Progress(s, 12_000, "encoding with pixels") for s in (4_000, 8_000, 12_000)]
    lines = _lines(records, monkeypatch)
    assert [COUNTER.findall(line) for line in lines] == [
        ["4,000/12,000"],
        ["8,000/12,000"],
        ["12,000/12,000"],
        ["12,000/12,000"],  # the "done in" line
    ]


def test_the_terminal_bar_keeps_one_counter(monkeypatch):
    records = [Progress(2, 4, "umap: searching 5,000/10,000"), Progress(3, 4, "umap: placing")]
    lines = _lines(records, monkeypatch, interactive=True)
    assert lines[0].startswith("training [############") and COUNTER.findall(lines[0]) == ["5,000/10,000"]
    assert COUNTER.findall(lines[1]) == ["3/4"]
