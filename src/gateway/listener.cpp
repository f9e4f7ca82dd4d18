#include "listener.h"

#include <matchd/obs/logger.h>

#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>

#include "http_session.h"

namespace matchd::gateway {

namespace net = boost::asio;

listener::listener(std::vector<io_thread*> threads, const net::ip::tcp::endpoint& endpoint)
    : threads_(std::move(threads)), acceptor_(threads_.front()->context()) {
  acceptor_.open(endpoint.protocol());
  acceptor_.set_option(net::socket_base::reuse_address(true));
  acceptor_.bind(endpoint);
  acceptor_.listen(net::socket_base::max_listen_connections);
}

void listener::stop() {
  net::post(acceptor_.get_executor(), [self = shared_from_this()] {
    beast::error_code ec;
    self->acceptor_.close(ec);
  });
}

void listener::do_accept() {
  io_thread* target = threads_[next_++ % threads_.size()];
  acceptor_.async_accept(target->context(), [self = shared_from_this(), target](
                                                beast::error_code ec, net::ip::tcp::socket socket) {
    if (ec == net::error::operation_aborted || !self->acceptor_.is_open()) return;
    if (!ec) {
      gateway_context& ctx = target->ctx();
      if (ctx.connections.load(std::memory_order_relaxed) >= ctx.options.max_connections) {
        ctx.probe.connection_refused();
        beast::error_code ignored;
        socket.close(ignored);
      } else {
        socket.set_option(net::ip::tcp::no_delay(true), ec);
        // The session is created and run on its own I/O thread.
        net::post(target->context(), [target, s = std::move(socket)]() mutable {
          std::make_shared<http_session>(std::move(s), *target)->run();
        });
      }
    } else {
      obs::logger("gateway")->warn("accept failed: {}", ec.message());
    }
    self->do_accept();
  });
}

}  // namespace matchd::gateway
