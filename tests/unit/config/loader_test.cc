// Loading valid configs: every key lands in its field, defaults stay, values are normalized, and
// the file entry point reports unreadable files.

#include "config/loader.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include "config_test_util.h"

namespace flexgate::config {
namespace {

using namespace std::chrono_literals;
using testing::all_errors;
using testing::yaml;

const std::string kFull = yaml(R"(
proxy: { port: 3000, host: 0.0.0.0, timeout: 30000, maxBodySize: "10mb", workers: 2,
         headerTimeout: 10s, idleTimeout: 60s, drainTimeout: 30s, maxHeadSize: 16kb, maxUriSize: 8kb,
         maxHeaderCount: 100 }
upstreams:
  - name: primary-api
    url: "http://127.0.0.1:8080"
    timeout: 5000
    connectTimeout: 2s
    retries: 3
    loadBalancer: round_robin
    circuitBreaker: { enabled: true, failureThreshold: 50, minimumRequests: 20, windowMs: 10000,
                      openDuration: 30000, halfOpenRequests: 1 }
    pool: { maxIdle: 64, idleTimeout: 60s }
  - name: search
    targets:
      - { url: "http://10.0.0.11:9200", weight: 3 }
      - url: "https://[FD00::12]"
    loadBalancer: { strategy: consistent_hash, hashOn: "header:X-User" }
routes:
  - path: "/api/users/*"
    host: "API.Example.com"
    upstream: primary-api
    methods: [GET, post]
    auth: required
    timeout: 120000
    maxBodySize: 1mb
    stripPrefix: true
    preserveHost: false
    rateLimit: { max: 100, windowMs: 60000, message: "slow down", key: "ip" }
  - path: "/users/:id"
    host: "*.Example.com"
    upstream: search
    auth: optional
    rewrite: "/v2/users/${path.id}"
    preserveHost: true
  - path: "/api/expensive/*"
    upstream: primary-api
    auth: none
    rateLimit: { max: 10, windowMs: 1m, key: "header:X-Client" }
security:
  allowedHosts: ["api.example.com", "*.Internal.corp"]
  blockedIPs: ["169.254.169.254", "10.0.0.0/8", "FD00::/8"]
  auth:
    type: apiKey
    header: X-API-Key
    keys:
      - { key: "9F86D081884C7D659A2FEAA0C55AD015A3BF4F1B2B0B822CD15D6C15B0F00A08", name: "Client A", hmacSecret: "s3cret" }
      - { key: "60303ae22b998861bce3b28f33eec1be758a213c86c93c076dbe9f558c11c752", name: "Client B" }
rateLimit:
  backend: redis
  redis: { url: "redis://localhost:6379", timeout: 50ms }
  failMode: closed
  global: { max: 1000, windowMs: 60000 }
  perRoute: [{ path: "/api/expensive/*", max: 10, windowMs: 60000, message: "expensive" }]
logging: { level: warn, format: text, accessLog: false, sampling: { successRate: 0.1, errorRate: 1.0 } }
)");

TEST(LoadConfig, FullConfigSetsEveryField) {
  const LoadResult result = load_config_text(kFull, "full.yml");
  ASSERT_TRUE(result.ok()) << all_errors(result);
  ASSERT_TRUE(result.errors.empty());
  const Config& c = *result.config;
  EXPECT_EQ(c.source_path, "");  // only files have a path

  EXPECT_EQ(c.proxy.port, 3000);
  EXPECT_EQ(c.proxy.host, "0.0.0.0");
  EXPECT_EQ(c.proxy.timeout, 30000ms);
  EXPECT_EQ(c.proxy.max_body_size, 10u << 20);
  EXPECT_EQ(c.proxy.workers, 2u);
  EXPECT_EQ(c.proxy.header_timeout, 10s);
  EXPECT_EQ(c.proxy.idle_timeout, 60s);
  EXPECT_EQ(c.proxy.drain_timeout, 30s);
  EXPECT_EQ(c.proxy.max_head_size, 16u * 1024);
  EXPECT_EQ(c.proxy.max_uri_size, 8u * 1024);
  EXPECT_EQ(c.proxy.max_header_count, 100u);

  ASSERT_EQ(c.upstreams.size(), 2u);
  const UpstreamSpec& api = c.upstreams[0];
  EXPECT_EQ(api.name, "primary-api");
  ASSERT_EQ(api.targets.size(), 1u);
  EXPECT_EQ(api.targets[0].url, "http://127.0.0.1:8080");
  EXPECT_EQ(api.targets[0].scheme, "http");
  EXPECT_EQ(api.targets[0].host, "127.0.0.1");
  EXPECT_EQ(api.targets[0].port, 8080);
  EXPECT_EQ(api.targets[0].weight, 1u);
  EXPECT_EQ(api.targets[0].pos.line, 6);
  EXPECT_EQ(api.targets[0].pos.column, 10);
  EXPECT_EQ(api.timeout, 5000ms);
  EXPECT_EQ(api.connect_timeout, 2s);
  EXPECT_EQ(api.retries, 3u);
  EXPECT_EQ(api.load_balancer, "round_robin");
  EXPECT_TRUE(api.circuit_breaker.enabled);
  EXPECT_EQ(api.circuit_breaker.failure_threshold, 50u);
  EXPECT_EQ(api.circuit_breaker.minimum_requests, 20u);
  EXPECT_EQ(api.circuit_breaker.window, 10s);
  EXPECT_EQ(api.circuit_breaker.open_duration, 30s);
  EXPECT_EQ(api.circuit_breaker.half_open_requests, 1u);
  EXPECT_EQ(api.pool.max_idle, 64u);
  EXPECT_EQ(api.pool.idle_timeout, 60s);
  EXPECT_EQ(api.pos.line, 5);
  EXPECT_EQ(api.pos.column, 5);

  const UpstreamSpec& search = c.upstreams[1];
  EXPECT_EQ(search.load_balancer, "consistent_hash");
  EXPECT_EQ(search.balancer.strategy, LoadBalancerStrategy::kConsistentHash);
  EXPECT_EQ(search.balancer.hash_on.source, HashSource::kHeader);
  EXPECT_EQ(search.balancer.hash_on.name, "X-User");
  ASSERT_EQ(search.targets.size(), 2u);
  EXPECT_EQ(search.targets[0].host, "10.0.0.11");
  EXPECT_EQ(search.targets[0].port, 9200);
  EXPECT_EQ(search.targets[0].weight, 3u);
  EXPECT_EQ(search.targets[1].scheme, "https");
  EXPECT_EQ(search.targets[1].host, "fd00::12");  // lower-cased, without brackets
  EXPECT_EQ(search.targets[1].port, 443);
  EXPECT_EQ(search.targets[1].url, "https://[FD00::12]");
  EXPECT_EQ(search.timeout, 30s);  // default
  EXPECT_EQ(c.find_upstream("search"), &c.upstreams[1]);
  EXPECT_EQ(c.find_upstream("primary-api"), c.upstreams.data());
  EXPECT_EQ(c.find_upstream("nope"), nullptr);

  ASSERT_EQ(c.routes.size(), 3u);
  const RouteSpec& users = c.routes[0];
  EXPECT_EQ(users.path, "/api/users/*");
  EXPECT_EQ(users.host, "api.example.com");
  EXPECT_EQ(users.upstream, "primary-api");
  EXPECT_EQ(users.methods, (std::vector<std::string>{"GET", "POST"}));
  EXPECT_EQ(users.auth, AuthMode::kRequired);
  EXPECT_EQ(users.timeout, 120s);
  EXPECT_EQ(users.max_body_size, 1u << 20);
  EXPECT_TRUE(users.strip_prefix);
  EXPECT_EQ(users.rewrite, "");
  EXPECT_FALSE(users.preserve_host);
  ASSERT_TRUE(users.rate_limit.has_value());
  EXPECT_EQ(users.rate_limit->max, 100u);
  EXPECT_EQ(users.rate_limit->window, 60s);
  EXPECT_EQ(users.rate_limit->message, "slow down");
  EXPECT_EQ(users.rate_limit->key, "ip");
  EXPECT_EQ(users.pos.line, 20);
  EXPECT_EQ(users.pos.column, 5);

  const RouteSpec& by_id = c.routes[1];
  EXPECT_EQ(by_id.host, "*.example.com");
  EXPECT_TRUE(by_id.methods.empty());
  EXPECT_EQ(by_id.auth, AuthMode::kOptional);
  EXPECT_EQ(by_id.rewrite, "/v2/users/${path.id}");
  EXPECT_TRUE(by_id.preserve_host);
  EXPECT_FALSE(by_id.timeout.has_value());
  EXPECT_FALSE(by_id.max_body_size.has_value());
  EXPECT_FALSE(by_id.rate_limit.has_value());

  const RouteSpec& expensive = c.routes[2];
  EXPECT_EQ(expensive.auth, AuthMode::kNone);
  ASSERT_TRUE(expensive.rate_limit.has_value());
  EXPECT_EQ(expensive.rate_limit->window, 1min);
  EXPECT_EQ(expensive.rate_limit->key, "header:X-Client");
  EXPECT_EQ(expensive.rate_limit->message, "");

  EXPECT_EQ(c.security.allowed_hosts, (std::vector<std::string>{"api.example.com", "*.internal.corp"}));
  EXPECT_EQ(c.security.blocked_ips, (std::vector<std::string>{"169.254.169.254", "10.0.0.0/8", "fd00::/8"}));
  EXPECT_TRUE(c.security.auth.present);
  EXPECT_EQ(c.security.auth.type, "apiKey");
  EXPECT_EQ(c.security.auth.header, "X-API-Key");
  ASSERT_EQ(c.security.auth.keys.size(), 2u);
  EXPECT_EQ(c.security.auth.keys[0].key_sha256,
            "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08");
  EXPECT_EQ(c.security.auth.keys[0].name, "Client A");
  EXPECT_EQ(c.security.auth.keys[0].hmac_secret, "s3cret");
  EXPECT_EQ(c.security.auth.keys[1].name, "Client B");
  EXPECT_EQ(c.security.auth.keys[1].hmac_secret, "");
  EXPECT_EQ(c.security.auth.keys[1].pos.line, 48);

  EXPECT_EQ(c.rate_limit.backend, "redis");
  EXPECT_EQ(c.rate_limit.redis.url, "redis://localhost:6379");
  EXPECT_EQ(c.rate_limit.redis.timeout, 50ms);
  EXPECT_EQ(c.rate_limit.fail_mode, "closed");
  ASSERT_TRUE(c.rate_limit.global.has_value());
  EXPECT_EQ(c.rate_limit.global->max, 1000u);
  EXPECT_EQ(c.rate_limit.global->window, 60s);
  ASSERT_EQ(c.rate_limit.per_route.size(), 1u);
  EXPECT_EQ(c.rate_limit.per_route[0].path, "/api/expensive/*");
  EXPECT_EQ(c.rate_limit.per_route[0].limit.max, 10u);
  EXPECT_EQ(c.rate_limit.per_route[0].limit.window, 60s);
  EXPECT_EQ(c.rate_limit.per_route[0].limit.message, "expensive");

  EXPECT_EQ(c.logging.level, LogLevel::kWarn);
  EXPECT_EQ(c.logging.format, LogFormat::kText);
  EXPECT_FALSE(c.logging.access_log);
  EXPECT_DOUBLE_EQ(c.logging.sampling.success_rate, 0.1);
  EXPECT_DOUBLE_EQ(c.logging.sampling.error_rate, 1.0);
}

TEST(LoadConfig, MinimalConfigKeepsDefaults) {
  const LoadResult result = load_config_text(yaml(R"(
upstreams:
  - name: a
    url: http://localhost:8080
routes:
  - path: /*
    upstream: a
)"));
  ASSERT_TRUE(result.ok()) << all_errors(result);
  const Config& c = *result.config;
  const Config defaults;
  EXPECT_EQ(c.proxy.port, defaults.proxy.port);
  EXPECT_EQ(c.proxy.host, "0.0.0.0");
  EXPECT_EQ(c.proxy.timeout, 30s);
  EXPECT_EQ(c.proxy.max_body_size, 10u << 20);
  EXPECT_EQ(c.proxy.workers, 0u);
  EXPECT_EQ(c.upstreams[0].connect_timeout, 5s);
  EXPECT_EQ(c.upstreams[0].load_balancer, "least_request");  // the default since traffic control
  EXPECT_FALSE(c.upstreams[0].circuit_breaker.enabled);
  EXPECT_EQ(c.upstreams[0].targets[0].port, 8080);
  EXPECT_FALSE(c.routes[0].auth.has_value());
  EXPECT_FALSE(c.security.auth.present);
  EXPECT_EQ(c.rate_limit.backend, "memory");
  EXPECT_EQ(c.rate_limit.fail_mode, "local");
  EXPECT_FALSE(c.rate_limit.global.has_value());
  EXPECT_EQ(c.logging.level, LogLevel::kInfo);
  EXPECT_EQ(c.logging.format, LogFormat::kJson);
  EXPECT_TRUE(c.logging.access_log);
  EXPECT_TRUE(c.security.builtin_deny_list);
  EXPECT_TRUE(c.security.trusted_proxies.empty());
  EXPECT_EQ(c.security.underscore_headers, "reject");
  EXPECT_EQ(c.security.auth.timestamp_header, "X-Timestamp");
  EXPECT_EQ(c.security.auth.signature_header, "X-Signature");
  EXPECT_EQ(c.security.auth.max_clock_skew, 5min);
  EXPECT_TRUE(c.routes[0].allow_from.empty());
  EXPECT_TRUE(c.routes[0].deny_from.empty());
  EXPECT_FALSE(c.routes[0].validate.has_value());
  EXPECT_FALSE(c.routes[0].forward_credentials);
  EXPECT_TRUE(c.dns.servers.empty());
  EXPECT_EQ(c.dns.timeout, 2s);
  EXPECT_EQ(c.dns.min_ttl, 1s);
  EXPECT_EQ(c.dns.max_ttl, 5min);
}

TEST(LoadConfig, SecurityRouteAndDnsKeys) {
  const LoadResult result = load_config_text(yaml(R"(
upstreams: [{ name: a, url: "http://127.0.0.1:1" }]
routes:
  - path: /a/*
    upstream: a
    auth: required
    allowFrom: ["10.0.0.0/8", "FD00::/8", "192.168.1.7"]
    denyFrom: ["10.13.0.0/16"]
    validate:
      contentTypes: [Application/JSON, "text/plain"]
    forwardCredentials: true
  - path: /b
    upstream: a
    denyFrom: []
security:
  builtinDenyList: false
  trustedProxies: ["127.0.0.1", "2001:DB8::/32"]
  underscoreHeaders: drop
  auth:
    type: hmac
    timestampHeader: X-Request-Time
    signatureHeader: X-Request-Signature
    maxSkew: 90s
    keys: [{ key: "60303ae22b998861bce3b28f33eec1be758a213c86c93c076dbe9f558c11c752", name: k, hmacSecret: s }]
dns:
  servers: ["127.0.0.1:5353", "[::1]:53", "10.0.0.2", "[FD00::A]", "[::ffff:10.0.0.3]:65535"]
  timeout: 250ms
  minTtl: 0
  maxTtl: 1h
)"));
  ASSERT_TRUE(result.ok()) << all_errors(result);
  const Config& c = *result.config;
  const RouteSpec& a = c.routes[0];
  EXPECT_EQ(a.allow_from, (std::vector<std::string>{"10.0.0.0/8", "fd00::/8", "192.168.1.7"}));
  EXPECT_EQ(a.deny_from, (std::vector<std::string>{"10.13.0.0/16"}));
  ASSERT_TRUE(a.validate.has_value());
  EXPECT_EQ(a.validate->content_types, (std::vector<std::string>{"application/json", "text/plain"}));
  EXPECT_EQ(a.validate->json_schema, "");
  EXPECT_EQ(a.validate->json_schema_path, "");
  EXPECT_EQ(a.validate->pos.line, 9);
  EXPECT_EQ(a.validate->pos.column, 7);
  EXPECT_TRUE(a.forward_credentials);
  EXPECT_TRUE(c.routes[1].allow_from.empty());
  EXPECT_TRUE(c.routes[1].deny_from.empty());  // an empty denyFrom refuses no one, like no key
  EXPECT_FALSE(c.routes[1].forward_credentials);

  EXPECT_FALSE(c.security.builtin_deny_list);
  EXPECT_EQ(c.security.trusted_proxies, (std::vector<std::string>{"127.0.0.1", "2001:db8::/32"}));
  EXPECT_EQ(c.security.underscore_headers, "drop");
  EXPECT_EQ(c.security.auth.timestamp_header, "X-Request-Time");
  EXPECT_EQ(c.security.auth.signature_header, "X-Request-Signature");
  EXPECT_EQ(c.security.auth.max_clock_skew, 90s);

  EXPECT_EQ(c.dns.servers, (std::vector<std::string>{"127.0.0.1:5353", "[::1]:53", "10.0.0.2:53",
                                                     "[fd00::a]:53", "[::ffff:10.0.0.3]:65535"}));
  EXPECT_EQ(c.dns.timeout, 250ms);
  EXPECT_EQ(c.dns.min_ttl, 0ms);
  EXPECT_EQ(c.dns.max_ttl, 1h);
}

TEST(LoadConfig, ContentTypesAcceptMediaRanges) {
  const LoadResult result = load_config_text(yaml(R"(
upstreams: [{ name: a, url: "http://127.0.0.1:1" }]
routes:
  - { path: /a, upstream: a, validate: { contentTypes: ["Text/*", "*/*", "application/vnd.api+json"] } }
)"));
  ASSERT_TRUE(result.ok()) << all_errors(result);
  EXPECT_EQ(result.config->routes[0].validate->content_types,
            (std::vector<std::string>{"text/*", "*/*", "application/vnd.api+json"}));
}

TEST(LoadConfig, DnsTtlBoundsMayBeEqual) {
  const LoadResult result = load_config_text("dns: { minTtl: 30s, maxTtl: 30s, timeout: 60s }\n");
  ASSERT_TRUE(result.ok()) << all_errors(result);
  EXPECT_EQ(result.config->dns.min_ttl, 30s);
  EXPECT_EQ(result.config->dns.max_ttl, 30s);
  EXPECT_EQ(result.config->dns.timeout, 60s);
}

TEST(LoadConfig, ApiKeyAuthDoesNotCheckTheHmacHeaders) {
  // The timestamp and signature headers are only read for hmac; with apiKey they may be anything.
  const LoadResult result = load_config_text(yaml(R"(
security:
  auth:
    timestampHeader: X-API-Key
    signatureHeader: x-api-key
    keys: [{ key: "60303ae22b998861bce3b28f33eec1be758a213c86c93c076dbe9f558c11c752", name: k }]
)"));
  ASSERT_TRUE(result.ok()) << all_errors(result);
  EXPECT_EQ(result.config->security.auth.signature_header, "x-api-key");
}

TEST(LoadConfig, BrokenValidateDoesNotAlsoReportTheRoute) {
  // One error per mistake: a bad media type is not also "missing contentTypes or jsonSchema".
  const LoadResult result = load_config_text(yaml(R"(
upstreams: [{ name: a, url: "http://127.0.0.1:1" }]
routes:
  - { path: /a, upstream: a, validate: { contentTypes: [json] } }
)"));
  ASSERT_EQ(result.errors.size(), 1u) << all_errors(result);
  EXPECT_EQ(result.errors[0].to_string(),
            "<string>:3:57: routes[0].validate.contentTypes[0]: 'json' is not a media type like "
            "\"application/json\" (type/subtype)");
}

TEST(LoadConfig, OnlyAProxySectionIsValid) {
  const LoadResult result = load_config_text("proxy: { port: 0 }\n");
  ASSERT_TRUE(result.ok()) << all_errors(result);
  EXPECT_EQ(result.config->proxy.port, 0);  // 0 = pick a free port
  EXPECT_TRUE(result.config->routes.empty());
}

TEST(LoadConfig, NormalizesMethodsAndHosts) {
  const LoadResult result = load_config_text(yaml(R"(
upstreams:
  - name: a
    url: HTTP://Backend.Example.COM:8080/
routes:
  - { path: /a, upstream: a, methods: [get, Patch, m-search], host: WWW.Example.com }
)"));
  ASSERT_TRUE(result.ok()) << all_errors(result);
  const Config& c = *result.config;
  EXPECT_EQ(c.upstreams[0].targets[0].scheme, "http");
  EXPECT_EQ(c.upstreams[0].targets[0].host, "backend.example.com");
  EXPECT_EQ(c.routes[0].methods, (std::vector<std::string>{"GET", "PATCH", "M-SEARCH"}));
  EXPECT_EQ(c.routes[0].host, "www.example.com");
}

TEST(LoadConfig, AcceptsEquivalentSpellings) {
  const LoadResult result = load_config_text(yaml(R"(
proxy:
  timeout: "30000"
  headerTimeout: 2m
  idleTimeout: 1h
  maxBodySize: 1048576
  maxHeadSize: "32KB"
  host: "::"
upstreams:
  - name: a.b_c-1
    url: http://[::1]:1
    retries: 0
routes:
  - { path: /a, upstream: a.b_c-1, methods: [GET] }
  - { path: /a, upstream: a.b_c-1, methods: [POST] }
  - { path: /a, upstream: a.b_c-1, methods: [GET], host: example.com }
  - { path: "/u/:id", upstream: a.b_c-1, rewrite: "/exact" }
  - { path: "/fixed", upstream: a.b_c-1, rewrite: "/other" }
security:
  auth: { type: hmac, keys: [{ key: "60303ae22b998861bce3b28f33eec1be758a213c86c93c076dbe9f558c11c752", name: k, hmacSecret: s }] }
logging: { sampling: { successRate: 0, errorRate: 1 } }
)"));
  ASSERT_TRUE(result.ok()) << all_errors(result);
  const Config& c = *result.config;
  EXPECT_EQ(c.proxy.timeout, 30s);
  EXPECT_EQ(c.proxy.header_timeout, 2min);
  EXPECT_EQ(c.proxy.idle_timeout, 1h);
  EXPECT_EQ(c.proxy.max_body_size, 1u << 20);
  EXPECT_EQ(c.proxy.max_head_size, 32u * 1024);
  EXPECT_EQ(c.proxy.host, "::");
  EXPECT_EQ(c.upstreams[0].targets[0].host, "::1");
  EXPECT_EQ(c.upstreams[0].targets[0].port, 1);
  EXPECT_EQ(c.security.auth.type, "hmac");
  EXPECT_DOUBLE_EQ(c.logging.sampling.success_rate, 0.0);
}

TEST(ConfigErrorText, FileLineColumnPathMessage) {
  EXPECT_EQ((ConfigError{"gw.yml", 3, 7, "routes[2].upstream", "upstream 'x' is not defined"}).to_string(),
            "gw.yml:3:7: routes[2].upstream: upstream 'x' is not defined");
  EXPECT_EQ((ConfigError{"gw.yml", 1, 1, "", "YAML syntax error: x"}).to_string(),
            "gw.yml:1:1: YAML syntax error: x");
  EXPECT_EQ((ConfigError{"gw.yml", 0, 0, "", "the config is empty"}).to_string(),
            "gw.yml: the config is empty");
}

TEST(ConfigErrorText, UsesTheGivenFileName) {
  const LoadResult result = load_config_text("proxy: { port: x }\n", "my/gateway.yml");
  ASSERT_EQ(result.errors.size(), 1u) << all_errors(result);
  EXPECT_EQ(result.errors[0].to_string().rfind("my/gateway.yml:1:16: proxy.port: must be an integer", 0), 0u)
      << result.errors[0].to_string();
  EXPECT_EQ(load_config_text("proxy: { port: x }\n").errors[0].file, "<string>");
}

// A temporary file removed at scope exit.
class TempFile {
 public:
  explicit TempFile(const std::string& contents) {
    path_ = (std::filesystem::temp_directory_path() / ("flexgate_config_test_" + std::to_string(::getpid()) +
                                                       "_" + std::to_string(counter_++) + ".yml"))
                .string();
    std::ofstream(path_) << contents;
  }
  ~TempFile() { std::remove(path_.c_str()); }
  const std::string& path() const { return path_; }

 private:
  static inline int counter_ = 0;
  std::string path_;
};

// A temporary directory removed (with its contents) at scope exit.
class TempDir {
 public:
  TempDir() {
    path_ = std::filesystem::temp_directory_path() /
            ("flexgate_config_dir_" + std::to_string(::getpid()) + "_" + std::to_string(counter_++));
    std::filesystem::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::filesystem::path& path() const { return path_; }
  // Writes `contents` to `name` (relative to the directory, creating subdirectories).
  std::string write(const std::string& name, const std::string& contents) const {
    const std::filesystem::path file = path_ / name;
    std::filesystem::create_directories(file.parent_path());
    std::ofstream(file) << contents;
    return file.string();
  }

 private:
  static inline int counter_ = 0;
  std::filesystem::path path_;
};

std::string route_with_schema(const std::string& schema) {
  return "upstreams: [{ name: a, url: \"http://127.0.0.1:1\" }]\n"
         "routes:\n"
         "  - path: /a\n"
         "    upstream: a\n"
         "    validate: { jsonSchema: \"" +
         schema + "\" }\n";
}

TEST(LoadConfigFile, JsonSchemaIsResolvedAgainstTheConfigDirectory) {
  TempDir dir;
  const std::string schema = dir.write("schemas/user.json", R"({"type": "object"})");
  const std::string config = dir.write("conf/gw.yml", route_with_schema("../schemas/./user.json"));
  const LoadResult result = load_config_file(config);
  ASSERT_TRUE(result.ok()) << all_errors(result);
  const ValidateSpec& validate = *result.config->routes[0].validate;
  EXPECT_EQ(validate.json_schema, "../schemas/./user.json");  // as written
  EXPECT_EQ(validate.json_schema_path, schema);               // absolute and normalized
  EXPECT_TRUE(validate.content_types.empty());
  EXPECT_EQ(validate.pos.line, 5);
  EXPECT_EQ(validate.pos.column, 15);
}

TEST(LoadConfigFile, RelativeConfigPathStillResolvesToAnAbsoluteSchemaPath) {
  TempDir dir;
  const std::string schema = dir.write("user.json", "{}");
  const std::string config = dir.write("gw.yml", route_with_schema("user.json"));
  const std::string relative = std::filesystem::relative(config).string();
  ASSERT_FALSE(std::filesystem::path(relative).is_absolute());
  const LoadResult result = load_config_file(relative);
  ASSERT_TRUE(result.ok()) << all_errors(result);
  const std::string& resolved = result.config->routes[0].validate->json_schema_path;
  EXPECT_TRUE(std::filesystem::path(resolved).is_absolute()) << resolved;
  EXPECT_TRUE(std::filesystem::equivalent(resolved, schema)) << resolved;
}

TEST(LoadConfigFile, AbsoluteJsonSchemaPathIsKept) {
  TempDir dir;
  const std::string schema = dir.write("s.json", "{}");
  TempFile file(route_with_schema(schema));
  const LoadResult result = load_config_file(file.path());
  ASSERT_TRUE(result.ok()) << all_errors(result);
  EXPECT_EQ(result.config->routes[0].validate->json_schema, schema);
  EXPECT_EQ(result.config->routes[0].validate->json_schema_path, schema);
}

TEST(LoadConfigFile, MissingJsonSchemaIsReportedAtTheValue) {
  TempDir dir;
  const std::string config = dir.write("gw.yml", route_with_schema("schemas/missing.json"));
  const LoadResult result = load_config_file(config);
  ASSERT_EQ(result.errors.size(), 1u) << all_errors(result);
  EXPECT_EQ(result.errors[0].to_string(), config + ":5:29: routes[0].validate.jsonSchema: file not found: " +
                                              (dir.path() / "schemas/missing.json").string());
}

TEST(LoadConfigText, JsonSchemaIsResolvedAgainstTheCurrentDirectory) {
  TempDir dir;
  const std::string schema = dir.write("user.json", "{}");
  const std::string relative = std::filesystem::relative(schema).string();
  const LoadResult result = load_config_text(route_with_schema(relative));
  ASSERT_TRUE(result.ok()) << all_errors(result);
  const ValidateSpec& validate = *result.config->routes[0].validate;
  EXPECT_EQ(validate.json_schema, relative);
  EXPECT_TRUE(std::filesystem::path(validate.json_schema_path).is_absolute());
  EXPECT_TRUE(std::filesystem::equivalent(validate.json_schema_path, schema));

  const LoadResult missing = load_config_text(route_with_schema("no/such/schema.json"), "t.yml");
  ASSERT_EQ(missing.errors.size(), 1u) << all_errors(missing);
  EXPECT_EQ(missing.errors[0].to_string(),
            "t.yml:5:29: routes[0].validate.jsonSchema: file not found: " +
                (std::filesystem::current_path() / "no/such/schema.json").string());
}

TEST(LoadConfigFile, SetsSourcePath) {
  TempFile file(
      "upstreams: [{ name: a, url: \"http://127.0.0.1:1\" }]\nroutes: [{ path: /, upstream: a }]\n");
  const LoadResult result = load_config_file(file.path());
  ASSERT_TRUE(result.ok()) << all_errors(result);
  EXPECT_EQ(result.config->source_path, file.path());
}

TEST(LoadConfigFile, ErrorsNameTheFile) {
  TempFile file("proxy:\n  port: 99999\n");
  const LoadResult result = load_config_file(file.path());
  ASSERT_EQ(result.errors.size(), 1u) << all_errors(result);
  EXPECT_EQ(result.errors[0].to_string(),
            file.path() + ":2:9: proxy.port: must be between 0 and 65535 (got '99999')");
}

TEST(LoadConfigFile, MissingFileIsOneErrorWithStrerror) {
  const LoadResult result = load_config_file("/nonexistent/flexgate.yml");
  EXPECT_FALSE(result.ok());
  ASSERT_EQ(result.errors.size(), 1u);
  EXPECT_EQ(result.errors[0].to_string(),
            "/nonexistent/flexgate.yml: cannot read config file: No such file or directory");
}

TEST(LoadConfigFile, DirectoryIsAnError) {
  const LoadResult result = load_config_file(std::filesystem::temp_directory_path().string());
  ASSERT_EQ(result.errors.size(), 1u);
  EXPECT_NE(result.errors[0].message.find("Is a directory"), std::string::npos);
}

TEST(LoadConfigFile, EmptyFileIsAnError) {
  TempFile file("");
  const LoadResult result = load_config_file(file.path());
  ASSERT_EQ(result.errors.size(), 1u);
  EXPECT_NE(result.errors[0].message.find("the config is empty"), std::string::npos);
  EXPECT_EQ(result.errors[0].file, file.path());
}


// routes[].websocket: off unless a route says true; a methods list must then include GET.
TEST(LoadConfig, RouteWebsocketFlag) {
  const LoadResult result = load_config_text(yaml(R"(
upstreams: [{ name: a, url: "http://127.0.0.1:1" }]
routes:
  - path: /ws
    upstream: a
    websocket: true
    methods: [GET]
    timeouts: { idle: 5m }
  - path: /plain
    upstream: a
  - path: /off
    upstream: a
    websocket: false
)"));
  ASSERT_TRUE(result.ok()) << all_errors(result);
  const Config& c = *result.config;
  ASSERT_EQ(c.routes.size(), 3u);
  EXPECT_TRUE(c.routes[0].websocket);
  EXPECT_EQ(c.routes[0].timeouts.idle, 5min);  // the tunnel's idle timeout
  EXPECT_FALSE(c.routes[1].websocket);
  EXPECT_FALSE(c.routes[2].websocket);
}

}  // namespace
}  // namespace flexgate::config
