"""5,000 generated and mutated frames through the decoder and the presence checks: nothing
but a named protocol error may come out (bench/fuzz_protocol.py runs 100,000)."""

from __future__ import annotations

from bench.fuzz_protocol import fuzz


def test_no_frame_escapes_as_anything_but_a_named_protocol_error() -> None:
    report = fuzz(5_000, seed=20261205)
    assert report.escaped == [], report.escaped[0][1]
    assert report.frames == 5_000
    codes = {name.split()[1] for name in report.outcomes if name.startswith("closed")}
    assert codes == {"1002", "1003", "1007", "1008"}, report.outcomes
    # The valid frames and their harmless mutations still get through.
    assert report.outcomes["accepted Awareness"] > 100
    assert report.outcomes["accepted Update"] > 50
