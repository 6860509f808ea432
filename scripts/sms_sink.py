#!/usr/bin/env python3
"""A local stand-in for the SMS gateway: it speaks the gateway's HTTP protocol.

POST /send   {"message_id", "to", "text"}  -> 200 {"status": "queued", "id": ...}
GET  /messages                             -> every message received, in order (JSON list)
GET  /healthz                              -> 200

Each message is printed and appended as one JSON line to --log. It does NOT
deduplicate: tests count what it received to prove Pasokh never sends twice.
"""
import argparse
import json
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

LOCK = threading.Lock()
MESSAGES = []


def make_handler(log_path):
    class Handler(BaseHTTPRequestHandler):
        def _reply(self, status, body):
            data = json.dumps(body, ensure_ascii=False).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self):
            if self.path == "/healthz":
                return self._reply(200, {"status": "alive"})
            if self.path.startswith("/messages"):
                with LOCK:
                    return self._reply(200, list(MESSAGES))
            self._reply(404, {"error": "not found"})

        def do_POST(self):
            if self.path != "/send":
                return self._reply(404, {"error": "not found"})
            length = int(self.headers.get("Content-Length") or 0)
            try:
                message = json.loads(self.rfile.read(length) or b"{}")
            except json.JSONDecodeError:
                return self._reply(400, {"error": "body is not JSON"})
            missing = [k for k in ("message_id", "to", "text") if not message.get(k)]
            if missing:
                return self._reply(400, {"error": "missing " + ", ".join(missing)})
            with LOCK:
                MESSAGES.append(message)
                number = len(MESSAGES)
                if log_path:
                    with open(log_path, "a", encoding="utf-8") as log:
                        log.write(json.dumps(message, ensure_ascii=False) + "\n")
            print(f"[sms-sink] #{number} to {message['to']}: {message['text']!r}", flush=True)
            self._reply(200, {"status": "queued", "id": number})

        def log_message(self, *args):
            pass

    return Handler


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8089)
    parser.add_argument("--log", default="")
    args = parser.parse_args()
    server = ThreadingHTTPServer((args.host, args.port), make_handler(args.log))
    print(f"[sms-sink] listening on http://{args.host}:{server.server_port}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
