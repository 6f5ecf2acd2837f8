// word-count: the classic first Kafka Streams application, against EventFlow's
// installed package. Lines of text from one topic are split into words and
// counted; every count update goes to the output topic (word → count).
//
//   word-count --bootstrap-servers 127.0.0.1:9092 [--input lines] [--output word-counts]
//              [--application-id word-count] [--state-dir DIR]
//     runs the topology on a Kafka cluster until SIGINT/SIGTERM (exactly-once).
//   word-count --self-test
//     runs it in-process on TopologyTestDriver over a fixed text and checks
//     every count against a plain recount of that text; exit 0 when all match.
#include <cctype>
#include <cstdio>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "eventflow/streams/kafka_streams.h"
#include "eventflow/streams/shutdown.h"
#include "eventflow/streams/streams_builder.h"
#include "eventflow/streams/topology_test_driver.h"

namespace {

namespace es = eventflow::streams;

// Lower-cased words of a line: runs of letters, digits and apostrophes.
std::vector<std::string> Words(std::string_view line) {
  std::vector<std::string> words;
  std::string word;
  for (char c : line) {
    const auto u = static_cast<unsigned char>(c);
    if (std::isalnum(u) || c == '\'') {
      word.push_back(static_cast<char>(std::tolower(u)));
    } else if (!word.empty()) {
      words.push_back(std::move(word));
      word.clear();
    }
  }
  if (!word.empty()) words.push_back(std::move(word));
  return words;
}

es::Topology WordCount(const std::string& input, const std::string& output) {
  es::StreamsBuilder builder;
  builder.Stream<std::string, std::string>(input)
      .FlatMapValues([](const std::string& line) { return Words(line); })
      .GroupBy([](const std::string&, const std::string& word) { return word; })
      .Count(es::Materialized<std::string, int64_t>::As("word-counts"))
      .ToStream()
      .To(output);
  return builder.Build();
}

int SelfTest() {
  const std::vector<std::string> text = {
      "The quick brown fox jumps over the lazy dog",
      "the dog barks; the fox runs",
      "A fox, a dog, and THE end",
  };
  es::TestDriverOptions options;
  options.record_cache_bytes = 0;  // every update, as the recount below expects
  es::TopologyTestDriver driver(WordCount("lines", "word-counts"), options);
  if (!driver.status().ok()) {
    std::fprintf(stderr, "word-count: %s\n", driver.status().ToString().c_str());
    return 1;
  }
  auto in = driver.CreateInputTopic("lines", es::Serdes::String(), es::Serdes::String());
  auto out = driver.CreateOutputTopic("word-counts", es::Serdes::String(), es::Serdes::Int64());
  int64_t ts = 1'000;
  for (const std::string& line : text) {
    const eventflow::Status s = in.PipeInput("line", line, ts++);
    if (!s.ok()) {
      std::fprintf(stderr, "word-count: %s\n", s.ToString().c_str());
      return 1;
    }
  }
  // The recount: the last update of each word must be its number of occurrences.
  std::map<std::string, int64_t> expected;
  for (const std::string& line : text) {
    for (const std::string& w : Words(line)) ++expected[w];
  }
  auto updates = out.ReadKeyValuesToList();
  if (!updates.ok()) {
    std::fprintf(stderr, "word-count: %s\n", updates.status().ToString().c_str());
    return 1;
  }
  std::map<std::string, int64_t> last;
  for (const auto& [word, count] : *updates) last[word] = count;
  int wrong = 0;
  for (const auto& [word, count] : expected) {
    if (last[word] != count) {
      std::fprintf(stderr, "word-count: %s counted %lld, expected %lld\n", word.c_str(),
                   static_cast<long long>(last[word]), static_cast<long long>(count));
      ++wrong;
    }
  }
  if (last.size() != expected.size()) {
    std::fprintf(stderr, "word-count: %zu words counted, expected %zu\n", last.size(),
                 expected.size());
    ++wrong;
  }
  std::printf("word-count self-test: %zu words, %zu updates, %s\n", expected.size(),
              updates->size(), wrong == 0 ? "all counts match" : "MISMATCH");
  return wrong == 0 ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  es::StreamsConfig config;
  config.application_id = "word-count";
  std::string input = "lines", output = "word-counts";
  for (int i = 1; i < argc; ++i) {
    const std::string flag = argv[i];
    if (flag == "--self-test") return SelfTest();
    if (i + 1 >= argc) {
      std::fprintf(stderr, "word-count: %s needs a value\n", flag.c_str());
      return 2;
    }
    const std::string value = argv[++i];
    if (flag == "--bootstrap-servers") {
      config.bootstrap_servers = value;
    } else if (flag == "--input") {
      input = value;
    } else if (flag == "--output") {
      output = value;
    } else if (flag == "--application-id") {
      config.application_id = value;
    } else if (flag == "--state-dir") {
      config.state_dir = value;
    } else {
      std::fprintf(stderr, "word-count: unknown option %s\n", flag.c_str());
      return 2;
    }
  }
  if (config.bootstrap_servers.empty()) {
    std::fprintf(stderr, "usage: word-count --self-test | --bootstrap-servers HOST:PORT ...\n");
    return 2;
  }
  es::KafkaStreams streams(WordCount(input, output), config);
  const eventflow::Status s = streams.Start();
  if (!s.ok()) {
    std::fprintf(stderr, "word-count: %s\n", s.ToString().c_str());
    return 2;
  }
  return es::RunUntilSignalled(streams);
}
