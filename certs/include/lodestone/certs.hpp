// Development certificates: a local CA and a server certificate signed by it,
// made with the OpenSSL API, for the demo and for tests.
#pragma once

#include <string>

namespace lodestone::certs {

struct DevCertFiles {
  std::string ca_cert;      // DIR/ca.pem: trust this in a mail client
  std::string ca_key;       // DIR/ca.key
  std::string server_cert;  // DIR/server.pem: chain (server + CA)
  std::string server_key;   // DIR/server.key
};

// Creates DIR (if needed) and writes a fresh CA and a server certificate for
// localhost, 127.0.0.1 and ::1, valid 825 days.  Keys are written mode 0600.
// Throws std::runtime_error naming the file or OpenSSL step that failed.
DevCertFiles create_dev_certs(const std::string& dir);

}  // namespace lodestone::certs
