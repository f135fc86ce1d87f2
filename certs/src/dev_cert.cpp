#include "lodestone/certs.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>

namespace lodestone::certs {
namespace {

// Apple platforms reject TLS server certificates valid for longer than 825
// days, so both certificates use that limit.
constexpr int validity_days = 825;
constexpr int serial_bits = 128;

template <auto free_function>
struct OpenSslFree {
  template <typename T>
  void operator()(T* object) const noexcept {
    free_function(object);
  }
};

using PkeyPtr = std::unique_ptr<EVP_PKEY, OpenSslFree<EVP_PKEY_free>>;
using X509Ptr = std::unique_ptr<X509, OpenSslFree<X509_free>>;
using ExtensionPtr = std::unique_ptr<X509_EXTENSION, OpenSslFree<X509_EXTENSION_free>>;
using BignumPtr = std::unique_ptr<BIGNUM, OpenSslFree<BN_free>>;
using BioPtr = std::unique_ptr<BIO, OpenSslFree<BIO_free_all>>;

std::string error_prefix(std::string_view step) {
  return "create_dev_certs: " + std::string(step) + ": ";
}

// Drains this thread's OpenSSL error queue so the message carries every
// reason OpenSSL gave, and the next caller starts from an empty queue.
[[noreturn]] void throw_openssl_error(std::string_view step) {
  std::string reasons;
  while (unsigned long code = ERR_get_error()) {
    char text[256];
    ERR_error_string_n(code, text, sizeof text);
    if (!reasons.empty()) reasons += "; ";
    reasons += text;
  }
  if (reasons.empty()) reasons = "no OpenSSL error reported";
  throw std::runtime_error(error_prefix(step) + reasons);
}

[[noreturn]] void throw_system_error(std::string_view step, int error_number) {
  throw std::runtime_error(error_prefix(step) + std::strerror(error_number));
}

PkeyPtr generate_p256_key(std::string_view role) {
  PkeyPtr key(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
  if (!key) throw_openssl_error("generating the " + std::string(role) + " (EC P-256)");
  return key;
}

// A v3 certificate with the parts every certificate here shares: random
// serial, validity starting now, subject CN and public key.  The caller sets
// the issuer, adds extensions and signs.
X509Ptr new_certificate(EVP_PKEY* subject_key, const char* common_name) {
  const std::string step = std::string("building the certificate for \"") + common_name + "\"";
  X509Ptr cert(X509_new());
  if (!cert || !X509_set_version(cert.get(), X509_VERSION_3)) throw_openssl_error(step);

  // The top bit is forced to one so the serial is never zero and always
  // encodes to the same length; the remaining 127 bits are random.
  BignumPtr serial(BN_new());
  if (!serial || !BN_rand(serial.get(), serial_bits, BN_RAND_TOP_ONE, BN_RAND_BOTTOM_ANY) ||
      !BN_to_ASN1_INTEGER(serial.get(), X509_get_serialNumber(cert.get()))) {
    throw_openssl_error(step + " (serial number)");
  }

  if (!X509_gmtime_adj(X509_getm_notBefore(cert.get()), 0) ||
      !X509_time_adj_ex(X509_getm_notAfter(cert.get()), validity_days, 0, nullptr)) {
    throw_openssl_error(step + " (validity)");
  }

  // The name is owned by the certificate; no separate object to free.
  X509_NAME* subject = X509_get_subject_name(cert.get());
  if (!X509_NAME_add_entry_by_txt(subject, "CN", MBSTRING_UTF8,
                                  reinterpret_cast<const unsigned char*>(common_name), -1, -1, 0) ||
      !X509_set_pubkey(cert.get(), subject_key)) {
    throw_openssl_error(step + " (subject)");
  }
  return cert;
}

// Adds one extension written in openssl.cnf syntax.  The issuer is needed
// for authorityKeyIdentifier, which copies the issuer's subjectKeyIdentifier.
void add_extension(X509* cert, X509* issuer, int nid, const char* value) {
  X509V3_CTX context;
  X509V3_set_ctx_nodb(&context);
  X509V3_set_ctx(&context, issuer, cert, nullptr, nullptr, 0);
  ExtensionPtr extension(X509V3_EXT_nconf_nid(nullptr, &context, nid, value));
  if (!extension || !X509_add_ext(cert, extension.get(), -1)) {
    throw_openssl_error(std::string("adding extension ") + OBJ_nid2sn(nid) + " = " + value);
  }
}

void sign_sha256(X509* cert, EVP_PKEY* issuer_key, std::string_view what) {
  if (X509_sign(cert, issuer_key, EVP_sha256()) <= 0) {
    throw_openssl_error("signing the " + std::string(what));
  }
}

X509Ptr make_ca_cert(EVP_PKEY* ca_key) {
  X509Ptr ca = new_certificate(ca_key, "Lodestone Dev CA");
  if (!X509_set_issuer_name(ca.get(), X509_get_subject_name(ca.get()))) {
    throw_openssl_error("setting the CA issuer name");
  }
  add_extension(ca.get(), ca.get(), NID_basic_constraints, "critical,CA:TRUE");
  add_extension(ca.get(), ca.get(), NID_key_usage, "critical,keyCertSign,cRLSign");
  add_extension(ca.get(), ca.get(), NID_subject_key_identifier, "hash");
  sign_sha256(ca.get(), ca_key, "CA certificate");
  return ca;
}

X509Ptr make_server_cert(EVP_PKEY* server_key, X509* ca, EVP_PKEY* ca_key) {
  X509Ptr server = new_certificate(server_key, "localhost");
  if (!X509_set_issuer_name(server.get(), X509_get_subject_name(ca))) {
    throw_openssl_error("setting the server certificate issuer name");
  }
  add_extension(server.get(), ca, NID_basic_constraints, "CA:FALSE");
  add_extension(server.get(), ca, NID_key_usage, "critical,digitalSignature");
  add_extension(server.get(), ca, NID_ext_key_usage, "serverAuth");
  add_extension(server.get(), ca, NID_subject_alt_name, "DNS:localhost,IP:127.0.0.1,IP:::1");
  add_extension(server.get(), ca, NID_subject_key_identifier, "hash");
  add_extension(server.get(), ca, NID_authority_key_identifier, "keyid:always");
  sign_sha256(server.get(), ca_key, "server certificate");
  return server;
}

class FileDescriptor {
 public:
  explicit FileDescriptor(int fd) : fd_(fd) {}
  FileDescriptor(const FileDescriptor&) = delete;
  FileDescriptor& operator=(const FileDescriptor&) = delete;
  ~FileDescriptor() {
    if (fd_ >= 0) ::close(fd_);
  }
  int get() const { return fd_; }
  // Closes now so the caller sees the error a full disk may only report
  // at close time.
  int close() {
    int result = ::close(fd_);
    fd_ = -1;
    return result;
  }

 private:
  int fd_;
};

// Writes PEM produced by `encode` to `path` with exactly `mode`.  A new file
// is created with `mode`; an existing one is truncated and chmod-ed before
// any byte is written, so a key is never readable by others even briefly.
// The PEM goes from the memory BIO straight to the file: OpenSSL wipes that
// buffer when freeing it, which a std::string copy of a key would not get.
void write_pem_file(const std::string& path, mode_t mode, std::string_view what,
                    const std::function<bool(BIO*)>& encode) {
  BioPtr pem(BIO_new(BIO_s_mem()));
  if (!pem || !encode(pem.get())) throw_openssl_error("encoding the " + std::string(what) + " for " + path);
  char* data = nullptr;
  const long size = BIO_get_mem_data(pem.get(), &data);

  FileDescriptor file(::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode));
  if (file.get() < 0) throw_system_error("cannot open " + path + " for writing", errno);
  if (::fchmod(file.get(), mode) != 0) throw_system_error("cannot set the mode of " + path, errno);
  for (long written = 0; written < size;) {
    const ssize_t result = ::write(file.get(), data + written, static_cast<size_t>(size - written));
    if (result < 0) {
      if (errno == EINTR) continue;
      throw_system_error("cannot write " + path, errno);
    }
    written += result;
  }
  if (file.close() != 0) throw_system_error("cannot write " + path, errno);
}

bool write_private_key(BIO* out, EVP_PKEY* key) {
  return PEM_write_bio_PrivateKey(out, key, nullptr, nullptr, 0, nullptr, nullptr) == 1;
}

}  // namespace

DevCertFiles create_dev_certs(const std::string& dir) {
  if (dir.empty()) throw std::runtime_error("create_dev_certs: the output directory is empty");
  std::error_code error;
  std::filesystem::create_directories(dir, error);
  if (error) throw std::runtime_error(error_prefix("cannot create directory " + dir) + error.message());

  // Stale entries from earlier, unrelated calls would otherwise end up in
  // our error messages.
  ERR_clear_error();

  // Everything is generated before any file is touched, so an OpenSSL
  // failure leaves an existing set of files intact.
  PkeyPtr ca_key = generate_p256_key("CA key");
  X509Ptr ca = make_ca_cert(ca_key.get());
  PkeyPtr server_key = generate_p256_key("server key");
  X509Ptr server = make_server_cert(server_key.get(), ca.get(), ca_key.get());

  const std::filesystem::path base(dir);
  DevCertFiles files{
      .ca_cert = (base / "ca.pem").string(),
      .ca_key = (base / "ca.key").string(),
      .server_cert = (base / "server.pem").string(),
      .server_key = (base / "server.key").string(),
  };
  constexpr mode_t public_mode = 0644;
  constexpr mode_t secret_mode = 0600;

  write_pem_file(files.ca_key, secret_mode, "CA key",
                 [&](BIO* out) { return write_private_key(out, ca_key.get()); });
  write_pem_file(files.server_key, secret_mode, "server key",
                 [&](BIO* out) { return write_private_key(out, server_key.get()); });
  write_pem_file(files.ca_cert, public_mode, "CA certificate",
                 [&](BIO* out) { return PEM_write_bio_X509(out, ca.get()) == 1; });
  // A chain file like an ACME client's fullchain.pem, so listeners load dev
  // and real certificates the same way.
  write_pem_file(files.server_cert, public_mode, "server certificate chain", [&](BIO* out) {
    return PEM_write_bio_X509(out, server.get()) == 1 && PEM_write_bio_X509(out, ca.get()) == 1;
  });
  return files;
}

}  // namespace lodestone::certs
