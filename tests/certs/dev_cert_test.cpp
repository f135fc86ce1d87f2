#include "lodestone/certs.hpp"

#include <catch2/catch.hpp>

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include <stdlib.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

namespace fs = std::filesystem;
using lodestone::certs::create_dev_certs;
using lodestone::certs::DevCertFiles;

template <auto free_function>
struct OpenSslFree {
  template <typename T>
  void operator()(T* object) const noexcept {
    free_function(object);
  }
};

// sk_X509_pop_free is a macro, so it cannot be a template argument.
struct X509StackFree {
  void operator()(STACK_OF(X509) * stack) const noexcept { sk_X509_pop_free(stack, X509_free); }
};

using X509Ptr = std::unique_ptr<X509, OpenSslFree<X509_free>>;
using PkeyPtr = std::unique_ptr<EVP_PKEY, OpenSslFree<EVP_PKEY_free>>;
using BioPtr = std::unique_ptr<BIO, OpenSslFree<BIO_free_all>>;
using BignumPtr = std::unique_ptr<BIGNUM, OpenSslFree<BN_free>>;
using X509StackPtr = std::unique_ptr<STACK_OF(X509), X509StackFree>;
using StorePtr = std::unique_ptr<X509_STORE, OpenSslFree<X509_STORE_free>>;
using StoreContextPtr = std::unique_ptr<X509_STORE_CTX, OpenSslFree<X509_STORE_CTX_free>>;
using SslContextPtr = std::unique_ptr<SSL_CTX, OpenSslFree<SSL_CTX_free>>;
using SslPtr = std::unique_ptr<SSL, OpenSslFree<SSL_free>>;

class TempDir {
 public:
  TempDir() {
    std::string pattern = (fs::temp_directory_path() / "lodestone-certs-XXXXXX").string();
    if (!::mkdtemp(pattern.data())) throw std::runtime_error("mkdtemp failed for " + pattern);
    path_ = pattern;
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  ~TempDir() {
    std::error_code ignored;
    fs::remove_all(path_, ignored);
  }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

// umask is process-wide; the tests run on one thread, so swapping it for the
// duration of one call is safe.
class ScopedUmask {
 public:
  explicit ScopedUmask(mode_t mask) : previous_(::umask(mask)) {}
  ScopedUmask(const ScopedUmask&) = delete;
  ScopedUmask& operator=(const ScopedUmask&) = delete;
  ~ScopedUmask() { ::umask(previous_); }

 private:
  mode_t previous_;
};

BioPtr open_for_reading(const std::string& path) {
  BioPtr file(BIO_new_file(path.c_str(), "r"));
  REQUIRE(file);
  return file;
}

std::vector<X509Ptr> read_certificates(const std::string& path) {
  BioPtr file = open_for_reading(path);
  std::vector<X509Ptr> certs;
  while (X509* cert = PEM_read_bio_X509(file.get(), nullptr, nullptr, nullptr)) certs.emplace_back(cert);
  // Reading past the last certificate leaves a "no start line" error behind.
  ERR_clear_error();
  return certs;
}

X509Ptr read_certificate(const std::string& path) {
  std::vector<X509Ptr> certs = read_certificates(path);
  REQUIRE(certs.size() == 1);
  return std::move(certs.front());
}

PkeyPtr read_private_key(const std::string& path) {
  BioPtr file = open_for_reading(path);
  PkeyPtr key(PEM_read_bio_PrivateKey(file.get(), nullptr, nullptr, nullptr));
  REQUIRE(key);
  return key;
}

struct LoadedCerts {
  X509Ptr ca;
  PkeyPtr ca_key;
  std::vector<X509Ptr> server_chain;
  PkeyPtr server_key;

  X509* server() const { return server_chain.front().get(); }
};

LoadedCerts load(const DevCertFiles& files) {
  LoadedCerts loaded{
      .ca = read_certificate(files.ca_cert),
      .ca_key = read_private_key(files.ca_key),
      .server_chain = read_certificates(files.server_cert),
      .server_key = read_private_key(files.server_key),
  };
  REQUIRE(loaded.server_chain.size() == 2);
  return loaded;
}

// Verifies the leaf of server.pem as a TLS server certificate, with ca.pem as
// the only trust anchor and the rest of server.pem as untrusted intermediates,
// the way a mail client would see them.  Returns the X509_V_* result.
int verify_server_chain(const LoadedCerts& certs,
                        const std::function<int(X509_VERIFY_PARAM*)>& expect_peer) {
  StorePtr trusted(X509_STORE_new());
  REQUIRE(trusted);
  REQUIRE(X509_STORE_add_cert(trusted.get(), certs.ca.get()) == 1);

  X509StackPtr untrusted(sk_X509_new_null());
  REQUIRE(untrusted);
  for (std::size_t i = 1; i < certs.server_chain.size(); ++i) {
    REQUIRE(X509_add_cert(untrusted.get(), certs.server_chain[i].get(), X509_ADD_FLAG_UP_REF) == 1);
  }

  StoreContextPtr context(X509_STORE_CTX_new());
  REQUIRE(context);
  REQUIRE(X509_STORE_CTX_init(context.get(), trusted.get(), certs.server(), untrusted.get()) == 1);
  X509_VERIFY_PARAM* param = X509_STORE_CTX_get0_param(context.get());
  REQUIRE(X509_VERIFY_PARAM_set_purpose(param, X509_PURPOSE_SSL_SERVER) == 1);
  REQUIRE(expect_peer(param) == 1);

  X509_verify_cert(context.get());
  const int result = X509_STORE_CTX_get_error(context.get());
  ERR_clear_error();
  return result;
}

int verify_for_host(const LoadedCerts& certs, const char* host) {
  return verify_server_chain(
      certs, [&](X509_VERIFY_PARAM* param) { return X509_VERIFY_PARAM_set1_host(param, host, 0); });
}

int verify_for_ip(const LoadedCerts& certs, const char* address) {
  return verify_server_chain(
      certs, [&](X509_VERIFY_PARAM* param) { return X509_VERIFY_PARAM_set1_ip_asc(param, address); });
}

mode_t permission_bits(const std::string& path) {
  struct stat status {};
  REQUIRE(::stat(path.c_str(), &status) == 0);
  return status.st_mode & 07777;
}

std::string common_name(X509* cert) {
  char name[256] = {};
  REQUIRE(X509_NAME_get_text_by_NID(X509_get_subject_name(cert), NID_commonName, name, sizeof name) > 0);
  return name;
}

int serial_bits(X509* cert) {
  BignumPtr serial(ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert), nullptr));
  REQUIRE(serial);
  REQUIRE_FALSE(BN_is_negative(serial.get()));
  return BN_num_bits(serial.get());
}

int validity_days(X509* cert) {
  int days = 0;
  int seconds = 0;
  REQUIRE(ASN1_TIME_diff(&days, &seconds, X509_get0_notBefore(cert), X509_get0_notAfter(cert)) == 1);
  CHECK(seconds == 0);
  return days;
}

bool extension_is_critical(X509* cert, int nid) {
  const int index = X509_get_ext_by_NID(cert, nid, -1);
  REQUIRE(index >= 0);
  return X509_EXTENSION_get_critical(X509_get_ext(cert, index)) == 1;
}

void require_p256(EVP_PKEY* key) {
  REQUIRE(EVP_PKEY_is_a(key, "EC") == 1);
  char group[64] = {};
  REQUIRE(EVP_PKEY_get_group_name(key, group, sizeof group, nullptr) == 1);
  CHECK(std::string(group) == "prime256v1");
}

// Advances one side of the handshake.  False when it failed for good rather
// than just waiting for the peer.
bool advance_handshake(SSL* ssl, bool& done) {
  if (done) return true;
  const int result = SSL_do_handshake(ssl);
  if (result == 1) {
    done = true;
    return true;
  }
  const int error = SSL_get_error(ssl, result);
  return error == SSL_ERROR_WANT_READ || error == SSL_ERROR_WANT_WRITE;
}

struct HandshakeOutcome {
  bool completed = false;
  long verify_result = X509_V_ERR_UNSPECIFIED;
};

// A TLS server using server.pem and server.key and a client that trusts only
// ca.pem and checks `expected_host`, joined by an in-memory BIO pair.
HandshakeOutcome handshake_in_memory(const DevCertFiles& files, const char* expected_host) {
  SslContextPtr server_context(SSL_CTX_new(TLS_server_method()));
  REQUIRE(server_context);
  REQUIRE(SSL_CTX_use_certificate_chain_file(server_context.get(), files.server_cert.c_str()) == 1);
  REQUIRE(SSL_CTX_use_PrivateKey_file(server_context.get(), files.server_key.c_str(), SSL_FILETYPE_PEM) == 1);

  SslContextPtr client_context(SSL_CTX_new(TLS_client_method()));
  REQUIRE(client_context);
  REQUIRE(SSL_CTX_load_verify_locations(client_context.get(), files.ca_cert.c_str(), nullptr) == 1);
  SSL_CTX_set_verify(client_context.get(), SSL_VERIFY_PEER, nullptr);

  SslPtr server(SSL_new(server_context.get()));
  SslPtr client(SSL_new(client_context.get()));
  REQUIRE(server);
  REQUIRE(client);
  REQUIRE(SSL_set_tlsext_host_name(client.get(), expected_host) == 1);
  REQUIRE(SSL_set1_host(client.get(), expected_host) == 1);

  BIO* client_end = nullptr;
  BIO* server_end = nullptr;
  REQUIRE(BIO_new_bio_pair(&client_end, 0, &server_end, 0) == 1);
  // Each SSL takes ownership of its end of the pair.
  SSL_set_bio(client.get(), client_end, client_end);
  SSL_set_bio(server.get(), server_end, server_end);
  SSL_set_connect_state(client.get());
  SSL_set_accept_state(server.get());

  // Each round lets each side read what the other wrote; a handshake needs
  // only a few, and the bound stops a broken one from spinning forever.
  bool client_done = false;
  bool server_done = false;
  for (int round = 0; round < 10 && !(client_done && server_done); ++round) {
    if (!advance_handshake(client.get(), client_done) || !advance_handshake(server.get(), server_done)) break;
  }
  HandshakeOutcome outcome{.completed = client_done && server_done,
                           .verify_result = SSL_get_verify_result(client.get())};
  ERR_clear_error();
  return outcome;
}

}  // namespace

TEST_CASE("create_dev_certs writes a CA and a server chain into a new directory", "[certs]") {
  TempDir temp;
  const fs::path dir = temp.path() / "nested" / "certs";

  const DevCertFiles files = create_dev_certs(dir.string());

  CHECK(files.ca_cert == (dir / "ca.pem").string());
  CHECK(files.ca_key == (dir / "ca.key").string());
  CHECK(files.server_cert == (dir / "server.pem").string());
  CHECK(files.server_key == (dir / "server.key").string());
  const LoadedCerts certs = load(files);
  CHECK(X509_cmp(certs.server_chain[1].get(), certs.ca.get()) == 0);
}

TEST_CASE("the dev CA is a self-signed v3 P-256 CA valid for 825 days", "[certs]") {
  TempDir temp;
  const LoadedCerts certs = load(create_dev_certs(temp.path().string()));
  X509* ca = certs.ca.get();

  CHECK(X509_get_version(ca) == X509_VERSION_3);
  CHECK(common_name(ca) == "Lodestone Dev CA");
  CHECK(X509_check_issued(ca, ca) == X509_V_OK);
  CHECK(X509_check_ca(ca) == 1);
  CHECK(extension_is_critical(ca, NID_basic_constraints));
  CHECK(X509_get_key_usage(ca) == (KU_KEY_CERT_SIGN | KU_CRL_SIGN));
  CHECK(extension_is_critical(ca, NID_key_usage));
  CHECK(X509_get0_subject_key_id(ca) != nullptr);
  CHECK(X509_get_signature_nid(ca) == NID_ecdsa_with_SHA256);
  CHECK(serial_bits(ca) == 128);
  CHECK(validity_days(ca) == 825);
  require_p256(certs.ca_key.get());
}

TEST_CASE("the server certificate is a SHA-256 leaf for localhost issued by the CA", "[certs]") {
  TempDir temp;
  const LoadedCerts certs = load(create_dev_certs(temp.path().string()));
  X509* server = certs.server();

  CHECK(X509_get_version(server) == X509_VERSION_3);
  CHECK(common_name(server) == "localhost");
  CHECK(X509_check_ca(server) == 0);
  CHECK(X509_get_key_usage(server) == KU_DIGITAL_SIGNATURE);
  CHECK(X509_get_extended_key_usage(server) == XKU_SSL_SERVER);
  CHECK(X509_check_issued(certs.ca.get(), server) == X509_V_OK);
  CHECK(ASN1_OCTET_STRING_cmp(X509_get0_authority_key_id(server), X509_get0_subject_key_id(certs.ca.get())) == 0);
  CHECK(X509_get_signature_nid(server) == NID_ecdsa_with_SHA256);
  CHECK(serial_bits(server) == 128);
  CHECK(ASN1_INTEGER_cmp(X509_get0_serialNumber(server), X509_get0_serialNumber(certs.ca.get())) != 0);
  CHECK(validity_days(server) == 825);
  require_p256(certs.server_key.get());
}

TEST_CASE("the server certificate verifies against ca.pem for its names only", "[certs]") {
  TempDir temp;
  const LoadedCerts certs = load(create_dev_certs(temp.path().string()));

  CHECK(verify_for_host(certs, "localhost") == X509_V_OK);
  CHECK(verify_for_ip(certs, "127.0.0.1") == X509_V_OK);
  CHECK(verify_for_ip(certs, "::1") == X509_V_OK);
  CHECK(verify_for_host(certs, "example.com") == X509_V_ERR_HOSTNAME_MISMATCH);
  CHECK(verify_for_ip(certs, "127.0.0.2") == X509_V_ERR_IP_ADDRESS_MISMATCH);
}

TEST_CASE("each private key matches its own certificate", "[certs]") {
  TempDir temp;
  const LoadedCerts certs = load(create_dev_certs(temp.path().string()));

  CHECK(X509_check_private_key(certs.ca.get(), certs.ca_key.get()) == 1);
  CHECK(X509_check_private_key(certs.server(), certs.server_key.get()) == 1);
  CHECK(X509_check_private_key(certs.server(), certs.ca_key.get()) == 0);
  // The expected mismatch leaves an error queued; later tests start clean.
  ERR_clear_error();
}

TEST_CASE("key files are mode 0600 whatever the umask or earlier mode", "[certs]") {
  TempDir temp;
  const fs::path dir = temp.path();
  // A leftover key readable by everyone must be tightened, not kept as is.
  std::ofstream(dir / "server.key") << "old key\n";
  fs::permissions(dir / "server.key", fs::perms::all);

  DevCertFiles files;
  {
    const ScopedUmask permissive(0);
    files = create_dev_certs(dir.string());
  }

  CHECK(permission_bits(files.ca_key) == 0600);
  CHECK(permission_bits(files.server_key) == 0600);
  CHECK(permission_bits(files.ca_cert) == 0644);
  CHECK(permission_bits(files.server_cert) == 0644);
  CHECK(X509_check_private_key(read_certificates(files.server_cert).front().get(),
                               read_private_key(files.server_key).get()) == 1);
}

TEST_CASE("running twice replaces every file with a fresh, consistent set", "[certs]") {
  TempDir temp;
  const LoadedCerts first = load(create_dev_certs(temp.path().string()));
  const LoadedCerts second = load(create_dev_certs(temp.path().string()));

  CHECK(ASN1_INTEGER_cmp(X509_get0_serialNumber(first.ca.get()), X509_get0_serialNumber(second.ca.get())) != 0);
  CHECK(EVP_PKEY_eq(first.ca_key.get(), second.ca_key.get()) != 1);
  CHECK(EVP_PKEY_eq(first.server_key.get(), second.server_key.get()) != 1);
  CHECK(X509_check_private_key(second.ca.get(), second.ca_key.get()) == 1);
  CHECK(X509_check_private_key(second.server(), second.server_key.get()) == 1);
  CHECK(verify_for_host(second, "localhost") == X509_V_OK);
}

TEST_CASE("a path that cannot be written fails with a message naming it", "[certs]") {
  TempDir temp;

  SECTION("directory under a regular file") {
    const fs::path regular_file = temp.path() / "not-a-directory";
    std::ofstream(regular_file) << "x\n";
    const std::string dir = (regular_file / "certs").string();

    try {
      create_dev_certs(dir);
      FAIL("create_dev_certs succeeded under a regular file");
    } catch (const std::runtime_error& error) {
      CHECK_THAT(error.what(), Catch::Matchers::Contains(dir));
    }
  }

  SECTION("key file path taken by a directory") {
    const fs::path blocked_key = temp.path() / "ca.key";
    fs::create_directory(blocked_key);

    try {
      create_dev_certs(temp.path().string());
      FAIL("create_dev_certs wrote over a directory");
    } catch (const std::runtime_error& error) {
      CHECK_THAT(error.what(), Catch::Matchers::Contains(blocked_key.string()));
    }
  }
}

TEST_CASE("a TLS client trusting ca.pem completes a handshake with server.pem", "[certs][tls]") {
  TempDir temp;
  const DevCertFiles files = create_dev_certs(temp.path().string());

  SECTION("for localhost") {
    const HandshakeOutcome outcome = handshake_in_memory(files, "localhost");
    CHECK(outcome.completed);
    CHECK(outcome.verify_result == X509_V_OK);
  }

  SECTION("but not for another host name") {
    const HandshakeOutcome outcome = handshake_in_memory(files, "example.com");
    CHECK_FALSE(outcome.completed);
    CHECK(outcome.verify_result == X509_V_ERR_HOSTNAME_MISMATCH);
  }
}
