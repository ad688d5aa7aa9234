import io

from explorer.core.child import read_message, write_message


def test_messages_round_trip_and_a_lying_pipe_ends_the_stream():
    buf = io.BytesIO()
    write_message(buf, {"op": "frame", "id": 3}, b"\x00\x01\x02\x03")
    write_message(buf, {"op": "done"})
    buf.seek(0)
    assert read_message(buf) == ({"op": "frame", "id": 3, "nbytes": 4}, b"\x00\x01\x02\x03")
    assert read_message(buf) == ({"op": "done", "nbytes": 0}, b"")
    assert read_message(buf) is None  # the pipe ended
    for raw in (
        b'{"nbytes": 9}\nabc',
        b'{"nbytes": -1}\n',
        b"[1, 2]\n",
        b'{"nbytes": 2.5}\nab',
        b"no newline",
    ):
        assert read_message(io.BytesIO(raw)) is None, raw
    assert read_message(io.BytesIO(b'{"nbytes": 100}\n' + b"x" * 100), max_bytes=10) is None
