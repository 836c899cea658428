"""The live widget's state round-tripping through a real Jupyter kernel (this test plays
the front end, speaking the widget protocol over the kernel's channels, as JupyterLab does)."""
from __future__ import annotations

import math

import numpy as np


def test_state_round_trips_through_a_kernel():
    """Display a widget in a real kernel, send it an update as the front end does while it
    runs, and read the step and embeddings back in Python, where structure.scores sees
    the circle the 'front end' grew."""
    from jupyter_client.manager import start_new_kernel

    km, kc = start_new_kernel(kernel_name="python3", startup_timeout=60)
    try:
        def run(code):
            msg_id = kc.execute(code)
            out, comms = [], []
            while True:
                msg = kc.get_iopub_msg(timeout=60)
                if msg["parent_header"].get("msg_id") != msg_id:
                    continue
                t, c = msg["msg_type"], msg["content"]
                if t == "stream":
                    out.append(c["text"])
                elif t == "error":
                    raise AssertionError("\n".join(c["traceback"]))
                elif t == "comm_open":
                    comms.append(c)
                elif t == "status" and c["execution_state"] == "idle":
                    return "".join(out), comms

        _, comms = run("from modadd.widget import training_widget\nw = training_widget(n=17, seed=3)\ndisplay(w)")
        live = [c for c in comms if c["data"]["state"].get("_model_name") == "AnyModel"]
        assert len(live) == 1, comms
        assert live[0]["data"]["state"]["kind"] == "training" and live[0]["data"]["state"]["step"] == 0
        a = np.arange(17)
        circle = np.stack([np.cos(2 * math.pi * 3 * a / 17), np.sin(2 * math.pi * 3 * a / 17)], 1)
        kc.shell_channel.send(kc.session.msg("comm_msg", {
            "comm_id": live[0]["comm_id"],
            "data": {"method": "update", "state": {"step": 1234, "embeddings": circle.tolist()}, "buffer_paths": []}}))
        out, _ = run("from modadd.analysis.structure import scores\nprint(w.step, w.E.shape, scores(w.E)['class'])")
        assert out.split() == ["1234", "(17,", "2)", "circle"], out
    finally:
        try:
            kc.stop_channels()
        finally:
            km.shutdown_kernel(now=True)
