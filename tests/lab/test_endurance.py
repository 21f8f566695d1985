"""Endurance: 10,000 handshakes and over 1 GiB of application data through one process, 16 threads sharing contexts.

Sixteen threads share one ClientContext and one ServerContext (TLS 1.3 and TLS 1.2 pairs, alternating) and run
connections over in-memory wires: handshake, ~110 KB from client to server in 16 KiB writes, a reply, close_notify
both ways, ``close()``. Checked at the end:

* memory is flat: RSS after the run minus RSS after the warm-up (the first 1,000 connections) stays under
  ``RSS_BUDGET``;
* no file descriptor leak (``/proc/self/fd``), no native-handle leak (the backend's registry of live SSL objects
  and the number of OpenSSLBuffer objects return to where they started);
* every byte arrived (counted on the server side).

The figures (connections, bytes, seconds, RSS before/after warm-up/after) are attached to the test report and
printed in the lab's terminal summary. ``NATIVETLS_ENDURANCE_CONNECTIONS`` scales the run (default 10,000).
"""
from __future__ import absolute_import, division, print_function

import gc
import os
import threading
import time

import pytest

import nativetls
from nativetls import TLSVersion

import _tls

CONNECTIONS = int(os.environ.get("NATIVETLS_ENDURANCE_CONNECTIONS", "10000"))
THREADS = 16
WARMUP = min(1000, CONNECTIONS // 10)
CHUNK = 16384
CHUNKS = 7  # 7 x 16 KiB = 112 KiB per connection: 10,000 connections move 1.07 GiB
RSS_BUDGET = 24 * 1024 * 1024


def _rss():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


def _fds():
    return len(os.listdir("/proc/self/fd"))


def _live_natives():
    if nativetls.backend().name != "openssl":
        return 0
    from nativetls._openssl import _buffer
    return len(_buffer._live)


def _buffers_alive():
    gc.collect()
    return sum(1 for o in gc.get_objects() if type(o).__name__ == "OpenSSLBuffer")


def _connection(client_ctx, server_ctx, payload):
    client, server = client_ctx.wrap_buffers("localhost"), server_ctx.wrap_buffers()
    try:
        _tls.handshake(client, server)
        received = 0
        for _ in range(CHUNKS):
            client.write(payload)
            server.process_incoming(client.process_outgoing())
            while True:
                try:
                    data = server.read(65536)
                except nativetls.WantReadError:
                    break
                received += len(data)
        server.write(b"ok")
        client.process_incoming(server.process_outgoing())
        assert _tls.drive_read(client, server) == b"ok"
        client.shutdown()
        server.process_incoming(client.process_outgoing())
        assert server.read(10) == b""
        server.shutdown()
        client.process_incoming(server.process_outgoing())
        assert client.read(10) == b""
        return received
    finally:
        client.close()
        server.close()


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="needs Linux /proc for RSS and fd counts")
def test_handshakes_transfer_threads(pki, record_property):
    pairs = []
    for version in (TLSVersion.TLSv1_3, TLSVersion.TLSv1_2):
        fields = dict(lowest_supported_version=version, highest_supported_version=version)
        pairs.append((_tls.client_context(pki, **fields), _tls.server_context(pki, **fields)))
    payload = os.urandom(CHUNK)
    gc.collect()
    start = {"rss": _rss(), "fds": _fds(), "live": _live_natives(), "buffers": _buffers_alive()}
    lock = threading.Lock()
    state = {"next": 0, "done": 0, "bytes": 0, "errors": [], "warm_rss": None}

    def worker():
        while True:
            with lock:
                index = state["next"]
                if index >= CONNECTIONS or state["errors"]:
                    return
                state["next"] += 1
            try:
                client_ctx, server_ctx = pairs[index % 2]
                got = _connection(client_ctx, server_ctx, payload)
            except Exception as exc:  # reported by the main thread
                with lock:
                    state["errors"].append("connection %d: %s: %s" % (index, type(exc).__name__, exc))
                return
            with lock:
                state["done"] += 1
                state["bytes"] += got
                if state["done"] == WARMUP:
                    state["warm_rss"] = _rss()

    began = time.time()
    threads = [threading.Thread(target=worker, name="endurance-%d" % i) for i in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.time() - began
    assert not state["errors"], state["errors"][:5]
    gc.collect()
    end = {"rss": _rss(), "fds": _fds(), "live": _live_natives(), "buffers": _buffers_alive()}
    figures = {
        "connections": state["done"], "threads": THREADS, "bytes": state["bytes"], "seconds": round(elapsed, 1),
        "handshakes_per_second": round(state["done"] / elapsed, 1),
        "MiB_per_second": round(state["bytes"] / elapsed / 1048576.0, 1),
        "rss_start_MiB": round(start["rss"] / 1048576.0, 1),
        "rss_after_warmup_MiB": round((state["warm_rss"] or start["rss"]) / 1048576.0, 1),
        "rss_end_MiB": round(end["rss"] / 1048576.0, 1),
        "fds": "%d -> %d" % (start["fds"], end["fds"]),
        "live_ssl_objects": "%d -> %d" % (start["live"], end["live"]),
    }
    record_property("lab_endurance", figures)
    print("endurance:", figures)
    assert state["done"] == CONNECTIONS
    assert state["bytes"] == CONNECTIONS * CHUNKS * CHUNK
    assert end["fds"] <= start["fds"], "file descriptors leaked: %s" % figures["fds"]
    assert end["live"] <= start["live"], "native SSL handles leaked: %s" % figures["live_ssl_objects"]
    assert end["buffers"] <= start["buffers"], "TLSBuffer objects leaked: %d -> %d" % (start["buffers"],
                                                                                        end["buffers"])
    growth = end["rss"] - (state["warm_rss"] or start["rss"])
    assert growth < RSS_BUDGET, "RSS grew by %.1f MiB after the warm-up: %s" % (growth / 1048576.0, figures)
