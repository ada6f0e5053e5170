#pragma once
// A config file in a fresh temp directory (with any extra files next to it), loaded and compiled
// as `flexgate run` would, and explained: the fixture of the explain unit tests.

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "admin/explain.h"
#include "config/loader.h"

namespace flexgate::admin {

class Snapshot {
 public:
  explicit Snapshot(const std::string& yaml,
                    const std::vector<std::pair<std::string, std::string>>& files = {}) {
    char dir_template[] = "/tmp/flexgate-explain-XXXXXX";
    dir_ = mkdtemp(dir_template);
    for (const auto& [name, content] : files) std::ofstream(dir_ + "/" + name) << content;
    const std::string path = dir_ + "/gateway.yml";
    std::ofstream(path) << yaml;
    auto loaded = config::load_config_file(path);
    for (const auto& error : loaded.errors) ADD_FAILURE() << error.to_string();
    if (!loaded.ok()) return;
    std::vector<std::string> errors;
    runtime_ = proxy::Runtime::build(std::move(*loaded.config), errors);
    for (const auto& error : errors) ADD_FAILURE() << error;
  }
  ~Snapshot() { std::filesystem::remove_all(dir_); }  // schemas are compiled at load: the files can go
  Snapshot(const Snapshot&) = delete;
  Snapshot& operator=(const Snapshot&) = delete;

  const proxy::Runtime& runtime() const { return *runtime_; }
  bool ok() const { return runtime_ != nullptr; }

  ExplainReport explain(std::string method, std::string url,
                        std::vector<std::pair<std::string, std::string>> headers = {},
                        std::string client = "127.0.0.1") const {
    ExplainQuery query;
    query.method = std::move(method);
    query.url = std::move(url);
    query.headers = std::move(headers);
    query.client_ip = std::move(client);
    return explain_request(*runtime_, query);
  }

 private:
  std::string dir_;
  std::shared_ptr<const proxy::Runtime> runtime_;
};

}  // namespace flexgate::admin
