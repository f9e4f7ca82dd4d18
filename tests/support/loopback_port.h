#pragma once

#include <cstdint>

namespace matchd::test {

// A TCP port on 127.0.0.1 that is free now and lies outside the kernel's ephemeral range
// (/proc/sys/net/ipv4/ip_local_port_range).
//
// Why not port 0: a server the tests stop and start again on the same port (kill -9 and
// restart, a database outage) must find that port still free. A port the kernel handed out
// for port 0 comes from the ephemeral range, where every outgoing connection of the tests
// running in parallel also takes its local port, and one of them can take it while the
// server is down (seen in CI: the restarted daemon could not bind). Outside that range only
// a port picked explicitly can collide, and this function picks at random among thousands.
//
// Another process may still bind it between this call and the server's own bind; callers
// retry with a new port when the server reports the address in use.
std::uint16_t pick_loopback_port();

// True when something listens on 127.0.0.1:port: a TCP connection to it is established (and
// closed at once).
bool accepts_connections(std::uint16_t port);

}  // namespace matchd::test
