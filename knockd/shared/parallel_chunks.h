#pragma once
// Splitting one loop over many independent items across the cores, for the
// start-up work that must not keep a server with thousands of clients
// waiting (pair keys, sequence tables).

#include <algorithm>
#include <cstddef>
#include <system_error>
#include <thread>
#include <vector>

namespace knock {

/// The number of threads worth starting for `items` items of which each
/// thread should get at least `min_items_per_thread`, given `threads`
/// wanted (0: one per core).
inline size_t ChunksFor(size_t items, unsigned threads,
                        size_t min_items_per_thread) {
  if (threads == 0) threads = std::max(1u, std::thread::hardware_concurrency());
  const size_t worth = items / std::max<size_t>(min_items_per_thread, 1);
  return std::clamp<size_t>(worth, 1, threads);
}

/// Runs `work(begin, end)` over contiguous chunks of [0, items), one chunk on
/// the calling thread and the others on threads of their own, and returns
/// once all are done. Each chunk must write only what its own items own, so
/// the result does not depend on the number of threads. A thread that cannot
/// be started (resource limits) runs its chunk here instead: slower, never
/// wrong. Workers must not open files or sockets: the sandbox that will
/// hold the matcher allows threads, not those.
template <typename Work>
void ParallelChunks(size_t items, unsigned threads, size_t min_items_per_thread,
                    const Work& work) {
  const size_t chunks = ChunksFor(items, threads, min_items_per_thread);
  std::vector<std::thread> workers;
  workers.reserve(chunks - 1);
  for (size_t c = 1; c < chunks; ++c) {
    const size_t begin = items * c / chunks;
    const size_t end = items * (c + 1) / chunks;
    try {
      workers.emplace_back([&work, begin, end] { work(begin, end); });
    } catch (const std::system_error&) {
      work(begin, end);
    }
  }
  work(0, items / chunks);
  for (std::thread& worker : workers) worker.join();
}

}  // namespace knock
