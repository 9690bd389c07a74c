"""A webhook receiver on loopback for the notification tests.

Verifies every delivery with the Standard Webhooks reference implementation (the `standardwebhooks`
package, independent of the server's code) and the secret in SECRET_FILE (read at each request,
so the test can write it after adding the endpoint). Answers the statuses in --answers in turn
(the last one repeats). Prints `listening PORT`, then one JSON line per request:
{"id", "timestamp", "verified", "status", "body"}.
"""

import argparse
import json
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from standardwebhooks.webhooks import Webhook


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--secret-file", required=True)
    parser.add_argument("--answers", default="200")
    args = parser.parse_args()
    answers = [int(a) for a in args.answers.split(",")]
    seen = {"n": 0}
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            try:
                with open(args.secret_file, encoding="utf-8") as f:
                    secret = f.read().strip()
                Webhook(secret).verify(body, dict(self.headers.items()))
                verified = True
            except Exception as e:  # noqa: BLE001 - any failure is "not verified"
                verified = False
                print(f"not verified: {e!r}", file=sys.stderr, flush=True)
            with lock:
                status = answers[min(seen["n"], len(answers) - 1)]
                seen["n"] += 1
                print(
                    json.dumps(
                        {
                            "id": self.headers.get("webhook-id"),
                            "timestamp": self.headers.get("webhook-timestamp"),
                            "verified": verified,
                            "status": status,
                            "body": json.loads(body or b"null"),
                        }
                    ),
                    flush=True,
                )
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *_):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    print(f"listening {server.server_address[1]}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
