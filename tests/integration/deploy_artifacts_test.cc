// The deployment artifacts under deploy/ are checked against the product they deploy: the
// Kubernetes manifests parse and agree with each other and with the embedded FlexGate config (which
// the real binary validates), the systemd unit reloads with SIGHUP and outwaits the drain, and the
// Dockerfile builds the binary's target and ships the shared libraries the binary actually links.

#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include "integration/harness.h"

namespace flexgate::testing {
namespace {

namespace fs = std::filesystem;

const fs::path kRepo = FLEXGATE_SOURCE_DIR;
const fs::path kKubernetes = kRepo / "deploy" / "kubernetes";
constexpr long long kDefaultDrainMs = 30'000;  // proxy.drainTimeout default (README)
constexpr int kDefaultPort = 3000;             // proxy.port default (README)

std::string read_text(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

std::string trim(std::string text) {
  auto not_space = [](unsigned char c) { return !std::isspace(c); };
  text.erase(text.begin(), std::find_if(text.begin(), text.end(), not_space));
  text.erase(std::find_if(text.rbegin(), text.rend(), not_space).base(), text.end());
  return text;
}

std::vector<std::string> split_words(const std::string& text) {
  std::istringstream in(text);
  std::vector<std::string> words;
  for (std::string word; in >> word;) words.push_back(word);
  return words;
}

// Runs a shell command; returns {exit code, stdout+stderr}.
std::pair<int, std::string> run_shell(const std::string& command) {
  std::string output;
  FILE* pipe = ::popen((command + " 2>&1").c_str(), "r");
  if (pipe == nullptr) return {-1, ""};
  char chunk[4096];
  std::size_t n;
  while ((n = std::fread(chunk, 1, sizeof(chunk), pipe)) > 0) output.append(chunk, n);
  int status = ::pclose(pipe);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, output};
}

bool have_program(const std::string& name) { return run_shell("command -v " + name + " >/dev/null").first == 0; }

// A FlexGate duration: milliseconds as a number, or "250ms" / "5s" / "2m" / "1h".
long long flexgate_duration_ms(const YAML::Node& node) {
  std::string text = trim(node.as<std::string>());
  std::size_t digits = 0;
  while (digits < text.size() && std::isdigit(static_cast<unsigned char>(text[digits]))) ++digits;
  EXPECT_GT(digits, 0u) << "not a duration: " << text;
  long long value = std::stoll(text.substr(0, digits));
  std::string unit = text.substr(digits);
  if (unit.empty() || unit == "ms") return value;
  if (unit == "s") return value * 1000;
  if (unit == "m") return value * 60'000;
  if (unit == "h") return value * 3'600'000;
  ADD_FAILURE() << "unknown duration unit in " << text;
  return value;
}

// A systemd time span as used in units: "45", "45s", "1min", "1min 30s", "500ms".
long long systemd_span_ms(const std::string& text) {
  long long total = 0;
  for (const auto& word : split_words(text)) {
    std::size_t digits = 0;
    while (digits < word.size() && std::isdigit(static_cast<unsigned char>(word[digits]))) ++digits;
    EXPECT_GT(digits, 0u) << "not a time span: " << text;
    long long value = std::stoll(word.substr(0, digits));
    std::string unit = word.substr(digits);
    if (unit.empty() || unit == "s" || unit == "sec") total += value * 1000;
    else if (unit == "ms" || unit == "msec") total += value;
    else if (unit == "min" || unit == "m") total += value * 60'000;
    else if (unit == "h" || unit == "hr") total += value * 3'600'000;
    else ADD_FAILURE() << "unknown time unit in " << text;
  }
  return total;
}

// Every document of every manifest listed by kustomization.yaml.
struct Manifests {
  std::vector<YAML::Node> documents;

  YAML::Node find(const std::string& kind) const {
    for (const auto& doc : documents) {
      if (doc["kind"] && doc["kind"].as<std::string>() == kind) return doc;
    }
    ADD_FAILURE() << "no " << kind << " in deploy/kubernetes";
    return YAML::Node();
  }
};

Manifests load_manifests() {
  Manifests manifests;
  YAML::Node kustomization = YAML::LoadFile((kKubernetes / "kustomization.yaml").string());
  for (const auto& resource : kustomization["resources"]) {
    for (const auto& doc : YAML::LoadAllFromFile((kKubernetes / resource.as<std::string>()).string())) {
      if (doc.IsMap()) manifests.documents.push_back(doc);
    }
  }
  return manifests;
}

YAML::Node the_container(const YAML::Node& deployment) {
  YAML::Node containers = deployment["spec"]["template"]["spec"]["containers"];
  EXPECT_TRUE(containers.IsSequence() && containers.size() == 1u) << "expected exactly one container";
  return containers[0];
}

// A probe's / Service's port: a number, or the name of one of the container's ports.
int resolve_port(const YAML::Node& port, const YAML::Node& container) {
  std::string text = port.as<std::string>();
  if (!text.empty() && std::all_of(text.begin(), text.end(), [](unsigned char c) { return std::isdigit(c); })) {
    return std::stoi(text);
  }
  for (const auto& declared : container["ports"]) {
    if (declared["name"] && declared["name"].as<std::string>() == text) return declared["containerPort"].as<int>();
  }
  ADD_FAILURE() << "port name '" << text << "' is not a container port";
  return -1;
}

// The FlexGate config embedded in the ConfigMap, under the file name the container's args point at.
struct EmbeddedConfig {
  std::string file_name;
  std::string text;
};

EmbeddedConfig embedded_config(const Manifests& manifests) {
  YAML::Node container = the_container(manifests.find("Deployment"));
  std::string config_arg;
  auto args = container["args"].as<std::vector<std::string>>();
  for (std::size_t i = 0; i + 1 < args.size(); ++i) {
    if (args[i] == "-c") config_arg = args[i + 1];
  }
  EXPECT_FALSE(config_arg.empty()) << "the container does not pass -c FILE";
  fs::path config_path(config_arg);
  EmbeddedConfig result;
  result.file_name = config_path.filename().string();
  YAML::Node data = manifests.find("ConfigMap")["data"];
  if (data[result.file_name]) result.text = data[result.file_name].as<std::string>();
  EXPECT_FALSE(result.text.empty()) << "the ConfigMap has no key " << result.file_name;
  return result;
}

long long drain_ms_of(const YAML::Node& config) {
  YAML::Node drain = config["proxy"]["drainTimeout"];
  return drain ? flexgate_duration_ms(drain) : kDefaultDrainMs;
}

// ─── Kubernetes ─────────────────────────────────────────────────────────────────────────────

TEST(DeployKubernetes, EveryManifestParsesAndKustomizationListsThemAll) {
  std::set<std::string> files;
  for (const auto& entry : fs::directory_iterator(kKubernetes)) {
    if (entry.path().extension() != ".yaml" && entry.path().extension() != ".yml") continue;
    std::string name = entry.path().filename().string();
    std::vector<YAML::Node> docs;
    ASSERT_NO_THROW(docs = YAML::LoadAllFromFile(entry.path().string())) << name;
    std::size_t maps = 0;
    for (const auto& doc : docs) {
      if (doc.IsNull()) continue;  // an empty document between `---` separators
      ASSERT_TRUE(doc.IsMap()) << name;
      EXPECT_TRUE(doc["apiVersion"] && doc["kind"]) << name << ": a document without apiVersion/kind";
      ++maps;
    }
    EXPECT_GT(maps, 0u) << name << " has no document";
    if (name != "kustomization.yaml") files.insert(name);
  }
  YAML::Node kustomization = YAML::LoadFile((kKubernetes / "kustomization.yaml").string());
  std::set<std::string> listed;
  for (const auto& resource : kustomization["resources"]) listed.insert(resource.as<std::string>());
  EXPECT_EQ(listed, files) << "kustomization.yaml must list every manifest, and only those";

  Manifests manifests = load_manifests();
  std::set<std::string> kinds;
  for (const auto& doc : manifests.documents) kinds.insert(doc["kind"].as<std::string>());
  EXPECT_EQ(kinds, (std::set<std::string>{"ConfigMap", "Deployment", "Service", "PodDisruptionBudget",
                                          "HorizontalPodAutoscaler"}));
}

TEST(DeployKubernetes, ProbesServiceAndConfigAgreeOnThePort) {
  Manifests manifests = load_manifests();
  YAML::Node deployment = manifests.find("Deployment");
  YAML::Node container = the_container(deployment);
  YAML::Node config = YAML::Load(embedded_config(manifests).text);
  int config_port = config["proxy"]["port"] ? config["proxy"]["port"].as<int>() : kDefaultPort;
  EXPECT_EQ(config_port, 3000);

  ASSERT_TRUE(container["ports"].IsSequence());
  EXPECT_EQ(container["ports"][0]["containerPort"].as<int>(), config_port);

  EXPECT_EQ(container["livenessProbe"]["httpGet"]["path"].as<std::string>(), "/health/live");
  EXPECT_EQ(resolve_port(container["livenessProbe"]["httpGet"]["port"], container), config_port);
  EXPECT_EQ(container["readinessProbe"]["httpGet"]["path"].as<std::string>(), "/health/ready");
  EXPECT_EQ(resolve_port(container["readinessProbe"]["httpGet"]["port"], container), config_port);

  YAML::Node service = manifests.find("Service");
  ASSERT_TRUE(service["spec"]["ports"].IsSequence());
  EXPECT_EQ(resolve_port(service["spec"]["ports"][0]["targetPort"], container), config_port);

  // The Service, the PodDisruptionBudget and the Deployment's own selector all pick the pods.
  auto pod_labels = deployment["spec"]["template"]["metadata"]["labels"].as<std::map<std::string, std::string>>();
  auto selects_pods = [&](const YAML::Node& selector) {
    for (const auto& [key, value] : selector.as<std::map<std::string, std::string>>()) {
      if (!pod_labels.contains(key) || pod_labels[key] != value) return false;
    }
    return selector.size() > 0;
  };
  EXPECT_TRUE(selects_pods(service["spec"]["selector"]));
  EXPECT_TRUE(selects_pods(deployment["spec"]["selector"]["matchLabels"]));
  EXPECT_TRUE(selects_pods(manifests.find("PodDisruptionBudget")["spec"]["selector"]["matchLabels"]));

  YAML::Node hpa = manifests.find("HorizontalPodAutoscaler");
  EXPECT_EQ(hpa["apiVersion"].as<std::string>(), "autoscaling/v2");
  EXPECT_EQ(hpa["spec"]["scaleTargetRef"]["kind"].as<std::string>(), "Deployment");
  EXPECT_EQ(hpa["spec"]["scaleTargetRef"]["name"].as<std::string>(), deployment["metadata"]["name"].as<std::string>());
  EXPECT_EQ(hpa["spec"]["metrics"][0]["resource"]["name"].as<std::string>(), "cpu");
}

TEST(DeployKubernetes, GracePeriodOutlastsPreStopPauseAndDrain) {
  Manifests manifests = load_manifests();
  YAML::Node deployment = manifests.find("Deployment");
  YAML::Node pod = deployment["spec"]["template"]["spec"];
  YAML::Node container = the_container(deployment);
  long long drain_ms = drain_ms_of(YAML::Load(embedded_config(manifests).text));

  ASSERT_TRUE(pod["terminationGracePeriodSeconds"]);
  long long grace_ms = pod["terminationGracePeriodSeconds"].as<long long>() * 1000;
  EXPECT_GT(grace_ms, drain_ms);

  // preStop pauses (the endpoint leaves the Services) before SIGTERM; the grace period counts from
  // the start of preStop, so it must cover the pause and the whole drain.
  auto pre_stop = container["lifecycle"]["preStop"]["exec"]["command"].as<std::vector<std::string>>();
  ASSERT_EQ(pre_stop.size(), 2u);
  EXPECT_EQ(fs::path(pre_stop[0]).filename(), "sleep");
  long long pause_ms = std::stoll(pre_stop[1]) * 1000;
  EXPECT_GT(pause_ms, 0);
  EXPECT_GT(grace_ms, pause_ms + drain_ms);
}

TEST(DeployKubernetes, PodRunsLockedDownWithTheConfigMapMounted) {
  Manifests manifests = load_manifests();
  YAML::Node deployment = manifests.find("Deployment");
  YAML::Node pod = deployment["spec"]["template"]["spec"];
  YAML::Node container = the_container(deployment);

  EXPECT_TRUE(pod["securityContext"]["runAsNonRoot"].as<bool>());
  EXPECT_NE(pod["securityContext"]["runAsUser"].as<int>(), 0);
  EXPECT_TRUE(container["securityContext"]["readOnlyRootFilesystem"].as<bool>());
  EXPECT_FALSE(container["securityContext"]["allowPrivilegeEscalation"].as<bool>());
  for (const char* kind : {"requests", "limits"}) {
    EXPECT_TRUE(container["resources"][kind]["cpu"] && container["resources"][kind]["memory"]) << kind;
  }

  // The config comes from the ConfigMap, mounted where the args point.
  std::string config_map_name = manifests.find("ConfigMap")["metadata"]["name"].as<std::string>();
  std::string volume_name;
  for (const auto& volume : pod["volumes"]) {
    if (volume["configMap"] && volume["configMap"]["name"].as<std::string>() == config_map_name) {
      volume_name = volume["name"].as<std::string>();
    }
  }
  ASSERT_FALSE(volume_name.empty()) << "no volume from ConfigMap " << config_map_name;
  std::string mount_path;
  for (const auto& mount : container["volumeMounts"]) {
    if (mount["name"].as<std::string>() == volume_name) mount_path = mount["mountPath"].as<std::string>();
  }
  EXPECT_EQ(mount_path, "/app/config");
  auto args = container["args"].as<std::vector<std::string>>();
  EXPECT_NE(std::find(args.begin(), args.end(), mount_path + "/" + embedded_config(manifests).file_name), args.end());

  // REDIS_URL comes from a Secret (nothing reads it yet: see the comment in deployment.yaml).
  bool redis_from_secret = false;
  for (const auto& env : container["env"]) {
    if (env["name"].as<std::string>() == "REDIS_URL" && env["valueFrom"]["secretKeyRef"]) redis_from_secret = true;
  }
  EXPECT_TRUE(redis_from_secret);

  // Worker threads default to the node's CPUs (affinity), not the pod's CPU limit: the config pins
  // them to the limit.
  YAML::Node config = YAML::Load(embedded_config(manifests).text);
  std::string cpu_limit = container["resources"]["limits"]["cpu"].as<std::string>();
  ASSERT_TRUE(config["proxy"]["workers"]) << "set proxy.workers: the default is the node's CPU count";
  if (cpu_limit.find('m') == std::string::npos) {
    EXPECT_EQ(config["proxy"]["workers"].as<int>(), std::stoi(cpu_limit));
  }
}

TEST(DeployKubernetes, ConfigMapConfigPassesFlexgateValidate) {
  Manifests manifests = load_manifests();
  std::string path = write_temp_file(embedded_config(manifests).text);
  auto [code, output] = run_flexgate({"validate", path});
  EXPECT_EQ(code, 0) << output;
  EXPECT_NE(output.find(path + ": valid"), std::string::npos) << output;
  std::remove(path.c_str());
}

// ─── systemd ────────────────────────────────────────────────────────────────────────────────

// key -> every value it was given, in order (ExecReload= may repeat).
std::multimap<std::string, std::string> parse_unit(const std::string& text) {
  std::multimap<std::string, std::string> entries;
  std::istringstream in(text);
  std::string section;
  for (std::string line; std::getline(in, line);) {
    line = trim(line);
    if (line.empty() || line[0] == '#' || line[0] == ';') continue;
    if (line.front() == '[' && line.back() == ']') {
      section = line.substr(1, line.size() - 2);
      continue;
    }
    auto equals = line.find('=');
    if (equals == std::string::npos) continue;
    entries.emplace(section + "." + trim(line.substr(0, equals)), trim(line.substr(equals + 1)));
  }
  return entries;
}

std::string unit_value(const std::multimap<std::string, std::string>& unit, const std::string& key) {
  auto range = unit.equal_range(key);
  std::string value;
  for (auto it = range.first; it != range.second; ++it) value = it->second;  // the last one wins
  return value;
}

TEST(DeploySystemd, UnitRunsReloadsWithHupAndOutwaitsTheDrain) {
  fs::path unit_path = kRepo / "deploy" / "systemd" / "flexgate.service";
  std::string text = read_text(unit_path);
  ASSERT_FALSE(text.empty());
  auto unit = parse_unit(text);

  EXPECT_EQ(unit_value(unit, "Service.Type"), "simple");
  EXPECT_EQ(unit_value(unit, "Service.ExecStart"), "/usr/local/bin/flexgate run -c /etc/flexgate/proxy.yml");
  std::vector<std::string> reloads;
  for (auto [it, end] = unit.equal_range("Service.ExecReload"); it != end; ++it) reloads.push_back(it->second);
  ASSERT_FALSE(reloads.empty());
  EXPECT_EQ(reloads.back(), "/bin/kill -HUP $MAINPID");
  EXPECT_EQ(unit_value(unit, "Service.KillSignal"), "SIGTERM");
  EXPECT_EQ(unit_value(unit, "Service.Restart"), "on-failure");

  // The unit serves /etc/flexgate/proxy.yml, installed from config/proxy.yml: outwait its drain and
  // the default.
  long long drain_ms = std::max(kDefaultDrainMs, drain_ms_of(YAML::LoadFile((kRepo / "config" / "proxy.yml").string())));
  std::string timeout_stop = unit_value(unit, "Service.TimeoutStopSec");
  ASSERT_FALSE(timeout_stop.empty());
  EXPECT_GT(systemd_span_ms(timeout_stop), drain_ms);

  std::string user = unit_value(unit, "Service.User");
  EXPECT_TRUE(unit_value(unit, "Service.DynamicUser") == "yes" || (!user.empty() && user != "root" && user != "0"));
  for (const auto& [key, value] : std::vector<std::pair<std::string, std::string>>{
           {"NoNewPrivileges", "yes"}, {"ProtectSystem", "strict"}, {"ProtectHome", "yes"},
           {"PrivateTmp", "yes"}, {"PrivateDevices", "yes"}, {"MemoryDenyWriteExecute", "yes"},
           {"LockPersonality", "yes"}, {"RestrictNamespaces", "yes"}, {"LimitNOFILE", "65536"},
           {"SystemCallFilter", "@system-service"}, {"RestrictAddressFamilies", "AF_INET AF_INET6 AF_UNIX"}}) {
    EXPECT_EQ(unit_value(unit, "Service." + key), value) << key;
  }
  // Port 3000 is unprivileged: no capabilities (the keys are present and empty).
  EXPECT_EQ(unit.count("Service.CapabilityBoundingSet"), 1u);
  EXPECT_EQ(unit_value(unit, "Service.CapabilityBoundingSet"), "");
  EXPECT_EQ(unit_value(unit, "Service.AmbientCapabilities"), "");

  // `systemd-analyze verify` runs only where systemd is installed (the fields above are checked
  // everywhere). It rejects a missing ExecStart binary, so a copy points at the built one; it exits 0
  // on unknown keys but prints them, so any output fails too.
  if (have_program("systemd-analyze")) {
    fs::path dir = fs::temp_directory_path() / ("flexgate-unit-" + std::to_string(::getpid()));
    fs::create_directories(dir);
    std::string copy = text;
    for (std::size_t at; (at = copy.find("/usr/local/bin/flexgate")) != std::string::npos;) {
      copy.replace(at, std::string("/usr/local/bin/flexgate").size(), FLEXGATE_BINARY);
    }
    std::ofstream(dir / "flexgate.service") << copy;
    auto [code, output] = run_shell("systemd-analyze verify '" + (dir / "flexgate.service").string() + "'");
    EXPECT_EQ(code, 0) << output;
    EXPECT_EQ(trim(output), "") << "systemd-analyze verify complained";
    fs::remove_all(dir);
  }
}

// ─── Docker ─────────────────────────────────────────────────────────────────────────────────

struct Instruction {
  std::string keyword;  // upper-case
  std::string arguments;
  int stage = -1;  // index of the FROM it belongs to
};

std::vector<Instruction> parse_dockerfile(const std::string& text) {
  std::vector<Instruction> instructions;
  std::istringstream in(text);
  std::string logical;
  int stage = -1;
  for (std::string line; std::getline(in, line);) {
    std::string stripped = trim(line);
    if (logical.empty() && (stripped.empty() || stripped[0] == '#')) continue;
    if (!logical.empty() && !stripped.empty() && stripped[0] == '#') continue;  // comment inside a continuation
    if (!stripped.empty() && stripped.back() == '\\') {
      logical += stripped.substr(0, stripped.size() - 1) + " ";
      continue;
    }
    logical += stripped;
    auto space = logical.find_first_of(" \t");
    Instruction instruction;
    instruction.keyword = logical.substr(0, space);
    std::transform(instruction.keyword.begin(), instruction.keyword.end(), instruction.keyword.begin(), ::toupper);
    instruction.arguments = space == std::string::npos ? "" : trim(logical.substr(space));
    if (instruction.keyword == "FROM") ++stage;
    instruction.stage = stage;
    instructions.push_back(instruction);
    logical.clear();
  }
  return instructions;
}

// The packages an `apt-get install` in `run` installs (words after "install" that are not options,
// up to the next && or ;).
std::set<std::string> apt_packages(const std::string& run) {
  std::set<std::string> packages;
  auto words = split_words(run);
  bool installing = false;
  for (const auto& word : words) {
    if (word == "&&" || word == ";" || word == "\\") installing = false;
    else if (word == "install") installing = true;
    else if (installing && word[0] != '-') packages.insert(word);
  }
  return packages;
}

TEST(DeployDocker, DockerfileIsMultiStageNonRootAndCopiesWhatExists) {
  std::string text = read_text(kRepo / "deploy" / "Dockerfile");
  ASSERT_FALSE(text.empty());
  auto instructions = parse_dockerfile(text);
  std::vector<Instruction> froms;
  for (const auto& instruction : instructions) {
    if (instruction.keyword == "FROM") froms.push_back(instruction);
  }
  ASSERT_EQ(froms.size(), 2u);
  EXPECT_EQ(split_words(froms[0].arguments), (std::vector<std::string>{"debian:bookworm", "AS", "builder"}));
  EXPECT_EQ(froms[1].arguments, "debian:bookworm-slim");
  const int runtime = 1;

  std::string builder_workdir, user, healthcheck, stop_signal, exposed, cmd, build_run;
  std::set<std::string> builder_packages, runtime_packages;
  std::vector<std::string> context_sources;
  bool copies_binary = false;
  for (const auto& instruction : instructions) {
    const std::string& args = instruction.arguments;
    if (instruction.keyword == "WORKDIR" && instruction.stage == 0) builder_workdir = args;
    if (instruction.keyword == "RUN") {
      auto packages = apt_packages(args);
      (instruction.stage == 0 ? builder_packages : runtime_packages).insert(packages.begin(), packages.end());
      if (instruction.stage == 0 && args.find("cmake --build") != std::string::npos) build_run = args;
    }
    if (instruction.keyword == "COPY") {
      auto words = split_words(args);
      ASSERT_GE(words.size(), 2u) << args;
      if (words[0] == "--from=builder") {
        ASSERT_EQ(words.size(), 3u) << args;
        EXPECT_EQ(instruction.stage, runtime);
        EXPECT_EQ(words[1], builder_workdir + "/build/flexgate");
        EXPECT_EQ(words[2], "/usr/local/bin/flexgate");
        copies_binary = true;
      } else {
        EXPECT_EQ(words[0].rfind("--", 0), std::string::npos) << "unexpected COPY option: " << args;
        context_sources.insert(context_sources.end(), words.begin(), words.end() - 1);
      }
    }
    if (instruction.stage != runtime) continue;
    if (instruction.keyword == "USER") user = args;
    if (instruction.keyword == "HEALTHCHECK") healthcheck = args;
    if (instruction.keyword == "STOPSIGNAL") stop_signal = args;
    if (instruction.keyword == "EXPOSE") exposed = args;
    if (instruction.keyword == "CMD") cmd = args;
  }
  EXPECT_TRUE(copies_binary);
  EXPECT_NE(build_run.find("cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release -DFLEXGATE_TESTS=OFF"),
            std::string::npos) << build_run;
  EXPECT_NE(build_run.find("cmake --build build --target flexgate"), std::string::npos) << build_run;

  // Non-root: a user other than root/0 (numeric, so Kubernetes' runAsNonRoot can check it).
  ASSERT_FALSE(user.empty());
  std::string uid = user.substr(0, user.find(':'));
  EXPECT_NE(uid, "root");
  EXPECT_NE(uid, "0");
  EXPECT_TRUE(std::all_of(uid.begin(), uid.end(), [](unsigned char c) { return std::isdigit(c); })) << user;
  Manifests manifests = load_manifests();
  EXPECT_EQ(std::stoi(uid), manifests.find("Deployment")["spec"]["template"]["spec"]["securityContext"]["runAsUser"].as<int>());

  EXPECT_EQ(stop_signal, "SIGTERM");
  EXPECT_EQ(exposed, "3000");
  EXPECT_EQ(cmd, R"(["flexgate", "run", "-c", "/app/config/proxy.yml"])");
  // The health check uses only what the runtime image has: bash's /dev/tcp, unless curl/wget is
  // installed there.
  ASSERT_FALSE(healthcheck.empty());
  EXPECT_NE(healthcheck.find("/health/live"), std::string::npos);
  EXPECT_NE(healthcheck.find("/dev/tcp/127.0.0.1/3000"), std::string::npos);
  for (const char* tool : {"curl", "wget"}) {
    if (healthcheck.find(tool) != std::string::npos) {
      EXPECT_EQ(runtime_packages.count(tool), 1u) << tool;
    }
  }

  // Every COPY source from the context (the repository root) exists and is not excluded by the
  // Dockerfile's allow-list ignore file.
  std::string ignore = read_text(kRepo / "deploy" / "Dockerfile.dockerignore");
  ASSERT_FALSE(ignore.empty());
  for (const auto& source : context_sources) {
    EXPECT_TRUE(fs::exists(kRepo / source)) << source;
    bool allowed = false;
    std::istringstream lines(ignore);
    for (std::string line; std::getline(lines, line);) {
      line = trim(line);
      if (line == "!" + source || line == "!" + source + "/") allowed = true;
    }
    EXPECT_TRUE(allowed) << source << " is not allowed in deploy/Dockerfile.dockerignore";
  }

  // The builder installs only packages scripts/install-deps.sh installs.
  auto deps = split_words(read_text(kRepo / "scripts" / "install-deps.sh"));
  for (const auto& package : builder_packages) {
    EXPECT_NE(std::find(deps.begin(), deps.end(), package), deps.end()) << package << " is not in install-deps.sh";
  }
  for (const auto& package : {"libyaml-cpp0.7", "libssl3", "libc-ares2", "ca-certificates"}) {
    EXPECT_EQ(runtime_packages.count(package), 1u) << package;
  }
}

TEST(DeployDocker, RuntimeStageInstallsEveryLibraryTheBinaryLinks) {
  if (!have_program("ldd") || !have_program("dpkg")) GTEST_SKIP() << "needs ldd and dpkg (Debian)";
  std::string text = read_text(kRepo / "deploy" / "Dockerfile");
  std::set<std::string> runtime_packages;
  for (const auto& instruction : parse_dockerfile(text)) {
    if (instruction.keyword == "RUN" && instruction.stage == 1) {
      auto packages = apt_packages(instruction.arguments);
      runtime_packages.insert(packages.begin(), packages.end());
    }
  }
  // Already in debian:bookworm-slim (Essential/required); sanitizer runtimes only appear in the
  // ASan/TSan test builds, never in the Release image.
  const std::set<std::string> in_base = {"libc6", "libstdc++6", "libgcc-s1"};
  auto [code, ldd] = run_shell(std::string("ldd '") + FLEXGATE_BINARY + "'");
  ASSERT_EQ(code, 0) << ldd;
  std::istringstream lines(ldd);
  int checked = 0;
  for (std::string line; std::getline(lines, line);) {
    auto arrow = line.find("=> /");
    if (arrow == std::string::npos) continue;
    std::string library = split_words(line.substr(arrow + 3))[0];
    std::string name = fs::path(library).filename().string();
    if (name.rfind("libasan", 0) == 0 || name.rfind("libubsan", 0) == 0 || name.rfind("libtsan", 0) == 0 ||
        name.rfind("liblsan", 0) == 0) {
      continue;
    }
    // With merged /usr, dpkg knows a library under whichever of /lib and /usr/lib shipped it.
    auto [found, owner] =
        run_shell("{ dpkg -S '" + library + "' 2>/dev/null || dpkg -S '/usr" + library + "' 2>/dev/null; }");
    ASSERT_EQ(found, 0) << "no package owns " << library << ": " << owner;
    std::string package = owner.substr(0, owner.find_first_of(":,"));
    EXPECT_TRUE(in_base.count(package) == 1 || runtime_packages.count(package) == 1)
        << library << " comes from " << package << ", which the runtime stage does not install";
    ++checked;
  }
  EXPECT_GT(checked, 0);
}

}  // namespace
}  // namespace flexgate::testing
