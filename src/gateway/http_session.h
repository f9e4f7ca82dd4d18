#pragma once

#include <matchd/codec/errors.h>

#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>

#include "connection_limits.h"
#include "io_thread.h"
#include "order_entry.h"
#include "routes.h"

namespace matchd::gateway {

namespace beast = boost::beast;
namespace http = beast::http;

class query_params;

// One HTTP/1.1 connection. Requests are handled one at a time: the next is read only
// after the previous response is written, so pipelined requests are answered in order.
// Each request goes to the handler of its route (routes.h). A GET /stream upgrade hands
// the socket to a websocket_session, a GET /stream/sse to an sse_session.
class http_session : public session_base, public std::enable_shared_from_this<http_session> {
 public:
  http_session(boost::asio::ip::tcp::socket&& socket, io_thread& io, connection_ticket ticket);
  ~http_session() override;

  void run();
  void on_delivery(bus::io_delivery&& d) override;
  void shutdown() override;
  void check_idle(std::chrono::steady_clock::time_point now) override;

 private:
  using request = http::request<http::string_body>;
  using shared_body = std::shared_ptr<const std::string>;

  // A request is read in two steps: its header (parse_header, reading until it is whole),
  // then, once the header is accepted, its body (read_body). Between the two the framing
  // is checked and `Expect: 100-continue` answered.
  void do_read();
  void parse_header();
  void on_read_some(beast::error_code ec, std::size_t bytes);
  void on_header(std::optional<std::string_view> framing_problem);
  void read_body();
  void on_parse_error(beast::error_code ec);
  // The route of the request whose header was just read, or the answer it gets whatever
  // its body (unknown path, 405, recovering, a body that is not JSON).
  std::optional<immediate_answer> route_request(request& req);
  // Answers the request once its body is read (or refused without reading it).
  void respond(request& req);
  // After a response that closes the connection before the request was read whole: reads
  // and throws away what the client still sends until it closes too (bounded by the idle
  // timeout), so that closing with unread bytes does not reset the connection and destroy
  // the response on its way.
  void linger();
  void discard_input();

  // The route handlers (routes.cpp lists them in the table).
  friend std::span<const route> server_routes() noexcept;
  void place_order(request& req, const path_params& params, std::string_view query);
  void amend_order(request& req, const path_params& params, std::string_view query);
  void get_order(request& req, const path_params& params, std::string_view query);
  void list_orders(request& req, const path_params& params, std::string_view query);
  void cancel_all_orders(request& req, const path_params& params, std::string_view query);
  void cancel_order(request& req, const path_params& params, std::string_view query);
  void get_orderbook(request& req, const path_params& params, std::string_view query);
  void get_trades(request& req, const path_params& params, std::string_view query);
  // GET /candles, GET /analytics/stats (analytics_handlers.cpp).
  void get_candles(request& req, const path_params& params, std::string_view query);
  void get_stats(request& req, const path_params& params, std::string_view query);
  void get_ticker(request& req, const path_params& params, std::string_view query);
  // GET /positions and the settlement routes (clearing_handlers.cpp).
  void get_positions(request& req, const path_params& params, std::string_view query);
  void get_pnl(request& req, const path_params& params, std::string_view query);
  // The web client (web/, embedded): the page, and its scripts and styles.
  void get_page(request& req, const path_params& params, std::string_view query);
  void get_asset(request& req, const path_params& params, std::string_view query);
  void serve_asset(request& req, std::string_view path);
  void create_settlement(request& req, const path_params& params, std::string_view query);
  void list_settlements(request& req, const path_params& params, std::string_view query);
  void get_settlement(request& req, const path_params& params, std::string_view query);
  // Hands a call to the settlement source; its answer (JSON, or CSV with `csv`) is posted
  // back to this session's thread.
  void ask_settlements(const std::function<void(clearing::settlement_source&,
                                                clearing::settlement_source::done_fn)>& call,
                       bool csv = false);
  // The webhook routes (webhook_handlers.cpp), answered by the webhook source.
  void create_webhook(request& req, const path_params& params, std::string_view query);
  void list_webhooks(request& req, const path_params& params, std::string_view query);
  void delete_webhook(request& req, const path_params& params, std::string_view query);
  void list_webhook_deliveries(request& req, const path_params& params, std::string_view query);
  void retry_webhook_delivery(request& req, const path_params& params, std::string_view query);
  void ask_webhooks(const std::function<void(event_export::webhook_source&,
                                             event_export::webhook_source::done_fn)>& call);
  void open_websocket(request& req, const path_params& params, std::string_view query);
  void open_event_stream(request& req, const path_params& params, std::string_view query);
  void get_health(request& req, const path_params& params, std::string_view query);
  void get_readiness(request& req, const path_params& params, std::string_view query);
  void get_metrics(request& req, const path_params& params, std::string_view query);
  void create_snapshot(request& req, const path_params& params, std::string_view query);
  void create_key(request& req, const path_params& params, std::string_view query);
  void list_keys(request& req, const path_params& params, std::string_view query);
  void revoke_key(request& req, const path_params& params, std::string_view query);
  // GET /instruments, GET /instruments/{symbol}, POST /admin/instruments/{symbol}/halt|resume.
  void get_instruments(request& req, const path_params& params, std::string_view query);
  void get_instrument(request& req, const path_params& params, std::string_view query);
  void halt_instrument(request& req, const path_params& params, std::string_view query);
  void resume_instrument(request& req, const path_params& params, std::string_view query);
  void create_instrument(request& req, const path_params& params, std::string_view query);
  void set_trading_status(std::string_view symbol, bool halt);
  std::optional<engine::instrument_id> path_instrument(std::string_view symbol);

  // With --auth keys: the request's key (principal_), or the answer that refuses it (a key
  // in the query string, a missing or unknown key where the route needs one, a role the
  // route does not allow). Public reads ignore keys; the streams take one if it is sent.
  std::optional<immediate_answer> authorize(request& req, const route& r);
  // The live key of `secret`, remembered for the connection's next request while the I/O
  // thread's key table stays the same (hashing the secret is the costly part).
  // Returned by pointer: the connection's cache owns it, and copying a shared pointer that
  // every connection of the key shares would bounce its count between the I/O threads.
  auth::principal* find_key(std::string_view secret);

  // The instrument named by the query's `instrument`; nullopt after answering the error.
  std::optional<engine::instrument_id> query_instrument(const query_params& params);
  // GET and DELETE /orders: the query's `client_id` (required, and with a key one of the
  // key's clients) and optional `instrument`; nullopt after answering the error.
  struct client_selection {
    engine::client_id client;
    std::optional<engine::instrument_id> instrument;  // nullopt: every instrument
  };
  std::optional<client_selection> query_client(const query_params& params);
  // A client id the request names (valid, and with a key one of the key's clients); nullopt
  // after answering the error.
  std::optional<engine::client_id> permitted_client(std::string_view client);
  // GET /orderbook and GET /trades: a read of the publish stage's state.
  void read_market(std::string_view query, bool book);
  // GET /trades with start_time, end_time or before: a page of the trades table.
  void read_trade_history(const query_params& params, engine::instrument_id ins,
                          std::uint32_t limit);
  // The query's start_time and end_time (each optional): false after answering the error
  // (a malformed time, or a start after the end).
  bool query_range(const query_params& params, std::optional<engine::timestamp_us>& start,
                   std::optional<engine::timestamp_us>& end);
  // Hands an analytics read to the history source (analytics::history_source); its answer
  // is posted back to this session's thread.
  template <class Query>
  void read_history(const Query& q);
  // Queues a read for the publish stage; its answer arrives through on_delivery.
  void send_query(const bus::read_query& q);
  void reply(int status, std::string body, int retry_after = 0, bool replayed = false,
             std::string_view content_type = "application/json");
  // An answer from the publish stage: its body is written from the shared string, uncopied.
  void reply_shared(int status, shared_body body, bool replayed);
  // Formats the head and writes it and `body`, which must live until the write completes.
  void send_response(int status, std::string_view body, int retry_after, bool replayed,
                     std::string_view content_type);
  void reply_error(const codec::api_error& e, int retry_after = 0);
  void on_write(beast::error_code ec, bool close);
  void close();
  // From now on the session waits on its client (for a request, or to take a response).
  void wait_on_client();

  // A plain socket: timeouts come from the I/O thread's idle sweep, so beast::tcp_stream's
  // per-operation timer layer would only cost time. An upgrade wraps it in one.
  boost::asio::ip::tcp::socket socket_;
  io_thread& io_;
  connection_ticket ticket_;  // handed on with the socket
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  // The response being written: its head, and its body in one of the two (kept alive
  // until the write completes).
  std::string response_head_;
  // Header lines for the next response only ("\r\nName: value" each), then cleared.
  std::string extra_head_;
  std::string response_body_;
  shared_body response_shared_body_;
  std::uint64_t token_ = 0;
  unsigned version_ = 11;
  bool keep_alive_ = true;
  // While an answer is on its way nothing else holds the session: it holds itself.
  std::shared_ptr<http_session> awaiting_delivery_;
  bool closed_ = false;
  std::string allow_;   // the Allow header of a 405
  path_params params_;  // of the request being handled
  // The request being handled: its route and query (views into its target), or the answer
  // it gets without its route (route_request).
  const route* route_ = nullptr;
  std::string_view query_;
  std::optional<immediate_answer> refusal_;
  bool header_folded_ = false;  // a part of the header read so far folds a line
  // Since when the session has waited on its client to send the rest of a request or to
  // read a response; nullopt while the server owes the next step (the answer of an order
  // that waits on the database is not the client's idleness).
  std::optional<std::chrono::steady_clock::time_point> waiting_on_client_since_;
  // The key of the request being handled (--auth keys), null without one; owned by
  // cached_principal_.
  auth::principal* principal_ = nullptr;
  std::string cached_secret_;
  std::shared_ptr<const auth::key_table> cached_table_;
  std::shared_ptr<auth::principal> cached_principal_;
  // The instrument of the on-demand snapshot this session waits for: its in-flight flag is
  // cleared by the answer, or by the session's end.
  std::optional<engine::instrument_id> snapshot_pending_;
  void snapshot_done();
};

}  // namespace matchd::gateway
