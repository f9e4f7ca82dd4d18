// matchd-feed-replay: serves a recorded Binance-format trade stream (NDJSON, one message per
// line) over ws:// or wss:// on a local address, for tests and demos of the feed without
// touching the real exchange.

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/program_options.hpp>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <optional>

#include "replay_server.h"

namespace {

namespace asio = boost::asio;
namespace po = boost::program_options;

// Written atomically (temporary file, then rename) so a reader never sees half of it.
void write_ready_file(const std::string& path, const asio::ip::tcp::endpoint& ep) {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << ep.address().to_string() << ':' << ep.port() << '\n';
  }
  std::filesystem::rename(tmp, path);
}

}  // namespace

int main(int argc, char** argv) {
  std::string file;
  std::string host;
  unsigned port = 0;
  std::string ready_file;
  std::string cert;
  std::string key;
  matchd::feed_replay::replay_options opts;
  long ping_ms = 0;
  long close_after_ms = 0;
  bool original_times = false;
  po::options_description desc(
      "matchd-feed-replay: serve an NDJSON file of Binance trade messages over WebSocket\n\n"
      "Usage: matchd-feed-replay --file FILE [options]\n"
      "Every client gets the stream whatever its target (/ws/btcusdt@trade, ...).\n\nOptions");
  // clang-format off
  desc.add_options()
    ("help,h", "print this help and exit")
    ("file", po::value(&file)->required(), "NDJSON file, one message per line")
    ("host", po::value(&host)->default_value("127.0.0.1"), "address to listen on")
    ("port", po::value(&port)->default_value(0), "port; 0 picks a free one")
    ("ready-file", po::value(&ready_file), "write HOST:PORT here once listening")
    ("speed", po::value(&opts.speed)->default_value(1.0),
     "replay speed: 1 = real time (gaps between trade times T), 10 = ten times faster, "
     "0 = as fast as possible")
    ("loop", po::bool_switch(&opts.loop),
     "start over after the last line; pass n adds n x (largest t - smallest t + 1) to each "
     "trade id t, so no id repeats")
    ("inject-malformed-every", po::value(&opts.inject_malformed_every)->default_value(0),
     "after every K lines also send a malformed message; 0 = never")
    ("drop-after", po::value(&opts.drop_after)->default_value(0),
     "drop each connection (TCP close, no close frame) after N messages; 0 = never")
    ("max-drops", po::value(&opts.max_drops)->default_value(0),
     "with --drop-after: drop at most this many connections; 0 = no limit")
    ("restart-on-connect", po::bool_switch(&opts.restart_on_connect),
     "each connection starts at the first line (default: resume where the last one stopped)")
    ("retime", "stamp each trade with the time it is sent (T = now, E moved alike), for a real "
     "lag: the default")
    ("original-times", po::bool_switch(&original_times),
     "send the recorded T and E instead of retiming")
    ("wait-for", po::value(&opts.wait_for_file),
     "accept connections but send nothing until this file exists")
    ("ping-interval-ms", po::value(&ping_ms)->default_value(0), "send a ping this often; 0 = never")
    ("close-after-ms", po::value(&close_after_ms)->default_value(0),
     "close each connection with a close frame after this long (like Binance's 24 h); 0 = never")
    ("tls", "serve wss:// (needs --cert and --key)")
    ("cert", po::value(&cert), "PEM certificate chain for --tls")
    ("key", po::value(&key), "PEM private key for --tls");
  // clang-format on
  try {
    po::variables_map vm;
    po::store(po::parse_command_line(argc, argv, desc), vm);
    if (vm.count("help") != 0) {
      std::cout << desc << '\n';
      return 0;
    }
    po::notify(vm);
    if (opts.speed < 0) throw std::invalid_argument("--speed must not be negative");
    if (original_times && vm.count("retime") != 0) {
      throw std::invalid_argument("--retime and --original-times contradict each other");
    }
    opts.retime = !original_times;
    opts.ping_interval = std::chrono::milliseconds(ping_ms);
    opts.close_after = std::chrono::milliseconds(close_after_ms);
    opts.lines = matchd::feed_replay::load_ndjson(file);
    if (port > 65535) throw std::invalid_argument("--port out of range");

    std::optional<asio::ssl::context> tls;
    if (vm.count("tls") != 0) {
      if (cert.empty() || key.empty()) throw std::invalid_argument("--tls needs --cert and --key");
      tls.emplace(asio::ssl::context::tls_server);
      tls->use_certificate_chain_file(cert);
      tls->use_private_key_file(key, asio::ssl::context::pem);
    }

    asio::io_context ioc(1);
    const asio::ip::tcp::endpoint listen(asio::ip::make_address(host),
                                         static_cast<unsigned short>(port));
    matchd::feed_replay::replay_server server(ioc, listen, std::move(opts), tls ? &*tls : nullptr);
    server.start();
    asio::signal_set signals(ioc, SIGINT, SIGTERM);
    signals.async_wait([&](const boost::system::error_code&, int) {
      server.stop();
      ioc.stop();
    });
    const auto bound = server.local_endpoint();
    if (!ready_file.empty()) write_ready_file(ready_file, bound);
    std::cout << "matchd-feed-replay serving " << file << " on " << (tls ? "wss" : "ws") << "://"
              << bound.address().to_string() << ':' << bound.port() << '/' << std::endl;
    ioc.run();
    std::cout << "served connections=" << server.connections()
              << " messages=" << server.messages_sent() << " malformed=" << server.malformed_sent()
              << " drops=" << server.drops() << std::endl;
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "matchd-feed-replay: " << e.what() << '\n';
    return 2;
  }
}
