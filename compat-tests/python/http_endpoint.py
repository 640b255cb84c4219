"""A real HTTP endpoint on 127.0.0.1 for EventBridge API destinations and OAuth token requests:
answers each request with `answer(n, method, path, headers, body)` -> (status, body) and keeps
what it saw."""

import http.server
import threading


class Endpoint:
    def __init__(self, answer):
        self.seen = []  # (method, path, headers (lower-cased), body)
        lock = threading.Lock()
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def handle_any(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0))).decode()
                headers = {k.lower(): v for k, v in self.headers.items()}
                with lock:
                    n = len(outer.seen)
                    outer.seen.append((self.command, self.path, headers, body))
                status, out = answer(n, self.command, self.path, headers, body)
                data = out.encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = handle_any

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()
