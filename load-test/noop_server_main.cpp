// noop-server: the ceiling matchd's REST throughput is compared to. A minimal Boost.Beast
// HTTP/1.1 server with the same shape as matchd's gateway (one io_context per thread,
// accepted sockets dealt round robin, TCP_NODELAY, a parser per request with a body limit,
// one response in flight per connection, keep-alive) that answers every request with
// 201 and {"order":{"status":"open"}} and does nothing else.

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/program_options.hpp>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;

constexpr std::string_view kBody = R"({"order":{"status":"open"}})";
constexpr std::uint64_t kBodyLimit = 64 * 1024;
constexpr auto kIdleTimeout = std::chrono::seconds(60);

class session : public std::enable_shared_from_this<session> {
 public:
  explicit session(tcp::socket&& socket) : stream_(std::move(socket)) {}

  void run() { do_read(); }

 private:
  void do_read() {
    parser_.emplace();
    parser_->body_limit(kBodyLimit);
    stream_.expires_after(kIdleTimeout);
    http::async_read(stream_, buffer_, *parser_,
                     beast::bind_front_handler(&session::on_read, shared_from_this()));
  }

  void on_read(beast::error_code ec, std::size_t) {
    if (ec) return close();
    const auto& req = parser_->get();
    response_.emplace(http::status::created, req.version());
    response_->set(http::field::server, "noop-server");
    response_->set(http::field::content_type, "application/json");
    response_->keep_alive(req.keep_alive());
    response_->body() = kBody;
    response_->prepare_payload();
    http::async_write(stream_, *response_,
                      beast::bind_front_handler(&session::on_write, shared_from_this()));
  }

  void on_write(beast::error_code ec, std::size_t) {
    const bool keep_alive = response_->keep_alive();
    response_.reset();
    if (ec || !keep_alive) return close();
    do_read();
  }

  void close() {
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
    stream_.close();
  }

  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  std::optional<http::response<http::string_body>> response_;
};

class server {
 public:
  server(unsigned threads, const tcp::endpoint& endpoint) : contexts_(threads) {
    for (auto& c : contexts_) {
      c = std::make_unique<net::io_context>(1);
      guards_.emplace_back(c->get_executor());
    }
    acceptor_.emplace(*contexts_.front());
    acceptor_->open(endpoint.protocol());
    acceptor_->set_option(net::socket_base::reuse_address(true));
    acceptor_->bind(endpoint);
    acceptor_->listen(net::socket_base::max_listen_connections);
  }

  [[nodiscard]] tcp::endpoint local_endpoint() const { return acceptor_->local_endpoint(); }

  void run() {
    signals_.emplace(*contexts_.front(), SIGINT, SIGTERM);
    signals_->async_wait([this](beast::error_code, int) { stop(); });
    do_accept();
    std::vector<std::thread> threads;
    for (std::size_t i = 1; i < contexts_.size(); ++i) {
      threads.emplace_back([c = contexts_[i].get()] { c->run(); });
    }
    contexts_.front()->run();
    for (auto& t : threads) t.join();
  }

 private:
  void do_accept() {
    net::io_context& target = *contexts_[next_++ % contexts_.size()];
    acceptor_->async_accept(target, [this](beast::error_code ec, tcp::socket socket) {
      if (ec == net::error::operation_aborted || !acceptor_->is_open()) return;
      if (!ec) {
        socket.set_option(tcp::no_delay(true), ec);
        // Runs on the socket's own context.
        auto& ctx = static_cast<net::io_context&>(socket.get_executor().context());
        net::post(ctx, [s = std::move(socket)]() mutable {
          std::make_shared<session>(std::move(s))->run();
        });
      }
      do_accept();
    });
  }

  void stop() {
    beast::error_code ignored;
    acceptor_->close(ignored);
    guards_.clear();
    for (auto& c : contexts_) c->stop();
  }

  std::vector<std::unique_ptr<net::io_context>> contexts_;
  std::vector<net::executor_work_guard<net::io_context::executor_type>> guards_;
  std::optional<tcp::acceptor> acceptor_;
  std::optional<net::signal_set> signals_;
  std::size_t next_ = 0;
};

}  // namespace

int main(int argc, char** argv) {
  namespace po = boost::program_options;
  std::string listen = "127.0.0.1:8090";
  std::string ready_file;
  unsigned threads = 1;
  po::options_description opts(
      "noop-server: answers every HTTP request with 201 {\"order\":{\"status\":\"open\"}}\n\n"
      "Options");
  // clang-format off
  opts.add_options()
    ("help,h", "print this help and exit")
    ("listen", po::value(&listen)->default_value(listen), "HOST:PORT; port 0 picks a free port")
    ("threads", po::value(&threads)->default_value(threads), "I/O threads")
    ("ready-file", po::value(&ready_file), "write HOST:PORT here once listening");
  // clang-format on
  po::variables_map vm;
  try {
    po::store(po::parse_command_line(argc, argv, opts), vm);
    if (vm.count("help")) {
      std::cout << opts << '\n';
      return 0;
    }
    po::notify(vm);
  } catch (const po::error& e) {
    std::cerr << "noop-server: " << e.what() << '\n';
    return 2;
  }
  const auto colon = listen.rfind(':');
  boost::system::error_code ec;
  const auto address =
      net::ip::make_address(colon == std::string::npos ? "" : listen.substr(0, colon), ec);
  unsigned long port = 65536;
  try {
    port = std::stoul(listen.substr(colon + 1));
  } catch (const std::exception&) {
  }
  if (colon == std::string::npos || ec || port > 65535) {
    std::cerr << "noop-server: --listen must be IP:PORT, got " << listen << '\n';
    return 2;
  }
  if (threads == 0 || threads > 64) {
    std::cerr << "noop-server: --threads must be 1..64\n";
    return 2;
  }
  try {
    server s(threads, tcp::endpoint(address, static_cast<unsigned short>(port)));
    const tcp::endpoint bound = s.local_endpoint();
    const std::string where = bound.address().to_string() + ":" + std::to_string(bound.port());
    std::cerr << "noop-server: listening on " << where << " with " << threads << " thread(s)\n";
    if (!ready_file.empty()) {
      // Written whole, then renamed, so a reader never sees half a line.
      const std::string tmp = ready_file + ".tmp";
      std::ofstream(tmp) << where << '\n';
      std::filesystem::rename(tmp, ready_file);
    }
    s.run();
  } catch (const std::exception& e) {
    std::cerr << "noop-server: " << e.what() << '\n';
    return 1;
  }
  return 0;
}
