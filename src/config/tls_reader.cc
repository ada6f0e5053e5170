#include "config/tls_reader.h"

#include "net/tls_files.h"

namespace flexgate::config {
namespace {

// A file path written in the config: resolved against `base_dir`; reported when unreadable.
std::optional<std::string> read_file_path(Reader& r, const Field& field, const std::filesystem::path& base_dir) {
  const auto text = r.string(field);
  if (!text) return std::nullopt;
  for (char c : *text) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
      r.error(field.mark, field.path, "must be a file path without control characters");
      return std::nullopt;
    }
  }
  const std::filesystem::path written(*text);
  const std::filesystem::path resolved = (written.is_absolute() ? written : base_dir / written).lexically_normal();
  std::error_code ec;
  const auto status = std::filesystem::status(resolved, ec);
  if (status.type() == std::filesystem::file_type::not_found) {
    r.error(field.mark, field.path, "file not found: " + resolved.string());
    return std::nullopt;
  }
  if (ec) {
    r.error(field.mark, field.path, "cannot access " + resolved.string() + ": " + ec.message());
    return std::nullopt;
  }
  if (!std::filesystem::is_regular_file(status)) {
    r.error(field.mark, field.path, resolved.string() + " is not a regular file");
    return std::nullopt;
  }
  return resolved.string();
}

std::optional<std::string> read_min_version(Reader& r, const MapFields& map) {
  const Field* field = map.get("minVersion");
  if (field == nullptr) return "1.2";
  return r.one_of(*field, {"1.2", "1.3"});
}

// `cert` + `key` of one mapping, loaded together (the key must match the certificate).
bool read_certificate_pair(Reader& r, MapFields& map, const std::filesystem::path& base_dir, std::string& cert,
                           std::string& key, bool required) {
  const Field* cert_field = required ? map.require("cert") : map.get("cert");
  const Field* key_field = required ? map.require("key") : map.get("key");
  if (cert_field == nullptr && key_field == nullptr) return !required;
  if ((cert_field == nullptr) != (key_field == nullptr)) {
    const Field& given = cert_field != nullptr ? *cert_field : *key_field;
    r.error(given.key_mark, given.path, std::string("needs '") + (cert_field != nullptr ? "key" : "cert") +
                                            "' too: a certificate and its private key go together");
    return false;
  }
  auto cert_path = read_file_path(r, *cert_field, base_dir);
  auto key_path = read_file_path(r, *key_field, base_dir);
  if (!cert_path || !key_path) return false;
  if (std::string error = net::check_certificate_files({*cert_path, *key_path}); !error.empty()) {
    r.error(cert_field->mark, cert_field->path, error);
    return false;
  }
  cert = *cert_path;
  key = *key_path;
  return true;
}

}  // namespace

void read_server_tls(Reader& r, const Field& field, const std::filesystem::path& base_dir, ServerTlsSpec& out) {
  MapFields map(r, field, {"cert", "key", "certificates", "minVersion", "ciphers", "clientCA", "requireClientCert"});
  if (!map.ok()) return;
  out.pos = to_pos(field.mark);
  read_certificate_pair(r, map, base_dir, out.cert, out.key, /*required=*/true);
  if (auto version = read_min_version(r, map)) out.min_version = *version;
  if (const Field* f = map.get("ciphers")) {
    if (auto ciphers = r.string(*f)) {
      if (std::string error = net::check_cipher_list(*ciphers); !error.empty()) {
        r.error(f->mark, f->path, error);
      } else {
        out.ciphers = *ciphers;
      }
    }
  }
  if (const Field* f = map.get("clientCA")) {
    if (auto path = read_file_path(r, *f, base_dir)) {
      if (std::string error = net::check_ca_file(*path); !error.empty()) {
        r.error(f->mark, f->path, error);
      } else {
        out.client_ca = *path;
      }
    }
  }
  if (const Field* f = map.get("requireClientCert")) {
    if (auto require = r.boolean(*f)) {
      out.require_client_cert = *require;
      if (*require && map.get("clientCA") == nullptr) {
        r.error(f->key_mark, f->path, "needs clientCA: client certificates are verified against it");
      }
    }
  }
  if (const Field* f = map.get("certificates")) {
    auto items = r.items(*f);
    if (!items) return;
    for (const Field& item : *items) {
      MapFields entry(r, item, {"hosts", "cert", "key"});
      if (!entry.ok()) continue;
      ServerTlsSpec::NamedCertificate named;
      named.pos = to_pos(item.mark);
      if (const Field* hosts = entry.require("hosts")) {
        if (auto host_items = r.items(*hosts)) {
          if (host_items->empty()) r.error(hosts->mark, hosts->path, "must list at least one host name");
          for (const Field& host_field : *host_items) {
            auto host = r.string(host_field);
            if (!host) continue;
            std::string_view name = *host;
            if (name.starts_with("*.")) name.remove_prefix(2);
            const bool valid = !name.empty() && name.size() <= 253 &&
                               name.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-.") ==
                                   std::string_view::npos &&
                               name.front() != '.' && name.back() != '.' && name.find("..") == std::string_view::npos;
            if (!valid) {
              r.error(host_field.mark, host_field.path,
                      "must be a host name like \"api.example.com\" or \"*.example.com\"");
              continue;
            }
            named.hosts.push_back(*host);
          }
        }
      }
      if (read_certificate_pair(r, entry, base_dir, named.cert, named.key, /*required=*/true)) {
        out.certificates.push_back(std::move(named));
      }
    }
  }
}

void read_upstream_tls(Reader& r, const Field& field, const std::filesystem::path& base_dir, UpstreamTlsSpec& out) {
  MapFields map(r, field, {"verify", "ca", "cert", "key", "serverName", "minVersion"});
  if (!map.ok()) return;
  out.pos = to_pos(field.mark);
  if (const Field* f = map.get("verify")) {
    if (auto verify = r.boolean(*f)) out.verify = *verify;
  }
  if (const Field* f = map.get("ca")) {
    if (auto path = read_file_path(r, *f, base_dir)) {
      if (std::string error = net::check_ca_file(*path); !error.empty()) {
        r.error(f->mark, f->path, error);
      } else {
        out.ca = *path;
      }
    }
  }
  read_certificate_pair(r, map, base_dir, out.cert, out.key, /*required=*/false);
  if (const Field* f = map.get("serverName")) {
    if (auto name = r.string(*f)) {
      if (name->empty() || name->find_first_of(" \t\r\n/:@") != std::string::npos) {
        r.error(f->mark, f->path, "must be a host name like \"api.internal\"");
      } else {
        out.server_name = *name;
      }
    }
  }
  if (auto version = read_min_version(r, map)) out.min_version = *version;
}

}  // namespace flexgate::config
