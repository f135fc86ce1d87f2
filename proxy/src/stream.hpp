// One connection, plain or TLS, the same type either way so a session can
// switch to TLS mid-stream (STARTTLS) without changing how it reads and
// writes.  Also the line reader used before login.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <system_error>

#include "asio_pch.hpp"

namespace lodestone::proxy {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using boost::system::error_code;

class Stream {
 public:
  explicit Stream(tcp::socket socket) : plain_(std::move(socket)) {}

  bool is_tls() const { return tls_ != nullptr; }
  tcp::socket& socket() { return tls_ ? tls_->next_layer() : plain_; }
  SSL* ssl() { return tls_ ? tls_->native_handle() : nullptr; }

  // Wraps the connection in TLS and runs the handshake; an error leaves the
  // stream unusable.
  asio::awaitable<error_code> start_tls_server(asio::ssl::context& context);
  // Client side: sends SNI for `server_name` and, when `verify`, checks the
  // certificate chain and that it names `server_name` (host or IP address).
  asio::awaitable<error_code> start_tls_client(asio::ssl::context& context, const std::string& server_name,
                                               bool verify);

  // Asio-style operations on whichever layer is active; `token` is a
  // completion handler or asio::as_tuple(asio::use_awaitable).
  template <typename Buffers, typename Token>
  auto async_read_some(const Buffers& buffers, Token&& token) {
    if (tls_) return tls_->async_read_some(buffers, std::forward<Token>(token));
    return plain_.async_read_some(buffers, std::forward<Token>(token));
  }

  template <typename Buffers, typename Token>
  auto async_write(const Buffers& buffers, Token&& token) {
    if (tls_) return asio::async_write(*tls_, buffers, std::forward<Token>(token));
    return asio::async_write(plain_, buffers, std::forward<Token>(token));
  }

  template <typename Buffers>
  asio::awaitable<std::tuple<error_code, std::size_t>> read_some(const Buffers& buffers) {
    return async_read_some(buffers, asio::as_tuple(asio::use_awaitable));
  }

  template <typename Buffers>
  asio::awaitable<std::tuple<error_code, std::size_t>> write_all(const Buffers& buffers) {
    return async_write(buffers, asio::as_tuple(asio::use_awaitable));
  }

  // True when OpenSSL holds received bytes (decrypted, or in the BIO Asio
  // feeds it from): a read will find data without waiting for the peer.
  // Asio's own staging buffer is not visible here, so false proves nothing.
  bool tls_holds_input();

  // Closes the TCP connection (no TLS close_notify: the peer sees EOF).
  void close();

 private:
  tcp::socket plain_;
  std::unique_ptr<asio::ssl::stream<tcp::socket>> tls_;
};

// Reads CR LF terminated lines and exact byte counts, keeping what was read
// past them for the next call.  Used before login only; afterwards the relay
// takes over with the leftover bytes.
class LineReader {
 public:
  enum class Status { ok, closed, too_long };

  explicit LineReader(std::size_t max_line) : max_line_(max_line) {}

  // A line without its CR LF (a bare LF also ends a line).
  asio::awaitable<Status> read_line(Stream& stream, std::string& line);
  asio::awaitable<Status> read_exact(Stream& stream, std::size_t count, std::string& out);

  // Bytes already read but not consumed; the reader is empty afterwards.
  std::string take_buffered();
  void discard_buffered() { buffer_.clear(); }
  // Overwrites and frees the buffer (it held pre-auth commands: passwords).
  void wipe();

 private:
  std::size_t max_line_;
  std::string buffer_;
};

std::unique_ptr<asio::ssl::context> make_server_tls_context(const std::string& cert_file,
                                                            const std::string& key_file);
std::unique_ptr<asio::ssl::context> make_client_tls_context(const std::string& ca_file);

}  // namespace lodestone::proxy
