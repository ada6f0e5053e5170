// One failing case per validation rule: each asserts the exact line:column, key path and a
// message substring. Positions are those of the offending value (or the key, for unknown keys,
// duplicate keys and conflicting keys; or the mapping, for missing required keys).

#include <gtest/gtest.h>

#include <ostream>
#include <string>
#include <string_view>

#include "config/loader.h"
#include "config_test_util.h"

namespace flexgate::config {
namespace {

using testing::has_error;

struct RuleCase {
  const char* name;
  const char* yaml;
  const char* path;  // key path of the error
  int line;          // 1-based; 0 when the error has no position
  int column;
  const char* message;  // substring of the message
};

// gtest prints the case name instead of the struct's bytes.
void PrintTo(const RuleCase& c, std::ostream* os) {
  *os << c.name;
}

// clang-format off
const RuleCase kRuleCases[] = {
    {"YamlSyntaxError",
     "proxy: port: 1\n",
     "", 1, 12, "YAML syntax error: illegal map value"},
    {"TopLevelList",
     "- a\n"
     "- b\n",
     "", 1, 1, "the top level must be a mapping with keys like proxy"},
    {"TopLevelScalar",
     "just text\n",
     "", 1, 1, "the top level must be a mapping with keys like proxy, upstreams and routes (got 'just text')"},
    {"TwoDocuments",
     "proxy: {}\n"
     "---\n"
     "logging: {}\n",
     "", 2, 1, "more than one YAML document"},
    {"StrayCommaAfterDocument",
     "{ proxy: {} }\n"
     ",\n",
     "", 2, 1, "YAML syntax error: unexpected ','"},
    {"OnlyAComma",
     ",\n",
     "", 1, 1, "YAML syntax error: unexpected ','"},
    {"EmptyText",
     "",
     "", 0, 0, "the config is empty"},
    {"OnlyComments",
     "# nothing here\n"
     "\n",
     "", 0, 0, "the config is empty"},
    {"UnknownKeyTypo",
     "proxy:\n"
     "  timout: 5s\n",
     "proxy.timout", 2, 3, "unknown key 'timout' (did you mean 'timeout'?)"},
    {"UnknownTopLevelKey",
     "upstreams: [{ name: a, url: \"http://127.0.0.1:1\" }]\n"
     "route: []\n",
     "route", 2, 1, "unknown key 'route' (did you mean 'routes'?)"},
    {"UnknownKeySnakeCase",
     "proxy:\n"
     "  max_body_size: 1mb\n",
     "proxy.max_body_size", 2, 3, "(did you mean 'maxBodySize'?)"},
    {"UnknownKeyListsAllowed",
     "logging:\n"
     "  colour: true\n",
     "logging.colour", 2, 3,
     "unknown key 'colour' (expected one of: level, format, accessLog, sampling, output, rotation, redactHeaders, headers)"},
    {"UnknownKeyInRouteRateLimit",
     "upstreams: [{ name: a, url: \"http://127.0.0.1:1\" }]\n"
     "routes:\n"
     "  - path: /a\n"
     "    upstream: a\n"
     "    rateLimit: { max: 1, widowMs: 5 }\n",
     "routes[0].rateLimit.widowMs", 5, 26, "(did you mean 'windowMs'?)"},
    {"UnknownKeyInCircuitBreaker",
     "upstreams:\n"
     "  - name: a\n"
     "    url: \"http://h:1\"\n"
     "    circuitBreaker:\n"
     "      failureTreshold: 5\n",
     "upstreams[0].circuitBreaker.failureTreshold", 5, 7, "(did you mean 'failureThreshold'?)"},
    {"UnknownKeyInSampling",
     "logging:\n"
     "  sampling: { sucessRate: 0.5 }\n",
     "logging.sampling.sucessRate", 2, 15, "(did you mean 'successRate'?)"},
    {"UnknownKeyInTarget",
     "upstreams:\n"
     "  - name: a\n"
     "    targets:\n"
     "      - url: \"http://h:1\"\n"
     "        wieght: 2\n",
     "upstreams[0].targets[0].wieght", 5, 9, "(did you mean 'weight'?)"},
    {"UnknownKeyInApiKey",
     "security:\n"
     "  auth:\n"
     "    keys:\n"
     "      - key: \"9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08\"\n"
     "        name: a\n"
     "        secret: x\n",
     "security.auth.keys[0].secret", 6, 9, "unknown key 'secret' (expected one of: key, name, hmacSecret)"},
    {"DuplicateKey",
     "proxy:\n"
     "  port: 1\n"
     "  port: 2\n",
     "proxy.port", 3, 3, "duplicate key 'port' (first set on line 2)"},
    {"MergeKey",
     "proxy:\n"
     "  <<: { port: 1 }\n",
     "proxy.<<", 2, 3, "YAML merge keys are not supported"},
    {"NonScalarKey",
     "proxy:\n"
     "  [a]: 1\n",
     "proxy", 2, 3, "keys must be plain names (got a list as a key)"},
    {"QuotedInteger",
     "proxy:\n"
     "  port: \"3000\"\n",
     "proxy.port", 2, 9, "must be a number, not a quoted string (remove the quotes)"},
    {"WordForInteger",
     "proxy:\n"
     "  workers: many\n",
     "proxy.workers", 2, 12, "must be an integer 0..256 (got 'many')"},
    {"FractionForInteger",
     "proxy:\n"
     "  workers: 1.5\n",
     "proxy.workers", 2, 12, "must be an integer 0..256 (got '1.5')"},
    {"LeadingZeroInteger",
     "proxy:\n"
     "  port: 0800\n",
     "proxy.port", 2, 9, "must be a decimal integer without leading zeros"},
    {"YesForBoolean",
     "upstreams: [{ name: a, url: \"http://127.0.0.1:1\" }]\n"
     "routes:\n"
     "  - path: /a/*\n"
     "    upstream: a\n"
     "    stripPrefix: yes\n",
     "routes[0].stripPrefix", 5, 18, "must be true or false (got 'yes')"},
    {"QuotedBoolean",
     "logging:\n"
     "  accessLog: \"true\"\n",
     "logging.accessLog", 2, 14, "must be true or false (got 'true'); remove the quotes"},
    {"CapitalizedBoolean",
     "logging:\n"
     "  accessLog: True\n",
     "logging.accessLog", 2, 14, "must be true or false (got 'True')"},
    {"SectionNotMapping",
     "proxy: 5\n",
     "proxy", 1, 8, "must be a mapping of keys to values (got '5')"},
    {"NullSection",
     "proxy:\n"
     "logging: {}\n",
     "proxy", 1, 1, "must be a mapping of keys to values (got nothing)"},
    {"RoutesNotList",
     "upstreams: [{ name: a, url: \"http://127.0.0.1:1\" }]\n"
     "routes: { path: /a }\n",
     "routes", 2, 9, "must be a list (got a mapping)"},
    {"MethodsNotList",
     "upstreams: [{ name: a, url: \"http://127.0.0.1:1\" }]\n"
     "routes:\n"
     "  - path: /a\n"
     "    upstream: a\n"
     "    methods: GET\n",
     "routes[0].methods", 5, 14, "must be a list (got 'GET')"},
    {"NameNotString",
     "upstreams:\n"
     "  - name: [a]\n"
     "    url: \"http://h:1\"\n",
     "upstreams[0].name", 2, 11, "must be a string (got a list)"},
    {"NullValuePointsAtKey",
     "upstreams:\n"
     "  - name: a\n"
     "    url:\n",
     "upstreams[0].url", 3, 5, "must be a string (got nothing)"},
    {"QuotedNumber",
     "logging:\n"
     "  sampling: { successRate: \"0.5\" }\n",
     "logging.sampling.successRate", 2, 28, "must be a number, not a quoted string"},
    {"WordForNumber",
     "logging:\n"
     "  sampling: { errorRate: half }\n",
     "logging.sampling.errorRate", 2, 26, "must be a number 0..1 (got 'half')"},
    {"NanForNumber",
     "logging:\n"
     "  sampling: { errorRate: nan }\n",
     "logging.sampling.errorRate", 2, 26, "must be a number 0..1 (got 'nan')"},
    {"UpstreamItemNotMapping",
     "upstreams:\n"
     "  - primary\n",
     "upstreams[0]", 2, 5, "must be a mapping of keys to values (got 'primary')"},
    {"PortTooLarge",
     "proxy:\n"
     "  port: 70000\n",
     "proxy.port", 2, 9, "must be between 0 and 65535 (got '70000')"},
    {"PortNegative",
     "proxy:\n"
     "  port: -1\n",
     "proxy.port", 2, 9, "must be between 0 and 65535 (got '-1')"},
    {"PortOverflowsUint64",
     "proxy:\n"
     "  port: 99999999999999999999999\n",
     "proxy.port", 2, 9, "must be between 0 and 65535"},
    {"WorkersTooMany",
     "proxy:\n"
     "  workers: 257\n",
     "proxy.workers", 2, 12, "must be between 0 and 256 (got '257')"},
    {"TimeoutZero",
     "proxy:\n"
     "  timeout: 0\n",
     "proxy.timeout", 2, 12, "must be between 1ms and 24h (got 0ms)"},
    {"TimeoutOverADay",
     "proxy:\n"
     "  idleTimeout: 25h\n",
     "proxy.idleTimeout", 2, 16, "must be between 1ms and 24h (got 25h)"},
    {"RouteTimeoutZero",
     "upstreams: [{ name: a, url: \"http://127.0.0.1:1\" }]\n"
     "routes:\n"
     "  - path: /a\n"
     "    upstream: a\n"
     "    timeout: 0s\n",
     "routes[0].timeout", 5, 14, "must be between 1ms and 24h (got 0ms)"},
    {"FailureThresholdZero",
     "upstreams:\n"
     "  - name: a\n"
     "    url: \"http://h:1\"\n"
     "    circuitBreaker: { failureThreshold: 0 }\n",
     "upstreams[0].circuitBreaker.failureThreshold", 4, 41, "must be between 1 and 100 (got '0')"},
    {"FailureThresholdOver100",
     "upstreams:\n"
     "  - name: a\n"
     "    url: \"http://h:1\"\n"
     "    circuitBreaker: { failureThreshold: 101 }\n",
     "upstreams[0].circuitBreaker.failureThreshold", 4, 41, "must be between 1 and 100 (got '101')"},
    {"OpenDurationZero",
     "upstreams:\n"
     "  - name: a\n"
     "    url: \"http://h:1\"\n"
     "    circuitBreaker: { openDuration: 0 }\n",
     "upstreams[0].circuitBreaker.openDuration", 4, 37, "must be between 1ms and 24h"},
    {"SuccessRateAboveOne",
     "logging:\n"
     "  sampling: { successRate: 1.5 }\n",
     "logging.sampling.successRate", 2, 28, "must be between 0 and 1 (got '1.5')"},
    {"ErrorRateNegative",
     "logging:\n"
     "  sampling: { errorRate: -0.1 }\n",
     "logging.sampling.errorRate", 2, 26, "must be between 0 and 1 (got '-0.1')"},
    {"WeightZero",
     "upstreams:\n"
     "  - name: a\n"
     "    targets: [{ url: \"http://h:1\", weight: 0 }]\n",
     "upstreams[0].targets[0].weight", 3, 44, "must be between 1 and 1000 (got '0')"},
    {"WeightTooLarge",
     "upstreams:\n"
     "  - name: a\n"
     "    targets: [{ url: \"http://h:1\", weight: 1001 }]\n",
     "upstreams[0].targets[0].weight", 3, 44, "must be between 1 and 1000 (got '1001')"},
    {"RateLimitMaxZero",
     "upstreams: [{ name: a, url: \"http://127.0.0.1:1\" }]\n"
     "routes:\n"
     "  - path: /a\n"
     "    upstream: a\n"
     "    rateLimit: { max: 0 }\n",
     "routes[0].rateLimit.max", 5, 23, "must be between 1 and 1000000000 (got '0')"},
    {"MaxBodySizeZero",
     "proxy:\n"
     "  maxBodySize: 0\n",
     "proxy.maxBodySize", 2, 16, "must be at least 1b (got 0b)"},
    {"RouteMaxBodySizeZero",
     "upstreams: [{ name: a, url: \"http://127.0.0.1:1\" }]\n"
     "routes:\n"
     "  - path: /a\n"
     "    upstream: a\n"
     "    maxBodySize: \"0kb\"\n",
     "routes[0].maxBodySize", 5, 18, "must be at least 1b (got 0b)"},
    {"MaxHeadSizeTooLarge",
     "proxy:\n"
     "  maxHeadSize: 1gb\n",
     "proxy.maxHeadSize", 2, 16, "must be between 1b and 64mb (got 1gb)"},
    {"RetriesTooMany",
     "upstreams:\n"
     "  - name: a\n"
     "    url: \"http://h:1\"\n"
     "    retries: 11\n",
     "upstreams[0].retries", 4, 14, "must be between 0 and 10 (got '11')"},
    {"MaxHeaderCountZero",
     "proxy:\n"
     "  maxHeaderCount: 0\n",
     "proxy.maxHeaderCount", 2, 19, "must be between 1 and 10000 (got '0')"},
    {"PoolIdleTimeoutZero",
     "upstreams:\n"
     "  - name: a\n"
     "    url: \"http://h:1\"\n"
     "    pool: { idleTimeout: 0 }\n",
     "upstreams[0].pool.idleTimeout", 4, 26, "must be between 1ms and 24h"},
    {"RedisTimeoutZero",
     "rateLimit:\n"
     "  redis: { timeout: 0ms }\n",
     "rateLimit.redis.timeout", 2, 21, "must be between 1ms and 24h (got 0ms)"},
    {"DurationWithWords",
     "proxy:\n"
     "  headerTimeout: 5 seconds\n",
     "proxy.headerTimeout", 2, 18, "must be a duration like 5000, \"5s\" or \"250ms\" (got '5 seconds')"},
    {"DurationNegative",
     "upstreams:\n"
     "  - name: a\n"
     "    url: \"http://h:1\"\n"
     "    connectTimeout: -5\n",
     "upstreams[0].connectTimeout", 4, 21, "must be a duration like 5000, \"5s\" or \"250ms\" (got '-5')"},
    {"DurationFraction",
     "upstreams:\n"
     "  - name: a\n"
     "    url: \"http://h:1\"\n"
     "    timeout: 1.5s\n",
     "upstreams[0].timeout", 4, 14, "must be a duration like"},
    {"WindowMsIsADuration",
     "upstreams: [{ name: a, url: \"http://127.0.0.1:1\" }]\n"
     "routes:\n"
     "  - path: /a\n"
     "    upstream: a\n"
     "    rateLimit: { max: 5, windowMs: soon }\n",
     "routes[0].rateLimit.windowMs", 5, 36, "must be a duration like"},
    {"SizeWithSpace",
     "proxy:\n"
     "  maxBodySize: \"10 MB\"\n",
     "proxy.maxBodySize", 2, 16, "must be a size like 1048576, \"512kb\" or \"10mb\" (got '10 MB')"},
    {"SizeAsList",
     "proxy:\n"
     "  maxUriSize: [1]\n",
     "proxy.maxUriSize", 2, 15, "must be a size like 1048576, \"512kb\" or \"10mb\" (got a list)"},
    {"UpstreamMissingName",
     "upstreams:\n"
     "  - url: \"http://h:1\"\n",
     "upstreams[0].name", 2, 5, "missing required key 'name'"},
    {"UpstreamMissingUrl",
     "upstreams:\n"
     "  - name: a\n",
     "upstreams[0].url", 2, 5, "missing required key 'url' (or 'targets')"},
    {"UrlAndTargets",
     "upstreams:\n"
     "  - name: a\n"
     "    url: \"http://h:1\"\n"
     "    targets: [{ url: \"http://h:2\" }]\n",
     "upstreams[0].targets", 4, 5, "use either 'url' or 'targets', not both"},
    {"EmptyTargets",
     "upstreams:\n"
     "  - name: a\n"
     "    targets: []\n",
     "upstreams[0].targets", 3, 14, "must list at least one target"},
    {"TargetMissingUrl",
     "upstreams:\n"
     "  - name: a\n"
     "    targets: [{ weight: 2 }]\n",
     "upstreams[0].targets[0].url", 3, 15, "missing required key 'url'"},
    {"RouteMissingPath",
     "upstreams: [{ name: a, url: \"http://127.0.0.1:1\" }]\n"
     "routes:\n"
     "  - upstream: a\n",
     "routes[0].path", 3, 5, "missing required key 'path'"},
    {"RouteMissingUpstream",
     "upstreams: [{ name: a, url: \"http://127.0.0.1:1\" }]\n"
     "routes:\n"
     "  - path: /a\n",
     "routes[0].upstream", 3, 5, "missing required key 'upstream'"},
    {"EmptyUpstreamName",
     "upstreams:\n"
     "  - name: \"\"\n"
     "    url: \"http://h:1\"\n",
     "upstreams[0].name", 2, 11, "must not be empty"},
    {"UpstreamNameWithSpace",
     "upstreams:\n"
     "  - name: \"my api\"\n"
     "    url: \"http://h:1\"\n",
     "upstreams[0].name", 2, 11, "may only contain letters, digits, '-', '_' and '.'"},
    {"DuplicateUpstreamName",
     "upstreams:\n"
     "  - name: api\n"
     "    url: \"http://h:1\"\n"
     "  - name: api\n"
     "    url: \"http://h:2\"\n",
     "upstreams[1].name", 4, 11, "duplicate upstream name 'api' (first defined on line 2)"},
    {"DuplicateRoute",
     "upstreams: [{ name: a, url: \"http://127.0.0.1:1\" }]\n"
     "routes:\n"
     "  - { path: /a, upstream: a }\n"
     "  - { path: /a, upstream: a }\n",
     "routes[1].path", 4, 13, "duplicate route: routes[0] (line 3) already matches '/a' on any host for every method"},
    {"DuplicateRouteParamNamesDiffer",
     "upstreams: [{ name: a, url: \"http://127.0.0.1:1\" }]\n"
     "routes:\n"
     "  - { path: '/u/:id', upstream: a, methods: [GET] }\n"
     "  - { path: '/u/:uid', upstream: a, methods: [GET, PUT] }\n",
     "routes[1].path", 4, 13, "already matches '/u/:id' on any host for GET"},
    {"DuplicateRouteAllMethodsOverlap",
     "upstreams: [{ name: a, url: \"http://127.0.0.1:1\" }]\n"
     "routes:\n"
     "  - { path: /a/*, upstream: a, methods: [DELETE] }\n"
     "  - { path: /a/*, upstream: a }\n",
     "routes[1].path", 4, 13, "for DELETE"},
    {"DuplicateRouteSameHost",
     "upstreams: [{ name: a, url: \"http://127.0.0.1:1\" }]\n"
     "routes:\n"
     "  - { path: /a, host: Example.com, upstream: a, methods: [GET, POST] }\n"
     "  - { path: /a, host: example.COM, upstream: a, methods: [POST] }\n",
     "routes[1].path", 4, 13, "on host 'example.com' for POST"},
    {"DuplicateTarget",
     "upstreams:\n"
     "  - name: a\n"
     "    targets:\n"
     "      - url: \"http://H:1\"\n"
     "      - url: \"http://h:1/\"\n",
     "upstreams[0].targets[1].url", 5, 14, "duplicate target (same as upstreams[0].targets[0])"},
    {"DuplicateMethod",
     "upstreams: [{ name: a, url: \"http://127.0.0.1:1\" }]\n"
     "routes:\n"
     "  - path: /a\n"
     "    upstream: a\n"
     "    methods: [get, GET]\n",
     "routes[0].methods[1]", 5, 20, "method GET is listed twice"},
    {"DuplicatePerRouteLimit",
     "upstreams: [{ name: a, url: \"http://127.0.0.1:1\" }]\n"
     "routes: [{ path: '/u/:id', upstream: a }]\n"
     "rateLimit:\n"
     "  perRoute:\n"
     "    - { path: '/u/:id', max: 1 }\n"
     "    - { path: '/u/:name', max: 2 }\n",
     "rateLimit.perRoute[1].path", 6, 15, "this route already has a limit (rateLimit.perRoute[0])"},
    {"UpstreamNotDefined",
     "upstreams:\n"
     "  - { name: a, url: \"http://h:1\" }\n"
     "  - { name: b, url: \"http://h:2\" }\n"
     "routes:\n"
     "  - { path: /a, upstream: foo }\n",
     "routes[0].upstream", 5, 27, "upstream 'foo' is not defined (defined: a, b)"},
    {"UpstreamNotDefinedSuggests",
     "upstreams:\n"
     "  - { name: primary-api, url: \"http://h:1\" }\n"
     "routes:\n"
     "  - { path: /a, upstream: primary-apu }\n",
     "routes[0].upstream", 4, 27, "upstream 'primary-apu' is not defined (defined: primary-api); did you mean 'primary-api'?"},
    {"NoUpstreamsDefined",
     "routes:\n"
     "  - { path: /a, upstream: a }\n",
     "routes[0].upstream", 2, 27, "upstream 'a' is not defined (no upstreams are defined)"},
    {"PerRouteWithoutRoute",
     "upstreams: [{ name: a, url: \"http://127.0.0.1:1\" }]\n"
     "routes:\n"
     "  - { path: /a/*, upstream: a }\n"
     "rateLimit:\n"
     "  perRoute:\n"
     "    - { path: /b/*, max: 1 }\n",
     "rateLimit.perRoute[0].path", 6, 15, "no route has path '/b/*' (route paths: /a/*)"},
    {"PerRouteMissingMax",
     "upstreams: [{ name: a, url: \"http://127.0.0.1:1\" }]\n"
     "routes:\n"
     "  - { path: /a/*, upstream: a }\n"
     "rateLimit:\n"
     "  perRoute:\n"
     "    - { path: /a/* }\n",
     "rateLimit.perRoute[0].max", 6, 7, "missing required key 'max'"},
    {"AuthRequiredWithoutSecurityAuth",
     "upstreams: [{ name: a, url: \"http://127.0.0.1:1\" }]\n"
     "routes:\n"
     "  - path: /a\n"
     "    upstream: a\n"
     "    auth: required\n",
     "routes[0].auth", 5, 11, "auth: required needs a security.auth section"},
    {"AuthModeUnknown",
     "upstreams: [{ name: a, url: \"http://127.0.0.1:1\" }]\n"
     "routes:\n"
     "  - path: /a\n"
     "    upstream: a\n"
     "    auth: always\n",
     "routes[0].auth", 5, 11, "must be one of required, optional, none (got 'always')"},
    {"PathWithoutSlash",
     "upstreams: [{ name: a, url: \"http://127.0.0.1:1\" }]\n"
     "routes:\n"
     "  - upstream: a\n"
     "    path: api/*\n",
     "routes[0].path", 4, 11, "must start with '/'"},
    {"PathStarInMiddle",
     "upstreams: [{ name: a, url: \"http://127.0.0.1:1\" }]\n"
     "routes:\n"
     "  - upstream: a\n"
     "    path: /a/*/b\n",
     "routes[0].path", 4, 11, "'*' is only allowed as the whole last segment, like \"/api/*\""},
    {"PathStarSuffix",
     "upstreams: [{ name: a, url: \"http://127.0.0.1:1\" }]\n"
     "routes:\n"
     "  - upstream: a\n"
     "    path: /api*\n",
     "routes[0].path", 4, 11, "'*' is only allowed as the whole last segment"},
    {"PathBadParamName",
     "upstreams: [{ name: a, url: \"http://127.0.0.1:1\" }]\n"
     "routes:\n"
     "  - upstream: a\n"
     "    path: '/u/:1d'\n",
     "routes[0].path", 4, 11, "parameter ':1d' must be ':' and a name like ':id'"},
    {"PathDuplicateParam",
     "upstreams: [{ name: a, url: \"http://127.0.0.1:1\" }]\n"
     "routes:\n"
     "  - upstream: a\n"
     "    path: '/u/:id/x/:id'\n",
     "routes[0].path", 4, 11, "parameter ':id' appears more than once"},
    {"PathDotDot",
     "upstreams: [{ name: a, url: \"http://127.0.0.1:1\" }]\n"
     "routes:\n"
     "  - upstream: a\n"
     "    path: /a/../b\n",
     "routes[0].path", 4, 11, "must not contain '.' or '..' segments"},
    {"PathDoubleSlash",
     "upstreams: [{ name: a, url: \"http://127.0.0.1:1\" }]\n"
     "routes:\n"
     "  - upstream: a\n"
     "    path: /a//b\n",
     "routes[0].path", 4, 11, "must not contain an empty segment ('//')"},
    {"PathQuery",
     "upstreams: [{ name: a, url: \"http://127.0.0.1:1\" }]\n"
     "routes:\n"
     "  - upstream: a\n"
     "    path: /a?x=1\n",
     "routes[0].path", 4, 11, "must not contain '?' or '#'"},
    {"PathFragment",
     "upstreams: [{ name: a, url: \"http://127.0.0.1:1\" }]\n"
     "routes:\n"
     "  - upstream: a\n"
     "    path: '/a#x'\n",
     "routes[0].path", 4, 11, "must not contain '?' or '#'"},
    {"PathPercentEscape",
     "upstreams: [{ name: a, url: \"http://127.0.0.1:1\" }]\n"
     "routes:\n"
     "  - upstream: a\n"
     "    path: /a%20b\n",
     "routes[0].path", 4, 11, "must not contain percent-escapes"},
    {"PathColonInSegment",
     "upstreams: [{ name: a, url: \"http://127.0.0.1:1\" }]\n"
     "routes:\n"
     "  - upstream: a\n"
     "    path: '/v1/x:batch'\n",
     "routes[0].path", 4, 11, "':' is only allowed at the start of a segment"},
    {"PathTooManyParams",
     "upstreams: [{ name: a, url: \"http://127.0.0.1:1\" }]\n"
     "routes:\n"
     "  - upstream: a\n"
     "    path: '/:a/:b/:c/:d/:e/:f/:g/:h/:i'\n",
     "routes[0].path", 4, 11, "has more than 8 parameters"},
    {"PathEmpty",
     "upstreams: [{ name: a, url: \"http://127.0.0.1:1\" }]\n"
     "routes:\n"
     "  - upstream: a\n"
     "    path: \"\"\n",
     "routes[0].path", 4, 11, "must not be empty"},
    {"HostWildcardInMiddle",
     "upstreams: [{ name: a, url: \"http://127.0.0.1:1\" }]\n"
     "routes:\n"
     "  - path: /a\n"
     "    upstream: a\n"
     "    host: api.*.com\n",
     "routes[0].host", 5, 11, "'*' is only allowed as a '*.' prefix, like '*.example.com'"},
    {"HostStarAlone",
     "upstreams: [{ name: a, url: \"http://127.0.0.1:1\" }]\n"
     "routes:\n"
     "  - path: /a\n"
     "    upstream: a\n"
     "    host: '*'\n",
     "routes[0].host", 5, 11, "'*' alone is not a host pattern; omit the key to match any host"},
    {"HostWithPort",
     "upstreams: [{ name: a, url: \"http://127.0.0.1:1\" }]\n"
     "routes:\n"
     "  - path: /a\n"
     "    upstream: a\n"
     "    host: api.example.com:8080\n",
     "routes[0].host", 5, 11, "must not include a port"},
    {"HostWithSpace",
     "upstreams: [{ name: a, url: \"http://127.0.0.1:1\" }]\n"
     "routes:\n"
     "  - path: /a\n"
     "    upstream: a\n"
     "    host: 'exa mple.com'\n",
     "routes[0].host", 5, 11, "is not a valid host name: invalid character ' '"},
    {"HostOddNumeric",
     "upstreams: [{ name: a, url: \"http://127.0.0.1:1\" }]\n"
     "routes:\n"
     "  - path: /a\n"
     "    upstream: a\n"
     "    host: '10.1'\n",
     "routes[0].host", 5, 11, "'10.1' is not a valid IPv4 address"},
    {"MethodNotAToken",
     "upstreams: [{ name: a, url: \"http://127.0.0.1:1\" }]\n"
     "routes:\n"
     "  - path: /a\n"
     "    upstream: a\n"
     "    methods: [\"GE T\"]\n",
     "routes[0].methods[0]", 5, 15, "'GE T' is not a valid HTTP method name"},
    {"MethodsEmpty",
     "upstreams: [{ name: a, url: \"http://127.0.0.1:1\" }]\n"
     "routes:\n"
     "  - path: /a\n"
     "    upstream: a\n"
     "    methods: []\n",
     "routes[0].methods", 5, 14, "must list at least one method (omit the key to allow every method)"},
    {"UrlSchemeFtp",
     "upstreams:\n"
     "  - name: a\n"
     "    url: \"ftp://h:21\"\n",
     "upstreams[0].url", 3, 10, "scheme must be http or https (got 'ftp')"},
    {"UrlNoScheme",
     "upstreams:\n"
     "  - name: a\n"
     "    url: \"127.0.0.1:8080\"\n",
     "upstreams[0].url", 3, 10, "must be an absolute URL like"},
    {"UrlUserinfo",
     "upstreams:\n"
     "  - name: a\n"
     "    url: \"http://user:pw@h:1\"\n",
     "upstreams[0].url", 3, 10, "must not contain userinfo"},
    {"UrlBackslash",
     "upstreams:\n"
     "  - name: a\n"
     "    url: \"http://h\\\\evil:1\"\n",
     "upstreams[0].url", 3, 10, "must not contain a backslash"},
    {"UrlQuery",
     "upstreams:\n"
     "  - name: a\n"
     "    url: \"http://h:1/?x=1\"\n",
     "upstreams[0].url", 3, 10, "must not contain a query or fragment"},
    {"UrlPath",
     "upstreams:\n"
     "  - name: a\n"
     "    url: \"http://h:1/v1\"\n",
     "upstreams[0].url", 3, 10, "must not have a path ('/v1')"},
    {"UrlPortZero",
     "upstreams:\n"
     "  - name: a\n"
     "    url: \"http://h:0\"\n",
     "upstreams[0].url", 3, 10, "port must be a number 1..65535 (got '0')"},
    {"UrlPortTooLarge",
     "upstreams:\n"
     "  - name: a\n"
     "    url: \"http://h:65536\"\n",
     "upstreams[0].url", 3, 10, "port must be a number 1..65535 (got '65536')"},
    {"UrlDecimalIp",
     "upstreams:\n"
     "  - name: a\n"
     "    url: \"http://2852039166\"\n",
     "upstreams[0].url", 3, 10, "'2852039166' is not a valid IPv4 address"},
    {"UrlHexIp",
     "upstreams:\n"
     "  - name: a\n"
     "    url: \"http://0xA9FEA9FE:80\"\n",
     "upstreams[0].url", 3, 10, "'0xA9FEA9FE' is not a valid IPv4 address"},
    {"UrlOctalIp",
     "upstreams:\n"
     "  - name: a\n"
     "    url: \"http://0251.0376.0251.0376\"\n",
     "upstreams[0].url", 3, 10, "'0251.0376.0251.0376' is not a valid IPv4 address"},
    {"UrlShortIp",
     "upstreams:\n"
     "  - name: a\n"
     "    url: \"http://169.254.43518\"\n",
     "upstreams[0].url", 3, 10, "'169.254.43518' is not a valid IPv4 address"},
    {"UrlBadIpv6",
     "upstreams:\n"
     "  - name: a\n"
     "    url: \"http://[::1:80\"\n",
     "upstreams[0].url", 3, 10, "has an unclosed '[' in the host"},
    {"UrlEmptyHost",
     "upstreams:\n"
     "  - name: a\n"
     "    url: \"http://:80\"\n",
     "upstreams[0].url", 3, 10, "has no host"},
    {"TargetUrlBad",
     "upstreams:\n"
     "  - name: a\n"
     "    targets:\n"
     "      - url: \"http://h:1\"\n"
     "      - url: \"http://h:1/api\"\n",
     "upstreams[0].targets[1].url", 5, 14, "must not have a path ('/api')"},
    {"RewriteWithoutSlash",
     "upstreams: [{ name: a, url: \"http://127.0.0.1:1\" }]\n"
     "routes:\n"
     "  - path: /a/*\n"
     "    upstream: a\n"
     "    rewrite: \"v2\"\n",
     "routes[0].rewrite", 5, 14, "must start with '/'"},
    {"RewriteUnknownParam",
     "upstreams: [{ name: a, url: \"http://127.0.0.1:1\" }]\n"
     "routes:\n"
     "  - path: '/u/:id'\n"
     "    upstream: a\n"
     "    rewrite: \"/x/${path.name}\"\n",
     "routes[0].rewrite", 5, 14, "'${path.name}' names no parameter of the route path (parameters: id)"},
    {"RewriteParamOnPlainRoute",
     "upstreams: [{ name: a, url: \"http://127.0.0.1:1\" }]\n"
     "routes:\n"
     "  - path: /a/*\n"
     "    upstream: a\n"
     "    rewrite: \"/x/${path.id}\"\n",
     "routes[0].rewrite", 5, 14, "uses '${path.id}' but the route path has no ':name' parameters"},
    {"StripPrefixAndRewrite",
     "upstreams: [{ name: a, url: \"http://127.0.0.1:1\" }]\n"
     "routes:\n"
     "  - path: /a/*\n"
     "    upstream: a\n"
     "    stripPrefix: true\n"
     "    rewrite: \"/b\"\n",
     "routes[0].rewrite", 6, 5, "set either stripPrefix or rewrite, not both"},
    {"StripPrefixOnExactPath",
     "upstreams: [{ name: a, url: \"http://127.0.0.1:1\" }]\n"
     "routes:\n"
     "  - path: /a\n"
     "    upstream: a\n"
     "    stripPrefix: true\n",
     "routes[0].stripPrefix", 5, 18, "stripPrefix needs a wildcard path like \"/api/*\""},
    {"PlaintextApiKey",
     "security:\n"
     "  auth:\n"
     "    keys:\n"
     "      - { key: \"my-secret-key\", name: a }\n",
     "security.auth.keys[0].key", 4, 16, "looks like a plaintext key; store its SHA-256 (flexgate hash-key KEY)"},
    {"ShortHexApiKey",
     "security:\n"
     "  auth:\n"
     "    keys:\n"
     "      - { key: \"9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a0\", name: a }\n",
     "security.auth.keys[0].key", 4, 16, "looks like a plaintext key"},
    {"ApiKeyNotScalar",
     "security:\n"
     "  auth:\n"
     "    keys:\n"
     "      - { key: [x], name: a }\n",
     "security.auth.keys[0].key", 4, 16, "must be the key's SHA-256 as 64 hex characters (got a list)"},
    {"DuplicateApiKeyName",
     "security:\n"
     "  auth:\n"
     "    keys:\n"
     "      - { key: \"9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08\", name: A }\n"
     "      - { key: \"60303ae22b998861bce3b28f33eec1be758a213c86c93c076dbe9f558c11c752\", name: A }\n",
     "security.auth.keys[1].name", 5, 90, "duplicate key name 'A' (also security.auth.keys[0])"},
    {"DuplicateApiKeyDigest",
     "security:\n"
     "  auth:\n"
     "    keys:\n"
     "      - { key: \"9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08\", name: A }\n"
     "      - { key: \"9F86D081884C7D659A2FEAA0C55AD015A3BF4F1B2B0B822CD15D6C15B0F00A08\", name: B }\n",
     "security.auth.keys[1].key", 5, 16, "the same key digest is listed twice (also security.auth.keys[0])"},
    {"ApiKeyMissingName",
     "security:\n"
     "  auth:\n"
     "    keys:\n"
     "      - { key: \"9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08\" }\n",
     "security.auth.keys[0].name", 4, 9, "missing required key 'name'"},
    {"AuthTypeUnknown",
     "security:\n"
     "  auth:\n"
     "    type: basic\n"
     "    keys: [{ key: \"9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08\", name: a }]\n",
     "security.auth.type", 3, 11, "must be one of apiKey, hmac (got 'basic')"},
    {"AuthTypeWrongCase",
     "security:\n"
     "  auth:\n"
     "    type: apikey\n"
     "    keys: [{ key: \"9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08\", name: a }]\n",
     "security.auth.type", 3, 11, "did you mean 'apiKey'?"},
    {"HmacWithoutSecret",
     "security:\n"
     "  auth:\n"
     "    type: hmac\n"
     "    keys:\n"
     "      - key: \"9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08\"\n"
     "        name: a\n",
     "security.auth.keys[0].hmacSecret", 5, 9, "missing required key 'hmacSecret' (security.auth.type is hmac)"},
    {"AuthKeysEmpty",
     "security:\n"
     "  auth:\n"
     "    keys: []\n",
     "security.auth.keys", 3, 11, "must list at least one key"},
    {"AuthKeysMissing",
     "security:\n"
     "  auth: { type: apiKey }\n",
     "security.auth.keys", 2, 9, "missing required key 'keys'"},
    {"AuthHeaderNotAToken",
     "security:\n"
     "  auth:\n"
     "    header: \"X API\"\n"
     "    keys: [{ key: \"9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08\", name: a }]\n",
     "security.auth.header", 3, 13, "must be a header name like X-API-Key"},
    {"BlockedCidrPrefixTooLong",
     "security:\n"
     "  blockedIPs: [\"1.2.3.4\", \"10.0.0.0/33\"]\n",
     "security.blockedIPs[1]", 2, 27, "prefix length '33' must be a number 0..32"},
    {"BlockedCidrHostBits",
     "security:\n"
     "  blockedIPs: [\"1.2.3.4\", \"10.1.2.3/8\"]\n",
     "security.blockedIPs[1]", 2, 27, "'10.1.2.3/8' has bits set after the /8 prefix (did you mean 10.0.0.0/8?)"},
    {"BlockedIpLeadingZero",
     "security:\n"
     "  blockedIPs: [\"1.2.3.4\", \"010.0.0.1\"]\n",
     "security.blockedIPs[1]", 2, 27, "'010.0.0.1' is not a valid IPv4 address or CIDR"},
    {"BlockedIpShortForm",
     "security:\n"
     "  blockedIPs: [\"1.2.3.4\", \"169.254.43518\"]\n",
     "security.blockedIPs[1]", 2, 27, "'169.254.43518' is not a valid IPv4 address or CIDR"},
    {"BlockedIpDecimalForm",
     "security:\n"
     "  blockedIPs: [\"1.2.3.4\", \"2852039166\"]\n",
     "security.blockedIPs[1]", 2, 27, "'2852039166' is not a valid IPv4 address or CIDR"},
    {"BlockedIpv6Zone",
     "security:\n"
     "  blockedIPs: [\"1.2.3.4\", \"fe80::1%eth0\"]\n",
     "security.blockedIPs[1]", 2, 27, "zone IDs like '%eth0' are not allowed"},
    {"BlockedIpv6DoubleCompression",
     "security:\n"
     "  blockedIPs: [\"1.2.3.4\", \"1::2::3\"]\n",
     "security.blockedIPs[1]", 2, 27, "'1::2::3' is not a valid IPv6 address"},
    {"BlockedIpv6CidrHostBits",
     "security:\n"
     "  blockedIPs: [\"1.2.3.4\", \"fd00::1/8\"]\n",
     "security.blockedIPs[1]", 2, 27, "(did you mean fd00::/8?)"},
    {"BlockedHostName",
     "security:\n"
     "  blockedIPs: [\"1.2.3.4\", \"metadata.google.internal\"]\n",
     "security.blockedIPs[1]", 2, 27, "'metadata.google.internal' is a host name; list IP addresses or CIDRs"},
    {"AllowedHostBadWildcard",
     "security:\n"
     "  allowedHosts: [\"api.*.com\"]\n",
     "security.allowedHosts[0]", 2, 18, "'*' is only allowed as a '*.' prefix"},
    {"AllowedHostStar",
     "security:\n"
     "  allowedHosts: [ok.com, \"*\"]\n",
     "security.allowedHosts[1]", 2, 26, "'*' alone is not a host pattern"},
    {"RateLimitBackendUnknown",
     "rateLimit:\n"
     "  backend: postgres\n",
     "rateLimit.backend", 2, 12, "must be one of memory, redis (got 'postgres')"},
    {"RateLimitFailModeUnknown",
     "rateLimit:\n"
     "  failMode: nope\n",
     "rateLimit.failMode", 2, 13, "must be one of open, local, closed (got 'nope')"},
    {"RedisUrlScheme",
     "rateLimit:\n"
     "  redis: { url: \"http://localhost:6379\" }\n",
     "rateLimit.redis.url", 2, 17, "must be a Redis URL like \"redis://localhost:6379\""},
    {"RouteRateLimitKeyUnknown",
     "upstreams: [{ name: a, url: \"http://127.0.0.1:1\" }]\n"
     "routes:\n"
     "  - path: /a\n"
     "    upstream: a\n"
     "    rateLimit: { max: 1, key: \"cookie:sid\" }\n",
     "routes[0].rateLimit.key", 5, 31, "must be 'ip' or 'header:NAME'"},
    {"GlobalRateLimitMissingMax",
     "rateLimit:\n"
     "  global: { windowMs: 1000 }\n",
     "rateLimit.global.max", 2, 11, "missing required key 'max'"},
    {"LogLevelUnknown",
     "logging:\n"
     "  level: verbose\n",
     "logging.level", 2, 10, "must be one of debug, info, warn, error (got 'verbose')"},
    {"LogLevelUpperCase",
     "logging:\n"
     "  level: INFO\n",
     "logging.level", 2, 10, "did you mean 'info'?"},
    {"LogFormatUnknown",
     "logging:\n"
     "  format: xml\n",
     "logging.format", 2, 11, "must be one of json, text (got 'xml')"},
    {"ProxyHostBracketed",
     "proxy:\n"
     "  host: \"[::]\"\n",
     "proxy.host", 2, 9, "write IPv6 addresses without brackets"},
    {"ProxyHostOddNumeric",
     "proxy:\n"
     "  host: 0.0.0.0.0\n",
     "proxy.host", 2, 9, "is not a valid IPv4 address"},
    {"LoadBalancerTypo",
     "upstreams:\n"
     "  - name: a\n"
     "    url: \"http://h:1\"\n"
     "    loadBalancer: roundrobin\n",
     "upstreams[0].loadBalancer", 4, 19, "must be one of round_robin, least_request, latency, consistent_hash (got 'roundrobin'); did you mean 'round_robin'?"},

    // security: builtinDenyList, trustedProxies, underscoreHeaders
    {"UnknownKeyBuiltinDenyListCase",
     "security:\n"
     "  builtinDenylist: true\n",
     "security.builtinDenylist", 2, 3, "unknown key 'builtinDenylist' (did you mean 'builtinDenyList'?)"},
    {"UnknownKeyTrustedProxiesTypo",
     "security:\n"
     "  trustedProxys: [\"10.0.0.1\"]\n",
     "security.trustedProxys", 2, 3, "(did you mean 'trustedProxies'?)"},
    {"UnknownKeyUnderscoreHeadersSnakeCase",
     "security:\n"
     "  underscore_headers: drop\n",
     "security.underscore_headers", 2, 3, "(did you mean 'underscoreHeaders'?)"},
    {"BuiltinDenyListQuoted",
     "security:\n"
     "  builtinDenyList: \"false\"\n",
     "security.builtinDenyList", 2, 20, "must be true or false (got 'false'); remove the quotes"},
    {"TrustedProxiesNotList",
     "security:\n"
     "  trustedProxies: 10.0.0.1\n",
     "security.trustedProxies", 2, 19, "must be a list (got '10.0.0.1')"},
    {"TrustedProxyCidrHostBits",
     "security:\n"
     "  trustedProxies: [\"10.0.0.1\", \"10.1.0.0/8\"]\n",
     "security.trustedProxies[1]", 2, 32, "'10.1.0.0/8' has bits set after the /8 prefix (did you mean 10.0.0.0/8?)"},
    {"TrustedProxyHostName",
     "security:\n"
     "  trustedProxies: [lb.internal]\n",
     "security.trustedProxies[0]", 2, 20, "'lb.internal' is a host name; list IP addresses or CIDRs"},
    {"TrustedProxyShortForm",
     "security:\n"
     "  trustedProxies: [\"127.1\"]\n",
     "security.trustedProxies[0]", 2, 20, "'127.1' is not a valid IPv4 address or CIDR"},
    {"UnderscoreHeadersUnknown",
     "security:\n"
     "  underscoreHeaders: allow\n",
     "security.underscoreHeaders", 2, 22, "must be one of reject, drop (got 'allow')"},
    {"UnderscoreHeadersTypo",
     "security:\n"
     "  underscoreHeaders: rejct\n",
     "security.underscoreHeaders", 2, 22, "did you mean 'reject'?"},

    // security.auth: timestampHeader, signatureHeader, maxSkew
    {"UnknownKeyInAuthMaxSkew",
     "security:\n"
     "  auth:\n"
     "    maxSkw: 5m\n"
     "    keys: [{ key: \"9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08\", name: a }]\n",
     "security.auth.maxSkw", 3, 5, "unknown key 'maxSkw' (did you mean 'maxSkew'?)"},
    {"UnknownKeyInAuthTimestampHeader",
     "security:\n"
     "  auth:\n"
     "    timestamp_header: X-Time\n"
     "    keys: [{ key: \"9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08\", name: a }]\n",
     "security.auth.timestamp_header", 3, 5, "(did you mean 'timestampHeader'?)"},
    {"UnknownKeyInAuthSignatureHeader",
     "security:\n"
     "  auth:\n"
     "    signatureHeadr: X-Sig\n"
     "    keys: [{ key: \"9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08\", name: a }]\n",
     "security.auth.signatureHeadr", 3, 5, "(did you mean 'signatureHeader'?)"},
    {"TimestampHeaderNotAToken",
     "security:\n"
     "  auth:\n"
     "    timestampHeader: \"X Time\"\n"
     "    keys: [{ key: \"9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08\", name: a }]\n",
     "security.auth.timestampHeader", 3, 22, "must be a header name like X-Timestamp (got 'X Time')"},
    {"SignatureHeaderNotAToken",
     "security:\n"
     "  auth:\n"
     "    signatureHeader: \"X:Sig\"\n"
     "    keys: [{ key: \"9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08\", name: a }]\n",
     "security.auth.signatureHeader", 3, 22, "must be a header name like X-Signature (got 'X:Sig')"},
    {"SignatureHeaderEmpty",
     "security:\n"
     "  auth:\n"
     "    signatureHeader: \"\"\n"
     "    keys: [{ key: \"9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08\", name: a }]\n",
     "security.auth.signatureHeader", 3, 22, "must not be empty"},
    {"MaxSkewTooShort",
     "security:\n"
     "  auth:\n"
     "    maxSkew: 500ms\n"
     "    keys: [{ key: \"9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08\", name: a }]\n",
     "security.auth.maxSkew", 3, 14, "must be between 1s and 1h (got 500ms)"},
    {"MaxSkewTooLong",
     "security:\n"
     "  auth:\n"
     "    maxSkew: 2h\n"
     "    keys: [{ key: \"9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08\", name: a }]\n",
     "security.auth.maxSkew", 3, 14, "must be between 1s and 1h (got 2h)"},
    {"MaxSkewNotADuration",
     "security:\n"
     "  auth:\n"
     "    maxSkew: five minutes\n"
     "    keys: [{ key: \"9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08\", name: a }]\n",
     "security.auth.maxSkew", 3, 14, "must be a duration like 5000, \"5s\" or \"250ms\" (got 'five minutes')"},
    {"HmacSignatureHeaderSameAsTimestampHeader",
     "security:\n"
     "  auth:\n"
     "    type: hmac\n"
     "    timestampHeader: X-Sig\n"
     "    signatureHeader: x-sig\n"
     "    keys: [{ key: \"9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08\", name: a, hmacSecret: s }]\n",
     "security.auth.signatureHeader", 5, 22, "is the same header as security.auth.timestampHeader ('X-Sig')"},
    {"HmacTimestampHeaderSameAsKeyHeader",
     "security:\n"
     "  auth:\n"
     "    type: hmac\n"
     "    timestampHeader: X-API-Key\n"
     "    keys: [{ key: \"9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08\", name: a, hmacSecret: s }]\n",
     "security.auth.timestampHeader", 4, 22, "is the same header as security.auth.header ('X-API-Key')"},

    // routes[]: allowFrom, denyFrom, forwardCredentials
    {"UnknownKeyInRouteAllowFrom",
     "upstreams: [{ name: a, url: \"http://127.0.0.1:1\" }]\n"
     "routes:\n"
     "  - path: /a\n"
     "    upstream: a\n"
     "    allow_from: [\"10.0.0.0/8\"]\n",
     "routes[0].allow_from", 5, 5, "unknown key 'allow_from' (did you mean 'allowFrom'?)"},
    {"UnknownKeyInRouteDenyFrom",
     "upstreams: [{ name: a, url: \"http://127.0.0.1:1\" }]\n"
     "routes:\n"
     "  - path: /a\n"
     "    upstream: a\n"
     "    denyFrm: [\"10.0.0.0/8\"]\n",
     "routes[0].denyFrm", 5, 5, "(did you mean 'denyFrom'?)"},
    {"UnknownKeyInRouteValidate",
     "upstreams: [{ name: a, url: \"http://127.0.0.1:1\" }]\n"
     "routes:\n"
     "  - path: /a\n"
     "    upstream: a\n"
     "    valdate: { contentTypes: [application/json] }\n",
     "routes[0].valdate", 5, 5, "(did you mean 'validate'?)"},
    {"UnknownKeyInRouteForwardCredentials",
     "upstreams: [{ name: a, url: \"http://127.0.0.1:1\" }]\n"
     "routes:\n"
     "  - path: /a\n"
     "    upstream: a\n"
     "    forwardCredential: true\n",
     "routes[0].forwardCredential", 5, 5, "(did you mean 'forwardCredentials'?)"},
    {"AllowFromNotList",
     "upstreams: [{ name: a, url: \"http://127.0.0.1:1\" }]\n"
     "routes:\n"
     "  - path: /a\n"
     "    upstream: a\n"
     "    allowFrom: 10.0.0.0/8\n",
     "routes[0].allowFrom", 5, 16, "must be a list (got '10.0.0.0/8')"},
    {"AllowFromEmpty",
     "upstreams: [{ name: a, url: \"http://127.0.0.1:1\" }]\n"
     "routes:\n"
     "  - path: /a\n"
     "    upstream: a\n"
     "    allowFrom: []\n",
     "routes[0].allowFrom", 5, 16, "must list at least one address or CIDR (omit the key to allow every client)"},
    {"AllowFromPrefixTooLong",
     "upstreams: [{ name: a, url: \"http://127.0.0.1:1\" }]\n"
     "routes:\n"
     "  - path: /a\n"
     "    upstream: a\n"
     "    allowFrom: [\"10.0.0.0/8\", \"10.0.0.1/33\"]\n",
     "routes[0].allowFrom[1]", 5, 31, "prefix length '33' must be a number 0..32"},
    {"AllowFromIpv6HostBits",
     "upstreams: [{ name: a, url: \"http://127.0.0.1:1\" }]\n"
     "routes:\n"
     "  - path: /a\n"
     "    upstream: a\n"
     "    allowFrom:\n"
     "      - \"2001:db8::1/32\"\n",
     "routes[0].allowFrom[0]", 6, 9, "(did you mean 2001:db8::/32?)"},
    {"DenyFromShortForm",
     "upstreams: [{ name: a, url: \"http://127.0.0.1:1\" }]\n"
     "routes:\n"
     "  - path: /a\n"
     "    upstream: a\n"
     "    denyFrom: [\"10.1\"]\n",
     "routes[0].denyFrom[0]", 5, 16, "'10.1' is not a valid IPv4 address or CIDR"},
    {"DenyFromIpv6Zone",
     "upstreams: [{ name: a, url: \"http://127.0.0.1:1\" }]\n"
     "routes:\n"
     "  - path: /a\n"
     "    upstream: a\n"
     "    denyFrom: [\"fe80::1%eth0\"]\n",
     "routes[0].denyFrom[0]", 5, 16, "zone IDs like '%eth0' are not allowed"},
    {"DenyFromNotString",
     "upstreams: [{ name: a, url: \"http://127.0.0.1:1\" }]\n"
     "routes:\n"
     "  - path: /a\n"
     "    upstream: a\n"
     "    denyFrom: [[\"10.0.0.0/8\"]]\n",
     "routes[0].denyFrom[0]", 5, 16, "must be a string (got a list)"},
    {"ForwardCredentialsNotBoolean",
     "upstreams: [{ name: a, url: \"http://127.0.0.1:1\" }]\n"
     "routes:\n"
     "  - path: /a\n"
     "    upstream: a\n"
     "    forwardCredentials: yes\n",
     "routes[0].forwardCredentials", 5, 25, "must be true or false (got 'yes')"},

    // routes[].websocket
    {"WebsocketNotBoolean",
     "upstreams: [{ name: a, url: \"http://127.0.0.1:1\" }]\n"
     "routes:\n"
     "  - path: /ws\n"
     "    upstream: a\n"
     "    websocket: on\n",
     "routes[0].websocket", 5, 16, "must be true or false (got 'on')"},
    {"WebsocketRouteWithoutGet",
     "upstreams: [{ name: a, url: \"http://127.0.0.1:1\" }]\n"
     "routes:\n"
     "  - path: /ws\n"
     "    upstream: a\n"
     "    methods: [POST]\n"
     "    websocket: true\n",
     "routes[0].websocket", 6, 16, "websocket: true needs GET among the route's methods"},
    {"UnknownKeyInRouteWebsocket",
     "upstreams: [{ name: a, url: \"http://127.0.0.1:1\" }]\n"
     "routes:\n"
     "  - path: /ws\n"
     "    upstream: a\n"
     "    websockets: true\n",
     "routes[0].websockets", 5, 5, "(did you mean 'websocket'?)"},

    // routes[].validate
    {"ValidateNotMapping",
     "upstreams: [{ name: a, url: \"http://127.0.0.1:1\" }]\n"
     "routes:\n"
     "  - path: /a\n"
     "    upstream: a\n"
     "    validate: true\n",
     "routes[0].validate", 5, 15, "must be a mapping of keys to values (got 'true')"},
    {"ValidateEmpty",
     "upstreams: [{ name: a, url: \"http://127.0.0.1:1\" }]\n"
     "routes:\n"
     "  - path: /a\n"
     "    upstream: a\n"
     "    validate: {}\n",
     "routes[0].validate.contentTypes", 5, 15, "missing required key 'contentTypes' (or 'jsonSchema')"},
    {"UnknownKeyInValidate",
     "upstreams: [{ name: a, url: \"http://127.0.0.1:1\" }]\n"
     "routes:\n"
     "  - path: /a\n"
     "    upstream: a\n"
     "    validate: { contentType: [application/json] }\n",
     "routes[0].validate.contentType", 5, 17, "unknown key 'contentType' (did you mean 'contentTypes'?)"},
    {"UnknownKeyInValidateSnakeCase",
     "upstreams: [{ name: a, url: \"http://127.0.0.1:1\" }]\n"
     "routes:\n"
     "  - path: /a\n"
     "    upstream: a\n"
     "    validate:\n"
     "      json_schema: x.json\n",
     "routes[0].validate.json_schema", 6, 7, "(did you mean 'jsonSchema'?)"},
    {"ContentTypesNotList",
     "upstreams: [{ name: a, url: \"http://127.0.0.1:1\" }]\n"
     "routes:\n"
     "  - path: /a\n"
     "    upstream: a\n"
     "    validate: { contentTypes: application/json }\n",
     "routes[0].validate.contentTypes", 5, 31, "must be a list (got 'application/json')"},
    {"ContentTypesEmpty",
     "upstreams: [{ name: a, url: \"http://127.0.0.1:1\" }]\n"
     "routes:\n"
     "  - path: /a\n"
     "    upstream: a\n"
     "    validate: { contentTypes: [] }\n",
     "routes[0].validate.contentTypes", 5, 31, "must list at least one media type (omit the key to accept any content type)"},
    {"ContentTypeWithoutSubtype",
     "upstreams: [{ name: a, url: \"http://127.0.0.1:1\" }]\n"
     "routes:\n"
     "  - path: /a\n"
     "    upstream: a\n"
     "    validate: { contentTypes: [json] }\n",
     "routes[0].validate.contentTypes[0]", 5, 32, "'json' is not a media type like \"application/json\" (type/subtype)"},
    {"ContentTypeEmptySubtype",
     "upstreams: [{ name: a, url: \"http://127.0.0.1:1\" }]\n"
     "routes:\n"
     "  - path: /a\n"
     "    upstream: a\n"
     "    validate:\n"
     "      contentTypes: [\"application/\"]\n",
     "routes[0].validate.contentTypes[0]", 6, 22, "'application/' is not a media type"},
    {"ContentTypeTwoSlashes",
     "upstreams: [{ name: a, url: \"http://127.0.0.1:1\" }]\n"
     "routes:\n"
     "  - path: /a\n"
     "    upstream: a\n"
     "    validate:\n"
     "      contentTypes: [\"application/json/x\"]\n",
     "routes[0].validate.contentTypes[0]", 6, 22, "'application/json/x' is not a media type"},
    {"ContentTypeWithSpace",
     "upstreams: [{ name: a, url: \"http://127.0.0.1:1\" }]\n"
     "routes:\n"
     "  - path: /a\n"
     "    upstream: a\n"
     "    validate:\n"
     "      contentTypes: [\"application/ json\"]\n",
     "routes[0].validate.contentTypes[0]", 6, 22, "'application/ json' is not a media type"},
    {"ContentTypeWithParameters",
     "upstreams: [{ name: a, url: \"http://127.0.0.1:1\" }]\n"
     "routes:\n"
     "  - path: /a\n"
     "    upstream: a\n"
     "    validate:\n"
     "      contentTypes: [\"application/json; charset=utf-8\"]\n",
     "routes[0].validate.contentTypes[0]", 6, 22, "must be a media type without parameters, like \"application/json\""},
    {"ContentTypeWildcardType",
     "upstreams: [{ name: a, url: \"http://127.0.0.1:1\" }]\n"
     "routes:\n"
     "  - path: /a\n"
     "    upstream: a\n"
     "    validate:\n"
     "      contentTypes: [\"*/json\"]\n",
     "routes[0].validate.contentTypes[0]", 6, 22, "'*' is only allowed as a whole subtype, like \"text/*\", or as \"*/*\" (got '*/json')"},
    {"ContentTypePartialWildcard",
     "upstreams: [{ name: a, url: \"http://127.0.0.1:1\" }]\n"
     "routes:\n"
     "  - path: /a\n"
     "    upstream: a\n"
     "    validate:\n"
     "      contentTypes: [\"application/vnd.*\"]\n",
     "routes[0].validate.contentTypes[0]", 6, 22, "'*' is only allowed as a whole subtype"},
    {"ContentTypeListedTwice",
     "upstreams: [{ name: a, url: \"http://127.0.0.1:1\" }]\n"
     "routes:\n"
     "  - path: /a\n"
     "    upstream: a\n"
     "    validate:\n"
     "      contentTypes: [application/json, Application/JSON]\n",
     "routes[0].validate.contentTypes[1]", 6, 40, "media type application/json is listed twice"},
    {"JsonSchemaFileNotFound",
     "upstreams: [{ name: a, url: \"http://127.0.0.1:1\" }]\n"
     "routes:\n"
     "  - path: /a\n"
     "    upstream: a\n"
     "    validate:\n"
     "      jsonSchema: /nonexistent/flexgate/../schemas/user.json\n",
     "routes[0].validate.jsonSchema", 6, 19, "file not found: /nonexistent/schemas/user.json"},
    {"JsonSchemaIsADirectory",
     "upstreams: [{ name: a, url: \"http://127.0.0.1:1\" }]\n"
     "routes:\n"
     "  - path: /a\n"
     "    upstream: a\n"
     "    validate:\n"
     "      jsonSchema: /\n",
     "routes[0].validate.jsonSchema", 6, 19, "/ is a directory, not a JSON schema file"},
    {"JsonSchemaEmpty",
     "upstreams: [{ name: a, url: \"http://127.0.0.1:1\" }]\n"
     "routes:\n"
     "  - path: /a\n"
     "    upstream: a\n"
     "    validate:\n"
     "      jsonSchema: \"\"\n",
     "routes[0].validate.jsonSchema", 6, 19, "must not be empty"},
    {"JsonSchemaNotString",
     "upstreams: [{ name: a, url: \"http://127.0.0.1:1\" }]\n"
     "routes:\n"
     "  - path: /a\n"
     "    upstream: a\n"
     "    validate:\n"
     "      jsonSchema: [a.json]\n",
     "routes[0].validate.jsonSchema", 6, 19, "must be a string (got a list)"},
    {"JsonSchemaControlCharacter",
     "upstreams: [{ name: a, url: \"http://127.0.0.1:1\" }]\n"
     "routes:\n"
     "  - path: /a\n"
     "    upstream: a\n"
     "    validate:\n"
     "      jsonSchema: \"a\\tb.json\"\n",
     "routes[0].validate.jsonSchema", 6, 19, "must be a file path without control characters"},

    // dns
    {"UnknownTopLevelKeyDns",
     "dsn: { timeout: 1s }\n",
     "dsn", 1, 1, "unknown key 'dsn' (did you mean 'dns'?)"},
    {"UnknownKeyInDns",
     "dns:\n"
     "  min_ttl: 1s\n",
     "dns.min_ttl", 2, 3, "unknown key 'min_ttl' (did you mean 'minTtl'?)"},
    {"UnknownKeyInDnsListsAllowed",
     "dns:\n"
     "  resolvers: []\n",
     "dns.resolvers", 2, 3, "unknown key 'resolvers' (expected one of: servers, timeout, minTtl, maxTtl)"},
    {"DnsNotMapping",
     "dns: [\"10.0.0.2\"]\n",
     "dns", 1, 6, "must be a mapping of keys to values (got a list)"},
    {"DnsServersNotList",
     "dns:\n"
     "  servers: 10.0.0.2\n",
     "dns.servers", 2, 12, "must be a list (got '10.0.0.2')"},
    {"DnsServerHostName",
     "dns:\n"
     "  servers: [dns.google]\n",
     "dns.servers[0]", 2, 13, "'dns.google' is a host name; name DNS servers by IP address"},
    {"DnsServerHostNameWithPort",
     "dns:\n"
     "  servers: [\"localhost:53\"]\n",
     "dns.servers[0]", 2, 13, "'localhost' is a host name"},
    {"DnsServerPortZero",
     "dns:\n"
     "  servers: [\"10.0.0.2:0\"]\n",
     "dns.servers[0]", 2, 13, "port must be a number 1..65535 (got '0')"},
    {"DnsServerPortTooLarge",
     "dns:\n"
     "  servers: [\"[::1]:65536\"]\n",
     "dns.servers[0]", 2, 13, "port must be a number 1..65535 (got '65536')"},
    {"DnsServerPortLeadingZero",
     "dns:\n"
     "  servers: [\"10.0.0.2:053\"]\n",
     "dns.servers[0]", 2, 13, "port must be a number 1..65535 (got '053')"},
    {"DnsServerPortEmpty",
     "dns:\n"
     "  servers: [\"10.0.0.2:\"]\n",
     "dns.servers[0]", 2, 13, "port must be a number 1..65535 (got '')"},
    {"DnsServerPortNotANumber",
     "dns:\n"
     "  servers: [\"10.0.0.2:dns\"]\n",
     "dns.servers[0]", 2, 13, "port must be a number 1..65535 (got 'dns')"},
    {"DnsServerIpv6WithoutBrackets",
     "dns:\n"
     "  servers: [\"::1\"]\n",
     "dns.servers[0]", 2, 13, "write IPv6 addresses in brackets, like \"[::1]\" or \"[::1]:53\""},
    {"DnsServerIpv6Invalid",
     "dns:\n"
     "  servers: [\"[1::2::3]:53\"]\n",
     "dns.servers[0]", 2, 13, "'[1::2::3]' is not a valid IPv6 address"},
    {"DnsServerIpv6Zone",
     "dns:\n"
     "  servers: [\"[fe80::1%eth0]:53\"]\n",
     "dns.servers[0]", 2, 13, "zone IDs like '%eth0' are not allowed"},
    {"DnsServerUnclosedBracket",
     "dns:\n"
     "  servers: [\"[::1:53\"]\n",
     "dns.servers[0]", 2, 13, "has an unclosed '['"},
    {"DnsServerTextAfterBracket",
     "dns:\n"
     "  servers: [\"[::1]53\"]\n",
     "dns.servers[0]", 2, 13, "unexpected text after ']'"},
    {"DnsServerShortIpv4",
     "dns:\n"
     "  servers: [\"10.2:53\"]\n",
     "dns.servers[0]", 2, 13, "'10.2' is not a valid IPv4 address"},
    {"DnsServerCidr",
     "dns:\n"
     "  servers: [\"10.0.0.0/8\"]\n",
     "dns.servers[0]", 2, 13, "must be an IP address, not a CIDR"},
    {"DnsServerUnspecified",
     "dns:\n"
     "  servers: [\"0.0.0.0\"]\n",
     "dns.servers[0]", 2, 13, "'0.0.0.0' is the unspecified address"},
    {"DnsServerNoAddress",
     "dns:\n"
     "  servers: [\":53\"]\n",
     "dns.servers[0]", 2, 13, "has no address"},
    {"DnsServerWithSpace",
     "dns:\n"
     "  servers: [\"10.0.0.2 :53\"]\n",
     "dns.servers[0]", 2, 13, "must not contain spaces, control or non-ASCII characters"},
    {"DnsServerListedTwice",
     "dns:\n"
     "  servers: [\"10.0.0.2\", \"10.0.0.2:53\"]\n",
     "dns.servers[1]", 2, 25, "server 10.0.0.2:53 is listed twice (also dns.servers[0])"},
    {"DnsServerIpv6ListedTwice",
     "dns:\n"
     "  servers:\n"
     "    - \"[FD00::1]\"\n"
     "    - \"[fd00::1]:53\"\n",
     "dns.servers[1]", 4, 7, "server [fd00::1]:53 is listed twice (also dns.servers[0])"},
    {"DnsTimeoutZero",
     "dns:\n"
     "  timeout: 0\n",
     "dns.timeout", 2, 12, "must be between 1ms and 1m (got 0ms)"},
    {"DnsTimeoutTooLong",
     "dns:\n"
     "  timeout: 61s\n",
     "dns.timeout", 2, 12, "must be between 1ms and 1m (got 61s)"},
    {"DnsMinTtlOverADay",
     "dns:\n"
     "  minTtl: 25h\n",
     "dns.minTtl", 2, 11, "must be between 0ms and 24h (got 25h)"},
    {"DnsMaxTtlZero",
     "dns:\n"
     "  maxTtl: 0\n",
     "dns.maxTtl", 2, 11, "must be between 1ms and 24h (got 0ms)"},
    {"DnsMaxTtlNotADuration",
     "dns:\n"
     "  maxTtl: forever\n",
     "dns.maxTtl", 2, 11, "must be a duration like"},
    {"DnsMinTtlAboveMaxTtl",
     "dns:\n"
     "  maxTtl: 1m\n"
     "  minTtl: 5m\n",
     "dns.minTtl", 3, 11, "must not be greater than maxTtl (got 5m; maxTtl is 1m)"},
    {"DnsMaxTtlBelowMinTtl",
     "dns:\n"
     "  minTtl: 5m\n"
     "  maxTtl: 1m\n",
     "dns.maxTtl", 3, 11, "must not be less than minTtl (got 1m; minTtl is 5m)"},
    {"DnsMaxTtlBelowMinTtlSameLine",
     "dns: { minTtl: 2h, maxTtl: 1h }\n",
     "dns.maxTtl", 1, 28, "must not be less than minTtl (got 1h; minTtl is 2h)"},
    {"DnsMinTtlAboveDefaultMaxTtl",
     "dns:\n"
     "  minTtl: 10m\n",
     "dns.minTtl", 2, 11, "must not be greater than maxTtl (got 10m; maxTtl is 5m by default)"},
    {"DnsMaxTtlBelowDefaultMinTtl",
     "dns:\n"
     "  maxTtl: 500ms\n",
     "dns.maxTtl", 2, 11, "must not be less than minTtl (got 500ms; minTtl is 1s by default)"},

};
// clang-format on

class ValidationRule : public ::testing::TestWithParam<RuleCase> {};

TEST_P(ValidationRule, ReportsPositionPathAndMessage) {
  const RuleCase& c = GetParam();
  const LoadResult result = load_config_text(c.yaml, "test.yml");
  EXPECT_FALSE(result.ok());
  EXPECT_TRUE(has_error(result, c.path, c.line, c.column, c.message)) << "YAML:\n" << c.yaml;
}

INSTANTIATE_TEST_SUITE_P(Config, ValidationRule, ::testing::ValuesIn(kRuleCases),
                         [](const ::testing::TestParamInfo<RuleCase>& info) {
                           return std::string(info.param.name);
                         });

}  // namespace
}  // namespace flexgate::config
