// The WebSocket connection behind WsTransport (internal to the transport): the io_context and
// TLS context the service thread owns (Net), one connection attempt with its Beast stream and
// buffers (Conn), and the asynchronous steps that open it and move frames (ws_connection.cpp).
// Threading: everything here is used on the service thread only, except Net::io (post/stop).
#pragma once

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>

#include <deque>
#include <memory>
#include <optional>
#include <string>

#include "transport/ws_transport.h"

namespace tether::client {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace websocket = boost::beast::websocket;
using tcp = boost::asio::ip::tcp;

// ---- the io_context the service thread runs, and the TLS settings every connection shares.
struct WsTransport::Net {
  asio::io_context io{1};  // one thread: asio may skip its internal locking where it can
  asio::executor_work_guard<asio::io_context::executor_type> work{io.get_executor()};
  std::optional<asio::ssl::context> tls;  // set for wss:// URLs
};

// ---- one connection attempt. Owned by conn_ and by the handlers of its pending operations, so
// it outlives a close() until they have all completed (with operation_aborted).
struct WsTransport::Conn {
  using Plain = websocket::stream<beast::tcp_stream>;
  using Tls = websocket::stream<beast::ssl_stream<beast::tcp_stream>>;

  Conn(asio::io_context& io, asio::ssl::context* tlsContext) : resolver(io) {
    if (tlsContext) tls.emplace(io, *tlsContext);
    else plain.emplace(io);
  }
  template <class Fn>
  void visit(Fn&& fn) {
    if (tls) fn(*tls);
    else fn(*plain);
  }
  tcp::socket& socket() {
    return tls ? beast::get_lowest_layer(*tls).socket() : beast::get_lowest_layer(*plain).socket();
  }
  // Abandons the connection: every pending operation completes with an error.
  void close() {
    boost::system::error_code ignored;
    resolver.cancel();
    socket().shutdown(tcp::socket::shutdown_both, ignored);
    socket().close(ignored);
  }

  tcp::resolver resolver;
  std::optional<Plain> plain;
  std::optional<Tls> tls;
  std::string proxyIo;              // the CONNECT request, then the proxy's reply
  bool open = false;                // the WebSocket handshake succeeded
  bool writing = false;             // an async_write is in flight (for out.front())
  std::deque<std::string> out;      // encoded frames to send, in order
  beast::flat_buffer rx;            // the frame being received; its capacity is kept
};

// An error code as text, with OpenSSL's reason for TLS failures.
std::string describeError(const boost::system::error_code& ec);

}  // namespace tether::client
