#include "stream.hpp"

#include <openssl/crypto.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

namespace lodestone::proxy {

asio::awaitable<error_code> Stream::start_tls_server(asio::ssl::context& context) {
  tls_ = std::make_unique<asio::ssl::stream<tcp::socket>>(std::move(plain_), context);
  auto [ec] = co_await tls_->async_handshake(asio::ssl::stream_base::server, asio::as_tuple(asio::use_awaitable));
  co_return ec;
}

asio::awaitable<error_code> Stream::start_tls_client(asio::ssl::context& context, const std::string& server_name,
                                                     bool verify) {
  tls_ = std::make_unique<asio::ssl::stream<tcp::socket>>(std::move(plain_), context);
  SSL* ssl = tls_->native_handle();
  error_code address_ec;
  asio::ip::make_address(server_name, address_ec);
  const bool is_address = !address_ec;  // SNI carries host names only
  if (!is_address) SSL_set_tlsext_host_name(ssl, server_name.c_str());
  if (verify) {
    tls_->set_verify_mode(asio::ssl::verify_peer);
    X509_VERIFY_PARAM* param = SSL_get0_param(ssl);
    X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
    const int set = is_address ? X509_VERIFY_PARAM_set1_ip_asc(param, server_name.c_str())
                               : X509_VERIFY_PARAM_set1_host(param, server_name.c_str(), server_name.size());
    if (set != 1) co_return asio::error::make_error_code(asio::error::invalid_argument);
  } else {
    tls_->set_verify_mode(asio::ssl::verify_none);
  }
  auto [ec] = co_await tls_->async_handshake(asio::ssl::stream_base::client, asio::as_tuple(asio::use_awaitable));
  co_return ec;
}

bool Stream::tls_holds_input() {
  if (!tls_) return false;
  SSL* ssl = tls_->native_handle();
  return SSL_pending(ssl) > 0 || BIO_pending(SSL_get_rbio(ssl)) > 0;
}

void Stream::close() {
  error_code ignored;
  socket().shutdown(tcp::socket::shutdown_both, ignored);
  socket().close(ignored);
}

namespace {
// Pre-auth lines are short; small reads keep the transient buffers small.
constexpr std::size_t kReadChunk = 1024;
}  // namespace

// The socket reads are written out in each coroutine rather than shared
// through a nested one: GCC 12 resumed the wrong frame after a nested
// coroutine that looped over co_await returned (seen as SIGILL in
// read_exact on a LOGIN with literals).
asio::awaitable<LineReader::Status> LineReader::read_line(Stream& stream, std::string& line) {
  std::size_t searched = 0;
  std::size_t nl = std::string::npos;
  error_code ec;
  std::size_t n = 0;
  for (;;) {
    nl = buffer_.find('\n', searched);
    if (nl != std::string::npos) break;
    if (buffer_.size() > max_line_ + 1) co_return Status::too_long;
    searched = buffer_.size();
    buffer_.resize(searched + kReadChunk);
    std::tie(ec, n) = co_await stream.read_some(asio::buffer(buffer_.data() + searched, kReadChunk));
    buffer_.resize(searched + (ec ? 0 : n));
    if (ec || n == 0) co_return Status::closed;
  }
  const std::size_t end = (nl > 0 && buffer_[nl - 1] == '\r') ? nl - 1 : nl;
  if (end > max_line_) co_return Status::too_long;
  line.assign(buffer_, 0, end);
  buffer_.erase(0, nl + 1);
  co_return Status::ok;
}

asio::awaitable<LineReader::Status> LineReader::read_exact(Stream& stream, std::size_t count, std::string& out) {
  error_code ec;
  std::size_t n = 0;
  std::size_t have = 0;
  while (buffer_.size() < count) {
    have = buffer_.size();
    buffer_.resize(have + kReadChunk);
    std::tie(ec, n) = co_await stream.read_some(asio::buffer(buffer_.data() + have, kReadChunk));
    buffer_.resize(have + (ec ? 0 : n));
    if (ec || n == 0) co_return Status::closed;
  }
  out.assign(buffer_, 0, count);
  buffer_.erase(0, count);
  co_return Status::ok;
}

void LineReader::wipe() {
  // Erasing consumed lines moved bytes but left old ones beyond size().
  buffer_.resize(buffer_.capacity());
  OPENSSL_cleanse(buffer_.data(), buffer_.size());
  std::string().swap(buffer_);
}

std::string LineReader::take_buffered() {
  // A copy sized to the content, and the read buffer freed: what is taken
  // here can live as long as the session.
  std::string out(buffer_);
  std::string().swap(buffer_);
  return out;
}

namespace {

void harden(asio::ssl::context& context) {
  context.set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                      asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 |
                      asio::ssl::context::no_tlsv1_1);
  // Idle sessions give their TLS read/write buffers back to the allocator.
  SSL_CTX_set_mode(context.native_handle(), SSL_MODE_RELEASE_BUFFERS);
}

}  // namespace

std::unique_ptr<asio::ssl::context> make_server_tls_context(const std::string& cert_file,
                                                            const std::string& key_file) {
  auto context = std::make_unique<asio::ssl::context>(asio::ssl::context::tls_server);
  harden(*context);
  context->use_certificate_chain_file(cert_file);
  context->use_private_key_file(key_file, asio::ssl::context::pem);
  return context;
}

std::unique_ptr<asio::ssl::context> make_client_tls_context(const std::string& ca_file) {
  auto context = std::make_unique<asio::ssl::context>(asio::ssl::context::tls_client);
  harden(*context);
  context->set_default_verify_paths();
  if (!ca_file.empty()) context->load_verify_file(ca_file);
  return context;
}

}  // namespace lodestone::proxy
