#!/usr/bin/env bash
# Prints a TCP port on 127.0.0.1 that nothing listens on (the kernel's pick for port 0).
# Another process may take it before the caller binds it; fine for tests and benchmarks.
exec python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
