#!/usr/bin/env python3
"""A small HTTP server for the image tests and benchmark, on 127.0.0.1 only.

Serves the files of ROOT with Range support (bytes=N- and bytes=N-M, 206
with Content-Range), logs every request as one JSON line to LOG (method,
path, range asked, status, bytes sent), and injects faults, set by GET
requests to /_ctl/...:

  /_ctl/cut?path=/x&after=N    the next request of /x is cut (connection
                               closed) after N bytes of body
  /_ctl/ignore-range?path=/x   requests of /x answer 200 with the whole
                               file, whatever Range they ask
  /_ctl/slow?path=/x&bps=N     requests of /x send about N bytes a second
  /_ctl/reset                  no faults

It writes the port it listens on to PORTFILE, and stops by itself after
--max-seconds (default 900) so that no run leaves it behind.
"""
import argparse
import http.server
import json
import os
import sys
import threading
import time
import urllib.parse

faults = {"cut": {}, "ignore_range": set(), "slow": {}}
lock = threading.Lock()


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def record(self, status, sent, asked):
        line = {"method": self.command, "path": self.path, "range": asked,
                "status": status, "sent": sent}
        with lock:
            with open(self.server.log, "a") as f:
                f.write(json.dumps(line) + "\n")

    def control(self, url):
        q = urllib.parse.parse_qs(url.query)
        with lock:
            if url.path == "/_ctl/cut":
                faults["cut"][q["path"][0]] = int(q["after"][0])
            elif url.path == "/_ctl/ignore-range":
                faults["ignore_range"].add(q["path"][0])
            elif url.path == "/_ctl/slow":
                faults["slow"][q["path"][0]] = int(q["bps"][0])
            elif url.path == "/_ctl/reset":
                faults["cut"].clear()
                faults["ignore_range"].clear()
                faults["slow"].clear()
            else:
                return self.plain(404, b"no such control\n")
        return self.plain(200, b"ok\n")

    def plain(self, status, body):
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        url = urllib.parse.urlsplit(self.path)
        if url.path.startswith("/_ctl/"):
            return self.control(url)
        path = os.path.join(self.server.root, url.path.lstrip("/"))
        if ".." in url.path.split("/") or not os.path.isfile(path):
            self.record(404, 0, None)
            return self.plain(404, b"not found\n")
        size = os.path.getsize(path)
        asked = self.headers.get("Range")
        with lock:
            cut = faults["cut"].pop(url.path, None)
            ignore = url.path in faults["ignore_range"]
            bps = faults["slow"].get(url.path)
        start, end, status = 0, size - 1, 200
        if asked and not ignore:
            spec = asked.strip().removeprefix("bytes=")
            first, _, last = spec.partition("-")
            start = int(first)
            end = int(last) if last else size - 1
            if start >= size:
                self.record(416, 0, asked)
                self.send_response(416)
                self.send_header("Content-Range", f"bytes */{size}")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            status = 206
        length = end - start + 1
        self.send_response(status)
        self.send_header("Content-Length", str(length))
        self.send_header("Accept-Ranges", "bytes")
        if status == 206:
            self.send_header("Content-Range", f"bytes {start}-{end}/{size}")
        self.end_headers()
        sent = self.send_body(path, start, length, cut, bps)
        self.record(status, sent, asked)
        if cut is not None:
            self.close_connection = True

    def send_body(self, path, start, length, cut, bps):
        sent = 0
        limit = length if cut is None else min(cut, length)
        step = 1 << 20 if bps is None else 64 << 10
        with open(path, "rb") as f:
            f.seek(start)
            while sent < limit:
                chunk = f.read(min(step, limit - sent))
                if not chunk:
                    break
                try:
                    self.wfile.write(chunk)
                except (BrokenPipeError, ConnectionResetError):
                    break
                sent += len(chunk)
                if bps:
                    time.sleep(len(chunk) / bps)
        if cut is not None:
            self.wfile.flush()
            self.connection.shutdown(2)
        return sent


def main():
    p = argparse.ArgumentParser()
    p.add_argument("root")
    p.add_argument("portfile")
    p.add_argument("log")
    p.add_argument("--max-seconds", type=float, default=900)
    a = p.parse_args()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.root, server.log = a.root, a.log
    server.daemon_threads = True
    open(a.log, "a").close()
    timer = threading.Timer(a.max_seconds, server.shutdown)
    timer.daemon = True
    timer.start()
    tmp = a.portfile + ".tmp"
    with open(tmp, "w") as f:
        f.write(str(server.server_address[1]))
    os.rename(tmp, a.portfile)
    server.serve_forever()
    sys.exit(0)


if __name__ == "__main__":
    main()
