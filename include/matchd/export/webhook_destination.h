#pragma once

#include <matchd/export/webhook_sender.h>

#include <boost/asio/ip/address.hpp>
#include <string>

namespace matchd::event_export {

// Where this matchd lets webhooks go (--webhook-allow-http, --webhook-allow-private). A
// trader registers the URL, so without allow_private a webhook cannot be pointed at the
// venue's own network (its database, a cloud metadata service): the check is made on the
// registered URL when it is an address, and again on every address a host name resolves
// to, at each delivery, so a name that later resolves elsewhere gains nothing.
struct webhook_destinations {
  bool allow_http = false;     // http:// as well as https://
  bool allow_private = false;  // loopback, private and other non-public addresses too
};

// Whether `address` is a public unicast address: not unspecified, loopback, private
// (10/8, 172.16/12, 192.168/16, fc00::/7), shared (100.64/10), link-local (169.254/16,
// fe80::/10), documentation or benchmarking, IETF-reserved (192.0.0/24, 240/4 and the
// broadcast address) or multicast. An IPv4-mapped or NAT64 IPv6 address is judged by the
// IPv4 address it carries.
bool is_public_address(const boost::asio::ip::address& address) noexcept;

// Why `url` may not be registered under `allowed`, "" when it may.
std::string destination_refusal(const webhook_url& url, const webhook_destinations& allowed);

}  // namespace matchd::event_export
