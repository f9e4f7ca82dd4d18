#pragma once

// Everything an end-to-end test needs: the daemon as a child process, HTTP and WebSocket
// clients bound to 127.0.0.1, request builders and checks of the docs/api.md formats.

#include "api_checks.h"
#include "daemon_process.h"
#include "http_client.h"
#include "order_builders.h"
#include "order_flood.h"
#include "raw_connection.h"
#include "sse_client.h"
#include "ws_client.h"
