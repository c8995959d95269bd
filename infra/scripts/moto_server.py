"""moto's server with requests handled one at a time.

moto's own `moto_server` handles requests on many threads without isolating them, so two
conditional writes racing on one item can both pass their condition: DynamoDB never allows that.
The race tests need DynamoDB's guarantee, so this launcher runs the same moto application behind
one lock (connections stay concurrent; each request is applied atomically).

Usage: python moto_server.py HOST PORT
"""

import sys
import threading

from werkzeug.serving import run_simple

from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)


def main() -> None:
    host, port = sys.argv[1], int(sys.argv[2])
    app = DomainDispatcherApplication(create_backend_app)
    lock = threading.Lock()

    def serialized(environ, start_response):
        with lock:
            return list(app(environ, start_response))

    run_simple(host, port, serialized, threaded=True, request_handler=MotoRequestHandler)


if __name__ == "__main__":
    main()
