#pragma once
// Reading the TLS keys (issue #10): `proxy.tls` (termination, SNI certificates, client
// certificates) and `upstreams[].tls` (verification, CA, client certificate for mTLS to a
// backend). Internal to config/: every file is resolved against the config file's directory,
// loaded and checked here, so a missing file, a key that does not match its certificate or an
// unknown cipher is a config error at its position, never a failed start or a bad reload.

#include <filesystem>

#include "config/reader.h"
#include "config/schema.h"

namespace flexgate::config {

// `proxy.tls: {cert, key, certificates: [{hosts, cert, key}], minVersion, ciphers, clientCA,
// requireClientCert}`.
void read_server_tls(Reader& reader, const Field& field, const std::filesystem::path& base_dir, ServerTlsSpec& out);
// `upstreams[].tls: {verify, ca, cert, key, serverName, minVersion}`.
void read_upstream_tls(Reader& reader, const Field& field, const std::filesystem::path& base_dir,
                       UpstreamTlsSpec& out);

}  // namespace flexgate::config
