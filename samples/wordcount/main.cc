// wordcount: the classic. Reads lines of text, splits them into words, counts each word
// exactly once, and prints "word count" per line.
//
//   wordcount                          embedded broker; text from stdin if piped, else built-in
//   wordcount --bootstrap HOST:PORT    an external broker (topics wordcount-input/-output)
#include <unistd.h>

#include <cctype>
#include <filesystem>
#include <iostream>
#include <map>
#include <sstream>

#include "eddy/broker/embedded_broker.h"
#include "eddy/streams/streams.h"
#include "samples/common.h"

using namespace eddy::streams;

static std::vector<std::string> words_of(const std::string& line) {
  std::vector<std::string> out;
  std::string w;
  for (char c : line + " ") {
    if (std::isalnum(static_cast<unsigned char>(c)) || c == '\'') w += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    else if (!w.empty()) out.push_back(std::exchange(w, {}));
  }
  return out;
}

int main(int argc, char** argv) {
  auto flags = samples::parse_flags(argc, argv, {"bootstrap"}, "usage: wordcount [--bootstrap HOST:PORT]");
  std::unique_ptr<eddy::broker::embedded_broker> broker;
  std::string bootstrap = flags.count("bootstrap") ? flags["bootstrap"] : "";
  if (bootstrap.empty()) {
    broker = std::make_unique<eddy::broker::embedded_broker>();
    bootstrap = broker->bootstrap_servers();
  }

  std::vector<std::string> lines;
  if (!isatty(STDIN_FILENO)) {
    for (std::string l; std::getline(std::cin, l);) lines.push_back(l);
  } else {
    lines = {"the quick brown fox jumps over the lazy dog", "the dog barks", "the fox runs away"};
  }
  std::map<std::string, int64_t> truth;
  for (auto& l : lines)
    for (auto& w : words_of(l)) ++truth[w];

  if (!samples::create_topics(bootstrap, {{"wordcount-input", 2}, {"wordcount-output", 2}})) return 1;
  std::vector<std::pair<std::string, std::string>> input;
  for (auto& l : lines) input.emplace_back("", l);
  samples::produce(bootstrap, "wordcount-input", input);

  // The topology: lines -> words -> count per word -> output topic.
  stream_builder b;
  b.stream<std::string, std::string>("wordcount-input")
      .flat_map_values([](const std::string& line) { return words_of(line); })
      .group_by([](const std::string&, const std::string& word) { return word; })
      .count(materialized<std::string, int64_t>::as("word-counts"))
      .to_stream()
      .to("wordcount-output");

  auto state_dir = std::filesystem::temp_directory_path() / ("wordcount-" + std::to_string(getpid()));
  streams_config cfg{{"application.id", "wordcount"}, {"bootstrap.servers", bootstrap},
                     {"processing.guarantee", "exactly_once_v2"}, {"state.dir", state_dir.string()}, {"eddy.log", "false"}};
  streams_app app(b.build(), cfg);
  if (auto st = app.start(); !st.ok) {
    std::cerr << "error: " << st.message << "\n";
    return 1;
  }
  auto out = samples::read_topic(bootstrap, "wordcount-output", std::chrono::seconds(60), [&](auto& kvs) {
    std::map<std::string, int64_t> seen;
    for (auto& [k, v] : kvs) seen[k] = serdes::int64().deserialize(v);
    return seen == truth;
  });
  app.close();
  std::map<std::string, int64_t> counts;
  for (auto& [k, v] : out) counts[k] = serdes::int64().deserialize(v);
  for (auto& [w, n] : counts) std::cout << w << " " << n << "\n";
  std::filesystem::remove_all(state_dir);
  return counts == truth ? 0 : 1;
}
