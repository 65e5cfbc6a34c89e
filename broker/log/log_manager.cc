#include "broker/log/log_manager.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <sstream>
#include <system_error>

#include <fmt/format.h>

#include "broker/log/cleaner.h"

namespace eddy::broker::log {

using protocol::error_code;
namespace fs = std::filesystem;

namespace {
constexpr const char* lock_file = ".lock";
constexpr const char* clean_marker = ".clean_shutdown";
constexpr const char* metadata_file = "topics.meta";

log_error storage(std::string msg) { return make_error(error_code::kafka_storage_error, std::move(msg)); }

// "<topic>-<n>" -> (topic, n) when it looks like a partition folder.
std::optional<std::pair<std::string, std::int32_t>> parse_partition_dir(const std::string& name) {
  auto dash = name.rfind('-');
  if (dash == std::string::npos || dash == 0 || dash + 1 == name.size()) return std::nullopt;
  std::int32_t p = 0;
  auto [ptr, ec] = std::from_chars(name.data() + dash + 1, name.data() + name.size(), p);
  if (ec != std::errc() || ptr != name.data() + name.size() || p < 0) return std::nullopt;
  std::string topic = name.substr(0, dash);
  if (!validate_topic_name(topic)) return std::nullopt;
  return std::make_pair(topic, p);
}
}  // namespace

result<void> validate_topic_name(std::string_view name) {
  auto bad = [&](std::string why) {
    return make_error(error_code::invalid_topic_exception, fmt::format("invalid topic name '{}': {}", name, why));
  };
  if (name.empty()) return bad("it is empty");
  if (name == "." || name == "..") return bad("'.' and '..' are not allowed");
  if (name.size() > 249) return bad("longer than 249 characters");
  for (char c : name)
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-'))
      return bad("only ASCII letters, digits, '.', '_' and '-' are allowed");
  return {};
}

result<std::unique_ptr<log_manager>> log_manager::open(const fs::path& data_dir, const log_manager_options& options) {
  std::error_code ec;
  fs::create_directories(data_dir, ec);
  if (ec) return storage(fmt::format("cannot create data directory {}: {}", data_dir.string(), ec.message()));
  std::unique_ptr<log_manager> lm(new log_manager(data_dir, options));
  auto lock_path = data_dir / lock_file;
  lm->lock_fd_ = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (lm->lock_fd_ < 0) return io_error("cannot open lock file", lock_path, errno);
  if (::flock(lm->lock_fd_, LOCK_EX | LOCK_NB) != 0) {
    int err = errno;
    ::close(lm->lock_fd_);
    lm->lock_fd_ = -1;
    lm->closed_ = true;
    if (err == EWOULDBLOCK)
      return storage(fmt::format("data directory {} is already in use by another broker (lock {} is held); "
                                 "stop that broker or choose another log.dirs",
                                 data_dir.string(), lock_path.string()));
    return io_error("cannot lock", lock_path, err);
  }
  lm->flusher_ = std::make_unique<flusher>();
  if (options.tail_cache_bytes > 0)
    lm->tail_budget_ = std::make_unique<tail_cache_budget>(std::size_t(options.tail_cache_bytes));
  if (auto r = lm->load(); !r) {
    lm->closed_ = true;  // do not write a clean marker for a directory we failed to open
    return r.error();
  }
  return lm;
}

void log_manager::enable_write_behind(write_behind::post_fn post, std::function<void()> on_written) {
  if (!options_.write_behind || writer_) return;
  writer_ = std::make_unique<write_behind>(std::move(post));
  on_written_ = std::move(on_written);
  for (auto& [name, t] : topics_)
    for (auto& p : t.partitions) attach_writer(*p);
}

void log_manager::enable_background_reads(background_worker::post_fn post) {
  if (!reader_) reader_ = std::make_unique<background_worker>("eddy-reader", std::move(post));
}

void log_manager::enable_background_admin(background_worker::post_fn post) {
  if (!admin_) admin_ = std::make_unique<background_worker>("eddy-admin", std::move(post));
}

void log_manager::attach_writer(partition_log& p) {
  if (writer_) p.set_write_behind(writer_.get(), on_written_);
  if (tail_budget_ && !p.cached_tail()) p.set_tail_cache(tail_budget_.get());
}

log_manager::~log_manager() {
  if (!closed_) {
    if (auto r = close(); !r) std::fprintf(stderr, "eddy log: close failed: %s\n", r.error().message.c_str());
  }
  flusher_.reset();
  if (lock_fd_ >= 0) ::close(lock_fd_);
}

result<void> log_manager::load() {
  std::error_code ec;
  started_clean_ = fs::exists(dir_ / clean_marker, ec);
  if (started_clean_) {
    // From here on a crash must look unclean.
    fs::remove(dir_ / clean_marker, ec);
    if (ec) return storage(fmt::format("cannot remove {}: {}", (dir_ / clean_marker).string(), ec.message()));
    if (auto r = sync_directory(dir_); !r) return r;
  }
  std::vector<std::pair<std::string, std::int32_t>> found_dirs;
  for (const auto& e : fs::directory_iterator(dir_, ec))
    if (e.is_directory())
      if (auto p = parse_partition_dir(e.path().filename().string())) found_dirs.push_back(*p);
  if (ec) return storage(fmt::format("cannot list {}: {}", dir_.string(), ec.message()));

  auto meta_path = dir_ / metadata_file;
  if (!fs::exists(meta_path, ec)) {
    if (!found_dirs.empty())
      return storage(fmt::format("{} holds partition folders but no {}: refusing to start rather than guess the "
                                 "topics; restore the file or move the folders away",
                                 dir_.string(), metadata_file));
    // A fresh directory: the (empty) topic list is written now, so that the folders of a
    // first creation cut short (shutdown or kill -9 while its files are made) are known to
    // be leftovers at the next start, not a lost topic list.
    return persist_metadata();
  }
  auto text = read_small_file(meta_path, 256 << 20);
  if (!text) return text.error();
  std::istringstream in(*text);
  std::string line;
  auto corrupt = [&](std::string why) {
    return storage(fmt::format("{} is corrupt ({}); restore it from a backup", meta_path.string(), why));
  };
  if (!std::getline(in, line) || line != "eddy-topics 1") return corrupt("bad first line");
  bool ended = false;
  std::string current;
  std::map<std::string, std::int32_t, std::less<>> counts;
  while (std::getline(in, line)) {
    if (line == "end") {
      ended = true;
      break;
    }
    if (line.starts_with("topic ")) {
      std::istringstream ls(line.substr(6));
      std::string name;
      std::int32_t n = 0;
      if (!(ls >> name >> n) || n < 1 || !validate_topic_name(name) || topics_.count(name))
        return corrupt(fmt::format("bad line '{}'", line));
      current = name;
      topics_[name];
      counts[name] = n;
    } else if (line.starts_with("config ") && !current.empty()) {
      auto eq = line.find('=');
      if (eq == std::string::npos) return corrupt(fmt::format("bad line '{}'", line));
      topics_[current].overrides[line.substr(7, eq - 7)] = line.substr(eq + 1);
    } else {
      return corrupt(fmt::format("bad line '{}'", line));
    }
  }
  if (!ended) return corrupt("no end line: torn write");

  for (auto& [name, t] : topics_) {
    auto cfg = log_config::parse_topic(t.overrides, options_.defaults);
    if (!cfg) {
      std::fprintf(stderr, "eddy log: topic %s: %s; using broker defaults\n", name.c_str(), cfg.error().message.c_str());
      t.config = options_.defaults;
    } else {
      t.config = *cfg;
    }
    for (std::int32_t p = 0; p < counts[name]; ++p) {
      auto pd = partition_dir(name, p);
      auto log = fs::exists(pd, ec) ? partition_log::open(pd, name, p, t.config, flusher_.get(), started_clean_)
                                    : partition_log::create(pd, name, p, t.config, flusher_.get());
      if (!log) return log.error();
      attach_writer(**log);
      t.partitions.push_back(std::move(*log));
    }
  }
  // Leftovers of interrupted creates/deletes (topics.meta is the commit point).
  for (auto& [name, p] : found_dirs) {
    auto it = topics_.find(name);
    if (it != topics_.end() && p < std::int32_t(it->second.partitions.size())) continue;
    auto pd = partition_dir(name, p);
    std::fprintf(stderr, "eddy log: removing %s: not part of any topic in %s\n", pd.string().c_str(), metadata_file);
    fs::remove_all(pd, ec);
  }
  return {};
}

fs::path log_manager::partition_dir(std::string_view topic, std::int32_t p) const {
  return dir_ / fmt::format("{}-{}", topic, p);
}

result<void> log_manager::persist_metadata() {
  std::string s = "eddy-topics 1\n";
  for (auto& [name, t] : topics_) {
    s += fmt::format("topic {} {}\n", name, t.partitions.size());
    for (auto& [k, v] : t.overrides) s += fmt::format("config {}={}\n", k, v);
  }
  s += "end\n";
  return write_file_atomic(dir_ / metadata_file, s);
}

result<void> log_manager::close() {
  if (closed_) return {};
  closed_ = true;
  // Background work first: a topic creation in flight is dropped (its folders are not in
  // topics.meta, so the next start removes them), reads in flight finish unanswered.
  admin_.reset();
  reader_.reset();
  cleaner_.reset();  // a pass in flight finishes unapplied; its ".cleaned" files go at the next start
  log_error first;
  bool failed = false;
  for (auto& [name, t] : topics_)
    for (auto& p : t.partitions)
      if (auto r = p->close(); !r && !failed) {
        failed = true;
        first = r.error();
      }
  writer_.reset();   // every partition drained its writes in close(); joins the thread
  flusher_.reset();  // drains pending syncs
  if (failed) return first;  // no clean marker: the next start recovers carefully
  if (auto r = write_file_atomic(dir_ / clean_marker, ""); !r) return r;
  if (lock_fd_ >= 0) {
    ::close(lock_fd_);
    lock_fd_ = -1;
  }
  return {};
}

void log_manager::abandon_for_testing() {
  closed_ = true;
  admin_.reset();
  reader_.reset();
  cleaner_.reset();
  topics_.clear();
  writer_.reset();
  flusher_.reset();
  if (lock_fd_ >= 0) ::close(lock_fd_);
  lock_fd_ = -1;
}

result<log_config> log_manager::check_new_topic(std::string_view name, std::int32_t partitions,
                                                const string_map& configs) const {
  if (auto r = validate_topic_name(name); !r) return r.error();
  if (topics_.count(name)) return make_error(error_code::topic_already_exists, fmt::format("topic '{}' already exists", name));
  if (creating_.count(name))
    return make_error(error_code::leader_not_available, fmt::format("topic '{}' is being created", name));
  if (auto r = removal_pending_.lower_bound({std::string(name), 0}); r != removal_pending_.end() && r->first == name)
    return make_error(error_code::leader_not_available,
                      fmt::format("topic '{}' is still being deleted (a partition is being reopened); retry", name));
  if (partitions < 1)
    return make_error(error_code::invalid_partitions, fmt::format("number of partitions must be at least 1, got {}", partitions));
  if (partitions > 100000)
    return make_error(error_code::invalid_partitions, fmt::format("{} partitions is more than this broker supports", partitions));
  return log_config::parse_topic(configs, options_.defaults);
}

// Any thread: touches only the new folders.
result<std::vector<std::unique_ptr<partition_log>>> log_manager::make_partitions(
    const std::filesystem::path& data_dir, const std::string& name, std::int32_t first, std::int32_t end,
    const log_config& cfg, flusher* f) {
  std::vector<std::unique_ptr<partition_log>> out;
  std::error_code ec;
  for (std::int32_t p = first; p < end; ++p) {
    auto pd = data_dir / fmt::format("{}-{}", name, p);
    fs::remove_all(pd, ec);  // a leftover of an interrupted delete must not leak old data
    auto log = partition_log::create(pd, name, p, cfg, f);
    if (!log) {
      out.clear();
      for (std::int32_t q = first; q <= p; ++q) fs::remove_all(data_dir / fmt::format("{}-{}", name, q), ec);
      return log.error();
    }
    out.push_back(std::move(*log));
  }
  return out;
}

result<void> log_manager::add_topic(const std::string& name, const string_map& configs, const log_config& cfg,
                                    std::vector<std::unique_ptr<partition_log>> partitions) {
  topic_state t;
  t.overrides = configs;
  t.config = cfg;
  std::size_t n = partitions.size();
  for (auto& p : partitions) {
    attach_writer(*p);
    t.partitions.push_back(std::move(p));
  }
  auto it = topics_.emplace(name, std::move(t)).first;
  if (auto r = persist_metadata(); !r) {
    topics_.erase(it);
    std::error_code ec;
    for (std::size_t p = 0; p < n; ++p) fs::remove_all(partition_dir(name, std::int32_t(p)), ec);
    return r;
  }
  return {};
}

result<void> log_manager::create_topic(std::string_view name, std::int32_t partitions, const string_map& configs) {
  auto cfg = check_new_topic(name, partitions, configs);
  if (!cfg) return cfg.error();
  auto made = make_partitions(dir_, std::string(name), 0, partitions, *cfg, flusher_.get());
  if (!made) return made.error();
  return add_topic(std::string(name), configs, *cfg, std::move(*made));
}

void log_manager::create_topic_async(std::string name, std::int32_t partitions, string_map configs,
                                     std::function<void(result<void>)> done) {
  auto cfg = check_new_topic(name, partitions, configs);
  if (!cfg) return done(cfg.error());
  if (!admin_) return done(create_topic(name, partitions, configs));
  creating_.insert(name);
  admin_->submit([this, name, partitions, configs = std::move(configs), cfg = *cfg, done = std::move(done),
                  dir = dir_, f = flusher_.get()]() -> std::function<void()> {
    // Admin thread: the files. (std::function needs a copyable completion: the result
    // travels behind a shared_ptr.)
    auto made = std::make_shared<result<std::vector<std::unique_ptr<partition_log>>>>(
        make_partitions(dir, name, 0, partitions, cfg, f));
    return [this, name, configs, cfg, done, made] {
      // Loop: register, persist, answer, then whoever waited for the name.
      creating_.erase(name);
      done(*made ? add_topic(name, configs, cfg, std::move(**made)) : result<void>(made->error()));
      created(name);
    };
  });
}

void log_manager::after_creation(std::string_view name, std::function<void()> then) {
  if (!creating_.count(name)) return then();
  after_creation_[std::string(name)].push_back(std::move(then));
}

void log_manager::created(const std::string& name) {
  auto it = after_creation_.find(name);
  if (it == after_creation_.end()) return;
  auto waiting = std::move(it->second);
  after_creation_.erase(it);
  for (auto& f : waiting) f();
}

result<void> log_manager::delete_topic(std::string_view name) {
  auto it = topics_.find(name);
  if (it == topics_.end())
    return make_error(error_code::unknown_topic_or_partition, fmt::format("topic '{}' does not exist", name));
  topic_state t = std::move(it->second);
  topics_.erase(it);
  if (auto r = persist_metadata(); !r) {
    topics_.emplace(std::string(name), std::move(t));
    return r;
  }
  std::size_t n = t.partitions.size();
  t.partitions.clear();  // descriptors close when the flusher lets go of them
  for (std::size_t p = 0; p < n; ++p) {
    if (reopening(name, std::int32_t(p))) {
      removal_pending_.insert({std::string(name), std::int32_t(p)});  // finish_reopen removes it
      continue;
    }
    remove_partition_dir(name, std::int32_t(p));
  }
  (void)sync_directory(dir_);
  return {};
}

result<void> log_manager::check_growth(std::string_view name, std::int32_t new_total) const {
  auto it = topics_.find(name);
  if (it == topics_.end())
    return make_error(error_code::unknown_topic_or_partition, fmt::format("topic '{}' does not exist", name));
  if (creating_.count(name))
    return make_error(error_code::invalid_partitions,
                      fmt::format("topic '{}' is getting new partitions from another request; retry when it is done", name));
  std::int32_t old = std::int32_t(it->second.partitions.size());
  if (new_total <= old)
    return make_error(error_code::invalid_partitions,
                      fmt::format("topic '{}' has {} partitions; the new count {} must be larger", name, old, new_total));
  if (new_total > 100000)
    return make_error(error_code::invalid_partitions, fmt::format("{} partitions is more than this broker supports", new_total));
  return {};
}

result<void> log_manager::add_made_partitions(const std::string& name,
                                              std::vector<std::unique_ptr<partition_log>> made) {
  auto remove_made = [&] {
    std::vector<fs::path> dirs;
    for (auto& p : made) dirs.push_back(partition_dir(name, p->partition()));
    made.clear();  // closes them
    std::error_code ec;
    for (auto& d : dirs) fs::remove_all(d, ec);
  };
  auto it = topics_.find(name);
  std::int32_t first = made.empty() ? 0 : made.front()->partition();
  if (it == topics_.end() || std::int32_t(it->second.partitions.size()) != first) {
    remove_made();
    return make_error(error_code::unknown_topic_or_partition,
                      fmt::format("topic '{}' was deleted while its new partitions were being created", name));
  }
  topic_state& t = it->second;
  std::size_t old = t.partitions.size();
  for (auto& p : made) {
    p->set_config(t.config);  // AlterConfigs may have changed it meanwhile
    attach_writer(*p);
    t.partitions.push_back(std::move(p));
  }
  made.clear();
  if (auto r = persist_metadata(); !r) {
    std::error_code ec;
    std::size_t now = t.partitions.size();
    t.partitions.resize(old);
    for (std::size_t q = old; q < now; ++q) fs::remove_all(partition_dir(name, std::int32_t(q)), ec);
    return r;
  }
  return {};
}

result<void> log_manager::add_partitions(std::string_view name, std::int32_t new_total) {
  if (auto c = check_growth(name, new_total); !c) return c.error();
  const topic_state& t = topics_.find(name)->second;
  auto made = make_partitions(dir_, std::string(name), std::int32_t(t.partitions.size()), new_total, t.config,
                              flusher_.get());
  if (!made) return made.error();
  return add_made_partitions(std::string(name), std::move(*made));
}

void log_manager::add_partitions_async(std::string name, std::int32_t new_total,
                                       std::function<void(result<void>)> done) {
  if (auto c = check_growth(name, new_total); !c) return done(c.error());
  if (!admin_) return done(add_partitions(name, new_total));
  const topic_state& t = topics_.find(name)->second;
  std::int32_t first = std::int32_t(t.partitions.size());
  creating_.insert(name);
  admin_->submit([this, name, first, new_total, cfg = t.config, done = std::move(done), dir = dir_,
                  f = flusher_.get()]() -> std::function<void()> {
    auto made = std::make_shared<result<std::vector<std::unique_ptr<partition_log>>>>(
        make_partitions(dir, name, first, new_total, cfg, f));
    return [this, name, done, made] {
      creating_.erase(name);
      done(*made ? add_made_partitions(name, std::move(**made)) : result<void>(made->error()));
      created(name);
    };
  });
}

result<void> log_manager::set_topic_configs(std::string_view name, const string_map& overrides) {
  auto it = topics_.find(name);
  if (it == topics_.end())
    return make_error(error_code::unknown_topic_or_partition, fmt::format("topic '{}' does not exist", name));
  auto cfg = log_config::parse_topic(overrides, options_.defaults);
  if (!cfg) return cfg.error();
  string_map old = it->second.overrides;
  it->second.overrides = overrides;
  if (auto r = persist_metadata(); !r) {
    it->second.overrides = old;
    return r;
  }
  it->second.config = *cfg;
  for (auto& p : it->second.partitions) p->set_config(*cfg);
  return {};
}

std::vector<topic_info> log_manager::list_topics() const {
  std::vector<topic_info> out;
  for (auto& [name, t] : topics_) out.push_back({name, std::int32_t(t.partitions.size()), t.overrides});
  return out;
}

std::optional<topic_info> log_manager::describe_topic(std::string_view name) const {
  auto it = topics_.find(name);
  if (it == topics_.end()) return std::nullopt;
  return topic_info{it->first, std::int32_t(it->second.partitions.size()), it->second.overrides};
}

result<std::vector<config_entry>> log_manager::describe_topic_configs(std::string_view name) const {
  auto it = topics_.find(name);
  if (it == topics_.end())
    return make_error(error_code::unknown_topic_or_partition, fmt::format("topic '{}' does not exist", name));
  return describe_config(options_.defaults, it->second.overrides);
}

partition_log* log_manager::partition(std::string_view topic, std::int32_t p) {
  auto it = topics_.find(topic);
  if (it == topics_.end() || p < 0 || p >= std::int32_t(it->second.partitions.size())) return nullptr;
  return it->second.partitions[std::size_t(p)].get();
}

void log_manager::remove_partition_dir(std::string_view topic, std::int32_t p) {
  std::error_code ec;
  fs::remove_all(partition_dir(topic, p), ec);
  if (ec)
    std::fprintf(stderr, "eddy log: cannot remove %s: %s (removed at next start)\n",
                 partition_dir(topic, p).string().c_str(), ec.message().c_str());
}

std::int64_t log_manager::offline_retry_delay(int tries) const {
  constexpr int max_doublings = 6;
  return options_.offline_retry_ms << std::min(tries, max_doublings);
}

void log_manager::recover_offline(std::int64_t now_ms) {
  constexpr std::int64_t settled_ms = 60'000;  // online this long: forget earlier tries
  if (options_.offline_retry_ms < 0) return;
  std::erase_if(offline_, [this](const auto& e) { return partition(e.first.first, e.first.second) == nullptr; });
  for (auto& [name, t] : topics_) {
    for (std::size_t i = 0; i < t.partitions.size(); ++i) {
      auto& p = t.partitions[i];
      const partition_key key{name, std::int32_t(i)};
      auto it = offline_.find(key);
      if (p->offline_reason().empty()) {
        if (it != offline_.end() && now_ms - it->second.online_since_ms >= settled_ms) offline_.erase(it);
        continue;
      }
      if (it == offline_.end()) it = offline_.emplace(key, offline_state{}).first;
      offline_state& s = it->second;
      if (s.reopening) continue;
      if (s.next_try_ms < 0) s.next_try_ms = now_ms + offline_retry_delay(s.tries);
      if (now_ms < s.next_try_ms) continue;
      // A compaction pass of the old log in flight renames files in its folder: wait.
      if (cleaner_ && cleaner_->busy()) continue;
      ++s.tries;
      (void)p->drain();  // its queued writes are skipped after the failure; let them finish
      auto dir = partition_dir(name, std::int32_t(i));
      if (!admin_) {
        finish_reopen(key, p.get(), partition_log::open(dir, name, key.second, t.config, flusher_.get(), false));
        continue;
      }
      // The open reads (and validates) the segments since the last roll: on the admin
      // thread, while the old log keeps serving reads. Meanwhile tick() leaves the old log's
      // files alone (no retention, no compaction), and delete_topic leaves its folder.
      s.reopening = true;
      admin_->submit([this, key, old = p.get(), dir, cfg = t.config, f = flusher_.get()]() -> std::function<void()> {
        auto fresh = std::make_shared<result<std::unique_ptr<partition_log>>>(
            partition_log::open(dir, key.first, key.second, cfg, f, /*clean=*/false));
        return [this, key, old, fresh] { finish_reopen(key, old, std::move(*fresh)); };
      });
    }
  }
}

bool log_manager::reopening(std::string_view topic, std::int32_t partition) const {
  if (offline_.empty()) return false;
  auto it = offline_.find({std::string(topic), partition});
  return it != offline_.end() && it->second.reopening;
}

void log_manager::finish_reopen(const partition_key& key, const partition_log* old,
                                result<std::unique_ptr<partition_log>> fresh) {
  const auto& [name, i] = key;
  auto state = offline_.find(key);
  if (state != offline_.end()) state->second.reopening = false;
  if (removal_pending_.erase(key)) {
    // Deleted meanwhile: its folder goes now that nothing works in it.
    if (fresh) fresh->reset();  // closes the new log's files
    remove_partition_dir(name, i);
    (void)sync_directory(dir_);
    return;
  }
  auto t = topics_.find(name);
  if (t == topics_.end() || i >= std::int32_t(t->second.partitions.size()) ||
      t->second.partitions[std::size_t(i)].get() != old || state == offline_.end())
    return;
  offline_state& s = state->second;
  if (!fresh) {
    s.next_try_ms = last_tick_ms_ + offline_retry_delay(s.tries);
    std::fprintf(stderr, "eddy log: %s-%d is still offline: reopening it failed (%s); next try in %lld ms\n",
                 name.c_str(), i, fresh.error().message.c_str(),
                 static_cast<long long>(s.next_try_ms - last_tick_ms_));
    return;
  }
  auto& slot = t->second.partitions[std::size_t(i)];
  (*fresh)->set_config(t->second.config);  // AlterConfigs may have run meanwhile
  attach_writer(**fresh);
  slot = std::move(*fresh);  // the offline log goes: its lifetime ends, its waiters were answered
  s.next_try_ms = -1;
  s.online_since_ms = last_tick_ms_;
  std::fprintf(stderr, "eddy log: %s-%d is back online: reopened from disk, log end offset %lld\n", name.c_str(), i,
               static_cast<long long>(slot->log_end_offset()));
  if (on_recovered_) on_recovered_(name, i);
  if (on_written_) on_written_();  // waiting fetches look again
}

void log_manager::tick(std::int64_t now_ms) {
  last_tick_ms_ = now_ms;
  recover_offline(now_ms);
  bool retention = last_retention_check_ms_ < 0 || now_ms - last_retention_check_ms_ >= options_.retention_check_interval_ms;
  if (retention) last_retention_check_ms_ = now_ms;
  for (auto& [name, t] : topics_)
    for (auto& p : t.partitions)
      if (auto r = p->tick(now_ms, retention && !reopening(name, p->partition())); !r)
        std::fprintf(stderr, "eddy log: %s-%d: %s\n", name.c_str(), p->partition(), r.error().message.c_str());
  // Compaction: at most one partition per tick, round robin, bounded by a byte budget;
  // with the background cleaner, only while no pass is in flight.
  if (cleaner_ && cleaner_->busy()) return;
  std::vector<partition_log*> compacted;
  for (auto& [name, t] : topics_)
    if (t.config.cleanup_compact)
      for (auto& p : t.partitions)
        if (!reopening(name, p->partition())) compacted.push_back(p.get());
  for (std::size_t i = 0; i < compacted.size(); ++i) {
    partition_log* p = compacted[(cleaner_cursor_ + i) % compacted.size()];
    if (!needs_cleaning(*p, now_ms)) continue;
    cleaner_cursor_ = (cleaner_cursor_ + i + 1) % compacted.size();
    auto failed = [p, now_ms](const log_error& e) {
      std::fprintf(stderr, "eddy log: compaction of %s-%d failed: %s\n", p->topic().c_str(), p->partition(),
                   e.message.c_str());
      // Do not retry in a tight loop: wait for new data or a later expiry.
      p->set_cleaned_up_to(p->log_end_offset());
      p->set_next_clean_expiry(now_ms + 60'000);
    };
    if (!cleaner_) {
      if (auto r = clean_partition(*p, now_ms, options_.cleaner_bytes_per_tick); !r) failed(r.error());
      break;
    }
    // Rewrite on the cleaner thread, then (if anything is to be swapped in) swap the files
    // there too, holding the log's lifetime lock so that a topic deletion waits for it;
    // the loop only checks the rewrites and puts them in the log. The log may be deleted
    // at any point meanwhile: its lifetime says (".cleaned" leftovers go at the next start).
    cleaner_->submit(
        plan_clean(*p, now_ms, options_.cleaner_bytes_per_tick),
        [this, p, life = p->lifetime(), failed](result<clean_output>&& out) {
          {
            std::lock_guard lk(life->mu);
            if (!life->alive) return;
          }
          if (!out) return failed(out.error());
          auto plan = std::make_shared<swap_plan>(prepare_swap(*p, std::move(*out)));
          if (plan->swaps.empty()) {
            finish_swap(*p, std::move(*plan));
            return;
          }
          p->begin_swap();
          cleaner_->submit_task([p, life, failed, plan]() -> std::function<void()> {
            auto swapped = std::make_shared<result<void>>();
            {
              std::lock_guard lk(life->mu);
              if (!life->alive) return [] {};
              *swapped = swap_files(*plan);
            }
            return [p, life, failed, plan, swapped] {
              {
                std::lock_guard lk(life->mu);
                if (!life->alive) return;
              }
              if (*swapped) finish_swap(*p, std::move(*plan));
              else failed(swapped->error());
              if (auto e = p->end_swap(); !e) failed(e.error());
            };
          });
        });
    break;
  }
}

void log_manager::enable_background_cleaner(background_cleaner::post_fn post) {
  if (!cleaner_) cleaner_ = std::make_unique<background_cleaner>(std::move(post));
}

}  // namespace eddy::broker::log
