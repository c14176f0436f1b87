// Splitting start-up work across threads: every item done exactly once,
// whatever the number of threads and items.
#include <algorithm>
#include <atomic>
#include <catch2/catch.hpp>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

#include "knockd/shared/parallel_chunks.h"

TEST_CASE("every item is done once, in contiguous chunks",
          "[parallel_chunks]") {
  for (size_t items : {0u, 1u, 7u, 100u, 1001u}) {
    for (unsigned threads : {0u, 1u, 2u, 3u, 8u}) {
      std::vector<int> done(items, 0);
      std::atomic<int> chunks{0};
      knock::ParallelChunks(items, threads, 1, [&](size_t begin, size_t end) {
        ++chunks;
        for (size_t i = begin; i < end; ++i) ++done[i];
      });
      CHECK(std::count(done.begin(), done.end(), 1) ==
            static_cast<long>(items));
      CHECK(chunks.load() >= 1);
    }
  }
}

TEST_CASE("work is spread over the threads asked for", "[parallel_chunks]") {
  std::mutex mutex;
  std::set<std::thread::id> seen;
  knock::ParallelChunks(400, 4, 100, [&](size_t, size_t) {
    std::lock_guard<std::mutex> lock(mutex);
    seen.insert(std::this_thread::get_id());
  });
  CHECK(seen.size() == 4);
  CHECK(seen.count(std::this_thread::get_id()) == 1);
}

TEST_CASE("small jobs stay on the calling thread", "[parallel_chunks]") {
  CHECK(knock::ChunksFor(99, 4, 100) == 1);
  CHECK(knock::ChunksFor(250, 4, 100) == 2);
  CHECK(knock::ChunksFor(100000, 2, 100) == 2);
  CHECK(knock::ChunksFor(100000, 0, 100) ==
        std::max(1u, std::thread::hardware_concurrency()));
}
